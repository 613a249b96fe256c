// SPEC §5 against the real CLI: --token (Bearer header, ?token= with its 303 + cookie, the cookie),
// --auth (HTTP Basic), both at once, the environment variables, the check coming before any body
// byte (an `Expect: 100-continue` client gets 401 and never a 100), and secrets never echoed.
import { createHash } from 'node:crypto'
import { existsSync, readFileSync, readdirSync } from 'node:fs'
import net from 'node:net'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { removeDir, startCli, tmpDir, withTimeout, type Cli } from '../helpers/cli.js'
import { until } from '../helpers/fs-walk.js'
import { rawRequest, statuses } from '../helpers/raw.js'
import { tokenCookieName } from '../../src/app/access.js'

// Characters that need escaping in a URL and in a cookie, and a `+` that a form decoder would
// turn into a space: the token must survive every carrier unchanged.
const TOKEN = 'T0k+/=&;%x y'
const USER = 'alice'
// A colon in the password (only the first one separates user and password) and a non-ASCII letter.
const PASS = 'pa:ss wörd'
const basic = (user: string, pass: string) => `Basic ${Buffer.from(`${user}:${pass}`, 'utf8').toString('base64')}`
const enc = encodeURIComponent
const COOKIE = tokenCookieName(TOKEN, false)

interface Answer {
  status: number
  headers: Headers
  text: string
}

async function req(cli: Cli, target: string, init: RequestInit = {}): Promise<Answer> {
  const r = await fetch(cli.url + target, { redirect: 'manual', signal: AbortSignal.timeout(5_000), ...init })
  return { status: r.status, headers: r.headers, text: await r.text() }
}

const put = (cli: Cli, target: string, body: string, headers: Record<string, string> = {}) =>
  req(cli, target, { method: 'PUT', body, headers })

function multipart(name: string, content: string): { body: Uint8Array<ArrayBuffer>; type: string } {
  const b = 'xXbOuNdArYXx'
  const body = new TextEncoder().encode(
    `--${b}\r\nContent-Disposition: form-data; name="file"; filename="${name}"\r\nContent-Type: text/plain\r\n\r\n${content}\r\n--${b}--\r\n`,
  )
  return { body, type: `multipart/form-data; boundary=${b}` }
}

/** Every secret form that must never show up in output or answers. */
function leaks(text: string, secrets: string[]): string[] {
  return secrets.filter((s) => s !== '' && text.includes(s))
}

/** A raw socket we can talk to step by step (Expect: 100-continue needs that). */
class Step {
  private buf = Buffer.alloc(0)
  private wake: (() => void) | null = null
  closed = false
  private constructor(readonly sock: net.Socket) {
    sock.on('data', (d: Buffer) => {
      this.buf = Buffer.concat([this.buf, d])
      this.wake?.()
    })
    sock.on('error', () => {})
    sock.on('close', () => {
      this.closed = true
      this.wake?.()
    })
  }
  static open(port: number): Promise<Step> {
    return withTimeout(
      new Promise<Step>((resolve, reject) => {
        const s = net.connect({ host: '127.0.0.1', port }, () => resolve(new Step(s)))
        s.once('error', reject)
      }),
      3_000,
      'connect',
    )
  }
  get text(): string {
    return this.buf.toString('latin1')
  }
  /** Waits (bounded) until the received text satisfies `pred` or the socket closed. */
  until(pred: (t: string) => boolean, ms = 3_000): Promise<string> {
    return withTimeout(
      new Promise<string>((resolve) => {
        const check = () => {
          if (pred(this.text) || this.closed) {
            this.wake = null
            resolve(this.text)
          }
        }
        this.wake = check
        check()
      }),
      ms,
      'raw answer',
    )
  }
  /** Lets `ms` pass and returns what arrived meanwhile. */
  async quiet(ms: number): Promise<string> {
    await new Promise((r) => setTimeout(r, ms))
    return this.text
  }
  destroy(): void {
    this.sock.destroy()
  }
}

const expectHead = (target: string, extra: string, length = 5) =>
  `PUT ${target} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: ${length}\r\nExpect: 100-continue\r\n${extra}\r\n`

describe('--token', () => {
  let cli: Cli
  beforeAll(async () => {
    cli = await startCli(['--token', TOKEN])
  })
  afterAll(async () => {
    await cli.stop()
    removeDir(path.dirname(cli.dir))
  })

  describe('missing or wrong: 401 for the page and for uploads, nothing stored', () => {
    it.each([
      ['GET /', () => req(cli, '/')],
      ['HEAD /', () => req(cli, '/', { method: 'HEAD' })],
      ['OPTIONS /', () => req(cli, '/', { method: 'OPTIONS' })],
      ['GET /favicon.ico', () => req(cli, '/favicon.ico')],
      ['PUT without token', () => put(cli, '/no.txt', 'x')],
      ['PUT wrong Bearer', () => put(cli, '/no.txt', 'x', { Authorization: 'Bearer wrong' })],
      ['PUT Bearer with a prefix of the token', () => put(cli, '/no.txt', 'x', { Authorization: `Bearer ${TOKEN.slice(0, -1)}` })],
      ['PUT token plus a byte', () => put(cli, '/no.txt', 'x', { Authorization: `Bearer ${TOKEN}x` })],
      ['PUT token under another scheme', () => put(cli, '/no.txt', 'x', { Authorization: `Token ${TOKEN}` })],
      ['PUT empty Bearer', () => put(cli, '/no.txt', 'x', { Authorization: 'Bearer ' })],
      ['PUT wrong ?token=', () => put(cli, `/no.txt?token=${enc('nope')}`, 'x')],
      ['PUT empty ?token=', () => put(cli, '/no.txt?token=', 'x')],
      ['PUT ?token= with a bad escape', () => put(cli, '/no.txt?token=%E0%A4%A', 'x')],
      ['PUT token in another parameter', () => put(cli, `/no.txt?tokenx=${enc(TOKEN)}`, 'x')],
      ['PUT wrong cookie', () => put(cli, '/no.txt', 'x', { Cookie: `${COOKIE}=nope` })],
      ['PUT token in another cookie', () => put(cli, '/no.txt', 'x', { Cookie: `other=${enc(TOKEN)}` })],
      ['GET /?token=wrong', () => req(cli, '/?token=wrong')],
      ['POST multipart without token', () => {
        const m = multipart('no.txt', 'x')
        return req(cli, '/', { method: 'POST', body: m.body, headers: { 'Content-Type': m.type } })
      }],
    ])('%s', async (label, send) => {
      const r = await send()
      expect(r.status).toBe(401)
      // A scheme is named (RFC 9110 §11.6.1), but not Basic: no browser password prompt.
      expect(r.headers.get('www-authenticate')).toBe('Bearer realm="upload-recv"')
      expect(r.headers.get('set-cookie')).toBeNull()
      // Every refusal explains itself, but a HEAD answer has no body.
      if (label.startsWith('HEAD ')) expect(r.text).toBe('')
      else {
        expect(JSON.parse(r.text)).toMatchObject({ error: { code: 'UNAUTHORIZED' } })
        expect(leaks(r.text, [TOKEN, enc(TOKEN), 'nope'])).toEqual([])
      }
      expect(existsSync(path.join(cli.dir, 'no.txt'))).toBe(false)
    })
  })

  describe('right: each carrier opens the page and accepts uploads', () => {
    it('Authorization: Bearer — page 200, PUT 201, multipart 201', async () => {
      const auth = { Authorization: `Bearer ${TOKEN}` }
      expect((await req(cli, '/', { headers: auth })).status).toBe(200)
      const p = await put(cli, '/bearer.txt', 'via bearer', auth)
      expect(p.status).toBe(201)
      expect(JSON.parse(p.text).files[0].name).toBe('bearer.txt')
      const m = multipart('bearer-form.txt', 'form via bearer')
      const f = await req(cli, '/', { method: 'POST', body: m.body, headers: { ...auth, 'Content-Type': m.type } })
      expect(f.status).toBe(201)
      expect(readFileSync(path.join(cli.dir, 'bearer.txt'), 'utf8')).toBe('via bearer')
      expect(readFileSync(path.join(cli.dir, 'bearer-form.txt'), 'utf8')).toBe('form via bearer')
    })

    it('the scheme name is case-insensitive (RFC 9110 §11.1)', async () => {
      expect((await req(cli, '/', { headers: { Authorization: `bEaReR ${TOKEN}` } })).status).toBe(200)
    })

    it('?token= on the page: the page with an HttpOnly, SameSite=Strict cookie (no redirect: a Strict cookie set by a cross-site 303 would not be sent on it)', async () => {
      for (const method of ['GET', 'HEAD']) {
        const r = await req(cli, `/?token=${enc(TOKEN)}`, { method })
        expect(r.status).toBe(200)
        expect(r.headers.get('location')).toBeNull()
        if (method === 'GET') expect(r.text).toMatch(/<html/i)
        expect(r.headers.get('cache-control')).toBe('no-store')
        const cookie = r.headers.get('set-cookie')!
        expect(cookie).toBeTruthy()
        const attrs = cookie.split(';').map((a) => a.trim())
        expect(attrs[0]).toBe(`${COOKIE}=${enc(TOKEN)}`)
        expect(attrs).toContain('HttpOnly')
        expect(attrs).toContain('SameSite=Strict')
        expect(attrs).toContain('Path=/')
        // Plain HTTP: a Secure cookie would never come back.
        expect(attrs).not.toContain('Secure')
        // Never sent back in clear anywhere but the cookie itself.
        expect(leaks(r.text, [TOKEN, enc(TOKEN)])).toEqual([])
      }
    })

    it('?token= on an upload: 201 and the query is not part of the stored name', async () => {
      const r = await put(cli, `/query.txt?token=${enc(TOKEN)}`, 'via query')
      expect(r.status).toBe(201)
      expect(JSON.parse(r.text).files[0].name).toBe('query.txt')
      const m = multipart('query-form.txt', 'form via query')
      const f = await req(cli, `/?token=${enc(TOKEN)}`, { method: 'POST', body: m.body, headers: { 'Content-Type': m.type } })
      expect(f.status).toBe(201)
      expect(readFileSync(path.join(cli.dir, 'query-form.txt'), 'utf8')).toBe('form via query')
    })

    it('the cookie the page set opens the page and accepts uploads (what the phone does next)', async () => {
      const first = await req(cli, `/?token=${enc(TOKEN)}`)
      const cookie = first.headers.get('set-cookie')!.split(';')[0]!
      const page = await req(cli, '/', { headers: { Cookie: `a=b; ${cookie}; c=d` } })
      expect(page.status).toBe(200)
      expect(page.text).toMatch(/<html/i)
      const p = await put(cli, '/cookie.txt', 'via cookie', { Cookie: cookie })
      expect(p.status).toBe(201)
      const m = multipart('cookie-form.txt', 'form via cookie')
      const f = await req(cli, '/', { method: 'POST', body: m.body, headers: { Cookie: cookie, 'Content-Type': m.type } })
      expect(f.status).toBe(201)
    })

    it('a right cookie with a stale ?token= still opens the page (and sets no cookie for a wrong query)', async () => {
      const r = await req(cli, '/?token=old', { headers: { Cookie: `${COOKIE}=${enc(TOKEN)}` } })
      expect(r.status).toBe(200)
      expect(r.headers.get('set-cookie')).toBeNull()
    })

    it('the banner URL (the QR code) carries the token and works as printed; the listening event never has it', async () => {
      await until(() => cli.stderr().includes('Ctrl-C stops'), 5_000, 'the banner', cli.stderr)
      const line = cli.stderr().split('\n').find((l) => l.includes('?token='))
      expect(line).toBeDefined()
      const url = line!.trim()
      expect(url).toBe(`${cli.url}/?token=${enc(TOKEN)}`)
      const r = await fetch(url, { redirect: 'manual', signal: AbortSignal.timeout(5_000) })
      expect(r.status).toBe(200)
      expect(r.headers.get('set-cookie')!.startsWith(`${COOKIE}=`)).toBe(true)
      const listening = cli.events.find((e) => e.event === 'listening')!
      expect(listening.urls).toEqual([`${cli.url}/`])
    })
  })

  describe('checked before any body byte is read', () => {
    it('Expect: 100-continue without the token: 401 straight away, never a 100, connection closed', async () => {
      const s = await Step.open(cli.port)
      s.sock.write(expectHead('/expect-no.txt', ''))
      const text = await s.until((t) => /\r\n\r\n/.test(t))
      expect(text).not.toMatch(/100 Continue/)
      expect(statuses(text)).toEqual([401])
      expect(text).toMatch(/\r\nConnection: close\r\n/i)
      s.destroy()
      expect(existsSync(path.join(cli.dir, 'expect-no.txt'))).toBe(false)
    })

    it('Expect: 100-continue with a wrong Bearer: 401, no 100', async () => {
      const r = await rawRequest(cli.port, [expectHead('/expect-no.txt', 'Authorization: Bearer nope\r\n')], { ms: 3_000 })
      expect(r.text).not.toMatch(/100 Continue/)
      expect(statuses(r.text)).toEqual([401])
    })

    it('Expect: 100-continue with the token: 100 Continue first, then the body, then 201', async () => {
      const s = await Step.open(cli.port)
      s.sock.write(expectHead(`/expect-yes.txt?token=${enc(TOKEN)}`, ''))
      const interim = await s.until((t) => t.includes('\r\n\r\n'))
      expect(interim).toMatch(/^HTTP\/1\.1 100 Continue\r\n\r\n/)
      s.sock.write('hello')
      const all = await s.until((t) => statuses(t).length >= 2 && t.includes('}\n'))
      expect(statuses(all)).toEqual([100, 201])
      s.destroy()
      expect(readFileSync(path.join(cli.dir, 'expect-yes.txt'), 'utf8')).toBe('hello')
    })

    it('a huge announced body without credentials is refused at once, before any of it arrives', async () => {
      const r = await rawRequest(
        cli.port,
        ['PUT /huge.bin HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 10000000000\r\n\r\nabc'],
        { ms: 3_000 },
      )
      expect(statuses(r.text)).toEqual([401])
      expect(r.closed).toBe(true)
      expect(readdirSync(cli.dir).filter((n) => n.endsWith('.part'))).toEqual([])
    })
  })

  it('never echoes or logs the token (stdout, --json events, stderr outside the banner URL)', async () => {
    // A failing upload and a 404 both carrying the token, so their messages had the chance to leak it.
    await rawRequest(
      cli.port,
      [`PUT /fail.txt?token=${enc(TOKEN)} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 10\r\n\r\nabc`],
      { endAfterWrite: true },
    )
    await cli.waitForEvent((e) => e.event === 'failed' && e.name === 'fail.txt')
    const nf = await req(cli, `/nothing-here?token=${enc(TOKEN)}`)
    expect(nf.status).toBe(404)
    expect(leaks(nf.text, [TOKEN, enc(TOKEN)])).toEqual([])
    const secrets = [TOKEN, enc(TOKEN), TOKEN.replace(/ /g, '+'), Buffer.from(TOKEN).toString('base64')]
    expect(leaks(cli.stdout(), secrets)).toEqual([])
    const bannerUrl = `${cli.url}/?token=${enc(TOKEN)}`
    const stderrLines = cli.stderr().split('\n')
    expect(stderrLines.filter((l) => l.trim() === bannerUrl)).toHaveLength(1)
    const rest = stderrLines.filter((l) => l.trim() !== bannerUrl).join('\n')
    expect(leaks(rest, secrets)).toEqual([])
  })
})

describe('two receivers on one host, each with its own token', () => {
  const clis: Cli[] = []
  afterAll(async () => {
    for (const c of clis) {
      await c.stop().catch(() => undefined)
      removeDir(path.dirname(c.dir))
    }
  })

  it("keep separate cookies: opening the second one's page does not lock the first one's page out", async () => {
    // Cookies are kept per host, not per port (RFC 6265 §8.5), in a browser as in curl's jar.
    for (const token of ['first one', 'second one']) clis.push(await startCli(['--token', token]))
    const jar = path.join(path.dirname(clis[0]!.dir), 'cookies.txt')
    const { execFile } = await import('node:child_process')
    const curl = (args: string[]) =>
      withTimeout(
        new Promise<string>((resolve, reject) =>
          execFile('curl', ['-sS', '-b', jar, '-c', jar, '-o', '/dev/null', '-w', '%{http_code}', ...args], { timeout: 8_000 }, (err, out) =>
            err ? reject(err) : resolve(out),
          ),
        ),
        10_000,
        'curl',
      )
    expect(await curl([`${clis[0]!.url}/?token=${enc('first one')}`])).toBe('200')
    expect(await curl([`${clis[1]!.url}/?token=${enc('second one')}`])).toBe('200')
    // What each page does next: uploads carrying only the cookies the browser holds.
    expect(await curl(['-X', 'PUT', '--data-binary', 'a', `${clis[0]!.url}/a.txt`])).toBe('201')
    expect(await curl([`${clis[0]!.url}/`])).toBe('200')
    expect(await curl(['-X', 'PUT', '--data-binary', 'b', `${clis[1]!.url}/b.txt`])).toBe('201')
  })
})

describe('a refused request is told on stderr (once per address and minute), never with a secret', () => {
  const refusals = (cli: Cli) => cli.stderr().split('\n').filter((l) => l.includes('UNAUTHORIZED'))

  it.each([[[] as string[]], [['--quiet']]])('flags %j', async (extra) => {
    const cli = await startCli(['--token', TOKEN, ...extra])
    try {
      // The icon a browser fetches on its own is no news; a stored file shows the line did not just lag.
      expect((await req(cli, '/favicon.ico')).status).toBe(401)
      expect((await put(cli, '/ok.txt', 'x', { Authorization: `Bearer ${TOKEN}` })).status).toBe(201)
      await cli.waitForEvent((e) => e.event === 'stored')
      expect(refusals(cli)).toEqual([])

      for (let i = 0; i < 3; i++) expect((await put(cli, '/no.txt', 'x', { Authorization: 'Bearer nope' })).status).toBe(401)
      await until(() => refusals(cli).length > 0, 5_000, 'the refusal line')
      expect((await req(cli, `/?token=nope`)).status).toBe(401)
      await cli.stop()
      const lines = refusals(cli)
      expect(lines).toHaveLength(1)
      expect(lines[0]).toContain('127.0.0.1  UNAUTHORIZED  request without the right token refused (401)')
      expect(leaks(cli.stderr().split('\n').filter((l) => !l.includes('?token=')).join('\n'), [TOKEN, enc(TOKEN), 'nope'])).toEqual([])
      // stdout is data: the refusal is not an event.
      expect(cli.stdout()).not.toContain('UNAUTHORIZED')
    } finally {
      await cli.stop()
      removeDir(path.dirname(cli.dir))
    }
  })
})

describe('the refusal line names the credential that was missing', () => {
  it('--token and --auth, the token given but no Basic: the user name and password', async () => {
    const cli = await startCli(['--token', TOKEN, '--auth', `${USER}:${PASS}`])
    try {
      expect((await put(cli, `/no.txt?token=${enc(TOKEN)}`, 'x')).status).toBe(401)
      await until(() => cli.stderr().includes('UNAUTHORIZED'), 5_000, 'the refusal line', cli.stderr)
      const line = cli.stderr().split('\n').find((l) => l.includes('UNAUTHORIZED'))
      expect(line).toContain('request without the right user name and password refused (401)')
      expect(leaks(line!, [TOKEN, enc(TOKEN), PASS])).toEqual([])
    } finally {
      await cli.stop()
      removeDir(path.dirname(cli.dir))
    }
  })
})

describe('--auth user:pass (HTTP Basic)', () => {
  let cli: Cli
  beforeAll(async () => {
    // From the environment, as SPEC §1 allows, so the password is not in `ps`.
    cli = await startCli([], { env: { UPLOAD_RECV_AUTH: `${USER}:${PASS}` } })
  })
  afterAll(async () => {
    await cli.stop()
    removeDir(path.dirname(cli.dir))
  })

  it.each([
    ['no Authorization', undefined],
    ['wrong password', basic(USER, 'nope')],
    ['wrong user', basic('bob', PASS)],
    ['password without its part after the second colon', basic(USER, 'pa')],
    ['user and password swapped', basic(PASS, USER)],
    ['no colon at all', `Basic ${Buffer.from(USER + PASS).toString('base64')}`],
    ['empty credentials', 'Basic '],
    ['not base64', 'Basic !!!!'],
    ['the right pair under Bearer', `Bearer ${Buffer.from(`${USER}:${PASS}`).toString('base64')}`],
    ['the password as a Bearer token', `Bearer ${PASS}`],
  ])('%s: 401 with WWW-Authenticate: Basic for the page and for an upload', async (_label, authorization) => {
    const headers: Record<string, string> = authorization === undefined ? {} : { Authorization: authorization }
    const page = await req(cli, '/', { headers })
    const up = await put(cli, '/no.txt', 'x', headers)
    for (const r of [page, up]) {
      expect(r.status).toBe(401)
      expect(r.headers.get('www-authenticate')).toMatch(/^Basic realm="upload-recv"/)
      expect(JSON.parse(r.text)).toMatchObject({ error: { code: 'UNAUTHORIZED' } })
      expect(leaks(r.text, [PASS, USER + ':'])).toEqual([])
    }
    expect(existsSync(path.join(cli.dir, 'no.txt'))).toBe(false)
  })

  it('the right pair: page 200, PUT 201, multipart 201 (scheme case-insensitive)', async () => {
    const auth = { Authorization: basic(USER, PASS) }
    expect((await req(cli, '/', { headers: auth })).status).toBe(200)
    expect((await req(cli, '/', { headers: { Authorization: basic(USER, PASS).replace('Basic', 'BASIC') } })).status).toBe(200)
    const p = await put(cli, '/basic.txt', 'via basic', auth)
    expect(p.status).toBe(201)
    const m = multipart('basic-form.txt', 'form via basic')
    const f = await req(cli, '/', { method: 'POST', body: m.body, headers: { ...auth, 'Content-Type': m.type } })
    expect(f.status).toBe(201)
    expect(readFileSync(path.join(cli.dir, 'basic.txt'), 'utf8')).toBe('via basic')
  })

  it('curl -u works', async () => {
    const { execFile } = await import('node:child_process')
    const out = await withTimeout(
      new Promise<string>((resolve, reject) =>
        execFile(
          'curl',
          ['-sS', '-u', `${USER}:${PASS}`, '--data-binary', 'from curl', '-H', 'Content-Type: text/plain', `${cli.url}/curl.txt`],
          { timeout: 8_000 },
          (err, stdout) => (err ? reject(err) : resolve(stdout)),
        ),
      ),
      10_000,
      'curl',
    )
    expect(JSON.parse(out).files[0]).toMatchObject({
      name: 'curl.txt',
      sha256: createHash('sha256').update('from curl').digest('hex'),
    })
  })

  it('Expect: 100-continue without credentials: 401 with WWW-Authenticate at once, no 100', async () => {
    const s = await Step.open(cli.port)
    s.sock.write(expectHead('/expect-no.txt', ''))
    const text = await s.until((t) => t.includes('\r\n\r\n'))
    expect(text).not.toMatch(/100 Continue/)
    expect(statuses(text)).toEqual([401])
    expect(text).toMatch(/\r\nWWW-Authenticate: Basic realm="upload-recv"/i)
    // Still nothing else: no late 100 either.
    expect(await s.quiet(200)).not.toMatch(/100 Continue/)
    s.destroy()
  })

  it('Expect: 100-continue with a wrong password: 401, no 100', async () => {
    const r = await rawRequest(cli.port, [expectHead('/expect-no.txt', `Authorization: ${basic(USER, 'nope')}\r\n`)])
    expect(r.text).not.toMatch(/100 Continue/)
    expect(statuses(r.text)).toEqual([401])
  })

  it('Expect: 100-continue with the right pair: 100 then 201', async () => {
    const s = await Step.open(cli.port)
    s.sock.write(expectHead('/expect-yes.txt', `Authorization: ${basic(USER, PASS)}\r\n`))
    expect(await s.until((t) => t.includes('\r\n\r\n'))).toMatch(/^HTTP\/1\.1 100 Continue\r\n\r\n/)
    s.sock.write('hello')
    const all = await s.until((t) => statuses(t).length >= 2 && t.includes('}\n'))
    expect(statuses(all)).toEqual([100, 201])
    s.destroy()
  })

  it('never logs the password or the encoded credentials', () => {
    const secrets = [PASS, `${USER}:${PASS}`, Buffer.from(`${USER}:${PASS}`).toString('base64'), enc(PASS)]
    expect(leaks(cli.stdout(), secrets)).toEqual([])
    expect(leaks(cli.stderr(), secrets)).toEqual([])
  })
})

describe('--token with letters beyond ASCII', () => {
  it('is taken as a Bearer header whether the client sends it as UTF-8 bytes (curl) or one byte per letter (fetch)', async () => {
    const cli = await startCli(['--token', 'pässwort'])
    try {
      const { execFile } = await import('node:child_process')
      const code = await withTimeout(
        new Promise<string>((resolve, reject) =>
          execFile(
            'curl',
            ['-sS', '-o', '/dev/null', '-w', '%{http_code}', '-H', 'Authorization: Bearer pässwort', '--data-binary', 'x', '-X', 'PUT', `${cli.url}/u.txt`],
            { timeout: 8_000 },
            (err, out) => (err ? reject(err) : resolve(out)),
          ),
        ),
        10_000,
        'curl',
      )
      expect(code).toBe('201')
      expect((await put(cli, '/f.txt', 'x', { Authorization: 'Bearer pässwort' })).status).toBe(201)
      expect((await put(cli, '/n.txt', 'x', { Authorization: 'Bearer passwort' })).status).toBe(401)
    } finally {
      await cli.stop()
      removeDir(path.dirname(cli.dir))
    }
  })
})

describe('--auth :pass (an empty user name, as curl -u :pass sends it)', () => {
  it('lets in that password with the empty name, and nobody else', async () => {
    const cli = await startCli(['--auth', ':only pass'])
    try {
      expect((await put(cli, '/e.txt', 'x', { Authorization: basic('', 'only pass') })).status).toBe(201)
      expect((await put(cli, '/e.txt', 'x', { Authorization: basic('x', 'only pass') })).status).toBe(401)
      expect((await put(cli, '/e.txt', 'x', { Authorization: basic('', '') })).status).toBe(401)
    } finally {
      await cli.stop()
      removeDir(path.dirname(cli.dir))
    }
  })
})

describe('--token and --auth together: both are required', () => {
  let cli: Cli
  beforeAll(async () => {
    cli = await startCli(['--token', TOKEN, '--auth', `${USER}:${PASS}`])
  })
  afterAll(async () => {
    await cli.stop()
    removeDir(path.dirname(cli.dir))
  })

  it('only the token: 401 asking for Basic; only Basic: 401; both: 201', async () => {
    const onlyToken = await put(cli, '/both.txt', 'x', { Authorization: `Bearer ${TOKEN}` })
    expect(onlyToken.status).toBe(401)
    expect(onlyToken.headers.get('www-authenticate')).toMatch(/^Basic /)
    expect(JSON.parse(onlyToken.text).error.message).toBe('This receiver needs the right user name and password.')
    const onlyBasic = await put(cli, '/both.txt', 'x', { Authorization: basic(USER, PASS) })
    expect(onlyBasic.status).toBe(401)
    // A script is told how to send the token, a person where to find the link.
    expect(JSON.parse(onlyBasic.text).error.message).toBe(
      'This receiver needs its link or QR code: open the address shown where it runs (a script sends Authorization: Bearer <token>).',
    )
    const both = await put(cli, `/both.txt?token=${enc(TOKEN)}`, 'x', { Authorization: basic(USER, PASS) })
    expect(both.status).toBe(201)
    const cookie = await put(cli, '/both2.txt', 'x', {
      Authorization: basic(USER, PASS),
      Cookie: `${COOKIE}=${enc(TOKEN)}`,
    })
    expect(cookie.status).toBe(201)
  })

  it('?token= on the page with Basic: the page and its cookie', async () => {
    const r = await req(cli, `/?token=${enc(TOKEN)}`, { headers: { Authorization: basic(USER, PASS) } })
    expect(r.status).toBe(200)
    expect(r.headers.get('set-cookie')).toMatch(/HttpOnly/)
  })

  it('no secret on stdout; stderr shows the token only in the banner URL and never the password', () => {
    const all = [PASS, Buffer.from(`${USER}:${PASS}`).toString('base64')]
    expect(leaks(cli.stdout(), [...all, TOKEN, enc(TOKEN)])).toEqual([])
    expect(leaks(cli.stderr(), all)).toEqual([])
  })
})

describe('UPLOAD_RECV_TOKEN', () => {
  let dir: string
  beforeAll(() => {
    dir = tmpDir()
  })
  afterAll(() => removeDir(dir))

  it('sets the token; a --token on the command line wins over it', async () => {
    const fromEnv = await startCli([], { dir: path.join(dir, 'a'), env: { UPLOAD_RECV_TOKEN: 'env-secret' } })
    try {
      expect((await req(fromEnv, '/')).status).toBe(401)
      expect((await req(fromEnv, '/', { headers: { Authorization: 'Bearer env-secret' } })).status).toBe(200)
      expect(leaks(fromEnv.stdout(), ['env-secret'])).toEqual([])
    } finally {
      await fromEnv.stop()
    }
    const both = await startCli(['--token', 'flag-secret'], { dir: path.join(dir, 'b'), env: { UPLOAD_RECV_TOKEN: 'env-secret' } })
    try {
      expect((await req(both, '/', { headers: { Authorization: 'Bearer env-secret' } })).status).toBe(401)
      expect((await req(both, '/', { headers: { Authorization: 'Bearer flag-secret' } })).status).toBe(200)
    } finally {
      await both.stop()
    }
  })

  it('a malformed --auth is a usage error that does not echo the value', async () => {
    const { spawn } = await import('node:child_process')
    const { BIN } = await import('../helpers/cli.js')
    const proc = spawn(process.execPath, [BIN, '--port', '0', '--host', '127.0.0.1', '--dir', path.join(dir, 'c'), '--auth', 'nocolonsecret'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let err = ''
    proc.stderr!.setEncoding('utf8').on('data', (d: string) => (err += d))
    const code = await withTimeout(new Promise<number | null>((r) => proc.on('exit', r)), 10_000, 'exit')
    expect(code).toBe(2)
    expect(err).toMatch(/--auth/)
    expect(err).not.toContain('nocolonsecret')
  })
})
