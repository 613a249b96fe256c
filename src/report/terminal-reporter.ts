// Human output on stderr. On a TTY: a live block with one line per active client, redrawn at most
// 10 times a second, with a permanent line above it per finished or failed upload. Elsewhere:
// plain start and end lines, no cursor movement. The only file that loads chalk (banner.ts takes its type).
import { Chalk, supportsColorStderr, type ChalkInstance } from 'chalk'
import type { Writable } from 'node:stream'
import type { Reporter, UploadEvent } from './events.js'
import {
  displayWidth,
  fitEnd,
  fitWidth,
  formatDuration,
  formatEta,
  formatRate,
  formatSize,
  formatSizeShort,
  stripControl,
} from './format.js'

export interface TerminalOptions {
  out: Writable & { isTTY?: boolean; columns?: number; rows?: number }
  env: NodeJS.ProcessEnv
  /** false: plain lines even on a terminal, each written at once (--quiet's error lines: no block to draw around). */
  live?: boolean
  /**
   * Standard output when it is the same terminal (what `outside` writes to). Each stream has its
   * own queue once the terminal stops taking output, so neither is written while the other is
   * behind: otherwise their lines, even their bytes, would come out of order.
   */
  sibling?: { readonly writableLength: number }
}

export interface TerminalReporter extends Reporter {
  readonly chalk: ChalkInstance
  /** Writes a line above the live block (banner, notices). */
  line(text: string): void
  /** Runs a write to another stream on the same terminal (stdout), keeping the live block intact. */
  outside(write: () => void): void
  summary(): string
  /** Stops redrawing and leaves the cursor below everything. */
  close(): void
}

const REDRAW_MS = 100
/** How often the block is redrawn while no bytes arrive. */
const STALE_MS = 1000
/**
 * What may wait for a reader that takes no output (a stopped terminal, a pipe nobody reads) before
 * further lines are counted instead of kept: about 5,000 lines, and memory stays bounded.
 */
const BACKLOG_BYTES = 1 << 20

/** chalk ignores NO_COLOR and looks at stdout, while our output is stderr (chalk#547). */
export function colorLevel(env: NodeJS.ProcessEnv, isTTY: boolean): 0 | 1 | 2 | 3 {
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return 0
  if (env.FORCE_COLOR !== undefined) {
    if (env.FORCE_COLOR === '' || env.FORCE_COLOR === 'true') return 1
    if (env.FORCE_COLOR === 'false') return 0
    const n = Number(env.FORCE_COLOR)
    return Number.isInteger(n) && n >= 0 && n <= 3 ? (n as 0 | 1 | 2 | 3) : 1
  }
  if (!isTTY || env.TERM === 'dumb') return 0
  return supportsColorStderr ? supportsColorStderr.level : 1
}

interface Upload {
  client: string
  name: string
  total: number | null
  bytes: number
  started: number
}

export function createTerminalReporter(opts: TerminalOptions): TerminalReporter {
  const { out } = opts
  // A dumb terminal (Emacs shell, some CI consoles) has no cursor movement: plain lines there too.
  const terminal = out.isTTY === true && opts.env.TERM !== 'dumb'
  const live = terminal && opts.live !== false
  const c = new Chalk({ level: colorLevel(opts.env, terminal) })
  const startedAt = Date.now()
  const clients = new Set<string>()
  const active = new Map<number, Upload>()
  let files = 0
  let bytes = 0
  let failures = 0
  let drawnRows = 0
  let timer: NodeJS.Timeout | null = null
  let closed = false
  /** Lines not written because the reader was that far behind; said once it takes output again. */
  let dropped = 0
  const backlog = () => (out.writableLength ?? 0) + (opts.sibling?.writableLength ?? 0)
  const droppedLine = () => {
    const n = dropped
    dropped = 0
    return c.yellow('⚠') + ` ${n} line${n === 1 ? '' : 's'} not shown: nothing was taking this output\n`
  }

  // One column short of the edge: a line that fills the last column leaves the cursor in a
  // pending-wrap state that terminals treat differently.
  const width = () => Math.max(1, (out.columns || 80) - 1)
  // The block must fit on the screen, or moving up over it would stop at the top and leave copies.
  const maxLines = () => Math.max(1, (out.rows || 24) - 2)

  /** Moves to the top of the live block and clears it, so what follows replaces it. */
  const clearBlock = () => (drawnRows > 0 ? `\x1b[${drawnRows}A\r\x1b[J` : '')

  /** `↑ client  name +n  done / total  pct%  eta left  rate`, never wider than the terminal. */
  const clientLine = (client: string, list: Upload[], now: number): string => {
    const current = list[list.length - 1]!
    const done = list.reduce((n, u) => n + u.bytes, 0)
    const known = list.every((u) => u.total !== null)
    const total = known ? list.reduce((n, u) => n + u.total!, 0) : null
    const ms = now - Math.min(...list.map((u) => u.started))
    const more = list.length > 1 ? ` +${list.length - 1}` : ''
    const rate = formatRate(done, ms)
    let pct = ''
    let eta = ''
    if (total !== null && total > 0) {
      pct = `${Math.min(100, Math.floor((done * 100) / total))}%`
      eta = formatEta(done, total, ms)
    }
    const size = total !== null && total > 0 ? `${formatSizeShort(done)} / ${formatSize(total)}` : formatSizeShort(done)
    const head = `↑ ${client}  `
    const name = stripControl(current.name)
    // The name gets whatever the numbers leave; on a narrow terminal the least useful numbers go first.
    const tails = [
      [size, pct, eta && `${eta} left`, rate],
      [size, pct, rate],
      [formatSizeShort(done), pct, rate],
      [formatSizeShort(done), pct],
    ].map((parts) => `${more}  ${parts.filter(Boolean).join('  ')}`)
    let line = ''
    for (const tail of tails) {
      const room = width() - displayWidth(head) - displayWidth(tail)
      line = head + fitWidth(name, Math.max(8, room)) + tail
      if (room >= 8) break
    }
    if (displayWidth(line) > width()) line = narrowLine(head, name, more, [formatSizeShort(done), pct])
    return c.cyan('↑') + line.slice(1)
  }

  /**
   * Too narrow even for an 8-column name beside the bytes: the name shrinks further and numbers
   * go whole, last first. Cutting the line in its middle read `393 kB` as `…93 kB`.
   */
  const narrowLine = (head: string, name: string, more: string, numbers: string[]): string => {
    const parts = numbers.filter(Boolean)
    for (; parts.length > 0; parts.pop()) {
      const tail = `${more}  ${parts.join('  ')}`
      const room = width() - displayWidth(head) - displayWidth(tail)
      if (room >= 2) return head + fitWidth(name, room) + tail
    }
    return fitEnd(head + name, width())
  }

  const blockLines = (): string[] => {
    const byClient = new Map<string, Upload[]>()
    for (const u of active.values()) {
      const list = byClient.get(u.client) ?? []
      list.push(u)
      byClient.set(u.client, list)
    }
    const now = Date.now()
    const entries = [...byClient]
    const max = maxLines()
    const shown = entries.length > max ? entries.slice(0, max - 1) : entries
    const lines = shown.map(([client, list]) => clientLine(client, list, now))
    if (shown.length < entries.length) {
      const rest = entries.length - shown.length
      lines.push(c.dim(fitWidth(`  … and ${rest} more client${rest === 1 ? '' : 's'}`, width())))
    }
    return lines
  }

  // Lines for above the block (strings for stderr, functions that write to stdout), in order.
  const pending: Array<string | (() => void)> = []
  let lastDraw = -Infinity
  let due = Infinity

  /**
   * Redraws the block in place: one write, each row overwritten then cleared to its end, so the
   * block is never blank on screen. With lines waiting, the block is cleared first and they take
   * its place, the block following below them.
   */
  const draw = (final = false) => {
    if (closed) return
    if (timer) clearTimeout(timer)
    timer = null
    due = Infinity
    // The terminal has not taken the last redraw yet (Ctrl-S, a stalled ssh): another would only
    // wait behind it. Lines wait in `pending` for the redraw that can go out.
    if (!final && backlog() > 0) {
      schedule()
      return
    }
    lastDraw = Date.now()
    const lines = blockLines()
    let s: string
    if (pending.length > 0 || dropped > 0) {
      // With no block drawn, `\r` still matters: it puts the line over a `^C` the terminal echoed.
      s = drawnRows > 0 ? clearBlock() : '\r'
      let taken = 0
      for (const item of pending) {
        if (typeof item === 'string') {
          s += item
          taken++
          continue
        }
        out.write(s)
        s = ''
        drawnRows = 0
        // A write that had to wait (the terminal stopped taking output just now): what is left
        // waits for the next redraw, in order, and the block with it.
        if (!final && backlog() > 0) break
        item()
        taken++
        if (!final && backlog() > 0) break
      }
      pending.splice(0, taken)
      if (pending.length > 0) {
        if (s) out.write(s)
        schedule()
        return
      }
      // After the lines kept: those it counts came after them.
      if (dropped > 0) s += droppedLine()
      s += lines.map((l) => l + '\n').join('')
    } else {
      s = (drawnRows > 0 ? `\x1b[${drawnRows}A\r` : '') + lines.map((l) => l + '\x1b[K\n').join('') + '\x1b[J'
    }
    out.write(s)
    drawnRows = lines.length
    // Nothing arriving is news too: a stalled upload's rate falls and its time left grows.
    if (active.size > 0) schedule(STALE_MS)
  }

  /** A redraw `delay` ms from now, or sooner if one is already due; never within REDRAW_MS of the last. */
  const schedule = (delay = REDRAW_MS) => {
    if (!live || closed) return
    const now = Date.now()
    const at = Math.max(now + delay, lastDraw + REDRAW_MS)
    if (timer && due <= at) return
    if (timer) clearTimeout(timer)
    due = at
    timer = setTimeout(draw, at - now)
    timer.unref()
  }

  /** A line above the block: at once if the last redraw is long enough ago, else with the next one. */
  const above = (item: string | (() => void)) => {
    // A write to stdout is data: it always waits its turn. A line for people may be counted instead.
    if (typeof item === 'string' && pending.length > 0 && backlog() + pending.length * 200 > BACKLOG_BYTES) dropped++
    else pending.push(item)
    if (Date.now() >= lastDraw + REDRAW_MS) draw()
    else schedule(0)
  }

  /** A plain line (no live block): written at once, unless its reader is far behind. */
  const plain = (text: string) => {
    // Once closed, only the last few lines come (the summary): never counted away.
    if (!closed && backlog() > BACKLOG_BYTES) {
      dropped++
      return
    }
    // On a terminal, from its first column: over the `^C` it echoed, as the stop notices are.
    out.write(((out as Partial<NodeJS.WriteStream>).isTTY === true ? '\r' : '') + (dropped > 0 ? droppedLine() : '') + text + '\n')
  }

  const emitLine = (text: string) => {
    if (live && !closed) above(text + '\n')
    else plain(text)
  }

  // Every line is cut to the current width, so after a resize one redraw at the new width puts the
  // block back in order (terminals that re-wrap on resize may leave one stale copy above it).
  const onResize = () => draw()
  const tty = out as Partial<NodeJS.WriteStream>
  if (live) tty.on?.('resize', onResize)

  return {
    chalk: c,
    line: emitLine,
    outside(write: () => void) {
      if (!live || closed || (drawnRows === 0 && pending.length === 0)) return write()
      above(write)
    },
    emit(e: UploadEvent) {
      switch (e.type) {
        case 'started':
          clients.add(e.client)
          active.set(e.id, { client: e.client, name: e.name, total: e.total, bytes: 0, started: Date.now() })
          if (live) schedule()
          else plain(`↑ ${e.client}  ${stripControl(e.name)}${e.total !== null ? `  ${formatSize(e.total)}` : ''}`)
          return
        case 'progress': {
          const u = active.get(e.id)
          if (u) u.bytes = e.bytes
          schedule()
          return
        }
        case 'stored': {
          active.delete(e.id)
          files++
          bytes += e.size
          const rate = formatRate(e.size, e.ms)
          const from = stripControl(e.originalName || e.name)
          emitLine(
            `${c.green('✔')} ${e.client}  ${from} → ${c.bold(stripControl(e.path))}  ${formatSize(e.size)}  ${formatDuration(e.ms)}${rate ? `  ${rate}` : ''}`,
          )
          return
        }
        case 'failed':
          active.delete(e.id)
          clients.add(e.client)
          failures++
          emitLine(`${c.red('✖')} ${e.client}  ${stripControl(e.name)}  ${c.red(e.code)}  ${c.dim(stripControl(e.message))}`)
          return
        default:
          return
      }
    },
    summary() {
      const ms = Date.now() - startedAt
      const plural = (n: number, w: string) => `${n} ${w}${n === 1 ? '' : 's'}`
      return `${plural(files, 'file')}, ${formatSize(bytes)} from ${plural(clients.size, 'client')} in ${formatDuration(ms)}${failures > 0 ? `, ${failures} failed` : ''}`
    },
    close() {
      if (timer) clearTimeout(timer)
      timer = null
      if (live && !closed && (drawnRows > 0 || pending.length > 0)) {
        // What waits for the next redraw goes out now, and the block goes: with no upload left to
        // show, the redraw clears it.
        active.clear()
        draw(true)
      }
      drawnRows = 0
      closed = true
      if (live) tty.off?.('resize', onResize)
    },
  }
}
