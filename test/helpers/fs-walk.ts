// What is on disk after a test: a recursive walk that never follows symlinks, temp-file detection,
// streaming hashes and a bounded poll.
import { createHash } from 'node:crypto'
import { createReadStream, lstatSync, readdirSync, type Stats } from 'node:fs'
import path from 'node:path'
import { withTimeout } from './cli.js'

export interface Entry {
  /** Relative to the walked root, `/`-separated. */
  rel: string
  abs: string
  kind: 'file' | 'dir' | 'symlink' | 'other'
  size: number
}

function kindOf(st: Stats): Entry['kind'] {
  if (st.isSymbolicLink()) return 'symlink'
  if (st.isDirectory()) return 'dir'
  if (st.isFile()) return 'file'
  return 'other'
}

/** Every entry under `root` (not `root` itself), depth first; symlinks are listed, never followed. */
export function walk(root: string): Entry[] {
  const out: Entry[] = []
  const visit = (dir: string, prefix: string) => {
    for (const name of readdirSync(dir).sort()) {
      const abs = path.join(dir, name)
      const rel = prefix ? `${prefix}/${name}` : name
      let st: Stats
      try {
        st = lstatSync(abs)
      } catch (err) {
        // Gone between readdir and lstat: the server removed it (a temp file being cleaned up).
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue
        throw err
      }
      const kind = kindOf(st)
      out.push({ rel, abs, kind, size: st.size })
      if (kind === 'dir') visit(abs, rel)
    }
  }
  visit(root, '')
  return out
}

/** Regular files under `root`, relative `/`-separated paths, sorted. */
export function files(root: string): string[] {
  return walk(root)
    .filter((e) => e.kind === 'file')
    .map((e) => e.rel)
    .sort()
}

const TEMP = /^\.upload-recv-.*\.part$/

/** Temporary upload files (`.upload-recv-*.part`) anywhere under `root`; also anything ending in `.part`. */
export function tempFiles(root: string): string[] {
  return walk(root)
    .filter((e) => TEMP.test(path.basename(e.rel)) || e.rel.endsWith('.part'))
    .map((e) => e.rel)
}

/** True when `p` (absolute) is `root` or below it, lexically. */
export function isInside(root: string, p: string): boolean {
  const rel = path.relative(root, p)
  // `..∕x` (a name that merely starts with two dots) is inside; `..` and `../x` are not.
  return rel === '' || (rel !== '..' && !rel.startsWith(`..${path.sep}`) && !path.isAbsolute(rel))
}

export function sha256File(file: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const hash = createHash('sha256')
    createReadStream(file, { highWaterMark: 1024 * 1024 })
      .on('data', (d) => hash.update(d))
      .on('error', reject)
      .on('end', () => resolve(hash.digest('hex')))
  })
}

/** Polls `pred` every `every` ms until it holds; rejects (with `label`) after `ms`. */
export function pollUntil(pred: () => boolean | Promise<boolean>, ms: number, label: string, every = 25): Promise<void> {
  let stop = false
  const loop = async () => {
    while (!stop) {
      if (await pred()) return
      await new Promise((r) => setTimeout(r, every))
    }
  }
  return withTimeout(loop(), ms, label).finally(() => {
    stop = true
  })
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms))

/** pollUntil every 20 ms, failing with what `detail()` says at the time (output so far, say). */
export function until(fn: () => boolean | Promise<boolean>, ms: number, label: string, detail: () => string = () => ''): Promise<void> {
  return pollUntil(fn, ms, label, 20).catch((err: Error) => {
    throw new Error(`${err.message}\n${detail()}`)
  })
}
