// Human output on stderr. On a TTY: a live block with one line per active client, redrawn at most
// 10 times a second, with a permanent line above it per finished or failed upload. Elsewhere:
// plain start and end lines, no cursor movement. The only file that imports chalk.
import { Chalk, supportsColorStderr, type ChalkInstance } from 'chalk'
import type { Writable } from 'node:stream'
import type { Reporter, UploadEvent } from './events.js'
import { fitWidth, formatDuration, formatEta, formatRate, formatSize, stripControl } from './format.js'

export interface TerminalOptions {
  out: Writable & { isTTY?: boolean; columns?: number }
  env: NodeJS.ProcessEnv
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

/** chalk ignores NO_COLOR and looks at stdout, while our output is stderr (chalk#547). */
export function colorLevel(env: NodeJS.ProcessEnv, isTTY: boolean): 0 | 1 | 2 | 3 {
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return 0
  if (env.FORCE_COLOR !== undefined) {
    if (env.FORCE_COLOR === '' || env.FORCE_COLOR === 'true') return 1
    if (env.FORCE_COLOR === 'false') return 0
    const n = Number(env.FORCE_COLOR)
    return Number.isInteger(n) && n >= 0 && n <= 3 ? (n as 0 | 1 | 2 | 3) : 1
  }
  if (!isTTY) return 0
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
  const live = out.isTTY === true
  const c = new Chalk({ level: colorLevel(opts.env, live) })
  const startedAt = Date.now()
  const clients = new Set<string>()
  const active = new Map<number, Upload>()
  let files = 0
  let bytes = 0
  let failures = 0
  let drawnRows = 0
  let timer: NodeJS.Timeout | null = null
  let closed = false

  const width = () => Math.max(20, (out.columns ?? 80) - 1)

  /** Moves to the top of the live block and clears it, so what follows replaces it. */
  const clearBlock = () => (drawnRows > 0 ? `\x1b[${drawnRows}A\r\x1b[J` : '')

  const clientLines = (): string[] => {
    const byClient = new Map<string, Upload[]>()
    for (const u of active.values()) {
      const list = byClient.get(u.client) ?? []
      list.push(u)
      byClient.set(u.client, list)
    }
    const now = Date.now()
    const lines: string[] = []
    for (const [client, list] of byClient) {
      const current = list[list.length - 1]!
      const done = list.reduce((n, u) => n + u.bytes, 0)
      const known = list.every((u) => u.total !== null)
      const total = known ? list.reduce((n, u) => n + u.total!, 0) : null
      const ms = now - Math.min(...list.map((u) => u.started))
      const more = list.length > 1 ? ` +${list.length - 1}` : ''
      let stats = formatSize(done)
      if (total !== null && total > 0) {
        const pct = Math.min(100, Math.floor((done * 100) / total))
        const eta = formatEta(done, total, ms)
        stats += ` / ${formatSize(total)}  ${pct}%${eta ? `  ${eta} left` : ''}`
      }
      const rate = formatRate(done, ms)
      const fixed = `${c.cyan('↑')} ${client}  `
      const tail = `${more}  ${stats}${rate ? `  ${rate}` : ''}`
      // The name gets whatever width the numbers leave, so the line never wraps.
      const room = width() - visible(fixed) - visible(tail)
      lines.push(fixed + fitWidth(stripControl(current.name), Math.max(8, room)) + tail)
    }
    return lines
  }

  const draw = (permanent = '') => {
    if (closed) return
    const lines = clientLines()
    out.write(clearBlock() + permanent + lines.map((l) => l + '\n').join(''))
    drawnRows = lines.length
  }

  const schedule = () => {
    if (!live || timer || closed) return
    timer = setTimeout(() => {
      timer = null
      draw()
    }, REDRAW_MS)
    timer.unref()
  }

  const emitLine = (text: string) => {
    if (live && !closed) draw(text + '\n')
    else out.write(text + '\n')
  }

  if (live) {
    // A narrower terminal re-wraps what we drew; redraw so the block is counted in the new width.
    const onResize = () => draw()
    ;(out as NodeJS.WriteStream).on?.('resize', onResize)
  }

  return {
    chalk: c,
    line: emitLine,
    outside(write: () => void) {
      if (!live || closed || drawnRows === 0) return write()
      out.write(clearBlock())
      drawnRows = 0
      write()
      draw()
    },
    emit(e: UploadEvent) {
      switch (e.type) {
        case 'started':
          clients.add(e.client)
          active.set(e.id, { client: e.client, name: e.name, total: e.total, bytes: 0, started: Date.now() })
          if (live) schedule()
          else out.write(`↑ ${e.client}  ${stripControl(e.name)}${e.total !== null ? `  ${formatSize(e.total)}` : ''}\n`)
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
      if (live && drawnRows > 0) out.write(clearBlock())
      drawnRows = 0
      closed = true
    },
  }
}

// eslint-disable-next-line no-control-regex
const ANSI = /\x1b\[[0-9;]*m/g
function visible(s: string): number {
  return [...s.replace(ANSI, '')].length
}
