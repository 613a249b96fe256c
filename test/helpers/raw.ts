// A raw TCP client for byte-exact requests: what a browser or curl would never send.
import { readFileSync } from 'node:fs'
import net from 'node:net'
import { withTimeout, type Cli } from './cli.js'
import { httpRequest, parseResponse } from './multipart.js'

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

/** Sends `data` in a PUT to /`name`, all but its last `held` bytes; the returned function sends those and resolves with the status. */
export async function heldPut(c: Cli, name: string, data: Buffer, held: number): Promise<() => Promise<number>> {
  const sock = net.connect({ host: '127.0.0.1', port: c.port })
  const parts: Buffer[] = []
  const closed = new Promise<void>((resolve) => {
    sock.on('data', (d) => parts.push(d))
    sock.on('close', () => resolve())
    sock.on('error', () => {})
  })
  await withTimeout(
    new Promise<void>((resolve, reject) => {
      sock.once('connect', resolve)
      sock.once('error', reject)
    }),
    5_000,
    `connect for ${name}`,
  )
  const head = httpRequest('PUT', `/${encodeURIComponent(name)}`, { 'Content-Length': String(data.length) })
  const first = Buffer.concat([head, data.subarray(0, data.length - held)])
  await withTimeout(new Promise<void>((resolve) => sock.write(first, () => resolve())), 10_000, `sending ${name}`).catch((err: unknown) => {
    sock.destroy()
    throw err
  })
  return async () => {
    sock.write(data.subarray(data.length - held))
    const timer = setTimeout(() => sock.destroy(), 20_000)
    await closed
    clearTimeout(timer)
    return parseResponse(Buffer.concat(parts)).status
  }
}

/**
 * Bytes the kernel holds for the server on the loopback connection from `clientPort` to
 * `serverPort`, not yet read by it (the rx_queue of /proc/net/tcp); null if no such socket.
 */
export function unreadByServer(serverPort: number, clientPort: number): number | null {
  const hex = (port: number) => port.toString(16).toUpperCase().padStart(4, '0')
  const local = `0100007F:${hex(serverPort)}`
  const remote = `0100007F:${hex(clientPort)}`
  for (const line of readFileSync('/proc/net/tcp', 'latin1').split('\n').slice(1)) {
    const f = line.trim().split(/\s+/)
    if (f[1] === local && f[2] === remote) return parseInt(f[4]!.split(':')[1]!, 16)
  }
  return null
}
