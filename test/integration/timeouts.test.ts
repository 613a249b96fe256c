// Slow and idle clients against the real CLI with a one-second --timeout (SPEC §1 --timeout, §3 408):
// the head has a deadline from its first byte, the body an inactivity limit, an idle connection
// is closed silently, and a stalled upload leaves nothing on disk.
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import net from 'node:net'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { removeDir, startCli, withTimeout, type Cli } from '../helpers/cli.js'
import { sleep, until } from '../helpers/fs-walk.js'

interface Outcome {
  /** Everything the server sent. */
  text: string
  /** The server closed (or reset) the connection within the bound. */
  closed: boolean
  /** ms from the first byte we wrote (or from connecting, if we wrote nothing) to the close. */
  elapsed: number
}

/**
 * Connects, writes `chunks` with `gapMs` between them (stopping once the server has closed), and
 * waits at most `ms` for the server to close. Never hangs: the socket is destroyed at the bound.
 */
function stallingClient(port: number, chunks: string[], opts: { gapMs?: number; ms: number }): Promise<Outcome> {
  return withTimeout(
    new Promise<Outcome>((resolve) => {
      const sock = net.connect({ host: '127.0.0.1', port })
      sock.setNoDelay(true)
      let text = ''
      let start = Date.now()
      let finished = false
      const done = (closed: boolean) => {
        if (finished) return
        finished = true
        clearTimeout(timer)
        sock.destroy()
        resolve({ text, closed, elapsed: Date.now() - start })
      }
      const timer = setTimeout(() => done(false), opts.ms)
      sock.on('data', (d: Buffer) => (text += d.toString('latin1')))
      sock.on('error', () => {})
      sock.on('close', () => done(true))
      sock.on('connect', async () => {
        start = Date.now()
        for (const c of chunks) {
          if (finished || sock.destroyed || !sock.writable) return
          sock.write(c)
          if (opts.gapMs) await sleep(opts.gapMs)
        }
      })
    }),
    opts.ms + 2_000,
    'stalling client',
  )
}

const leftovers = (dir: string) => (existsSync(dir) ? readdirSync(dir) : [])

describe('--timeout 1', () => {
  let cli: Cli

  beforeAll(async () => {
    cli = await startCli(['--timeout', '1'])
  })

  afterAll(async () => {
    if (!cli) return
    expect(await cli.stop()).toBe(0)
    removeDir(path.dirname(cli.dir))
  })

  it('half a head, then silence: 408 and close within about 1-3 s', async () => {
    const r = await stallingClient(cli.port, ['GET / HTTP/1.1\r\nHost: x\r\nUser-Ag'], { ms: 5_000 })
    expect(r.closed).toBe(true)
    expect(r.text).toMatch(/^HTTP\/1\.1 408 Request Timeout\r\n/)
    expect(r.text).toMatch(/\r\nConnection: close\r\n/i)
    expect(r.elapsed).toBeGreaterThanOrEqual(900)
    expect(r.elapsed).toBeLessThan(3_000)
  })

  it('half a head is answered as far as it was read: a HEAD gets no body, a browser gets HTML', async () => {
    const head = await stallingClient(cli.port, ['HEAD / HTTP/1.1\r\nHost: x\r\n'], { ms: 5_000 })
    expect(head.text).toMatch(/^HTTP\/1\.1 408 Request Timeout\r\n/)
    expect(head.text.endsWith('\r\n\r\n'), head.text).toBe(true)
    const page = await stallingClient(cli.port, ['GET / HTTP/1.1\r\nHost: x\r\nAccept: text/html\r\nUser-Ag'], { ms: 5_000 })
    expect(page.text).toMatch(/^HTTP\/1\.1 408 Request Timeout\r\n/)
    expect(page.text).toMatch(/\r\nContent-Type: text\/html/i)
  })

  it('a head and part of the body, then silence: 408, and nothing left on disk', async () => {
    const before = leftovers(cli.dir)
    const r = await stallingClient(
      cli.port,
      ['PUT /stalled.bin HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n', 'only twenty bytes..'],
      { ms: 5_000 },
    )
    expect(r.closed).toBe(true)
    expect(r.elapsed).toBeGreaterThanOrEqual(900)
    expect(r.elapsed).toBeLessThan(3_500)
    // The client is still reading, so the answer can be sent: 408 (SPEC §3), never a success.
    expect(r.text).toMatch(/^HTTP\/1\.1 408 /)
    expect(r.text).not.toMatch(/HTTP\/1\.1 2\d\d /)
    // The temp file goes once the connection is gone (cleanup may trail the close by a moment).
    await until(
      () => leftovers(cli.dir).filter((n) => !before.includes(n)).length === 0,
      2_000,
      'no file and no .upload-recv-*.part left',
      () => JSON.stringify(leftovers(cli.dir)),
    )
    expect(existsSync(path.join(cli.dir, 'stalled.bin'))).toBe(false)
    expect(leftovers(cli.dir).filter((n) => n.startsWith('.upload-recv-'))).toEqual([])
    const failed = await cli.waitForEvent((e) => e.event === 'failed' && e.name === 'stalled.bin', 2_000)
    expect(failed.code).toBe('TIMEOUT')
    expect(cli.events.some((e) => e.event === 'stored' && e.name === 'stalled.bin')).toBe(false)
  })

  it('a connection that never sends anything is closed silently', async () => {
    const r = await stallingClient(cli.port, [], { ms: 5_000 })
    expect(r.closed).toBe(true)
    expect(r.text).toBe('')
    expect(r.elapsed).toBeGreaterThanOrEqual(900)
    expect(r.elapsed).toBeLessThan(3_000)
  })

  it('a slowloris trickling one head byte every 200 ms is cut at the head deadline', async () => {
    // 40 bytes at 200 ms each would take 8 s; an inactivity timer would never fire.
    const head = 'GET / HTTP/1.1\r\nHost: x\r\nX-Slow: ' + 'a'.repeat(40)
    const r = await stallingClient(cli.port, [...head], { gapMs: 200, ms: 6_000 })
    expect(r.closed).toBe(true)
    expect(r.text).toMatch(/^HTTP\/1\.1 408 /)
    expect(r.elapsed).toBeGreaterThanOrEqual(900)
    expect(r.elapsed).toBeLessThan(2_500)
  })

  it('a client trickling only empty-line bytes (\\r, \\n, ...) is cut at the timeout too', async () => {
    // Leading empty lines are ignored (RFC 9112 §2.2), but they are no way to hold a slot: 30
    // bytes at 200 ms would take 6 s.
    const r = await stallingClient(cli.port, '\r\n'.repeat(15).split(''), { gapMs: 200, ms: 6_000 })
    expect(r.closed).toBe(true)
    expect(r.elapsed).toBeGreaterThanOrEqual(900)
    expect(r.elapsed).toBeLessThan(2_500)
  })

  it('a kept-alive connection\'s next head has the whole --timeout from its own first byte, not from the last answer', async () => {
    // An answer often goes out in the millisecond its head came in; the next head's clock must
    // still start at that head's first byte. Ten at once, so such a millisecond is met.
    const trial = () =>
      stallingClient(cli.port, ['OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n', 'OPTIONS * HTTP/1.1\r\n', 'Host: x\r\n\r\n'], { gapMs: 600, ms: 2_500 })
    const results = await Promise.all(Array.from({ length: 10 }, trial))
    for (const r of results) expect(r.text.match(/^HTTP\/1\.1 \d{3}/gm)).toEqual(['HTTP/1.1 204', 'HTTP/1.1 204'])
  })

  it('an idle kept-alive connection is closed silently after its answer', async () => {
    const r = await stallingClient(cli.port, ['GET /favicon.ico HTTP/1.1\r\nHost: x\r\n\r\n'], { ms: 5_000 })
    expect(r.closed).toBe(true)
    // The answer, and nothing after it (no 408 on an idle connection).
    expect(r.text).toMatch(/^HTTP\/1\.1 204 No Content\r\n/)
    expect(r.text.match(/HTTP\/1\.1 /g)).toHaveLength(1)
    expect(r.elapsed).toBeGreaterThanOrEqual(900)
    expect(r.elapsed).toBeLessThan(3_000)
  })

  it('a body trickled with gaps under the timeout is not cut: body time is inactivity, not a deadline', async () => {
    // 7 bytes, one every 350 ms: 2.45 s in all, never 1 s of silence.
    const body = 'trickle'
    const r = await stallingClient(
      cli.port,
      ['PUT /trickled.txt HTTP/1.1\r\nHost: x\r\nContent-Length: 7\r\nConnection: close\r\n\r\n', ...body],
      { gapMs: 350, ms: 6_000 },
    )
    expect(r.closed).toBe(true)
    expect(r.text).toMatch(/^HTTP\/1\.1 201 /)
    expect(readFileSync(path.join(cli.dir, 'trickled.txt'), 'utf8')).toBe(body)
  })
})

describe('UPLOAD_RECV_TIMEOUT=1 (the environment sets the timeout too)', () => {
  let cli: Cli

  beforeAll(async () => {
    cli = await startCli([], { env: { UPLOAD_RECV_TIMEOUT: '1' } })
  })

  afterAll(async () => {
    if (!cli) return
    expect(await cli.stop()).toBe(0)
    removeDir(path.dirname(cli.dir))
  })

  it('half a head, then silence: 408 and close within about 1-3 s', async () => {
    const r = await stallingClient(cli.port, ['POST /x HTTP/1.1\r\nHost: x\r\nContent-Le'], { ms: 5_000 })
    expect(r.closed).toBe(true)
    expect(r.text).toMatch(/^HTTP\/1\.1 408 Request Timeout\r\n/)
    expect(r.elapsed).toBeGreaterThanOrEqual(900)
    expect(r.elapsed).toBeLessThan(3_000)
  })
})
