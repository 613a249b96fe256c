// The file thread (src/files/file-thread.ts) starts once two files are past 8 MiB at the same
// time. Tests of what happens on it start it first with two uploads held open past that point.
import { randomBytes } from 'node:crypto'
import { readFileSync, rmSync } from 'node:fs'
import path from 'node:path'
import type { Cli } from './cli.js'
import { pollUntil } from './fs-walk.js'
import { heldPut } from './raw.js'

export const FILE_THREAD_FROM = 8 * 1024 * 1024

/** Threads of the server process (Linux): the file thread adds one. */
export function threadCount(c: Cli): number {
  return Number(/^Threads:\s+(\d+)/m.exec(readFileSync(`/proc/${c.proc.pid}/status`, 'utf8'))![1])
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
