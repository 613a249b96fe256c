// Files on disk: folders made without following symlinks, bytes streamed into a hidden temp file
// beside the final name, then published atomically without ever replacing someone else's file.
import { hash, randomBytes } from 'node:crypto'
import {
  close as closeCallback,
  closeSync,
  constants,
  linkSync,
  open as openCallback,
  openSync,
  unlinkSync,
} from 'node:fs'
import fs from 'node:fs/promises'
import path from 'node:path'
import type { Readable } from 'node:stream'
import { HttpError, shuttingDown, toHttpError } from '../errors.js'
import { MAX_COLLISION_NUMBER, NAME_MAX_BYTES, Numbering, TEMP_PREFIX, TEMP_SUFFIX, fitDepth, utf8Length } from './names.js'
import { streamToFd, writeAllSync } from './file-sink.js'
import { Folders, inDir, type Entered } from './folders.js'
import { fileTooLarge, pushedState } from './sink.js'

export interface StoreOptions {
  /** Absolute, symlink-free path of --dir. */
  root: string
  overwrite: boolean
  maxFileSize: number
}

export interface SavedFile {
  /** Relative to the root, `/`-separated. */
  name: string
  size: number
  sha256: string
}

export interface Store {
  /**
   * Streams `source` into `segments` (already sanitised) under the root. Rejects with HttpError.
   * `keepOthers`: never replace an existing file, --overwrite or not (a name we generated).
   */
  save(source: Readable, segments: readonly string[], onProgress?: (bytes: number) => void, keepOthers?: boolean): Promise<SavedFile>
  /** Synchronously removes every temp file still being written (second Ctrl-C). */
  removeTemps(): void
}

// Every file we create: never opens an existing file, nor follows a symlink planted under the name.
const CREATE_NEW = constants.O_CREAT | constants.O_EXCL

export function createStore(opts: StoreOptions): Store {
  const temps = new Set<string>()
  const numbering = new Numbering()
  const folders = new Folders(opts.root)
  const rootBytes = utf8Length(opts.root)
  let removed = false

  async function save(source: Readable, requested: readonly string[], onProgress?: (n: number) => void, keepOthers = false) {
    const replacing = opts.overwrite && !keepOthers
    let tmp: string | null = null
    let fd: number | null = null
    let entered: Entered | null = null
    let stored = false
    try {
      // Past PATH_MAX the kernel says ENAMETOOLONG; a root that long is left to say so.
      const segments = fitDepth(rootBytes, requested, longestLast(requested[requested.length - 1]!)) ?? requested
      const folder = segments.slice(0, -1)
      entered = await folders.enter(folder)
      const dir = entered.dir
      const base = segments[segments.length - 1]!
      // The answer's name: relative to the root, `/`-separated (segments never contain a separator).
      const named = (name: string) => (folder.length === 0 ? name : `${folder.join('/')}/${name}`)
      const whole = takeWholeIfSmall(source)
      if (whole !== null) {
        const saved = await saveSmall(dir, base, whole, named, replacing)
        stored = true
        return saved
      }
      tmp = inDir(dir, tempName())
      fd = await openExclusive(tmp)
      temps.add(tmp)
      const result = await streamToFd(source, fd, { maxFileSize: opts.maxFileSize, onProgress })
      const finalName = replacing ? await replace(tmp, dir, base, numbering) : await publish(tmp, dir, base, numbering)
      stored = true
      return { name: named(finalName), ...result }
    } catch (err) {
      source.destroy()
      // A second Ctrl-C removed the temp file under an upload whose bytes had all arrived: its
      // publish then fails (ENOENT), which is the abort, not a fault of ours (500).
      if (removed && (err as NodeJS.ErrnoException).code === 'ENOENT') {
        throw shuttingDown(err)
      }
      // What the file system said becomes an answer here; a source's own failure (client gone, a
      // malformed multipart body) is for the caller to tell.
      throw err instanceof HttpError || (err as NodeJS.ErrnoException).code === undefined ? err : toHttpError(err)
    } finally {
      // Also after success: the answer (and --once's exit) must not leave the temp name behind.
      if (tmp !== null) await discard(tmp, fd).finally(() => temps.delete(tmp!))
      // Once the temp file is gone: a failed upload leaves no folder it made either.
      entered?.leave(!stored)
    }
  }

  /**
   * A small file whose bytes have all arrived is written with synchronous calls: on a local disk
   * they take microseconds, against ~0.1 ms per thread-pool round trip, and there are four of them
   * (issue #7, W2). Same steps as the streaming path: exclusive temp file, link without clobbering.
   */
  async function saveSmall(dir: string, base: string, chunks: Buffer[], named: (name: string) => string, replacing: boolean): Promise<SavedFile> {
    const size = chunks.reduce((n, c) => n + c.length, 0)
    if (size > opts.maxFileSize) {
      throw fileTooLarge(opts.maxFileSize)
    }
    // One call, no Hash object: at most SMALL_FILE_BYTES are joined (crypto.hash: Node >= 20.12).
    const sha256 = hash('sha256', chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks), 'hex')
    const tmp = inDir(dir, tempName())
    const fd = openSync(tmp, CREATE_NEW | constants.O_WRONLY, 0o644)
    temps.add(tmp)
    try {
      try {
        if (size > 0) writeAllSync(fd, chunks)
      } finally {
        closeSync(fd)
      }
      const finalName = replacing
        ? await replace(tmp, dir, base, numbering)
        : (linkNoClobberSync(tmp, dir, base, numbering) ?? (await publish(tmp, dir, base, numbering)))
      return { name: named(finalName), size, sha256 }
    } finally {
      temps.delete(tmp)
      try {
        unlinkSync(tmp)
      } catch {
        // Renamed away (--overwrite): nothing to remove.
      }
    }
  }

  return {
    save,
    removeTemps() {
      removed = true
      for (const t of temps) {
        try {
          unlinkSync(t)
        } catch {
          // Already gone.
        }
      }
      temps.clear()
    },
  }
}

// Small enough to hold, so a file that fits gets the synchronous path (see saveSmall).
const SMALL_FILE_BYTES = 64 * 1024

/** All of a stream's bytes, if it has ended with no more than SMALL_FILE_BYTES buffered; else null. */
function takeWholeIfSmall(source: Readable): Buffer[] | null {
  const state = pushedState(source)
  if (!state?.ended || source.errored || source.readableLength > SMALL_FILE_BYTES) return null
  const chunks: Buffer[] = []
  for (let c = source.read() as Buffer | null; c !== null; c = source.read() as Buffer | null) chunks.push(c)
  return chunks
}

/** The synchronous twin of publish's common case; null where links are unsupported (publish falls back). */
function linkNoClobberSync(tmp: string, dir: string, base: string, numbering: Numbering): string | null {
  for (const [, n, name] of numbering.candidates(dir, base)) {
    try {
      linkSync(tmp, inDir(dir, name))
      numbering.given(dir, base, n)
      return name
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code
      if (code === 'EEXIST') continue
      if (LINK_UNSUPPORTED.has(code ?? '')) return null
      throw err
    }
  }
  throw tooManyNamed(base)
}

const LINK_UNSUPPORTED = new Set(['EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'ENOSYS'])

function tooManyNamed(base: string): HttpError {
  return new HttpError('CONFLICT', `Too many files named like "${base}".`)
}

/** No-clobber publish: link(2) fails with EEXIST if the name exists, atomically, so racing uploads both survive. */
async function publish(tmp: string, dir: string, base: string, numbering: Numbering): Promise<string> {
  for (const [i, n, name] of numbering.candidates(dir, base)) {
    try {
      await fs.link(tmp, inDir(dir, name))
      numbering.given(dir, base, n)
      return name
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code
      if (code === 'EEXIST') continue
      if (LINK_UNSUPPORTED.has(code ?? '')) return publishWithoutLinks(tmp, dir, base, numbering, i)
      throw err
    }
  }
  throw tooManyNamed(base)
}

/**
 * For file systems without hard links (FAT, exFAT, some network mounts): reserve the name with an
 * exclusive create, then rename over our own placeholder. Still never replaces another file, but
 * an empty file is briefly visible under the final name.
 */
async function publishWithoutLinks(tmp: string, dir: string, base: string, numbering: Numbering, from: number): Promise<string> {
  for (const [, n, name] of numbering.candidates(dir, base, from)) {
    const target = inDir(dir, name)
    try {
      const h = await fs.open(target, CREATE_NEW | constants.O_WRONLY, 0o644)
      await h.close()
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') continue
      throw err
    }
    await fs.rename(tmp, target)
    numbering.given(dir, base, n)
    return name
  }
  throw tooManyNamed(base)
}

/**
 * --overwrite: rename(2) replaces a file atomically. A folder or symlink in the way is not a file
 * to replace: the upload then gets the next free name, as without --overwrite, rather than failing.
 */
async function replace(tmp: string, dir: string, base: string, numbering: Numbering): Promise<string> {
  const target = inDir(dir, base)
  const st = await fs.lstat(target).catch(() => null)
  if (st && !st.isFile()) return publish(tmp, dir, base, numbering)
  try {
    await fs.rename(tmp, target)
  } catch (err) {
    // A folder made there since the lstat.
    if ((err as NodeJS.ErrnoException).code === 'EISDIR') return publish(tmp, dir, base, numbering)
    throw err
  }
  return base
}

// Unguessable per run, then a counter: O_EXCL already makes a planted name harmless, and a
// random draw per file cost more than the rest of naming it.
const RUN_ID = randomBytes(6).toString('hex')
let tempCounter = 0
function tempName(): string {
  return tempNameOf(++tempCounter)
}

function tempNameOf(n: number): string {
  return `${TEMP_PREFIX}${RUN_ID}-${n.toString(36)}${TEMP_SUFFIX}`
}

const TEMP_NAME_BYTES = tempNameOf(Number.MAX_SAFE_INTEGER).length

/** The longest name `base` can take in its folder: as a temp file, or with a collision's ` (n)`. */
function longestLast(base: string): number {
  return Math.max(TEMP_NAME_BYTES, Math.min(NAME_MAX_BYTES, utf8Length(base) + ` (${MAX_COLLISION_NUMBER})`.length))
}

/** Closes the temp file's descriptor and removes its name (gone already after a rename). */
async function discard(tmp: string, fd: number | null): Promise<void> {
  // unlink, not rm: rm lstat()s first, one more round trip per file for nothing.
  // Never throws: a temp name that could not be removed must not fail a stored file; it is
  // recognisable by its `.upload-recv-*.part` name.
  const missing = await fs.unlink(tmp).then(
    () => false,
    (err: NodeJS.ErrnoException) => err.code === 'ENOENT',
  )
  // Not there: renamed away with its folder while it was written (or already published by a
  // rename). Linux still knows where the descriptor's file is now; a temp file is ours to remove.
  if (missing && fd !== null) {
    const now = await fs.readlink(`/proc/self/fd/${fd}`).catch(() => null)
    if (now !== null && path.basename(now) === path.basename(tmp)) await fs.unlink(now).catch(() => {})
  }
  if (fd !== null) await new Promise<void>((resolve) => closeCallback(fd, () => resolve()))
}

/** Read-write: the file thread reads back what the main thread wrote (file-thread.ts). */
function openExclusive(file: string): Promise<number> {
  return new Promise((resolve, reject) =>
    openCallback(file, CREATE_NEW | constants.O_RDWR, 0o644, (err, fd) => (err ? reject(err) : resolve(fd))),
  )
}
