// The file thread (src/files/file-thread.ts) starts once two files are past 8 MiB at the same
// time. Tests of what happens on it start it first with two uploads held open past that point.
import { randomBytes } from 'node:crypto'
import { readFileSync, rmSync } from 'node:fs'
import net from 'node:net'
import path from 'node:path'
import { withTimeout, type Cli } from './cli.js'
import { pollUntil } from './fs-walk.js'
import { httpRequest, parseResponse } from './multipart.js'

export const FILE_THREAD_FROM = 8 * 1024 * 1024

/** Threads of the server process (Linux): the file thread adds one. */
export function threadCount(c: Cli): number {
  return Number(/^Threads:\s+(\d+)/m.exec(readFileSync(`/proc/${c.proc.pid}/status`, 'utf8'))![1])
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
 * Two uploads held open past 8 MiB until the server has one thread more, then finished; their
 * files are removed again. Resolves once the file thread runs.
 */
export async function startFileThread(c: Cli): Promise<void> {
  const before = threadCount(c)
  const size = FILE_THREAD_FROM + 1024 * 1024
  const finish = await Promise.all(['warm-a.bin', 'warm-b.bin'].map((n) => heldPut(c, n, randomBytes(size), 64 * 1024)))
  await pollUntil(() => threadCount(c) > before, 10_000, 'the file thread runs')
  const statuses = await Promise.all(finish.map((f) => f()))
  if (statuses.some((s) => s !== 201)) throw new Error(`warm-up uploads answered ${statuses.join(', ')}`)
  for (const n of ['warm-a.bin', 'warm-b.bin']) rmSync(path.join(c.dir, n), { force: true })
}
