// Human output on stderr: a line per finished or failed upload. The only file that imports chalk.
import { Chalk, supportsColorStderr } from 'chalk'
import type { Writable } from 'node:stream'
import { formatSize } from '../size.js'
import type { Reporter, UploadEvent } from './events.js'

export interface TerminalOptions {
  out: Writable & { isTTY?: boolean }
  env: NodeJS.ProcessEnv
}

/** chalk ignores NO_COLOR and looks at stdout; our output is stderr (chalk#547). */
export function colorLevel(env: NodeJS.ProcessEnv, isTTY: boolean): 0 | 1 | 2 | 3 {
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return 0
  if (env.FORCE_COLOR !== undefined) {
    const n = Number(env.FORCE_COLOR)
    if (env.FORCE_COLOR === '' || env.FORCE_COLOR === 'true') return 1
    return Number.isInteger(n) && n >= 0 && n <= 3 ? (n as 0 | 1 | 2 | 3) : 1
  }
  if (!isTTY) return 0
  return supportsColorStderr ? supportsColorStderr.level : 0
}

/** A client-supplied name must not be able to move the cursor or recolour the terminal. */
export function stripControl(s: string): string {
  return s.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g, '')
}

export function formatDuration(ms: number): string {
  return ms < 1000 ? `${ms} ms` : `${(ms / 1000).toFixed(1)} s`
}

export function createTerminalReporter(opts: TerminalOptions): Reporter & { summary(): string } {
  const c = new Chalk({ level: colorLevel(opts.env, opts.out.isTTY === true) })
  const started = Date.now()
  const clients = new Set<string>()
  let files = 0
  let bytes = 0
  let failures = 0
  const write = (s: string) => opts.out.write(s + '\n')
  return {
    emit(e: UploadEvent) {
      switch (e.type) {
        case 'started':
          clients.add(e.client)
          write(`${c.dim('…')} ${e.client}  ${stripControl(e.name)}${e.total !== null ? `  ${formatSize(e.total)}` : ''}`)
          return
        case 'stored': {
          files++
          bytes += e.size
          const rate = e.ms > 0 ? `  ${formatSize(Math.round((e.size * 1000) / e.ms))}/s` : ''
          write(
            `${c.green('✔')} ${e.client}  ${stripControl(e.originalName || e.name)} → ${c.bold(stripControl(e.path))}  ${formatSize(e.size)}  ${formatDuration(e.ms)}${rate}`,
          )
          return
        }
        case 'failed':
          failures++
          write(`${c.red('✖')} ${e.client}  ${stripControl(e.name)}  ${c.red(e.code)}  ${stripControl(e.message)}`)
          return
      }
    },
    summary() {
      const secs = ((Date.now() - started) / 1000).toFixed(0)
      return `${files} file${files === 1 ? '' : 's'}, ${formatSize(bytes)} from ${clients.size} client${clients.size === 1 ? '' : 's'} in ${secs} s${failures > 0 ? `, ${failures} failed` : ''}`
    },
  }
}
