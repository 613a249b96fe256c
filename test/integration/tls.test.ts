// --tls-cert / --tls-key (SPEC §1, §7): HTTPS over node:tls with the same HTTP layer, https:// in the
// banner and the listening event, and a clear exit 1 (or 2) for every way the pair can be wrong.
// The certificate is generated at test time (test/helpers/cert.ts), so no openssl is needed.
import { execFile, spawn } from 'node:child_process'
import { createHash, generateKeyPairSync } from 'node:crypto'
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import https from 'node:https'
import net from 'node:net'
import path from 'node:path'
import tls from 'node:tls'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { tokenCookieName } from '../../src/app/access.js'
import { makeTestCert, type TestCert } from '../helpers/cert.js'
import { BIN, removeDir, startCli, tmpDir, withTimeout, type Cli } from '../helpers/cli.js'
import { pollUntil } from '../helpers/fs-walk.js'
import { statuses } from '../helpers/raw.js'

let scratch: string
let cert: TestCert

beforeAll(async () => {
  scratch = tmpDir('upload-recv-tls-')
  cert = await makeTestCert(scratch)
})
afterAll(() => removeDir(scratch))

const sha256 = (b: Buffer | string) => createHash('sha256').update(b).digest('hex')

interface Reply {
  status: number
  headers: Record<string, string | string[] | undefined>
  body: string
  socketId: string
}

/** One HTTPS request with node:https, trusting only the test certificate. */
function httpsRequest(
  port: number,
  opts: { method?: string; path?: string; body?: Buffer | string; headers?: Record<string, string>; ca?: string | null; agent?: https.Agent },
): Promise<Reply> {
  return withTimeout(
    new Promise<Reply>((resolve, reject) => {
      const r = https.request(
        {
          host: '127.0.0.1',
          port,
          method: opts.method ?? 'GET',
          path: opts.path ?? '/',
          headers: opts.headers,
          ...(opts.ca === null ? {} : { ca: opts.ca ?? cert.cert }),
          agent: opts.agent ?? false,
        },
        (res) => {
          // Read now: a keep-alive agent takes the socket back before 'end'.
          const socketId = `${(res.socket as tls.TLSSocket).localPort}`
          const parts: Buffer[] = []
          res.on('data', (d: Buffer) => parts.push(d))
          res.on('end', () => {
            resolve({
              status: res.statusCode!,
              headers: res.headers,
              body: Buffer.concat(parts).toString('utf8'),
              socketId,
            })
          })
        },
      )
      r.on('error', reject)
      r.end(opts.body)
    }),
    8_000,
    'https request',
  )
}

function stderrHas(cli: Cli, text: string): Promise<void> {
  return pollUntil(() => cli.stderr().includes(text), 5_000, `stderr: ${text}`, 20)
}

function curl(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return withTimeout(
    new Promise((resolve) =>
      execFile('curl', ['-sS', '--max-time', '8', ...args], { timeout: 10_000 }, (err, stdout, stderr) =>
        resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
      ),
    ),
    12_000,
    'curl',
  )
}

describe('HTTPS with a test certificate', () => {
  let cli: Cli
  let base: string
  let src: string
  beforeAll(async () => {
    cli = await startCli(['--tls-cert', cert.certFile, '--tls-key', cert.keyFile, '--token', 'tls-secret'])
    base = `https://127.0.0.1:${cli.port}`
    src = path.join(scratch, 'src')
    mkdirSync(src, { recursive: true })
  })
  afterAll(async () => {
    await cli.stop()
    removeDir(path.dirname(cli.dir))
  })

  it('the listening event and the banner say https://', async () => {
    const listening = cli.events.find((e) => e.event === 'listening')!
    expect(listening.urls).toEqual([`${base}/`])
    // The banner follows the event on the other stream.
    await stderrHas(cli, 'Ctrl-C stops')
    expect(cli.stderr()).toContain(`${base}/?token=tls-secret`)
    expect(cli.stderr()).not.toMatch(/http:\/\//)
  })

  it('curl --cacert: a raw PUT upload (curl -T) is stored intact', async () => {
    const file = path.join(src, 'over tls.bin')
    const data = Buffer.alloc(300_000)
    for (let i = 0; i < data.length; i++) data[i] = (i * 31 + (i >> 8)) & 0xff
    writeFileSync(file, data)
    const r = await curl(['--cacert', cert.certFile, '-H', 'Authorization: Bearer tls-secret', '-T', file, `${base}/`])
    expect(r.stderr).toBe('')
    expect(r.code).toBe(0)
    const answer = JSON.parse(r.stdout)
    expect(answer.files[0]).toMatchObject({ name: 'over tls.bin', size: data.length, sha256: sha256(data) })
    expect(sha256(readFileSync(path.join(cli.dir, 'over tls.bin')))).toBe(sha256(data))
  })

  it('curl -k: a multipart upload of two files with the token in the URL', async () => {
    writeFileSync(path.join(src, 'a.txt'), 'first file\n')
    writeFileSync(path.join(src, 'b.txt'), 'second file\n')
    const r = await curl(['-k', '-F', `f=@${path.join(src, 'a.txt')}`, '-F', `f=@${path.join(src, 'b.txt')}`, `${base}/docs/?token=tls-secret`])
    expect(r.code).toBe(0)
    expect(JSON.parse(r.stdout).files.map((f: { name: string }) => f.name)).toEqual(['docs/a.txt', 'docs/b.txt'])
    expect(readFileSync(path.join(cli.dir, 'docs/b.txt'), 'utf8')).toBe('second file\n')
  })

  it('curl without the CA refuses the certificate (it really is TLS with our certificate)', async () => {
    const r = await curl([`${base}/`])
    expect(r.code).toBe(60)
  })

  it('node:https with the CA: the page, then a PUT', async () => {
    const page = await httpsRequest(cli.port, { headers: { Authorization: 'Bearer tls-secret' } })
    expect(page.status).toBe(200)
    expect(page.body).toMatch(/<html/i)
    const up = await httpsRequest(cli.port, {
      method: 'PUT',
      path: '/https-request.txt',
      body: 'from https.request',
      headers: { Authorization: 'Bearer tls-secret' },
    })
    expect(up.status).toBe(201)
    expect(JSON.parse(up.body).files[0].sha256).toBe(sha256('from https.request'))
  })

  it('node:https without the CA fails verification', async () => {
    await expect(httpsRequest(cli.port, { ca: null })).rejects.toMatchObject({ code: expect.stringMatching(/SELF_SIGNED|UNABLE_TO_VERIFY/) })
  })

  it('?token= over TLS: the page with the HttpOnly SameSite=Strict cookie, Secure so no browser sends it over plain HTTP; 401 without the token', async () => {
    const r = await httpsRequest(cli.port, { path: '/?token=tls-secret' })
    expect(r.status).toBe(200)
    const attrs = String(r.headers['set-cookie']).split(';').map((a) => a.trim())
    expect(attrs).toEqual(expect.arrayContaining(['HttpOnly', 'SameSite=Strict', 'Secure']))
    // A name of its own (__Secure-): a plain-HTTP run with the same token can still set its cookie.
    expect(attrs[0]!.startsWith(`${tokenCookieName('tls-secret', true)}=`)).toBe(true)
    expect(tokenCookieName('tls-secret', true)).toBe(`__Secure-${tokenCookieName('tls-secret', false)}`)
    // And it is the credential over TLS.
    expect((await httpsRequest(cli.port, { headers: { Cookie: attrs[0]! } })).status).toBe(200)
    expect((await httpsRequest(cli.port, {})).status).toBe(401)
  })

  it('keep-alive over TLS: three requests reuse one TLS connection', async () => {
    const agent = new https.Agent({ keepAlive: true, maxSockets: 1, ca: cert.cert })
    try {
      const h = { Authorization: 'Bearer tls-secret' }
      const a = await httpsRequest(cli.port, { headers: h, agent })
      const b = await httpsRequest(cli.port, { method: 'PUT', path: '/ka.txt', body: 'ka', headers: h, agent })
      const c = await httpsRequest(cli.port, { headers: h, agent })
      expect([a.status, b.status, c.status]).toEqual([200, 201, 200])
      expect(new Set([a.socketId, b.socketId, c.socketId]).size).toBe(1)
    } finally {
      agent.destroy()
    }
  })

  it('pipelining and Expect: 100-continue over a raw TLS socket', async () => {
    const text = await withTimeout(
      new Promise<string>((resolve, reject) => {
        const s = tls.connect({ host: '127.0.0.1', port: cli.port, ca: cert.cert }, () => {
          s.write(
            'GET / HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer tls-secret\r\n\r\n' +
              'PUT /pipe.txt HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer tls-secret\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n',
          )
        })
        let got = ''
        let sentBody = false
        s.on('data', (d: Buffer) => {
          got += d.toString('latin1')
          if (!sentBody && got.includes('HTTP/1.1 100 Continue\r\n\r\n')) {
            sentBody = true
            s.write('pipe')
          }
          if (statuses(got).length >= 3 && got.endsWith('\n')) {
            s.destroy()
            resolve(got)
          }
        })
        s.on('error', reject)
      }),
      5_000,
      'tls pipeline',
    )
    expect(statuses(text)).toEqual([200, 100, 201])
    expect(readFileSync(path.join(cli.dir, 'pipe.txt'), 'utf8')).toBe('pipe')
  })

  it('Expect: 100-continue without the token over TLS: 401, no 100', async () => {
    const text = await withTimeout(
      new Promise<string>((resolve, reject) => {
        let got = ''
        const s = tls.connect({ host: '127.0.0.1', port: cli.port, ca: cert.cert }, () => {
          s.write('PUT /no.txt HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n')
        })
        s.on('data', (d: Buffer) => (got += d.toString('latin1')))
        s.on('close', () => resolve(got))
        s.on('error', (e: NodeJS.ErrnoException) => (e.code === 'ECONNRESET' ? resolve(got) : reject(e)))
      }),
      5_000,
      'tls 401',
    )
    expect(statuses(text)).toEqual([401])
    expect(text).not.toMatch(/100 Continue/)
  })

  it('a plain HTTP request on the TLS port (http:// typed for https://) is told, in plain HTTP, where to go', async () => {
    for (const method of ['GET', 'PUT', 'POST', 'HEAD']) {
      const text = await withTimeout(
        new Promise<string>((resolve) => {
          let got = ''
          const body = method === 'PUT' || method === 'POST' ? 'Content-Length: 3\r\n\r\nabc' : '\r\n'
          const s = net.connect({ host: '127.0.0.1', port: cli.port }, () => s.write(`${method} /?token=tls-secret HTTP/1.1\r\nHost: x\r\n${body}`))
          s.on('data', (d: Buffer) => (got += d.toString('latin1')))
          s.on('error', () => resolve(got))
          s.on('close', () => resolve(got))
        }),
        5_000,
        `plain ${method}`,
      )
      expect(text, method).toMatch(/^HTTP\/1\.1 400 Bad Request\r\n/)
      expect(text).toMatch(/\r\nConnection: close\r\n/i)
      expect(text).toContain(`This receiver speaks HTTPS: use https:// instead of http:// (here: https://127.0.0.1:${cli.port}/).`)
      // Nothing of the request was taken as one: no token in the answer.
      expect(text).not.toContain('tls-secret')
    }
    expect((await httpsRequest(cli.port, { headers: { Authorization: 'Bearer tls-secret' } })).status).toBe(200)
  })

  it('plain HTTP or garbage on the TLS port does not hurt the server', async () => {
    for (const junk of ['GET / HTTP/1.1\r\nHost: x\r\n\r\n', '\x16\x03\x01\x00\x05hello', '\x00'.repeat(64)]) {
      await withTimeout(
        new Promise<void>((resolve) => {
          const s = net.connect({ host: '127.0.0.1', port: cli.port }, () => s.end(junk))
          s.on('error', () => resolve())
          s.on('close', () => resolve())
          s.resume()
        }),
        5_000,
        'junk',
      )
    }
    // A TLS client that hangs up mid-handshake.
    await new Promise<void>((resolve) => {
      const s = tls.connect({ host: '127.0.0.1', port: cli.port, rejectUnauthorized: false })
      s.on('error', () => resolve())
      s.once('secureConnect', () => resolve())
      setImmediate(() => s.destroy())
      setTimeout(resolve, 500)
    })
    expect((await httpsRequest(cli.port, { headers: { Authorization: 'Bearer tls-secret' } })).status).toBe(200)
    expect(cli.proc.exitCode).toBeNull()
  })
})

describe('TLS handshake bounds (--timeout 1, --max-connections 5)', () => {
  it('clients that never finish the handshake: twice the cap are held about 1 s, the rest dropped at once; then HTTPS works', async () => {
    const cli = await startCli(['--tls-cert', cert.certFile, '--tls-key', cert.keyFile, '--timeout', '1', '--max-connections', '5'])
    try {
      const started = Date.now()
      // Silent TCP clients and one that stops half-way through its ClientHello.
      const socks = Array.from({ length: 20 }, (_, i) => {
        const s = net.connect({ host: '127.0.0.1', port: cli.port }, () => {
          if (i === 0) s.write(Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00, 0x01]))
        })
        s.on('error', () => {})
        return s
      })
      const lived = await withTimeout(
        Promise.all(socks.map((s) => new Promise<number>((resolve) => s.on('close', () => resolve(Date.now() - started))))),
        6_000,
        'stalled handshakes to be dropped',
      ).finally(() => socks.forEach((s) => s.destroy()))
      // Up to 2 × --max-connections wait for a handshake (those past the cap can still be told 503);
      // beyond that nothing could ever be answered, so they must not hold sockets for the timeout.
      lived.sort((a, b) => a - b)
      expect(lived.slice(0, 10).every((ms) => ms < 700), lived.join(' ')).toBe(true)
      expect(lived.slice(10).every((ms) => ms >= 800 && ms < 4_000), lived.join(' ')).toBe(true)
      expect((await httpsRequest(cli.port, {})).status).toBe(200)
    } finally {
      await cli.stop()
      removeDir(path.dirname(cli.dir))
    }
  })
})

describe('TLS from the environment', () => {
  it('UPLOAD_RECV_TLS_CERT and UPLOAD_RECV_TLS_KEY serve HTTPS', async () => {
    const cli = await startCli([], { env: { UPLOAD_RECV_TLS_CERT: cert.certFile, UPLOAD_RECV_TLS_KEY: cert.keyFile } })
    try {
      expect(cli.events[0]!.urls).toEqual([`https://127.0.0.1:${cli.port}/`])
      expect((await httpsRequest(cli.port, {})).status).toBe(200)
    } finally {
      await cli.stop()
      removeDir(path.dirname(cli.dir))
    }
  })
})

describe('a client that refuses the certificate', () => {
  it('(curl without the CA, as a phone on its first visit) is named on stderr, once a minute per address', async () => {
    const cli = await startCli(['--tls-cert', cert.certFile, '--tls-key', cert.keyFile])
    try {
      for (let i = 0; i < 3; i++) {
        const r = await curl([`https://127.0.0.1:${cli.port}/`])
        expect(r.code).toBe(60) // peer certificate cannot be authenticated
      }
      const said = () => cli.stderr().split('\n').filter((l) => l.includes('the client refused the certificate'))
      await pollUntil(() => said().length > 0, 5_000, 'the notice', 20)
      // curl -k (which accepts it) adds nothing.
      expect((await curl(['-k', '-o', '/dev/null', '-w', '%{http_code}', `https://127.0.0.1:${cli.port}/`])).stdout).toBe('200')
      expect(said()).toEqual([expect.stringMatching(/^⚠ 127\.0\.0\.1 {2}TLS {2}the client refused the certificate \(self-signed\?/)])
    } finally {
      await cli.stop()
      removeDir(path.dirname(cli.dir))
    }
  })
  it('from many addresses (a scan): at most 20 lines a minute, then one line saying the rest are not shown', async () => {
    const cli = await startCli(['--tls-cert', cert.certFile, '--tls-key', cert.keyFile])
    try {
      // curl binds each connection to its own loopback address: 127.0.0.2 to 127.0.0.25.
      for (let n = 2; n < 26; n++) {
        expect((await curl(['--interface', `127.0.0.${n}`, `https://127.0.0.1:${cli.port}/`])).code).toBe(60)
      }
      const lines = () => cli.stderr().split('\n').filter((l) => / TLS {2}the client refused|certificate refusals from/.test(l))
      await pollUntil(() => lines().length >= 21, 5_000, 'the notices', 20)
      await new Promise((ok) => setTimeout(ok, 200))
      expect(lines()).toHaveLength(21)
      expect(lines()[20]).toMatch(/certificate refusals from more than 20 addresses within a minute: no more such lines/)
    } finally {
      await cli.stop()
      removeDir(path.dirname(cli.dir))
    }
  })
})

describe('a certificate out of its validity period', () => {
  const day = 24 * 3600_000
  it.each([
    ['expired', { from: new Date(Date.now() - 30 * day), to: new Date(Date.now() - 2 * day), prefix: 'expired-' }, /warning: --tls-cert .*expired-cert\.pem expired on \d{4}-\d\d-\d\d: browsers and phones will refuse/],
    ['not yet valid', { from: new Date(Date.now() + 2 * day), to: new Date(Date.now() + 30 * day), prefix: 'future-' }, /warning: --tls-cert .*future-cert\.pem is not valid before \d{4}-\d\d-\d\d \(is this machine's clock right\?\)/],
  ])('%s: it still starts, but says on stderr (even under --quiet) why every browser will refuse it', async (_what, validity, warning) => {
    const bad = await makeTestCert(scratch, validity)
    const cli = await startCli(['--tls-cert', bad.certFile, '--tls-key', bad.keyFile, '--quiet'])
    try {
      expect(cli.events[0]!.urls).toEqual([`https://127.0.0.1:${cli.port}/`])
      expect(cli.stderr()).toMatch(warning)
      expect(cli.stderr().trimEnd().split('\n')).toHaveLength(1)
    } finally {
      await cli.stop()
      removeDir(path.dirname(cli.dir))
    }
  })

  it('a valid one draws no warning', async () => {
    const cli = await startCli(['--tls-cert', cert.certFile, '--tls-key', cert.keyFile, '--quiet'])
    try {
      expect(cli.stderr()).not.toMatch(/warning/)
    } finally {
      await cli.stop()
      removeDir(path.dirname(cli.dir))
    }
  })
})

describe.concurrent('a wrong certificate or key: one clear line, nothing listening', () => {
  interface Exit {
    code: number | null
    stdout: string
    stderr: string
  }
  function runToExit(args: string[]): Promise<Exit> {
    const proc = spawn(
      process.execPath,
      [BIN, '--port', '0', '--host', '127.0.0.1', '--json', '--dir', path.join(scratch, 'never'), ...args],
      { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NO_COLOR: '1' } },
    )
    let stdout = ''
    let stderr = ''
    proc.stdout!.setEncoding('utf8').on('data', (d: string) => (stdout += d))
    proc.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d))
    return withTimeout(
      new Promise<Exit>((resolve) => proc.on('close', (code) => resolve({ code, stdout, stderr }))),
      10_000,
      'exit',
    ).catch((e) => {
      proc.kill('SIGKILL')
      throw e
    })
  }
  const f = (name: string) => path.join(scratch, name)

  beforeAll(() => {
    writeFileSync(f('garbage.pem'), 'this is not PEM\n')
    writeFileSync(f('empty.pem'), '')
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' })
    writeFileSync(f('other-key.pem'), privateKey.export({ type: 'pkcs8', format: 'pem' }))
    const encrypted = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({
      type: 'pkcs8',
      format: 'pem',
      cipher: 'aes-256-cbc',
      passphrase: 'pw',
    })
    writeFileSync(f('encrypted-key.pem'), encrypted)
    writeFileSync(f('rsa-key.pem'), generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' }))
    writeFileSync(f('huge.pem'), Buffer.alloc(1024 * 1024 + 1, 'A'))
  })

  it.each([
    ['the certificate is missing', () => [f('missing.pem'), cert.keyFile], /--tls-cert .*missing\.pem.*ENOENT/],
    ['the key is missing', () => [cert.certFile, f('missing.pem')], /--tls-key .*missing\.pem.*ENOENT/],
    ['the certificate is a folder', () => [scratch, cert.keyFile], /--tls-cert .* is a folder, not a PEM file; give the file in it\./],
    ['the certificate is not PEM', () => [f('garbage.pem'), cert.keyFile], /--tls-cert .*garbage\.pem: not a PEM certificate/],
    ['the certificate file is empty', () => [f('empty.pem'), cert.keyFile], /--tls-cert .*empty\.pem: not a PEM certificate/],
    ['the key is not PEM', () => [cert.certFile, f('garbage.pem')], /--tls-key .*garbage\.pem: not a PEM private key/],
    ['the key file is empty', () => [cert.certFile, f('empty.pem')], /--tls-key .*empty\.pem: not a PEM private key/],
    ['the certificate was given as the key', () => [cert.certFile, cert.certFile], /--tls-key .*not a PEM private key/],
    ['cert and key swapped', () => [cert.keyFile, cert.certFile], /--tls-cert .*not a PEM certificate/],
    ['the key is encrypted', () => [cert.certFile, f('encrypted-key.pem')], /--tls-key .*encrypted/],
    ['the key does not match the certificate', () => [cert.certFile, f('other-key.pem')], /unusable pair.*mismatch/],
    // OpenSSL compares a key only with a certificate of its own algorithm: this pair loaded, and
    // every handshake then failed with nothing said.
    ['an RSA key for an EC certificate', () => [cert.certFile, f('rsa-key.pem')], /unusable pair.*mismatch/],
    // Unbounded, /dev/zero grew the process to 24 GB.
    ['the key is a device', () => [cert.certFile, '/dev/zero'], /--tls-key \/dev\/zero: a device, not a PEM file/],
    ['the certificate is over 1 MiB', () => [f('huge.pem'), cert.keyFile], /--tls-cert .*huge\.pem: too large/],
  ])('%s: exit 1', async (_label, files, message) => {
    const [c, k] = files()
    const r = await runToExit(['--tls-cert', c!, '--tls-key', k!])
    expect(r.code).toBe(1)
    expect(r.stdout).toBe('')
    const lines = r.stderr.trimEnd().split('\n')
    expect(lines).toHaveLength(1)
    expect(lines[0]).toMatch(/^upload-recv: /)
    expect(lines[0]).toMatch(message)
    expect(lines[0]).not.toMatch(/internal error|\n\s+at /)
  })

  it.each([
    ['--tls-cert without --tls-key', () => ['--tls-cert', cert.certFile]],
    ['--tls-key without --tls-cert', () => ['--tls-key', cert.keyFile]],
  ])('%s: exit 2 before anything listens', async (_label, args) => {
    const r = await runToExit(args())
    expect(r.code).toBe(2)
    expect(r.stdout).toBe('')
    expect(r.stderr.trimEnd().split('\n')).toHaveLength(1)
    expect(r.stderr).toMatch(/--tls-cert and --tls-key/)
  })
})
