// A raw TCP client for byte-exact requests: what a browser or curl would never send.
import net from 'node:net'
import { withTimeout } from './cli.js'

export interface RawResult {
  /** Everything the server sent until it closed (or until `ms` passed). */
  data: Buffer
  text: string
  /** True if the server closed the connection. */
  closed: boolean
}

/** Writes `chunks` (with an optional pause between them) and collects the reply until close or `ms`. */
export function rawRequest(
  port: number,
  chunks: Array<string | Buffer>,
  opts: { ms?: number; gapMs?: number; endAfterWrite?: boolean } = {},
): Promise<RawResult> {
  const ms = opts.ms ?? 3_000
  return withTimeout(
    new Promise<RawResult>((resolve, reject) => {
      const sock = net.connect({ host: '127.0.0.1', port })
      const parts: Buffer[] = []
      let closed = false
      const done = () => {
        clearTimeout(timer)
        const data = Buffer.concat(parts)
        resolve({ data, text: data.toString('latin1'), closed })
      }
      const timer = setTimeout(() => {
        sock.destroy()
        done()
      }, ms)
      sock.on('data', (d) => parts.push(d))
      sock.on('error', (e: NodeJS.ErrnoException) => {
        if (e.code === 'ECONNRESET' || e.code === 'EPIPE') return
        clearTimeout(timer)
        reject(e)
      })
      sock.on('close', () => {
        closed = true
        done()
      })
      sock.on('connect', async () => {
        for (const c of chunks) {
          if (sock.destroyed) return
          sock.write(c)
          if (opts.gapMs) await new Promise((r) => setTimeout(r, opts.gapMs))
        }
        if (opts.endAfterWrite) sock.end()
      })
    }),
    ms + 2_000,
    'raw request',
  )
}

/** Status codes of every response in a raw reply, in order. */
export function statuses(text: string): number[] {
  return [...text.matchAll(/HTTP\/1\.1 (\d{3}) /g)].map((m) => Number(m[1]))
}
