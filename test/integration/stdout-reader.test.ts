// Standard output's reader sets the pace (SPEC §2, §4 "memory stays flat"): while a reader stops
// reading, answers wait, so uploaders wait instead of their lines piling up in our memory; and a
// signal still ends a process whose last lines nobody reads. Also: a stored file's line is written
// before its 201 goes out, so a script reading stdout after curl returns finds it.
import { spawn, type ChildProcess } from 'node:child_process'
import { closeSync, openSync, readFileSync } from 'node:fs'
import net from 'node:net'
import path from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { BIN, removeDir, tmpDir, withTimeout } from '../helpers/cli.js'
import { sleep, until } from '../helpers/fs-walk.js'

const dirs: string[] = []
const procs: ChildProcess[] = []
afterAll(() => {
  for (const p of procs) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL')
  for (const d of dirs) removeDir(d)
})
function scratch(): string {
  const d = tmpDir('upload-recv-out-')
  dirs.push(d)
  return d
}

/** The receiver with its stdout on a pipe this test reads only when told to. */
async function start(extra: string[] = []) {
  const proc = spawn(process.execPath, [BIN, '--host', '127.0.0.1', '--port', '0', '--dir', path.join(scratch(), 'in'), '--json', ...extra], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, NO_COLOR: '1' },
  })
  procs.push(proc)
  let err = ''
  proc.stderr!.setEncoding('utf8').on('data', (d: string) => (err += d))
  const exited = new Promise<number | string>((r) => proc.on('exit', (code, sig) => r(code ?? sig ?? -1)))
  let rest = ''
  // The first line only, then the pipe is left alone: nobody reads it until read() is called.
  const first = await withTimeout(
    new Promise<string>((resolve) => {
      let buf = ''
      const onData = (d: Buffer) => {
        buf += d.toString()
        const nl = buf.indexOf('\n')
        if (nl === -1) return
        proc.stdout!.off('data', onData)
        proc.stdout!.pause()
        resolve(buf.slice(0, nl))
        rest = buf.slice(nl + 1)
      }
      proc.stdout!.on('data', onData)
    }),
    10_000,
    'listening',
  )
  const port = (JSON.parse(first) as { port: number }).port
  return {
    proc,
    port,
    exited,
    stderr: () => err,
    /** Starts reading stdout for good; what has been read so far. */
    read() {
      let out = rest
      proc.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d))
      proc.stdout!.resume()
      return () => out
    },
  }
}

/** One keep-alive connection; `put` resolves with the status, or null if no answer came in `ms`. */
async function connection(port: number) {
  const sock = net.connect({ host: '127.0.0.1', port })
  sock.on('error', () => {})
  await withTimeout(new Promise((r) => sock.once('connect', r)), 5_000, 'connect')
  let buf = ''
  let wake: (() => void) | null = null
  sock.on('data', (d: Buffer) => {
    buf += d.toString('latin1')
    wake?.()
  })
  const answer = () => {
    const end = buf.indexOf('\r\n\r\n')
    if (end === -1) return null
    const head = buf.slice(0, end)
    const length = Number(/\r\ncontent-length: *(\d+)/i.exec(head)?.[1] ?? 0)
    if (buf.length < end + 4 + length) return null
    buf = buf.slice(end + 4 + length)
    return Number(head.slice(9, 12))
  }
  return {
    sock,
    async put(name: string, ms: number): Promise<number | null> {
      sock.write(`PUT /${name} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 2\r\n\r\nok`)
      return this.next(ms)
    },
    async next(ms: number): Promise<number | null> {
      const end = Date.now() + ms
      for (;;) {
        const status = answer()
        if (status !== null) return status
        const left = end - Date.now()
        if (left <= 0) return null
        await new Promise<void>((r) => {
          const t = setTimeout(r, left)
          wake = () => {
            clearTimeout(t)
            r()
          }
        })
        wake = null
      }
    },
  }
}

// Long names make long lines: the pipe (64 KiB) and our buffer fill after ~150 files.
const longName = (i: number) => `f${String(i).padStart(4, '0')}-${'x'.repeat(200)}.txt`
// The child's stdout is a socket pair, which holds more on a machine with larger default socket
// buffers than this one's (212,992 bytes): the counts below scale with it.
const socketScale = (() => {
  try {
    return Math.max(1, Number(readFileSync('/proc/sys/net/core/wmem_default', 'utf8')) / 212_992 || 1)
  } catch {
    return 1
  }
})()
const MANY = Math.ceil(600 * socketScale)

/** PUTs until one gets no answer within `ms` (held back); how many were answered. */
async function fillUntilHeld(c: Awaited<ReturnType<typeof connection>>, ms: number): Promise<number> {
  for (let i = 0; i < 2000; i++) {
    const status = await c.put(longName(i), ms)
    if (status === null) return i
    expect(status).toBe(201)
  }
  throw new Error('2,000 uploads answered with nobody reading standard output')
}

describe('a reader that stops reading standard output', () => {
  it('holds the next answer back (unread lines do not pile up, the uploader waits); once it reads again, that answer goes out and every line arrives', async () => {
    const s = await start()
    const c = await connection(s.port)
    const answered = await fillUntilHeld(c, 1_500)
    // Our buffer holds ~16 KiB past the pipe's 64 KiB; lines are ~450 bytes.
    expect(answered).toBeGreaterThan(50)
    expect(answered).toBeLessThan(400 * socketScale)
    const out = s.read()
    expect(await c.next(5_000)).toBe(201)
    expect(await c.put('after.txt', 5_000)).toBe(201)
    c.sock.destroy()
    s.proc.kill('SIGTERM')
    expect(await withTimeout(s.exited, 5_000, 'exit')).toBe(0)
    const events = out().trim().split('\n').map((l) => JSON.parse(l) as { event: string; name?: string })
    const stored = events.filter((e) => e.event === 'stored').map((e) => e.name)
    expect(stored).toEqual([...Array.from({ length: answered + 1 }, (_, i) => longName(i)), 'after.txt'])
    expect(events.at(-1)!.event).toBe('closed')
  })

  it('a held answer is not a silent client: an `Expect: 100-continue` upload gets its 100, sends, and waits past --timeout without a 408', async () => {
    const s = await start(['--timeout', '2'])
    const a = await connection(s.port)
    await fillUntilHeld(a, 1_000)
    const b = await connection(s.port)
    let got = ''
    b.sock.on('data', (d: Buffer) => (got += d.toString('latin1')))
    b.sock.write('PUT /expect.txt HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n')
    await until(() => got.startsWith('HTTP/1.1 100 Continue\r\n\r\n'), 3_000, '100 Continue')
    got = ''
    b.sock.write('hello')
    await sleep(3_000)
    expect(got).toBe('')
    s.read()
    await until(() => got.startsWith('HTTP/1.1 201 '), 5_000, 'the 201 once stdout is read')
    a.sock.destroy()
    b.sock.destroy()
    s.proc.kill('SIGTERM')
    expect(await withTimeout(s.exited, 5_000, 'exit')).toBe(0)
  })

  it('an answer with no line behind it does not wait: a 411 and a 404 go out at once', async () => {
    const s = await start()
    const a = await connection(s.port)
    await fillUntilHeld(a, 1_000)
    const b = await connection(s.port)
    b.sock.write('PUT /x.txt HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n')
    expect(await b.next(1_000)).toBe(411)
    const c = await connection(s.port)
    c.sock.write('GET /nothing HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n')
    expect(await c.next(1_000)).toBe(404)
    for (const x of [a, b, c]) x.sock.destroy()
    s.read()
    s.proc.kill('SIGTERM')
    expect(await withTimeout(s.exited, 5_000, 'exit')).toBe(0)
  })

  it('a stop while its lines wait: a second signal ends the process (130), even with the lines unread', async () => {
    const s = await start()
    const c = await connection(s.port)
    await fillUntilHeld(c, 1_000)
    s.proc.kill('SIGTERM')
    await until(() => s.stderr().includes('SIGTERM'), 5_000, 'the first notice')
    s.proc.kill('SIGTERM')
    expect(await withTimeout(s.exited, 5_000, 'exit after the second signal')).toBe(130)
    // The held upload was stored already: nothing partial to speak of.
    expect(s.stderr()).toContain('SIGTERM again: aborted 1 upload; no unfinished file is left.')
    c.sock.destroy()
  })

  it.each([['reads again: the 201 goes out, every line arrives, exit 0'], ['does not: a first signal says what it waits for, a second ends it (130)']])(
    '--once storing 600 files while its reader lags: the answer waits for the reader; then its reader %s',
    async (how) => {
      const s = await start(['--once'])
      // One request storing 600 files with long names: ~500 KB of lines, well over what the pipe
      // (a socket pair, whose buffers grow) holds.
      const b = 'bOuNdArY'
      const parts = Array.from({ length: MANY }, (_, i) =>
        `--${b}\r\nContent-Disposition: form-data; name="f"; filename="${longName(i)}"\r\n\r\nx\r\n`,
      )
      const body = parts.join('') + `--${b}--\r\n`
      const c = await connection(s.port)
      c.sock.write(`POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: multipart/form-data; boundary=${b}\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`)
      expect(await c.next(1_500)).toBeNull()
      if (how.startsWith('reads')) {
        const out = s.read()
        expect(await c.next(5_000)).toBe(201)
        expect(await withTimeout(s.exited, 5_000, 'exit once read')).toBe(0)
        const events = out().trim().split('\n').map((l) => JSON.parse(l) as { event: string })
        expect(events.filter((e) => e.event === 'stored')).toHaveLength(MANY)
        expect(events.at(-1)!.event).toBe('closed')
      } else {
        s.proc.kill('SIGTERM')
        await until(
          () => s.stderr().includes("SIGTERM: already stopping; waiting for 1 upload to finish (standard output's reader is behind; answers wait for it)."),
          5_000,
          'the notice',
        )
        s.proc.kill('SIGTERM')
        expect(await withTimeout(s.exited, 3_000, 'exit on the second signal')).toBe(130)
      }
      c.sock.destroy()
    },
  )
})

describe('ordering', () => {
  it("a stored file's line is on stdout before its 201 goes out (stdout to a file, the server busy with a large upload)", async () => {
    const dir = scratch()
    const outFile = path.join(dir, 'stored.txt')
    const fd = openSync(outFile, 'w')
    const proc = spawn(process.execPath, [BIN, '--host', '127.0.0.1', '--port', '0', '--dir', path.join(dir, 'in'), '--no-qr'], {
      stdio: ['ignore', fd, 'pipe'],
      env: { ...process.env, NO_COLOR: '1' },
    })
    closeSync(fd)
    procs.push(proc)
    const exited = new Promise<number | string>((r) => proc.on('exit', (code, sig) => r(code ?? sig ?? -1)))
    let err = ''
    proc.stderr!.setEncoding('utf8').on('data', (d: string) => (err += d))
    await until(() => /127\.0\.0\.1:\d+/.test(err), 10_000, 'the banner')
    const port = Number(/127\.0\.0\.1:(\d+)/.exec(err)![1])
    // Each turn of the server's event loop is long while it takes in a large upload alongside.
    const big = net.connect({ host: '127.0.0.1', port })
    big.on('error', () => {})
    const total = 256 * 1024 * 1024
    big.write(`PUT /big.bin HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: ${total}\r\n\r\n`)
    const chunk = Buffer.alloc(1024 * 1024, 7)
    let sent = 0
    const pump = () => {
      while (sent < total && big.write(chunk)) sent += chunk.length
      if (sent < total) big.once('drain', () => ((sent += chunk.length), pump()))
    }
    pump()
    const c = await connection(port)
    const missing: number[] = []
    for (let i = 0; i < 300; i++) {
      expect(await c.put(`s${i}.txt`, 5_000)).toBe(201)
      if (!readFileSync(outFile, 'utf8').includes(`/s${i}.txt\n`)) missing.push(i)
    }
    c.sock.destroy()
    big.destroy()
    proc.kill('SIGTERM')
    await withTimeout(exited, 5_000, 'exit')
    expect(missing).toEqual([])
  })
})

describe('--stdout whose reader goes away mid-file', () => {
  it('the client is told 503 (not a 500 "bug of ours"), stderr says the output is incomplete, exit 1', async () => {
    const proc = spawn(process.execPath, [BIN, '--host', '127.0.0.1', '--port', '0', '--dir', path.join(scratch(), 'in'), '--stdout', '--no-qr'], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, NO_COLOR: '1' },
    })
    procs.push(proc)
    let err = ''
    proc.stderr!.setEncoding('utf8').on('data', (d: string) => (err += d))
    const exited = new Promise<number | string>((r) => proc.on('exit', (code, sig) => r(code ?? sig ?? -1)))
    // `| head -c 100`: the first bytes, then the pipe closes.
    proc.stdout!.once('data', () => proc.stdout!.destroy())
    await until(() => /127\.0\.0\.1:\d+/.test(err), 10_000, 'the banner')
    const port = Number(/127\.0\.0\.1:(\d+)/.exec(err)![1])
    const res = await fetch(`http://127.0.0.1:${port}/big.bin`, { method: 'PUT', body: Buffer.alloc(32 * 1024 * 1024, 1), signal: AbortSignal.timeout(10_000) })
    expect(res.status).toBe(503)
    expect(await res.json()).toEqual({
      error: { code: 'UNAVAILABLE', message: "The receiver's standard output was closed by its reader before the whole file went out." },
    })
    expect(await withTimeout(exited, 5_000, 'exit')).toBe(1)
    expect(err).toMatch(/^upload-recv: --stdout: big\.bin failed after [\d.]+ [kMG]?B went out \(the receiver's standard output was closed by its reader before the whole file went out\); standard output is incomplete\.$/m)
    expect(err).not.toContain('INTERNAL')
  })
})

describe('--stdout into a full disk (> /dev/full)', () => {
  it('is the 507 a full disk is anywhere else, and exit 1', async () => {
    const full = openSync('/dev/full', 'w')
    const proc = spawn(process.execPath, [BIN, '--host', '127.0.0.1', '--port', '0', '--dir', path.join(scratch(), 'in'), '--stdout', '--no-qr'], {
      stdio: ['ignore', full, 'pipe'],
      env: { ...process.env, NO_COLOR: '1' },
    })
    closeSync(full)
    procs.push(proc)
    let err = ''
    proc.stderr!.setEncoding('utf8').on('data', (d: string) => (err += d))
    const exited = new Promise<number | string>((r) => proc.on('exit', (code, sig) => r(code ?? sig ?? -1)))
    await until(() => /127\.0\.0\.1:\d+/.test(err), 10_000, 'the banner')
    const port = Number(/127\.0\.0\.1:(\d+)/.exec(err)![1])
    const res = await fetch(`http://127.0.0.1:${port}/a.txt`, { method: 'PUT', body: 'hello', signal: AbortSignal.timeout(10_000) })
    expect(res.status).toBe(507)
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('INSUFFICIENT_STORAGE')
    expect(await withTimeout(exited, 5_000, 'exit')).toBe(1)
  })
})
