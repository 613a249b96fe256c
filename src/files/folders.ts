// The folders an upload makes on its way to its file, and removing them again when it fails
// ("failures leave nothing"), but never from under another upload that is using them.
import { rmdirSync, type Stats } from 'node:fs'
import fs from 'node:fs/promises'
import path from 'node:path'
import { HttpError } from '../errors.js'

export interface Entered {
  /** The folder to write in: made, or checked, all the way down. */
  dir: string
  /** The save is over. A failed one removes the folders it made, if empty and no other save is under them. */
  leave(failed: boolean): void
}

const NOTHING_MADE = () => {}

export class Folders {
  /** Folder path → saves in progress in it or below it (uploads are all in this process). */
  private readonly inUse = new Map<string, number>()
  /** Folders a failed save made but could not remove, another save being in them: the last to leave does. */
  private readonly orphans = new Set<string>()

  /** `root`: absolute and symlink-free (run.ts resolved it). */
  constructor(private readonly root: string) {}

  async enter(segments: readonly string[]): Promise<Entered> {
    if (segments.length === 0) return { dir: this.root, leave: NOTHING_MADE }
    const paths: string[] = []
    let dir = this.root
    for (const seg of segments) paths.push((dir = inDir(dir, seg)))
    // Counted before the first await: a failing save that looks now sees this one.
    for (const p of paths) this.inUse.set(p, (this.inUse.get(p) ?? 0) + 1)
    /** Deepest level known to be a folder now, and the levels this save made. */
    let reached = -1
    const made: number[] = []
    let left = false
    const leave = (failed: boolean) => {
      if (left) return
      left = true
      for (const p of paths) {
        const n = this.inUse.get(p)! - 1
        if (n === 0) this.inUse.delete(p)
        else this.inUse.set(p, n)
      }
      if (failed) for (const i of made) this.orphans.add(paths[i]!)
      if (this.orphans.size > 0) this.tidy(paths, reached)
    }
    try {
      await makeEach(this.root, paths, (i, byUs) => {
        reached = i
        if (byUs) made.push(i)
      })
    } catch (err) {
      leave(true)
      throw err
    }
    return { dir, leave }
  }

  /**
   * Removes the orphans among `paths[0..from]`, deepest first, once no save is in them. Synchronous:
   * no other save can find one of these folders and then lose it before its temp file is in it.
   * A folder holding anything (a stored file, another process's file) stays, and so do those above.
   */
  private tidy(paths: readonly string[], from: number): void {
    let kept = false
    for (let i = from; i >= 0; i--) {
      const p = paths[i]!
      // Its saves tidy when they leave; they are in every folder above it too.
      if (this.inUse.has(p)) return
      if (!this.orphans.delete(p)) {
        kept = true
        continue
      }
      if (kept) continue
      try {
        rmdirSync(p)
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') kept = true
      }
    }
  }
}

/**
 * Makes each folder of `paths` (root's descendants, parent first) that is missing, one level at a
 * time. An existing symlink or non-folder on the way is a 409: following it could write outside
 * the root.
 */
async function makeEach(root: string, paths: readonly string[], reached: (index: number, made: boolean) => void): Promise<void> {
  for (let i = 0; i < paths.length; i++) {
    const dir = paths[i]!
    let st: Stats
    try {
      st = await fs.lstat(dir)
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err
      try {
        await fs.mkdir(dir)
        reached(i, true)
        continue
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e
        st = await fs.lstat(dir)
      }
    }
    if (st.isSymbolicLink()) {
      throw new HttpError('CONFLICT', `"${path.relative(root, dir)}" is a symbolic link, which uploads do not follow.`)
    }
    if (!st.isDirectory()) throw new HttpError('CONFLICT', `"${path.relative(root, dir)}" exists and is not a folder.`)
    reached(i, false)
  }
  // Belt and braces: the folder we are about to write in really is inside the root.
  const real = await fs.realpath(paths[paths.length - 1]!)
  const rel = path.relative(root, real)
  // `..` itself or `../…`; a folder named `..cache` is inside.
  if (rel === '..' || rel.startsWith(`..${path.sep}`) || path.isAbsolute(rel)) {
    throw new HttpError('CONFLICT', 'The target folder leaves --dir.')
  }
}

/**
 * `dir` is normalised (the resolved root, or built from it with sanitised segments) and `name` is
 * one sanitised segment, so path.join's normalising pass would change nothing; it only allocated,
 * three times per small file (W2).
 */
export function inDir(dir: string, name: string): string {
  return dir.endsWith(path.sep) ? dir + name : dir + path.sep + name
}
