// The terminal reporter driven by hand: a fake TTY (or pipe) Writable, fake timers, events.
import { Writable } from 'node:stream'
import { Chalk } from 'chalk'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { renderBanner, renderQr, withToken } from '../../src/report/banner.js'
import type { UploadEvent } from '../../src/report/events.js'
import { displayWidth } from '../../src/report/format.js'
import { colorLevel, createTerminalReporter, type TerminalReporter } from '../../src/report/terminal-reporter.js'
import { ESCAPE, renderScreen, stripSgr } from '../helpers/vt.js'

class FakeTerm extends Writable {
  chunks: string[] = []
  constructor(
    public isTTY: boolean,
    public columns = 80,
    public rows = 24,
  ) {
    super()
  }
  override _write(chunk: Buffer, _enc: BufferEncoding, cb: () => void): void {
    this.chunks.push(chunk.toString())
    cb()
  }
  get text(): string {
    return this.chunks.join('')
  }
  screen(): string[] {
    return renderScreen(this.text, this.columns)
  }
}

// eslint-disable-next-line no-control-regex
const CURSOR = /\x1b\[\d*[ABJK]/
const UP = /\x1b\[\d+A/g

function started(id: number, client: string, name: string, total: number | null = null): UploadEvent {
  return { type: 'started', id, client, name, total }
}
function progress(id: number, bytes: number): UploadEvent {
  return { type: 'progress', id, bytes }
}
function stored(id: number, client: string, name: string, size: number, ms = 1200, originalName = name): UploadEvent {
  return { type: 'stored', id, client, name, originalName, path: `in/${name}`, size, sha256: 'x', ms }
}

let term: FakeTerm
let r: TerminalReporter

beforeEach(() => {
  vi.useFakeTimers()
})
afterEach(() => {
  r?.close()
  vi.useRealTimers()
})

function tty(columns = 80, rows = 24, env: NodeJS.ProcessEnv = { NO_COLOR: '1' }): void {
  term = new FakeTerm(true, columns, rows)
  r = createTerminalReporter({ out: term, env })
}
function pipe(env: NodeJS.ProcessEnv = {}): void {
  term = new FakeTerm(false)
  r = createTerminalReporter({ out: term, env })
}

describe('on a TTY: the live block', () => {
  it('shows one line per client with address, name, bytes, percent, time left and rate', () => {
    tty()
    r.emit(started(1, '192.168.1.23', 'img.jpg', 4_800_000))
    vi.advanceTimersByTime(1000)
    r.emit(progress(1, 1_200_000))
    vi.advanceTimersByTime(150)
    expect(term.screen()).toHaveLength(1)
    expect(term.screen()[0]).toMatch(/^↑ 192\.168\.1\.23 {2}img\.jpg {2}1\.2 MB \/ 4\.8 MB {2}25% {2}3 s left {2}1\.\d+ MB\/s$/)
  })

  it('without a known total: bytes and rate only', () => {
    tty()
    r.emit(started(1, '10.0.0.2', 'a.bin', null))
    vi.advanceTimersByTime(500)
    r.emit(progress(1, 500_000))
    vi.advanceTimersByTime(150)
    // Drawn 100 ms after the progress event: 500 kB in 600 ms.
    expect(term.screen()).toEqual(['↑ 10.0.0.2  a.bin  500 kB  833 kB/s'])
  })

  it('two clients: two lines; a second upload from the same client shows as +1 on its line', () => {
    tty()
    r.emit(started(1, '192.168.1.23', 'a.jpg', 1000))
    r.emit(started(2, '192.168.1.40', 'b.mov', 2000))
    r.emit(started(3, '192.168.1.23', 'c.jpg', 1000))
    vi.advanceTimersByTime(150)
    const screen = term.screen()
    expect(screen).toHaveLength(2)
    expect(screen[0]).toMatch(/^↑ 192\.168\.1\.23 {2}c\.jpg \+1 {2}0 B \/ 2 kB {2}0%/)
    expect(screen[1]).toMatch(/^↑ 192\.168\.1\.40 {2}b\.mov {2}0 B \/ 2 kB {2}0%/)
  })

  it('redraws at most 10 times a second however many progress events arrive', () => {
    tty()
    r.emit(started(1, '127.0.0.1', 'a.bin', 1_000_000))
    for (let ms = 1; ms <= 2000; ms++) {
      r.emit(progress(1, ms * 500))
      vi.advanceTimersByTime(1)
    }
    const redraws = term.text.match(UP)?.length ?? 0
    expect(redraws).toBeGreaterThanOrEqual(15)
    expect(redraws).toBeLessThanOrEqual(20)
    // Each redraw is one write: move up, rewrite each row clearing its end, clear below.
    const body = term.chunks.filter((c) => UP.test(c))
    for (const c of body) expect(c).toMatch(/^\x1b\[1A\r[^\x1b]*(?:\x1b\[[0-9;]*m[^\x1b]*)*\x1b\[K\n\x1b\[J$/)
    expect(term.screen()).toHaveLength(1)
  })

  it('a finished upload replaces its live line with a permanent ✔ line; the block stays below', () => {
    tty()
    r.emit(started(1, '192.168.1.23', 'img.jpg', 4_800_000))
    r.emit(started(2, '192.168.1.40', 'big.iso', 9_000_000))
    vi.advanceTimersByTime(150)
    r.emit(progress(1, 4_800_000))
    const before = term.chunks.length
    r.emit(stored(1, '192.168.1.23', 'img (1).jpg', 4_800_000, 400, 'img.jpg'))
    // The block was drawn 50 ms ago: the line goes out with the next redraw, not a second one now.
    expect(term.chunks.length).toBe(before)
    vi.advanceTimersByTime(50)
    const write = term.chunks.slice(before).join('')
    // Cursor up over the two-line block, clear it, then the permanent line, then the block again.
    expect(write.startsWith('\x1b[2A\r\x1b[J✔ 192.168.1.23  img.jpg → in/img (1).jpg  4.8 MB  400 ms  12 MB/s\n')).toBe(true)
    expect(term.screen()).toEqual([
      '✔ 192.168.1.23  img.jpg → in/img (1).jpg  4.8 MB  400 ms  12 MB/s',
      expect.stringMatching(/^↑ 192\.168\.1\.40 {2}big\.iso/),
    ])
  })

  it('uploads finishing in a burst: at most 10 redraws a second, every line printed once, in order', () => {
    tty()
    r.emit(started(1, '192.168.1.9', 'slow.bin', 1_000_000))
    vi.advanceTimersByTime(150)
    const before = term.chunks.join('').match(UP)?.length ?? 0
    // 300 small uploads over one second, each started and stored at once (a script's PUTs).
    for (let i = 0; i < 300; i++) {
      r.emit(started(100 + i, '192.168.1.23', `f${i}.txt`, 10))
      r.emit(stored(100 + i, '192.168.1.23', `f${i}.txt`, 10, 1))
      vi.advanceTimersByTime(1000 / 300)
    }
    vi.advanceTimersByTime(100)
    const redraws = (term.text.match(UP)?.length ?? 0) - before
    expect(redraws).toBeLessThanOrEqual(11)
    const done = term.screen().filter((l) => l.startsWith('✔'))
    expect(done).toHaveLength(300)
    expect(done[0]).toContain('f0.txt')
    expect(done[299]).toContain('f299.txt')
    expect(term.screen().at(-1)).toMatch(/^↑ 192\.168\.1\.9 {2}slow\.bin/)
  })

  it('a stalled upload is redrawn anyway, about once a second: its rate falls, its time left grows', () => {
    tty()
    r.emit(started(1, '192.168.1.23', 'a.bin', 10_000_000))
    for (let t = 0; t < 20; t++) {
      r.emit(progress(1, (t + 1) * 150_000))
      vi.advanceTimersByTime(100)
    }
    const moving = term.screen()[0]!
    const n = term.chunks.length
    vi.advanceTimersByTime(5000)
    expect(term.chunks.length - n).toBeGreaterThanOrEqual(4)
    expect(term.chunks.length - n).toBeLessThanOrEqual(6)
    const stalled = term.screen()[0]!
    const rate = (l: string) => {
      const m = /([\d.]+) ([kMG]?)B\/s$/.exec(l)
      return m ? Number(m[1]) * 1000 ** ' kMG'.indexOf(m[2] || ' ') : NaN
    }
    expect(stalled).not.toBe(moving)
    expect(rate(stalled)).toBeLessThan(rate(moving))
  })

  it('a failure prints ✖ with the code and message, and the live line goes', () => {
    tty()
    r.emit(started(1, '192.168.1.23', 'big.iso', null))
    vi.advanceTimersByTime(150)
    r.emit({ type: 'failed', id: 1, client: '192.168.1.23', name: 'big.iso', code: 'FILE_TOO_LARGE', message: 'The file is larger than 5 MB.' })
    vi.advanceTimersByTime(150)
    expect(term.screen()).toEqual(['✖ 192.168.1.23  big.iso  FILE_TOO_LARGE  The file is larger than 5 MB.'])
  })

  it('columns 60: long names are shortened so no line is wider than the terminal (and none wraps)', () => {
    tty(60)
    const long = 'a-very-long-file-name-that-goes-on-and-on-and-on-forever-and-more.tar.gz'
    r.emit(started(1, '192.168.100.200', long, 1_500_000_000))
    r.emit(started(2, '2001:db8:1234:5678:9abc:def0:1234:5678', `写真/${'写真'.repeat(30)}.heic`, 999_999_999_999))
    r.emit(started(3, '10.0.0.1', `🎉${'x'.repeat(80)}`, null))
    vi.advanceTimersByTime(2000)
    r.emit(progress(1, 123_456_789))
    r.emit(progress(2, 1_000_000))
    r.emit(progress(3, 42))
    vi.advanceTimersByTime(150)
    const live = term.text.split('\n').map((l) => l.replace(ESCAPE, '')).filter((l) => l.includes('↑'))
    expect(live.length).toBeGreaterThanOrEqual(3)
    for (const l of live) expect(displayWidth(l), l).toBeLessThanOrEqual(59)
    const screen = term.screen()
    expect(screen).toHaveLength(3)
    expect(screen[0]).toContain('…')
    expect(screen[0]).toMatch(/^↑ 192\.168\.100\.200 {2}a-ve.*….*\.gz {2}123 MB \/ 1\.5 GB {2}8% {2}58\.8 MB\/s$/)
    expect(screen[0]).toContain('%')
    for (const l of screen) expect(displayWidth(l)).toBeLessThanOrEqual(59)
  })

  it('columns 20: still one column short of the edge, where a full line would leave the cursor pending a wrap', () => {
    tty(20, 5)
    r.emit(started(1, '127.0.0.2', 'a-very-long-holiday-video-name.mp4', 5_000_000))
    r.emit(progress(1, 1_000_000))
    // More clients than rows: the "… and N more clients" line is cut too.
    for (let i = 2; i < 40; i++) r.emit(started(i, `10.0.0.${i}`, 'x.bin', 100))
    vi.advanceTimersByTime(150)
    expect(term.screen().at(-1)).toContain('…')
    for (const l of term.screen()) expect(displayWidth(l), l).toBeLessThanOrEqual(19)
  })

  it('narrower than an 8-column name beside the numbers: the name and then whole numbers give way, never a cut through one', () => {
    const clients = ['127.0.0.1', '2001:db8:1234:5678:9abc:def0:1234:5678']
    for (const client of clients) {
      for (let columns = 12; columns <= 70; columns++) {
        tty(columns, 5)
        r.emit(started(1, client, 'a-really-long-file-name-that-goes-on-and-on.mp4', 3_000_000))
        r.emit(progress(1, 393_216))
        vi.advanceTimersByTime(150)
        const [line = ''] = term.screen()
        expect(displayWidth(line), line).toBeLessThanOrEqual(columns - 1)
        // Whatever is left of the byte count is all of it: `…93 kB` claimed 93 kB.
        const bytes = /(\S*) kB/.exec(line)
        if (bytes) expect(bytes[1], `${columns} columns: ${line}`).toBe('393')
        r.close()
      }
    }
  })

  it('live: false (--quiet\'s error lines): each line at once, plain, even on a terminal (from its first column, over an echoed ^C)', () => {
    term = new FakeTerm(true)
    r = createTerminalReporter({ out: term, env: { NO_COLOR: '1' }, live: false })
    for (let i = 0; i < 3; i++) {
      r.emit({ type: 'failed', id: i, client: '127.0.0.1', name: `f${i}.txt`, code: 'FILE_TOO_LARGE', message: 'too big' })
    }
    // No timer needed: nothing waits for a redraw that an exit could cut off.
    expect(term.text).toBe(['f0', 'f1', 'f2'].map((n) => `\r✖ 127.0.0.1  ${n}.txt  FILE_TOO_LARGE  too big\n`).join(''))
  })

  it('a terminal resize redraws the block at the new width', () => {
    tty(100)
    const long = 'holiday-video-from-the-beach-2024-final.mp4'
    r.emit(started(1, '192.168.1.23', long, 10_000_000))
    vi.advanceTimersByTime(150)
    expect(term.screen()[0]).toContain(long)
    term.columns = 40
    const before = term.chunks.length
    term.emit('resize')
    const after = term.chunks.slice(before).join('')
    expect(after).toMatch(/^\x1b\[1A\r/)
    const line = after.split('\n')[0]!.replace(ESCAPE, '').replace('\r', '')
    expect(displayWidth(line)).toBeLessThanOrEqual(39)
    expect(line).toMatch(/^↑ 192\.168\.1\.23 {2}hol.*….*mp4/)
    r.close()
    expect(term.listenerCount('resize')).toBe(0)
  })

  it('never draws more lines than the screen has rows', () => {
    tty(80, 8)
    for (let i = 1; i <= 12; i++) r.emit(started(i, `10.0.0.${i}`, `f${i}.bin`, null))
    vi.advanceTimersByTime(150)
    const screen = term.screen()
    expect(screen).toHaveLength(6)
    expect(screen[5]).toBe('  … and 7 more clients')
  })

  it('client names cannot inject escape sequences: ANSI-laden names are stripped', () => {
    tty(80, 24, {})
    const evil = '\x1b[2J\x1b[31mred\x1b]0;pwned\x07\u202eexe.txt\r\n'
    r.emit(started(1, '192.168.1.23', evil, 100))
    vi.advanceTimersByTime(150)
    r.emit(stored(1, '192.168.1.23', 'red.txt', 100, 10, evil))
    r.emit({ type: 'failed', id: 2, client: '192.168.1.23', name: evil, code: 'TYPE_NOT_ALLOWED', message: `no \x1b[5m${evil}` })
    vi.advanceTimersByTime(100)
    // Only our own sequences remain: colours, cursor up, erase line / below.
    const foreign = term.text.replace(/\x1b\[[0-9;]*m|\x1b\[\d+A\r|\x1b\[[JK]|\r(?=(?:\x1b\[[0-9;]*m)*[✔✖])/g, '')
    expect(foreign).not.toMatch(/[\x1b\x9b\x07\r\u202e]/)
    const screen = term.screen().map(stripSgr)
    expect(screen[0]).toBe('✔ 192.168.1.23  redexe.txt → in/red.txt  100 B  10 ms  10 kB/s')
    expect(screen[1]).toBe('✖ 192.168.1.23  redexe.txt  TYPE_NOT_ALLOWED  no redexe.txt')
  })

  it('outside(): another stream’s write goes above the block, which comes back on the next redraw', () => {
    tty()
    r.emit(started(1, '192.168.1.23', 'a.bin', 1000))
    vi.advanceTimersByTime(150)
    r.outside(() => term.write('in/other.txt\n'))
    vi.advanceTimersByTime(150)
    const screen = term.screen()
    expect(screen[0]).toBe('in/other.txt')
    expect(screen[1]).toMatch(/^↑ 192\.168\.1\.23 {2}a\.bin/)
    expect(screen).toHaveLength(2)
  })

  it('line() prints above the block; close() removes the block and stops redrawing', () => {
    tty()
    r.emit(started(1, '192.168.1.23', 'a.bin', 1000))
    vi.advanceTimersByTime(150)
    r.line('Ctrl-C: no new connections; waiting for 1 upload to finish.')
    r.close()
    const n = term.chunks.length
    r.emit(progress(1, 500))
    vi.advanceTimersByTime(500)
    expect(term.chunks.length).toBe(n)
    expect(term.screen()).toEqual(['Ctrl-C: no new connections; waiting for 1 upload to finish.'])
  })

  it('colour on a TTY unless NO_COLOR', () => {
    tty(80, 24, { TERM: 'xterm-256color', FORCE_COLOR: '1' })
    r.emit(stored(1, '192.168.1.23', 'a.jpg', 100, 10))
    expect(term.text).toMatch(/\x1b\[32m✔\x1b\[39m/)
    r.close()
    tty(80, 24, { TERM: 'xterm-256color', NO_COLOR: '1' })
    r.emit(started(1, '192.168.1.23', 'b.jpg', 1000))
    vi.advanceTimersByTime(150)
    r.emit(stored(1, '192.168.1.23', 'b.jpg', 1000, 10))
    expect(term.text).not.toMatch(/\x1b\[[0-9;]*m/)
    expect(term.text).toMatch(CURSOR)
  })
})

describe('not a TTY: plain lines', () => {
  it('a start line and an end line per upload, no progress, no escape sequence at all', () => {
    pipe()
    r.emit(started(1, '192.168.1.23', 'img.jpg', 4_800_000))
    for (let i = 1; i <= 50; i++) {
      r.emit(progress(1, i * 96_000))
      vi.advanceTimersByTime(20)
    }
    r.emit(stored(1, '192.168.1.23', 'img (1).jpg', 4_800_000, 400, 'img.jpg'))
    r.emit(started(2, '192.168.1.23', '\x1b[31mbig.iso', null))
    r.emit({ type: 'failed', id: 2, client: '192.168.1.23', name: '\x1b[31mbig.iso', code: 'FILE_TOO_LARGE', message: 'Too big.' })
    vi.advanceTimersByTime(1000)
    expect(term.text).toBe(
      [
        '↑ 192.168.1.23  img.jpg  4.8 MB',
        '✔ 192.168.1.23  img.jpg → in/img (1).jpg  4.8 MB  400 ms  12 MB/s',
        '↑ 192.168.1.23  big.iso',
        '✖ 192.168.1.23  big.iso  FILE_TOO_LARGE  Too big.',
        '',
      ].join('\n'),
    )
  })

  it('FORCE_COLOR colours plain lines but still never moves the cursor', () => {
    pipe({ FORCE_COLOR: '1' })
    r.emit(started(1, '192.168.1.23', 'a.jpg', 1000))
    r.emit(progress(1, 500))
    vi.advanceTimersByTime(500)
    r.emit(stored(1, '192.168.1.23', 'a.jpg', 1000, 10))
    expect(term.text).toMatch(/\x1b\[32m✔/)
    expect(term.text).not.toMatch(CURSOR)
  })

  it('a TTY with TERM=dumb gets plain lines too', () => {
    term = new FakeTerm(true)
    r = createTerminalReporter({ out: term, env: { TERM: 'dumb' } })
    r.emit(started(1, '192.168.1.23', 'a.jpg', 1000))
    r.emit(progress(1, 500))
    vi.advanceTimersByTime(500)
    r.emit(stored(1, '192.168.1.23', 'a.jpg', 1000, 10))
    expect(term.text).not.toMatch(/\x1b/)
    expect(term.text.split('\n')).toHaveLength(3)
  })
})

describe('summary', () => {
  it('files, bytes, clients, duration, failures', () => {
    pipe()
    r.emit(started(1, '192.168.1.23', 'a', 1000))
    r.emit(stored(1, '192.168.1.23', 'a', 1_000_000))
    r.emit(started(2, '192.168.1.40', 'b', 1000))
    r.emit(stored(2, '192.168.1.40', 'b', 2_500_000))
    r.emit(started(3, '192.168.1.40', 'c', 1000))
    r.emit({ type: 'failed', id: 3, client: '192.168.1.40', name: 'c', code: 'TIMEOUT', message: 'slow' })
    vi.advanceTimersByTime(83_000)
    expect(r.summary()).toBe('2 files, 3.5 MB from 2 clients in 1 min 23 s, 1 failed')
  })
  it('singular forms, nothing failed', () => {
    pipe()
    r.emit(started(1, '192.168.1.23', 'a', 1000))
    r.emit(stored(1, '192.168.1.23', 'a', 1000))
    vi.advanceTimersByTime(1500)
    expect(r.summary()).toBe('1 file, 1 kB from 1 client in 1.5 s')
  })
})

/** A terminal that stops taking output while `held` (Ctrl-S): writes wait, as in a non-blocking stream. */
class StoppedTerm extends FakeTerm {
  held = false
  private waiting: Array<() => void> = []
  override _write(chunk: Buffer, enc: BufferEncoding, cb: () => void): void {
    if (!this.held) return super._write(chunk, enc, cb)
    this.waiting.push(() => super._write(chunk, enc, cb))
  }
  release(): void {
    this.held = false
    for (const w of this.waiting.splice(0)) w()
  }
}

describe('a terminal that stops taking output', () => {
  it('no redraw queues behind one it has not taken; lines past ~1 MiB are counted, the count said after', async () => {
    const t = new StoppedTerm(true, 80, 24)
    term = t
    r = createTerminalReporter({ out: t, env: { NO_COLOR: '1' } })
    r.emit(started(1, '10.0.0.2', 'big.iso', 1e9))
    r.emit(progress(1, 1000))
    await vi.advanceTimersByTimeAsync(200)
    t.held = true
    r.emit(progress(1, 2000))
    await vi.advanceTimersByTimeAsync(200)
    const writes = t.writableLength
    expect(writes).toBeGreaterThan(0)
    // Progress for 5 s: nothing more is written while the last redraw waits.
    for (let i = 0; i < 50; i++) {
      r.emit(progress(1, 3000 + i))
      await vi.advanceTimersByTimeAsync(100)
    }
    expect(t.writableLength).toBe(writes)
    // 20,000 finished uploads: their lines wait, but not without end.
    for (let id = 2; id < 20_002; id++) {
      r.emit(started(id, '10.0.0.3', `f${id}.jpg`, 10))
      r.emit(stored(id, '10.0.0.3', `f${id}.jpg`, 10))
    }
    await vi.advanceTimersByTimeAsync(200)
    t.release()
    await vi.advanceTimersByTimeAsync(200)
    const text = t.text
    const shown = text.match(/✔ 10\.0\.0\.3/g)!.length
    const notShown = Number(/⚠ (\d+) lines not shown: nothing was taking this output/.exec(text)![1])
    expect(shown + notShown).toBe(20_000)
    // Said where the lines it stands for would have been: after those shown.
    expect(text.indexOf('not shown')).toBeGreaterThan(text.lastIndexOf('✔ 10.0.0.3'))
    expect(shown).toBeLessThan(10_000)
    // Once taken, the block is redrawn again.
    r.emit(progress(1, 9000))
    await vi.advanceTimersByTimeAsync(200)
    expect(t.screen().at(-1)).toMatch(/^↑ 10\.0\.0\.2 {2}big\.iso {2}9 kB/)
  })
})

describe('stdout on the same terminal, taking output more slowly than stderr', () => {
  it('paths and ✔ lines keep their order: nothing goes to one stream while the other is behind', async () => {
    const screen: string[] = []
    /** A stream of the terminal that holds what it is given while `held`, as a stopped tty does. */
    class Stream extends Writable {
      held = false
      private waiting: Array<() => void> = []
      constructor(
        readonly isTTY: boolean,
        readonly columns = 80,
        readonly rows = 24,
      ) {
        super()
      }
      override _write(chunk: Buffer, _enc: BufferEncoding, cb: () => void): void {
        const take = () => {
          screen.push(chunk.toString())
          cb()
        }
        if (this.held) this.waiting.push(take)
        else take()
      }
      release(): void {
        this.held = false
        for (const w of this.waiting.splice(0)) w()
      }
    }
    const stderr = new Stream(true)
    const stdout = new Stream(true)
    r = createTerminalReporter({ out: stderr, env: { NO_COLOR: '1' }, sibling: stdout })
    r.emit(started(1, '10.0.0.2', 'big.iso', 1e9))
    await vi.advanceTimersByTimeAsync(200)
    // Stdout's queue backs up (its reader, the pty, took stderr's bytes but not these).
    stdout.held = true
    for (let i = 2; i < 12; i++) {
      r.emit(started(i, '10.0.0.3', `f${i}.jpg`, 10))
      r.outside(() => stdout.write(`in/f${i}.jpg\n`))
      r.emit(stored(i, '10.0.0.3', `f${i}.jpg`, 10))
      await vi.advanceTimersByTimeAsync(150)
    }
    stdout.release()
    await vi.advanceTimersByTimeAsync(2_000)
    const order = screen
      .join('')
      .split('\n')
      .map((l) => /(?:^|✔ 10\.0\.0\.3 {2})(?:in\/)?(f\d+)\.jpg/.exec(l.replace(ESCAPE, '').replace(/\r/g, '')))
      .filter((m) => m !== null)
      .map((m) => (m[0].includes('✔') ? `✔${m[1]}` : `path${m[1]}`))
    const expected = Array.from({ length: 10 }, (_, k) => [`pathf${k + 2}`, `✔f${k + 2}`]).flat()
    expect(order).toEqual(expected)
  })
})

describe('colorLevel (stderr, not stdout; NO_COLOR and FORCE_COLOR)', () => {
  it.each([
    [{ NO_COLOR: '1' }, true, 0],
    [{ NO_COLOR: '1', FORCE_COLOR: '3' }, true, 0],
    [{ NO_COLOR: '' }, false, 0],
    [{ FORCE_COLOR: '0' }, true, 0],
    [{ FORCE_COLOR: 'false' }, true, 0],
    [{ FORCE_COLOR: '' }, false, 1],
    [{ FORCE_COLOR: 'true' }, false, 1],
    [{ FORCE_COLOR: '1' }, false, 1],
    [{ FORCE_COLOR: '2' }, false, 2],
    [{ FORCE_COLOR: '3' }, false, 3],
    [{}, false, 0],
    [{ TERM: 'dumb' }, true, 0],
  ] as Array<[NodeJS.ProcessEnv, boolean, number]>)('%o, tty %s → %d', (env, isTTY, level) => {
    expect(colorLevel(env, isTTY)).toBe(level)
  })
  it('a TTY without a colour override has colour', () => {
    expect(colorLevel({ TERM: 'xterm-256color' }, true)).toBeGreaterThan(0)
  })
})

describe('banner', () => {
  const info = {
    version: '1.2.3',
    dir: '/home/me/in',
    urls: ['http://192.168.100.200:4000/', 'http://10.8.0.5:4000/'],
    token: 'abcdefghijklmnopqrstuvwxyz012345',
    qr: true,
  }

  it('name, version, absolute folder, one URL per line with the token, then the QR code', async () => {
    const text = await renderBanner(info, new Chalk({ level: 0 }))
    const lines = text.trimEnd().split('\n')
    expect(lines[0]).toBe('upload-recv 1.2.3  receiving into /home/me/in')
    expect(lines[1]).toBe('  http://192.168.100.200:4000/?token=abcdefghijklmnopqrstuvwxyz012345')
    expect(lines[2]).toBe('  http://10.8.0.5:4000/?token=abcdefghijklmnopqrstuvwxyz012345')
    expect(lines.at(-1)).toBe('  Scan to open the upload page. Ctrl-C stops.')
    expect(text).toContain(await renderQr('http://192.168.100.200:4000/?token=abcdefghijklmnopqrstuvwxyz012345', false))
  })

  it('the token is URL-encoded', () => {
    expect(withToken('http://h:1/', 'a b&c')).toBe('http://h:1/?token=a%20b%26c')
    expect(withToken('http://h:1/', null)).toBe('http://h:1/')
  })

  it('a LAN URL with a token: the whole banner fits an 80×24 terminal', async () => {
    for (const level of [0, 1] as const) {
      const lines = (await renderBanner({ ...info, urls: [info.urls[0]!] }, new Chalk({ level }))).trimEnd().split('\n')
      expect(lines.length).toBeLessThanOrEqual(24)
      for (const l of lines) expect(displayWidth(l)).toBeLessThanOrEqual(80)
    }
  })

  it('without --qr (or off a terminal): no code, just the hint', async () => {
    const text = await renderBanner({ ...info, qr: false }, new Chalk({ level: 0 }))
    expect(text.trimEnd().split('\n').at(-1)).toBe('  Ctrl-C stops.')
    expect(text).not.toMatch(/[█▀▄]/)
  })

  it('a terminal narrower than the QR code gets a line saying so instead of a code that wraps', async () => {
    for (const level of [0, 1] as const) {
      const c = new Chalk({ level })
      const width = stripSgr((await renderQr(withToken(info.urls[0]!, info.token), level > 0)).split('\n')[0]!).length
      const narrow = stripSgr(await renderBanner({ ...info, qr: true, columns: width - 1 }, c))
      expect(narrow).not.toMatch(/[█▀▄]/)
      expect(narrow.trimEnd().split('\n').at(-1)).toBe(`  A terminal ${width} columns wide would show a QR code. Ctrl-C stops.`)
      const wide = await renderBanner({ ...info, qr: true, columns: width }, c)
      expect(wide).toMatch(/[█▀▄]/)
    }
  })

  it('the colourless QR code is the same code as qrcode’s small coloured one, light modules as glyphs', async () => {
    const url = 'http://192.168.1.10:4000/?token=s3cr3t'
    const coloured = (await renderQr(url, true)).split('\n').map(stripSgr)
    const plain = (await renderQr(url, false)).split('\n')
    expect(plain).toHaveLength(coloured.length)
    expect(plain.join('')).toMatch(/^[█▀▄ ]+$/)
    // No empty trailing row left over from the library's output.
    expect(coloured.at(-1)!.trim()).not.toBe('')
    // Coloured: black glyphs on white. Plain: glyphs are the light modules. So each cell inverts,
    // except the last row, the bottom border, whose lower half is outside the code in both.
    const invert: Record<string, string> = { ' ': '█', '█': ' ', '▀': '▄', '▄': '▀' }
    for (let y = 0; y < plain.length - 1; y++) {
      expect([...plain[y]!].join('')).toBe([...coloured[y]!].map((ch) => invert[ch]).join(''))
    }
    expect(plain.at(-1)).toMatch(/^▀+$/)
    expect(coloured.at(-1)).toMatch(/^▀+$/)
  })
})
