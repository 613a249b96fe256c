// Resource bounds against the real CLI (issue #6): hundreds of slowloris connections trickling
// header bytes do not stop a normal upload; the connection cap answers 503; --timeout drops
// stalled clients (head deadline, body inactivity, keep-alive idle) and leaves no temp file; the
// server's memory (VmRSS / VmHWM from /proc) is reported, with only a loose ceiling asserted.
import { createHash } from 'node:crypto'
import { readFileSync, readdirSync } from 'node:fs'
import net from 'node:net'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { removeDir, startCli, withTimeout, type Cli } from '../helpers/cli.js'
import { files, pollUntil, tempFiles } from '../helpers/fs-walk.js'
import { statuses } from '../helpers/raw.js'

/** Generous: a leak would show as hundreds of MiB; a healthy server sits well under 150. */
const RSS_CEILING_MIB = 400

function memory(pid: number): { rss: number; hwm: number; fds: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8')
  const kb = (k: string) => Number(new RegExp(`^${k}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN)
  return { rss: kb('VmRSS') / 1024, hwm: kb('VmHWM') / 1024, fds: readdirSync(`/proc/${pid}/fd`).length }
}
const mib = (n: number) => `${n.toFixed(0)} MiB`

/** A client that sends `prefix`, then one more byte every `everyMs`, never finishing its head. */
class Trickle {
  readonly sock: net.Socket
  private timer: NodeJS.Timeout | null = null
  reply = ''
  closedAt: number | null = null
  readonly openedAt = Date.now()
  readonly connected: Promise<void>
  readonly closed: Promise<void>

  constructor(port: number, prefix: string, everyMs: number, byte = 'a') {
    this.sock = net.connect({ host: '127.0.0.1', port })
    this.sock.on('error', () => {})
    this.sock.on('data', (d: Buffer) => (this.reply += d.toString('latin1')))
    this.connected = new Promise((resolve) =>
      this.sock.once('connect', () => {
        if (prefix) this.sock.write(prefix)
        if (everyMs > 0) {
          this.timer = setInterval(() => {
            if (!this.sock.destroyed && this.sock.writable) this.sock.write(byte)
          }, everyMs)
        }
        resolve()
      }),
    )
    this.closed = new Promise((resolve) =>
      this.sock.on('close', () => {
        this.closedAt = Date.now()
        if (this.timer) clearInterval(this.timer)
        resolve()
      }),
    )
  }

  get lived(): number {
    return (this.closedAt ?? Date.now()) - this.openedAt
  }

  destroy(): void {
    if (this.timer) clearInterval(this.timer)
    this.sock.destroy()
  }
}

const SLOW_HEAD = 'GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: '

async function openMany(n: number, make: () => Trickle): Promise<Trickle[]> {
  const all = Array.from({ length: n }, make)
  await withTimeout(Promise.all(all.map((t) => t.connected)), 10_000, `${n} connections`)
  return all
}

function pattern(size: number): Buffer {
  const b = Buffer.alloc(size)
  for (let i = 0; i < size; i += 4) b.writeUInt32LE((i * 2654435761) >>> 0, i)
  return b
}

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex')

describe('slowloris: 200 connections trickling header bytes (--max-connections 400, --timeout 3)', () => {
  let cli: Cli
  let slow: Trickle[] = []
  beforeAll(async () => {
    cli = await startCli(['--max-connections', '400', '--timeout', '3'])
  })
  afterAll(async () => {
    for (const t of slow) t.destroy()
    await cli.stop()
    removeDir(path.dirname(cli.dir))
  })

  it('a normal 8 MB upload and the page still work while all 200 are held; then the head deadline drops them', async () => {
    const before = memory(cli.proc.pid!)
    slow = await openMany(200, () => new Trickle(cli.port, SLOW_HEAD, 100))
    // The server really holds them: one descriptor each.
    await pollUntil(() => memory(cli.proc.pid!).fds >= before.fds + 200, 3_000, 'server to hold 200 sockets')
    const during = memory(cli.proc.pid!)

    const data = pattern(8 * 1024 * 1024)
    const started = Date.now()
    const r = await fetch(`${cli.url}/big.bin`, { method: 'PUT', body: new Uint8Array(data), signal: AbortSignal.timeout(10_000) })
    const uploadMs = Date.now() - started
    expect(r.status).toBe(201)
    expect((await r.json()).files[0].sha256).toBe(sha256(data))
    expect(sha256(readFileSync(path.join(cli.dir, 'big.bin')))).toBe(sha256(data))
    const page = await fetch(`${cli.url}/`, { signal: AbortSignal.timeout(5_000) })
    expect(page.status).toBe(200)
    // All of that happened while every slow client was still connected.
    expect(slow.filter((t) => t.closedAt !== null)).toHaveLength(0)

    // Activity does not extend the head deadline: each is answered 408 about 3 s after its first byte.
    await withTimeout(Promise.all(slow.map((t) => t.closed)), 10_000, 'slowloris connections to be dropped')
    const lived = slow.map((t) => t.lived)
    expect(Math.min(...lived)).toBeGreaterThanOrEqual(2_500)
    expect(Math.max(...lived)).toBeLessThan(8_000)
    const answered = slow.filter((t) => statuses(t.reply)[0] === 408).length
    expect(answered).toBeGreaterThanOrEqual(190)
    const after = memory(cli.proc.pid!)
    console.log(
      `slowloris ×200: upload of 8 MiB took ${uploadMs} ms while held; ${answered}/200 answered 408 after ` +
        `${Math.min(...lived)}–${Math.max(...lived)} ms; server RSS ${mib(before.rss)} before, ${mib(during.rss)} with 200 held, ` +
        `${mib(after.rss)} after; peak (VmHWM) ${mib(after.hwm)}; fds ${before.fds} → ${during.fds} → ${after.fds}`,
    )
    expect(after.hwm).toBeLessThan(RSS_CEILING_MIB)
    await pollUntil(() => memory(cli.proc.pid!).fds <= before.fds + 5, 5_000, 'descriptors to be released')
  })
})

describe('the connection cap (--max-connections 20)', () => {
  let cli: Cli
  beforeAll(async () => {
    cli = await startCli(['--max-connections', '20', '--timeout', '5'])
  })
  afterAll(async () => {
    await cli.stop()
    removeDir(path.dirname(cli.dir))
  })

  it('the 21st connection gets 503 with Retry-After and is closed; a slot freed is usable again', async () => {
    const base = memory(cli.proc.pid!).fds
    const held = await openMany(20, () => new Trickle(cli.port, SLOW_HEAD, 200))
    try {
      // Give the server a moment to account for all 20.
      await pollUntil(() => memory(cli.proc.pid!).fds >= base + 20, 3_000, 'server to hold 20 sockets')
      const extra = await openMany(5, () => new Trickle(cli.port, 'GET / HTTP/1.1\r\nHost: x\r\n\r\n', 0))
      await withTimeout(Promise.all(extra.map((t) => t.closed)), 5_000, 'refused connections to close')
      for (const t of extra) {
        expect(statuses(t.reply)).toEqual([503])
        expect(t.reply).toMatch(/\r\nRetry-After: 1\r\n/i)
        expect(t.reply).toMatch(/\r\nConnection: close\r\n/i)
        expect(t.reply).toContain('"code":"UNAVAILABLE"')
      }
      expect(held.filter((t) => t.closedAt !== null)).toHaveLength(0)
    } finally {
      for (const t of held) t.destroy()
    }
    // Slots come back as the held connections go.
    await pollUntil(
      async () => {
        const r = await fetch(`${cli.url}/`, { signal: AbortSignal.timeout(2_000) }).catch(() => null)
        return r?.status === 200
      },
      5_000,
      'a free slot',
    )
  })
})

describe.concurrent('--timeout 1 drops stalled clients', () => {
  let cli: Cli
  beforeAll(async () => {
    cli = await startCli(['--timeout', '1', '--max-connections', '400'])
  })
  afterAll(async () => {
    await cli.stop()
    removeDir(path.dirname(cli.dir))
  })

  it('a connection that never sends a byte is closed after about 1 s', async () => {
    const t = new Trickle(cli.port, '', 0)
    await t.connected
    await withTimeout(t.closed, 5_000, 'idle connection to close')
    expect(t.lived).toBeGreaterThanOrEqual(900)
    expect(t.lived).toBeLessThan(3_000)
    // Nothing was asked, so at most a 408 and nothing else.
    expect(t.reply === '' || statuses(t.reply)[0] === 408).toBe(true)
  })

  it('a head trickled a byte every 200 ms gets 408 after about 1 s (the deadline is not reset by activity)', async () => {
    const t = new Trickle(cli.port, SLOW_HEAD, 200)
    await withTimeout(t.closed, 5_000, 'trickled head to be dropped')
    expect(statuses(t.reply)).toEqual([408])
    expect(t.lived).toBeGreaterThanOrEqual(900)
    expect(t.lived).toBeLessThan(3_000)
  })

  it('a body that stalls is answered 408 and leaves no file and no temp file', async () => {
    const t = new Trickle(cli.port, `PUT /stalled.bin HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n${'x'.repeat(5000)}`, 0)
    await withTimeout(t.closed, 6_000, 'stalled body to be dropped')
    expect(statuses(t.reply)).toEqual([408])
    expect(t.reply).toContain('"code":"TIMEOUT"')
    await cli.waitForEvent((e) => e.event === 'failed' && e.name === 'stalled.bin' && e.code === 'TIMEOUT', 5_000)
    await pollUntil(() => tempFiles(cli.dir).length === 0, 5_000, 'temp file to go')
    expect(files(cli.dir)).not.toContain('stalled.bin')
  })

  it('a slow but steady body (a chunk every 300 ms for 2.4 s) is not dropped: body timeout is inactivity', async () => {
    const chunks = 8
    const piece = Buffer.alloc(1000, 0x61)
    const text = await withTimeout(
      new Promise<string>((resolve) => {
        let got = ''
        const s = net.connect({ host: '127.0.0.1', port: cli.port }, async () => {
          s.write(`PUT /steady.bin HTTP/1.1\r\nHost: x\r\nContent-Length: ${chunks * piece.length}\r\nConnection: close\r\n\r\n`)
          for (let i = 0; i < chunks && !s.destroyed; i++) {
            await new Promise((r) => setTimeout(r, 300))
            s.write(piece)
          }
        })
        s.on('data', (d: Buffer) => (got += d.toString('latin1')))
        s.on('error', () => {})
        s.on('close', () => resolve(got))
      }),
      8_000,
      'steady upload',
    )
    expect(statuses(text)).toEqual([201])
    expect(readFileSync(path.join(cli.dir, 'steady.bin')).length).toBe(chunks * piece.length)
  })

  it('a kept-alive connection idle after its answer is closed after about 1 s', async () => {
    const t = new Trickle(cli.port, 'GET / HTTP/1.1\r\nHost: x\r\n\r\n', 0)
    await withTimeout(t.closed, 5_000, 'keep-alive idle close')
    expect(statuses(t.reply)).toEqual([200])
    expect(t.lived).toBeGreaterThanOrEqual(900)
    expect(t.lived).toBeLessThan(3_000)
  })

  it('200 slowloris connections are all dropped within the deadline; the server serves normally after', async () => {
    const before = memory(cli.proc.pid!)
    const slow = await openMany(200, () => new Trickle(cli.port, SLOW_HEAD, 50))
    try {
      await withTimeout(Promise.all(slow.map((t) => t.closed)), 8_000, '200 slow connections to be dropped')
    } finally {
      for (const t of slow) t.destroy()
    }
    const lived = slow.map((t) => t.lived)
    expect(Math.max(...lived)).toBeLessThan(4_000)
    const r = await fetch(`${cli.url}/after.txt`, { method: 'PUT', body: 'after', signal: AbortSignal.timeout(5_000) })
    expect(r.status).toBe(201)
    const after = memory(cli.proc.pid!)
    console.log(
      `--timeout 1, 200 slowloris: all dropped after ${Math.min(...lived)}–${Math.max(...lived)} ms; ` +
        `server RSS ${mib(before.rss)} → ${mib(after.rss)}, peak ${mib(after.hwm)}`,
    )
    expect(after.hwm).toBeLessThan(RSS_CEILING_MIB)
  })
})
