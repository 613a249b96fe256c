// The HTTP/1.1 connection layer against the real CLI: persistence, pipelining, framing of
// responses, 100-continue, the connection cap and graceful shutdown (SPEC §3, §7).
import { execFile } from 'node:child_process'
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import http from 'node:http'
import net from 'node:net'
import path from 'node:path'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { removeDir, startCli, tmpDir, withTimeout, type Cli } from '../helpers/cli.js'
import { sleep, until } from '../helpers/fs-walk.js'
import { rawRequest, statuses } from '../helpers/raw.js'

// ---------------------------------------------------------------------------------------------
// A raw connection we can talk to step by step, and a parser for what comes back.

class RawConn {
  private chunks: Buffer[] = []
  private waiters = new Set<() => void>()
  isClosed = false
  readonly closed: Promise<void>

  private constructor(readonly sock: net.Socket) {
    sock.setNoDelay(true)
    sock.on('data', (d: Buffer) => {
      this.chunks.push(d)
      this.wake()
    })
    sock.on('error', () => {})
    this.closed = new Promise((resolve) =>
      sock.on('close', () => {
        this.isClosed = true
        this.wake()
        resolve()
      }),
    )
  }

  static open(port: number): Promise<RawConn> {
    return withTimeout(
      new Promise<RawConn>((resolve, reject) => {
        const sock = net.connect({ host: '127.0.0.1', port })
        sock.once('connect', () => {
          sock.off('error', reject)
          resolve(new RawConn(sock))
        })
        sock.once('error', reject)
      }),
      3_000,
      'raw connect',
    )
  }

  get data(): Buffer {
    return Buffer.concat(this.chunks)
  }

  get text(): string {
    return this.data.toString('latin1')
  }

  get localPort(): number {
    return this.sock.localPort!
  }

  write(s: string | Buffer): Promise<void> {
    return new Promise((resolve) => {
      if (this.sock.destroyed) return resolve()
      this.sock.write(s, () => resolve())
    })
  }

  private wake(): void {
    for (const w of this.waiters) w()
  }

  /** Waits (bounded) until what was received satisfies `pred`. */
  waitFor(pred: (text: string) => boolean, ms: number, label: string): Promise<string> {
    return withTimeout(
      new Promise<string>((resolve, reject) => {
        const check = () => {
          const text = this.text
          if (pred(text)) {
            this.waiters.delete(check)
            resolve(text)
          } else if (this.isClosed) {
            this.waiters.delete(check)
            reject(new Error(`connection closed while waiting for ${label}; got ${JSON.stringify(text)}`))
          }
        }
        this.waiters.add(check)
        check()
      }),
      ms,
      label,
    ).catch((err: Error) => {
      throw new Error(`${err.message}; received so far: ${JSON.stringify(this.text.slice(0, 2000))}`)
    })
  }

  /** Waits (bounded) until the server closes; false if it did not within `ms`. */
  async waitClosed(ms: number): Promise<boolean> {
    await Promise.race([this.closed, new Promise((r) => setTimeout(r, ms))])
    return this.isClosed
  }

  destroy(): void {
    this.sock.destroy()
  }
}

interface Resp {
  statusLine: string
  status: number
  headers: Record<string, string>
  /** Header names in order, as sent (for checking absence). */
  names: string[]
  body: Buffer
}

/**
 * Splits a byte stream into responses. `noBody[i]` marks the i-th final response as the answer
 * to a HEAD. 1xx responses are returned too (they never have a body).
 */
function parseResponses(data: Buffer, headAnswers: boolean[] = []): { responses: Resp[]; rest: Buffer } {
  const responses: Resp[] = []
  let pos = 0
  let finals = 0
  while (pos < data.length) {
    const end = data.indexOf('\r\n\r\n', pos, 'latin1')
    if (end === -1) break
    const lines = data.toString('latin1', pos, end).split('\r\n')
    const statusLine = lines[0]!
    const m = /^HTTP\/1\.1 (\d{3}) [^\r\n]*$/.exec(statusLine)
    if (!m) throw new Error(`bad status line ${JSON.stringify(statusLine)}`)
    const status = Number(m[1])
    const headers: Record<string, string> = {}
    const names: string[] = []
    for (const line of lines.slice(1)) {
      const colon = line.indexOf(':')
      const name = line.slice(0, colon).toLowerCase()
      names.push(name)
      const value = line.slice(colon + 1).trim()
      headers[name] = headers[name] === undefined ? value : `${headers[name]}, ${value}`
    }
    let bodyStart = end + 4
    let length = 0
    const isFinal = status >= 200
    const isHeadAnswer = isFinal && headAnswers[finals] === true
    if (isFinal && !isHeadAnswer && status !== 204 && status !== 304) {
      length = Number(headers['content-length'] ?? 'NaN')
      if (!Number.isFinite(length)) throw new Error(`no Content-Length on ${statusLine}`)
    }
    if (bodyStart + length > data.length) break
    responses.push({ statusLine, status, headers, names, body: data.subarray(bodyStart, bodyStart + length) })
    pos = bodyStart + length
    if (isFinal) finals++
  }
  return { responses, rest: data.subarray(pos) }
}

const tempFiles = (dir: string) => (existsSync(dir) ? readdirSync(dir).filter((n) => /^\.upload-recv-.*\.part$/.test(n)) : [])

// ---------------------------------------------------------------------------------------------

describe('connections against the real CLI', () => {
  let cli: Cli
  let root: string
  const dirs: string[] = []

  beforeAll(async () => {
    root = tmpDir()
    cli = await startCli([], { dir: path.join(root, 'in') })
  })

  afterAll(async () => {
    await cli?.stop()
    removeDir(root)
    for (const d of dirs) removeDir(d)
  })

  describe('persistent connections', () => {
    it('answers two requests on one raw socket and keeps it open', async () => {
      const conn = await RawConn.open(cli.port)
      try {
        await conn.write('GET /favicon.ico HTTP/1.1\r\nHost: x\r\n\r\n')
        await conn.waitFor((t) => parseResponses(Buffer.from(t, 'latin1')).responses.length === 1, 3_000, 'first answer')
        expect(conn.isClosed).toBe(false)
        await conn.write('GET /nope HTTP/1.1\r\nHost: x\r\n\r\n')
        await conn.waitFor((t) => parseResponses(Buffer.from(t, 'latin1')).responses.length === 2, 3_000, 'second answer')
        const { responses, rest } = parseResponses(conn.data)
        expect(responses.map((r) => r.status)).toEqual([204, 404])
        expect(rest.length).toBe(0)
        for (const r of responses) expect(r.headers['connection']).toBeUndefined()
        // How long it waits for the next one (30 s, or --timeout if shorter), so a client does not
        // reuse a socket just as we close it.
        for (const r of responses) expect(r.headers['keep-alive']).toBe('timeout=30')
        expect(conn.isClosed).toBe(false)
      } finally {
        conn.destroy()
      }
    })

    it('Keep-Alive: timeout= follows a shorter --timeout, and an answer that closes has none', async () => {
      const short = await startCli(['--timeout', '2.5'])
      dirs.push(path.dirname(short.dir))
      try {
        const r = await rawRequest(short.port, ['GET /favicon.ico HTTP/1.1\r\nHost: x\r\n\r\nGET /favicon.ico HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'], { ms: 5_000 })
        const { responses } = parseResponses(r.data)
        expect(responses.map((x) => [x.headers['keep-alive'], x.headers['connection']])).toEqual([
          ['timeout=2', undefined],
          [undefined, 'close'],
        ])
      } finally {
        await short.stop()
      }
      // Under a second it cannot be said in whole seconds: no hint rather than a longer one.
      const shorter = await startCli(['--timeout', '0.5'])
      dirs.push(path.dirname(shorter.dir))
      try {
        const r = await rawRequest(shorter.port, ['GET /favicon.ico HTTP/1.1\r\nHost: x\r\n\r\n'], { ms: 3_000 })
        expect(parseResponses(r.data).responses[0]!.headers['keep-alive']).toBeUndefined()
      } finally {
        await shorter.stop()
      }
    })

    it('node:http with a keepAlive Agent reuses the same socket', async () => {
      const agent = new http.Agent({ keepAlive: true, maxSockets: 1 })
      const get = (p: string) =>
        withTimeout(
          new Promise<{ status: number; localPort: number; reused: boolean; body: string }>((resolve, reject) => {
            const req = http.get({ host: '127.0.0.1', port: cli.port, path: p, agent }, (res) => {
              let body = ''
              res.setEncoding('utf8')
              res.on('data', (d: string) => (body += d))
              res.on('end', () =>
                resolve({ status: res.statusCode!, localPort: req.socket!.localPort!, reused: req.reusedSocket, body }),
              )
            })
            req.on('error', reject)
          }),
          5_000,
          `GET ${p}`,
        )
      try {
        const a = await get('/')
        const b = await get('/nope')
        const c = await get('/favicon.ico')
        expect([a.status, b.status, c.status]).toEqual([200, 404, 204])
        expect(a.body).toContain('<html')
        expect(a.reused).toBe(false)
        expect(b.reused).toBe(true)
        expect(c.reused).toBe(true)
        expect(b.localPort).toBe(a.localPort)
        expect(c.localPort).toBe(a.localPort)
      } finally {
        agent.destroy()
      }
    })

    it('undici fetch reuses one connection for a GET, a PUT and another GET', async () => {
      // A counting TCP relay in front of the CLI: each connection fetch opens is one accept here.
      const ports: number[] = []
      const sockets: net.Socket[] = []
      const relay = net.createServer((client) => {
        ports.push(client.remotePort!)
        sockets.push(client)
        const upstream = net.connect({ host: '127.0.0.1', port: cli.port })
        client.pipe(upstream).pipe(client)
        client.on('error', () => upstream.destroy())
        upstream.on('error', () => client.destroy())
      })
      await new Promise<void>((r) => relay.listen(0, '127.0.0.1', r))
      const base = `http://127.0.0.1:${(relay.address() as net.AddressInfo).port}`
      try {
        const r1 = await withTimeout(fetch(`${base}/`), 5_000, 'fetch 1')
        expect(r1.status).toBe(200)
        await r1.arrayBuffer()
        // undici frees its client a tick after the body promise settles, and will not queue a request
        // with a body behind a busy one (it would open a second socket): let it settle first.
        await sleep(20)
        const r2 = await withTimeout(fetch(`${base}/fetch-reuse.txt`, { method: 'PUT', body: 'hello' }), 5_000, 'fetch 2')
        expect(r2.status).toBe(201)
        await r2.arrayBuffer()
        await sleep(20)
        const r3 = await withTimeout(fetch(`${base}/favicon.ico`), 5_000, 'fetch 3')
        expect(r3.status).toBe(204)
        await r3.arrayBuffer()
        expect(ports).toHaveLength(1)
        expect(readFileSync(path.join(cli.dir, 'fetch-reuse.txt'), 'utf8')).toBe('hello')
      } finally {
        relay.close()
        for (const s of sockets) s.destroy()
      }
    })
  })

  describe('pipelining', () => {
    const pipelined =
      'GET /favicon.ico HTTP/1.1\r\nHost: x\r\n\r\n' +
      'PUT /pipe-mid.txt HTTP/1.1\r\nHost: x\r\nContent-Length: 11\r\n\r\nhello world' +
      'GET /nope HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'

    it('answers three requests written in one write(), in order, and stores the PUT', async () => {
      const r = await rawRequest(cli.port, [pipelined], { ms: 5_000 })
      expect(r.closed).toBe(true)
      expect(statuses(r.text)).toEqual([204, 201, 404])
      const { responses, rest } = parseResponses(r.data)
      expect(responses.map((x) => x.status)).toEqual([204, 201, 404])
      expect(rest.length).toBe(0)
      const stored = JSON.parse(responses[1]!.body.toString('utf8')) as { files: Array<{ name: string; size: number }> }
      expect(stored.files).toHaveLength(1)
      expect(stored.files[0]!.name).toBe('pipe-mid.txt')
      expect(stored.files[0]!.size).toBe(11)
      expect(JSON.parse(responses[2]!.body.toString('utf8')).error.code).toBe('NOT_FOUND')
      expect(responses[2]!.headers['connection']).toBe('close')
      expect(readFileSync(path.join(cli.dir, 'pipe-mid.txt'), 'utf8')).toBe('hello world')
    })

    it('answers the same requests sent byte by byte with tiny gaps', async () => {
      const text = pipelined.replace('/pipe-mid.txt', '/pipe-bytes.txt')
      const conn = await RawConn.open(cli.port)
      try {
        for (let i = 0; i < text.length; i++) {
          await conn.write(text[i]!)
          if (i % 4 === 0) await sleep(1)
        }
        expect(await conn.waitClosed(5_000)).toBe(true)
        const { responses, rest } = parseResponses(conn.data)
        expect(responses.map((x) => x.status)).toEqual([204, 201, 404])
        expect(rest.length).toBe(0)
        expect(readFileSync(path.join(cli.dir, 'pipe-bytes.txt'), 'utf8')).toBe('hello world')
      } finally {
        conn.destroy()
      }
    })
  })

  describe('closing', () => {
    it('honours Connection: close: answers with Connection: close, then closes', async () => {
      const r = await rawRequest(cli.port, ['GET /favicon.ico HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'], {
        ms: 3_000,
      })
      expect(r.closed).toBe(true)
      const { responses, rest } = parseResponses(r.data)
      expect(responses).toHaveLength(1)
      expect(responses[0]!.status).toBe(204)
      expect(responses[0]!.headers['connection']).toBe('close')
      expect(rest.length).toBe(0)
    })

    it('a client that half-closes after its request still gets the whole answer, then the close', async () => {
      const r = await rawRequest(cli.port, ['GET / HTTP/1.1\r\nHost: x\r\n\r\n'], { endAfterWrite: true, ms: 3_000 })
      expect(r.closed).toBe(true)
      const { responses, rest } = parseResponses(r.data)
      expect(rest.length).toBe(0)
      expect(responses).toHaveLength(1)
      expect(responses[0]!.status).toBe(200)
      expect(responses[0]!.body.length).toBe(Number(responses[0]!.headers['content-length']))
      expect(responses[0]!.body.toString('utf8')).toContain('</html>')
    })

    it('closes an HTTP/1.0 connection without keep-alive after the answer', async () => {
      const conn = await RawConn.open(cli.port)
      try {
        await conn.write('GET /nope HTTP/1.0\r\n\r\n')
        expect(await conn.waitClosed(3_000)).toBe(true)
        const { responses, rest } = parseResponses(conn.data)
        expect(responses).toHaveLength(1)
        expect(responses[0]!.status).toBe(404)
        expect(responses[0]!.headers['connection']).not.toBe('keep-alive')
        expect(rest.length).toBe(0)
      } finally {
        conn.destroy()
      }
    })

    it('keeps an HTTP/1.0 connection with Connection: keep-alive open and says so', async () => {
      const conn = await RawConn.open(cli.port)
      try {
        await conn.write('GET /nope HTTP/1.0\r\nConnection: keep-alive\r\n\r\n')
        await conn.waitFor((t) => parseResponses(Buffer.from(t, 'latin1')).responses.length === 1, 3_000, 'first answer')
        await sleep(150)
        expect(conn.isClosed).toBe(false)
        await conn.write('GET /favicon.ico HTTP/1.0\r\nConnection: keep-alive\r\n\r\n')
        await conn.waitFor((t) => parseResponses(Buffer.from(t, 'latin1')).responses.length === 2, 3_000, 'second answer')
        const { responses } = parseResponses(conn.data)
        expect(responses.map((r) => r.status)).toEqual([404, 204])
        for (const r of responses) {
          expect(r.statusLine.startsWith('HTTP/1.1 ')).toBe(true)
          expect(r.headers['connection']).toBe('keep-alive')
        }
        expect(conn.isClosed).toBe(false)
      } finally {
        conn.destroy()
      }
    })
  })

  describe('response basics', () => {
    it('GET / is 200 with HTTP/1.1, a Date and a Content-Length matching the body', async () => {
      const before = Date.now()
      const r = await rawRequest(cli.port, ['GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'])
      const { responses, rest } = parseResponses(r.data)
      expect(responses).toHaveLength(1)
      const res = responses[0]!
      expect(res.statusLine).toBe('HTTP/1.1 200 OK')
      expect(res.headers['content-type']).toMatch(/^text\/html/)
      const date = Date.parse(res.headers['date']!)
      expect(Number.isNaN(date)).toBe(false)
      expect(res.headers['date']).toMatch(/^[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} GMT$/)
      expect(Math.abs(date - before)).toBeLessThan(5_000)
      expect(Number(res.headers['content-length'])).toBe(res.body.length)
      expect(res.body.length).toBeGreaterThan(100)
      expect(rest.length).toBe(0)
    })

    it('404 has a Content-Length and the JSON error shape', async () => {
      const r = await rawRequest(cli.port, ['GET /does/not/exist HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'])
      const { responses, rest } = parseResponses(r.data)
      expect(rest.length).toBe(0)
      const res = responses[0]!
      expect(res.statusLine).toMatch(/^HTTP\/1\.1 404 /)
      expect(res.headers['date']).toBeDefined()
      expect(Number(res.headers['content-length'])).toBe(res.body.length)
      expect(res.headers['content-type']).toMatch(/^application\/json/)
      const body = JSON.parse(res.body.toString('utf8')) as Record<string, unknown>
      expect(Object.keys(body)).toEqual(['error'])
      const error = body.error as Record<string, unknown>
      expect(Object.keys(error).sort()).toEqual(['code', 'message'])
      expect(error.code).toBe('NOT_FOUND')
      expect(typeof error.message).toBe('string')
      expect((error.message as string).length).toBeGreaterThan(0)
    })

    it('HEAD / has the GET Content-Length and no body', async () => {
      const r = await rawRequest(cli.port, [
        'GET / HTTP/1.1\r\nHost: x\r\n\r\n' +
          'HEAD / HTTP/1.1\r\nHost: x\r\n\r\n' +
          'GET /favicon.ico HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n',
      ])
      expect(r.closed).toBe(true)
      // If HEAD carried a body, the third status line would not follow its head directly.
      const { responses, rest } = parseResponses(r.data, [false, true, false])
      expect(rest.length).toBe(0)
      expect(responses.map((x) => x.status)).toEqual([200, 200, 204])
      const [get, head] = responses
      expect(head!.headers['content-length']).toBe(get!.headers['content-length'])
      expect(Number(head!.headers['content-length'])).toBeGreaterThan(0)
      expect(head!.body.length).toBe(0)
      expect(head!.headers['content-type']).toBe(get!.headers['content-type'])
    })

    it('HEAD of a missing path is 404 with the Content-Length of the error and no body', async () => {
      const r = await rawRequest(cli.port, [
        'HEAD /nope HTTP/1.1\r\nHost: x\r\n\r\n' + 'GET /nope HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n',
      ])
      const { responses, rest } = parseResponses(r.data, [true, false])
      expect(rest.length).toBe(0)
      expect(responses.map((x) => x.status)).toEqual([404, 404])
      expect(responses[0]!.body.length).toBe(0)
      expect(responses[0]!.headers['content-length']).toBe(responses[1]!.headers['content-length'])
    })

    it('GET /favicon.ico is 204 without body or Content-Length, and stores nothing', async () => {
      const before = readdirSync(cli.dir).sort()
      const r = await rawRequest(cli.port, ['GET /favicon.ico HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'])
      expect(r.text).toMatch(/^HTTP\/1\.1 204 No Content\r\n/)
      const headEnd = r.text.indexOf('\r\n\r\n')
      expect(headEnd).toBeGreaterThan(0)
      expect(r.text.length).toBe(headEnd + 4)
      expect(r.text.toLowerCase()).not.toContain('content-length')
      expect(readdirSync(cli.dir).sort()).toEqual(before)
    })

    it.each(['*', '/', '/some/where'])('OPTIONS %s is 204 with Allow and no body or Content-Length', async (target) => {
      const r = await rawRequest(cli.port, [
        `OPTIONS ${target} HTTP/1.1\r\nHost: x\r\n\r\n` + 'GET /favicon.ico HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n',
      ])
      const { responses, rest } = parseResponses(r.data)
      expect(rest.length).toBe(0)
      expect(responses.map((x) => x.status)).toEqual([204, 204])
      const opt = responses[0]!
      expect(opt.statusLine).toBe('HTTP/1.1 204 No Content')
      expect(opt.headers['allow']).toBe('GET, HEAD, POST, PUT, OPTIONS')
      expect(opt.names).not.toContain('content-length')
      expect(opt.names).not.toContain('transfer-encoding')
      expect(opt.headers['date']).toBeDefined()
    })

    it.each(['DELETE', 'PATCH', 'TRACE', 'get'])('%s is 405 with Allow', async (method) => {
      const r = await rawRequest(cli.port, [`${method} / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`])
      const { responses } = parseResponses(r.data)
      expect(responses).toHaveLength(1)
      const res = responses[0]!
      expect(res.status).toBe(405)
      expect(res.headers['allow']).toBe('GET, HEAD, POST, PUT, OPTIONS')
      expect(Number(res.headers['content-length'])).toBe(res.body.length)
      expect(JSON.parse(res.body.toString('utf8')).error.code).toBe('METHOD_NOT_ALLOWED')
    })
  })

  describe('Expect: 100-continue', () => {
    it('sends 100 Continue before any body byte, then the final 201', async () => {
      const conn = await RawConn.open(cli.port)
      try {
        await conn.write(
          'PUT /continued.txt HTTP/1.1\r\nHost: x\r\nContent-Length: 9\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n',
        )
        const got = await conn.waitFor((t) => t.includes('\r\n\r\n'), 3_000, '100 Continue')
        // Nothing but the interim answer so far: the body has not been sent.
        expect(got).toBe('HTTP/1.1 100 Continue\r\n\r\n')
        expect(existsSync(path.join(cli.dir, 'continued.txt'))).toBe(false)
        await conn.write('continued')
        expect(await conn.waitClosed(3_000)).toBe(true)
        const { responses, rest } = parseResponses(conn.data)
        expect(rest.length).toBe(0)
        expect(responses.map((r) => r.status)).toEqual([100, 201])
        expect(readFileSync(path.join(cli.dir, 'continued.txt'), 'utf8')).toBe('continued')
      } finally {
        conn.destroy()
      }
    })

    it('curl uploading 2 MiB does not sit out its 1 s Expect fallback', async () => {
      const src = tmpDir()
      dirs.push(src)
      const file = path.join(src, 'two-mib.bin')
      const bytes = Buffer.alloc(2 * 1024 * 1024, 0x61)
      writeFileSync(file, bytes)
      const { stdout, stderr } = await withTimeout(
        new Promise<{ stdout: string; stderr: string }>((resolve, reject) => {
          execFile(
            'curl',
            ['-sS', '-v', '-o', '/dev/null', '-w', '%{http_code} %{time_total}', '-T', file, `${cli.url}/`],
            { timeout: 10_000 },
            (err, stdout, stderr) => (err ? reject(err) : resolve({ stdout, stderr })),
          )
        }),
        12_000,
        'curl',
      )
      // curl really asked, and the server really answered 100 (not curl giving up and sending anyway).
      expect(stderr).toMatch(/> Expect: 100-continue/i)
      expect(stderr).toMatch(/< HTTP\/1\.1 100 Continue/)
      // curl says so in -v when its 1 s wait for the 100 ran out; no clock needed to tell.
      expect(stderr).not.toMatch(/Done waiting for 100-continue/i)
      expect(stdout.trim().split(' ')[0]).toBe('201')
      expect(readFileSync(path.join(cli.dir, 'two-mib.bin')).equals(bytes)).toBe(true)
    })
  })

  describe('Expect: 100-continue refused before reading', () => {
    let small: Cli
    beforeAll(async () => {
      small = await startCli(['--max-file-size', '10'], { dir: path.join(tmpDir(), 'in') })
      dirs.push(path.dirname(small.dir))
    })
    afterAll(async () => {
      await small?.stop()
    })

    it('answers 413 instead of 100 and closes', async () => {
      const conn = await RawConn.open(small.port)
      try {
        await conn.write('PUT /big.bin HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\nExpect: 100-continue\r\n\r\n')
        expect(await conn.waitClosed(4_000)).toBe(true)
        expect(conn.text).not.toContain('100 Continue')
        const { responses, rest } = parseResponses(conn.data)
        expect(rest.length).toBe(0)
        expect(responses).toHaveLength(1)
        expect(responses[0]!.status).toBe(413)
        expect(responses[0]!.headers['connection']).toBe('close')
        expect(JSON.parse(responses[0]!.body.toString('utf8')).error.code).toBe('FILE_TOO_LARGE')
        expect(existsSync(path.join(small.dir, 'big.bin'))).toBe(false)
        expect(tempFiles(small.dir)).toEqual([])
      } finally {
        conn.destroy()
      }
    })

    it('body bytes sent with the head, not waiting for the 100: still 413 and never a 100', async () => {
      const conn = await RawConn.open(small.port)
      try {
        await conn.write('PUT /early.bin HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\nExpect: 100-continue\r\n\r\nabc')
        expect(await conn.waitClosed(4_000)).toBe(true)
        expect(conn.text).not.toContain('100 Continue')
        expect(parseResponses(conn.data).responses.map((r) => r.status)).toEqual([413])
        expect(tempFiles(small.dir)).toEqual([])
      } finally {
        conn.destroy()
      }
    })

    it('a body begun with the head: 100 once the request is accepted, then the rest, and 201 with every byte', async () => {
      const conn = await RawConn.open(small.port)
      try {
        await conn.write('PUT /begun.bin HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\nExpect: 100-continue\r\n\r\n0123')
        expect(await conn.waitFor((t) => t.includes('\r\n\r\n'), 3_000, '100')).toBe('HTTP/1.1 100 Continue\r\n\r\n')
        await conn.write('456789')
        await conn.waitFor((t) => parseResponses(Buffer.from(t, 'latin1')).responses.length === 2, 3_000, '201')
        expect(parseResponses(conn.data).responses.map((r) => r.status)).toEqual([100, 201])
        expect(readFileSync(path.join(small.dir, 'begun.bin'), 'utf8')).toBe('0123456789')
      } finally {
        conn.destroy()
      }
    })

    it('the whole body with the head and a half-close, then a pipelined request: both answered, the body whole', async () => {
      const { text, closed } = await rawRequest(
        small.port,
        [
          'PUT /whole.bin HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\nExpect: 100-continue\r\n\r\nabcdefghij' +
            'GET /nothing-here HTTP/1.1\r\nHost: x\r\n\r\n',
        ],
        { endAfterWrite: true },
      )
      expect(closed).toBe(true)
      // A 100 after the whole body is allowed, not needed (RFC 9110 §10.1.1).
      expect(statuses(text).filter((n) => n !== 100)).toEqual([201, 404])
      expect(readFileSync(path.join(small.dir, 'whole.bin'), 'utf8')).toBe('abcdefghij')
    })

    it('a GET with Expect and its short body in the same write, a request pipelined behind: both answered on one connection', async () => {
      const { text } = await rawRequest(
        small.port,
        ['GET /favicon.ico HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\nhiGET /favicon.ico HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'],
        { ms: 3_000 },
      )
      expect(statuses(text)).toEqual([204, 204])
      expect(text).not.toContain('100 Continue')
    })

    it('a body within the limit still gets 100 then 201', async () => {
      const conn = await RawConn.open(small.port)
      try {
        await conn.write('PUT /ok.bin HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\nExpect: 100-continue\r\n\r\n')
        expect(await conn.waitFor((t) => t.includes('\r\n\r\n'), 3_000, '100')).toBe('HTTP/1.1 100 Continue\r\n\r\n')
        await conn.write('0123456789')
        await conn.waitFor((t) => parseResponses(Buffer.from(t, 'latin1')).responses.length === 2, 3_000, '201')
        expect(parseResponses(conn.data).responses.map((r) => r.status)).toEqual([100, 201])
        expect(readFileSync(path.join(small.dir, 'ok.bin'), 'utf8')).toBe('0123456789')
      } finally {
        conn.destroy()
      }
    })
  })
})

describe('pipelining without reading, and bursts of pipelined uploads', () => {
  let cli: Cli | null = null
  const socks: net.Socket[] = []
  afterEach(async () => {
    for (const s of socks.splice(0)) s.destroy()
    if (cli) {
      await cli.stop()
      removeDir(path.dirname(cli.dir))
      cli = null
    }
  })
  const rssMiB = (c: Cli) => Number(/^VmRSS:\s+(\d+)/m.exec(readFileSync(`/proc/${c.proc.pid}/status`, 'utf8'))![1]) / 1024
  async function connect(port: number): Promise<net.Socket> {
    const s = net.connect({ host: '127.0.0.1', port })
    socks.push(s)
    s.on('error', () => {})
    await withTimeout(new Promise((r) => s.once('connect', r)), 5_000, 'connect')
    return s
  }

  it('1,500 pipelined GET / never read: the answers wait for the client, not in our memory; read later, all come in order', async () => {
    cli = await startCli([])
    const N = 1_500
    const before = rssMiB(cli)
    const s = await connect(cli.port)
    s.pause()
    s.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n'.repeat(N))
    // Answering them all takes well under this; each page is ~24 kB, so queued they were +36 MiB.
    await new Promise((r) => setTimeout(r, 1_500))
    expect(rssMiB(cli) - before).toBeLessThan(16)
    const STATUS = 'HTTP/1.1 200 OK\r\n'
    let count = 0
    let tail = ''
    s.on('data', (d: Buffer) => {
      const text = tail + d.toString('latin1')
      count += text.split(STATUS).length - 1
      // One byte short of a whole status line: one cut across reads is found, none counted twice.
      tail = text.slice(-(STATUS.length - 1))
    })
    s.resume()
    await until(() => count === N, 20_000, `${N} answers`)
  })

  it('10 pipelined uploads and a half-close straight behind them: all 10 answered and stored', async () => {
    cli = await startCli([])
    const c = cli
    const sock = await connect(c.port)
    let text = ''
    sock.on('data', (d: Buffer) => (text += d.toString('latin1')))
    const closed = new Promise<void>((r) => sock.on('close', () => r()))
    let reqs = ''
    for (let i = 0; i < 10; i++) reqs += `PUT /fin-${i}.txt HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\n${i}${i}${i}`
    sock.end(reqs)
    await withTimeout(closed, 10_000, 'the server closes after the last answer')
    expect(statuses(text)).toEqual(Array(10).fill(201))
    await until(() => c.events.filter((e) => e.event === 'stored').length === 10, 5_000, '10 stored events')
  })

  it('one client\'s burst of 2,000 pipelined uploads does not hold off another client', async () => {
    cli = await startCli([])
    const c = cli
    const burst = await connect(c.port)
    // Counted over the whole text: a read can end inside a status line.
    let text = ''
    burst.on('data', (d: Buffer) => (text += d.toString('latin1')))
    const answers = () => text.split('HTTP/1.1 201').length - 1
    let reqs = ''
    for (let i = 0; i < 2_000; i++) reqs += `PUT /p-${i}.txt HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\n\r\na`
    burst.write(reqs)
    await until(() => c.events.some((e) => e.event === 'stored'), 10_000, 'the burst has begun')
    const other = await rawRequest(c.port, ['GET /favicon.ico HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'], { ms: 10_000 })
    expect(statuses(other.text)).toEqual([204])
    // Answered while the burst was still being stored, not after it.
    expect(c.events.filter((e) => e.event === 'stored').length).toBeLessThan(2_000)
    await until(() => answers() === 2_000, 30_000, 'all 2,000 answers')
  })
})

describe('connection cap', () => {
  let cli: Cli | null = null
  const held: RawConn[] = []
  afterEach(async () => {
    for (const c of held.splice(0)) c.destroy()
    if (cli) {
      await cli.stop()
      removeDir(path.dirname(cli.dir))
      cli = null
    }
  })

  it('--max-connections 2: a third connection gets 503 at once; after release, new ones are served', async () => {
    cli = await startCli(['--max-connections', '2'])
    const port = cli.port
    for (let i = 0; i < 2; i++) {
      const c = await RawConn.open(port)
      held.push(c)
      await c.write('GET / HTTP/1.1\r\nHost: x\r\n')
    }
    await sleep(100)
    const started = Date.now()
    const third = await RawConn.open(port)
    try {
      // No request is sent at all: the 503 needs none.
      expect(await third.waitClosed(3_000)).toBe(true)
      expect(Date.now() - started).toBeLessThan(1_500)
      const { responses, rest } = parseResponses(third.data)
      expect(rest.length).toBe(0)
      expect(responses).toHaveLength(1)
      expect(responses[0]!.status).toBe(503)
      expect(responses[0]!.headers['connection']).toBe('close')
      expect(JSON.parse(responses[0]!.body.toString('utf8')).error.code).toBe('UNAVAILABLE')
    } finally {
      third.destroy()
    }
    // The held ones were not disturbed: they still complete their requests.
    await held[0]!.write('Connection: close\r\n\r\n')
    expect(await held[0]!.waitClosed(3_000)).toBe(true)
    expect(statuses(held[0]!.text)).toEqual([200])

    for (const c of held.splice(0)) c.destroy()
    // Released: a new connection is served (the server may need a moment to see the closes).
    await until(
      async () => {
        const r = await rawRequest(port, ['GET /favicon.ico HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'], {
          ms: 2_000,
        })
        return statuses(r.text)[0] === 204
      },
      3_000,
      'served after release',
    )
    // And both slots are free again.
    const a = await RawConn.open(port)
    const b = await RawConn.open(port)
    held.push(a, b)
    await a.write('GET /favicon.ico HTTP/1.1\r\nHost: x\r\n\r\n')
    await b.write('GET /favicon.ico HTTP/1.1\r\nHost: x\r\n\r\n')
    await a.waitFor((t) => statuses(t).length === 1, 3_000, 'a served')
    await b.waitFor((t) => statuses(t).length === 1, 3_000, 'b served')
    expect(statuses(a.text)).toEqual([204])
    expect(statuses(b.text)).toEqual([204])
  })
})

describe('graceful shutdown', () => {
  let cli: Cli | null = null
  afterEach(async () => {
    if (cli) {
      await cli.stop('SIGKILL').catch(() => {})
      removeDir(path.dirname(cli.dir))
      cli = null
    }
  })

  /** Connects once: 'refused', 'served' (with the statuses) or 'other'. */
  const probe = (port: number) =>
    withTimeout(
      new Promise<string>((resolve) => {
        const sock = net.connect({ host: '127.0.0.1', port })
        let text = ''
        sock.on('connect', () => sock.write('GET /favicon.ico HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'))
        sock.on('data', (d: Buffer) => (text += d.toString('latin1')))
        sock.on('error', (e: NodeJS.ErrnoException) => resolve(e.code === 'ECONNREFUSED' ? 'refused' : `error ${e.code}`))
        sock.on('close', () => resolve(`served ${statuses(text).join(',')}`))
      }),
      3_000,
      'probe',
    )

  it('SIGTERM with an idle kept-alive client that neither reads nor closes (a pool): exit at once, closed last', async () => {
    cli = await startCli([])
    const c = cli
    const sock = net.connect({ host: '127.0.0.1', port: c.port })
    sock.on('error', () => {})
    await withTimeout(new Promise((r) => sock.once('connect', r)), 5_000, 'connect')
    try {
      sock.write('GET /favicon.ico HTTP/1.1\r\nHost: x\r\n\r\n')
      await sleep(200)
      // From here on it reads nothing and never closes (the answer sits in its buffer).
      sock.pause()
      const started = Date.now()
      c.proc.kill('SIGTERM')
      expect(await withTimeout(c.exited, 5_000, 'exit')).toBe(0)
      expect(Date.now() - started).toBeLessThan(1_500)
      expect(c.events.at(-1)).toEqual({ event: 'closed', files: 0, bytes: 0 })
    } finally {
      sock.destroy()
    }
  })

  it('SIGTERM closes idle kept-alive connections at once and exits 0 without waiting for them', async () => {
    cli = await startCli([])
    const c = cli
    const served = await RawConn.open(c.port)
    const silent = await RawConn.open(c.port)
    try {
      await served.write('GET /favicon.ico HTTP/1.1\r\nHost: x\r\n\r\n')
      await served.waitFor((t) => statuses(t).length === 1, 3_000, 'first answer')
      const started = Date.now()
      c.proc.kill('SIGTERM')
      // Both are idle (one between requests, one never spoke): closed now, not after the 30 s idle limit.
      expect(await served.waitClosed(3_000)).toBe(true)
      expect(await silent.waitClosed(3_000)).toBe(true)
      expect(silent.data.length).toBe(0)
      expect(statuses(served.text)).toEqual([204])
      expect(await withTimeout(c.exited, 5_000, 'exit')).toBe(0)
      expect(Date.now() - started).toBeLessThan(3_000)
      const lines = c.stdout().trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>)
      expect(lines[lines.length - 1]).toEqual({ event: 'closed', files: 0, bytes: 0 })
    } finally {
      served.destroy()
      silent.destroy()
    }
  })

  it('a request whose head completes after SIGTERM gets 503 and the connection is closed', async () => {
    cli = await startCli([])
    const c = cli
    const conn = await RawConn.open(c.port)
    try {
      await conn.write('GET / HTTP/1.1\r\nHost: x\r\n')
      await sleep(100)
      c.proc.kill('SIGTERM')
      await until(() => /SIGTERM/.test(c.stderr()), 3_000, 'the signal is acknowledged on stderr')
      expect(conn.isClosed).toBe(false)
      await conn.write('\r\n')
      expect(await conn.waitClosed(3_000)).toBe(true)
      const { responses, rest } = parseResponses(conn.data)
      expect(rest.length).toBe(0)
      expect(responses.map((r) => r.status)).toEqual([503])
      expect(responses[0]!.headers['connection']).toBe('close')
      expect(JSON.parse(responses[0]!.body.toString('utf8')).error.code).toBe('UNAVAILABLE')
      expect(await withTimeout(c.exited, 5_000, 'exit')).toBe(0)
    } finally {
      conn.destroy()
    }
  })

  it('SIGTERM while a client pipelines and keeps sending: it is told 503, and the exit still ends with closed and the summary', async () => {
    cli = await startCli([])
    const c = cli
    const sock = net.connect({ host: '127.0.0.1', port: c.port })
    sock.on('error', () => {})
    let reply = ''
    sock.on('data', (d: Buffer) => (reply += d.toString('latin1')))
    await withTimeout(new Promise((r) => sock.once('connect', r)), 5_000, 'connect')
    const OPT = 'OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n'
    try {
      // A head left half-sent keeps the connection busy at SIGTERM however fast the 300 were
      // answered (an idle one would just be closed, with no 503 to see).
      sock.write(OPT.repeat(300) + 'OPTIONS * HTTP/1.1\r\nHo')
      for (let i = 0; i < 500 && (reply.match(/HTTP\/1\.1 204 /g) ?? []).length < 300; i++) await sleep(10)
      expect((reply.match(/HTTP\/1\.1 204 /g) ?? []).length).toBe(300)
      c.proc.kill('SIGTERM')
      // Completed well inside the 1 s a head still arriving at a stop is given.
      await sleep(200)
      sock.write('st: x\r\n\r\n')
      // The client goes on sending after our answer; a socket we no longer read must not be
      // what the process was waiting for when it ran out of work.
      for (let i = 0; i < 50 && !sock.destroyed; i++) {
        await sleep(2)
        sock.write(OPT)
      }
      expect(await withTimeout(c.exited, 8_000, 'exit')).toBe(0)
      expect(reply).toMatch(/HTTP\/1\.1 503 /)
      expect(c.events.map((e) => e.event)).toEqual(['listening', 'closed'])
      expect(c.stderr()).toMatch(/Done: .*\.\n$/)
    } finally {
      sock.destroy()
    }
  })

  it('a head still arriving at SIGTERM that never completes: 503 after a moment, exit 0, no wait for --timeout', async () => {
    cli = await startCli([])
    const c = cli
    const conn = await RawConn.open(c.port)
    try {
      await conn.write('GET / HTTP/1.1\r\nHo')
      await sleep(100)
      const t0 = Date.now()
      c.proc.kill('SIGTERM')
      expect(await withTimeout(c.exited, 5_000, 'exit (--timeout is 60 s)')).toBe(0)
      expect(Date.now() - t0).toBeLessThan(3_000)
      expect(await conn.waitClosed(3_000)).toBe(true)
      expect(parseResponses(conn.data).responses.map((r) => r.status)).toEqual([503])
      // Not an upload: nothing to wait for.
      expect(c.stderr()).toContain('SIGTERM: stopping.')
      expect(c.stderr()).not.toContain('waiting for')
    } finally {
      conn.destroy()
    }
  })

  it('SIGTERM mid-upload: new connections refused, the upload finishes, exit 0, closed last', async () => {
    cli = await startCli([])
    const c = cli
    const upload = await RawConn.open(c.port)
    try {
      await upload.write('PUT /slow.txt HTTP/1.1\r\nHost: x\r\nContent-Length: 13\r\n\r\nslow')
      // The upload is in hand once its temp file exists.
      await until(() => tempFiles(c.dir).length === 1, 3_000, 'temp file appears')

      c.proc.kill('SIGTERM')
      // It says so on stderr, counting the one upload in hand (probing before this could count a probe).
      await until(() => /SIGTERM/.test(c.stderr()), 3_000, 'the signal is acknowledged on stderr')
      expect(c.stderr(), c.stderr()).toMatch(/waiting for 1 upload\b/)
      let last = ''
      await until(
        async () => {
          last = await probe(c.port)
          return last === 'refused'
        },
        3_000,
        'new connections refused',
      )
      expect(last).toBe('refused')
      // Still running, still waiting for the upload in hand.
      expect(c.proc.exitCode).toBeNull()
      expect(upload.isClosed).toBe(false)

      await upload.write(' but sure')
      expect(await upload.waitClosed(3_000)).toBe(true)
      const { responses } = parseResponses(upload.data)
      expect(responses.map((r) => r.status)).toEqual([201])
      expect(responses[0]!.headers['connection']).toBe('close')
      expect(readFileSync(path.join(c.dir, 'slow.txt'), 'utf8')).toBe('slow but sure')

      expect(await withTimeout(c.exited, 5_000, 'exit')).toBe(0)
      const lines = c.stdout().trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>)
      expect(lines[0]!.event).toBe('listening')
      expect(lines.some((e) => e.event === 'stored' && e.name === 'slow.txt')).toBe(true)
      expect(lines[lines.length - 1]).toEqual({ event: 'closed', files: 1, bytes: 13 })
      expect(tempFiles(c.dir)).toEqual([])
    } finally {
      upload.destroy()
    }
  })
})
