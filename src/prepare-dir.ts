// --dir at start-up: created if missing, and proved writable by writing to it (SPEC §7: a folder
// we cannot write to is exit 1 with one line, before anything listens).
import { randomBytes } from 'node:crypto'
import fs from 'node:fs/promises'
import path from 'node:path'
import { StartupError } from './errors.js'
import { TEMP_PREFIX, TEMP_SUFFIX } from './files/names.js'

/** Creates `dir` (and missing parents) if need be; resolves to its real absolute path. */
export async function prepareDir(dir: string): Promise<string> {
  const abs = path.resolve(dir)
  try {
    await makeDirs(abs)
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    if (code === 'EEXIST' || code === 'ENOTDIR') {
      // `--dir notes.txt/in`: the file in the way is what to name, not the folder that was wanted.
      const blocker = await fileInTheWay(abs)
      if (blocker !== null && blocker !== abs) {
        throw new StartupError(`cannot create --dir ${dir}: ${blocker} is a file, not a folder; point --dir elsewhere.`)
      }
      throw new StartupError(`--dir ${dir} is not a folder; point --dir at a folder.`)
    }
    if (code === 'EACCES' || code === 'EPERM' || code === 'EROFS' || code === 'ENOENT') {
      throw new StartupError(`cannot create --dir ${dir} (${code}); choose a folder you can write to.`)
    }
    throw new StartupError(`cannot create --dir ${dir}: ${(err as Error).message}`)
  }
  const st = await fs.stat(abs)
  if (!st.isDirectory()) throw new StartupError(`--dir ${dir} is not a folder; point --dir at a folder.`)
  // access(W_OK) says yes to root for /proc, /sys and the like, where no file can be made:
  // creating (and removing) one is the only answer that holds.
  const probe = path.join(abs, `${TEMP_PREFIX}probe-${process.pid}-${randomBytes(4).toString('hex')}${TEMP_SUFFIX}`)
  try {
    await (await fs.open(probe, 'wx')).close()
  } catch {
    throw new StartupError(`--dir ${dir} is not writable; choose a folder you can write to.`)
  }
  await fs.unlink(probe).catch(() => undefined)
  return fs.realpath(abs)
}

/**
 * mkdir -p, one level at a time. Node's `recursive: true` loops forever where mkdir(2) answers
 * ENOENT although the parent exists (`/proc/x`): here that is an error like any other.
 */
async function makeDirs(abs: string): Promise<void> {
  const missing: string[] = []
  for (let p = abs; ; p = path.dirname(p)) {
    try {
      await fs.stat(p)
      break
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT' || path.dirname(p) === p) throw err
      missing.push(p)
    }
  }
  for (const p of missing.reverse()) {
    try {
      await fs.mkdir(p)
    } catch (err) {
      // Made by someone else meanwhile: fine if it is a folder (stat above would say otherwise).
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST' || !(await fs.stat(p)).isDirectory()) throw err
    }
  }
}

/** The first of `abs` and its parents, from the root down, that exists and is not a folder. */
async function fileInTheWay(abs: string): Promise<string | null> {
  const parts = abs.split(path.sep)
  for (let i = 2; i <= parts.length; i++) {
    const p = parts.slice(0, i).join(path.sep)
    const st = await fs.stat(p).catch(() => null)
    if (st === null) return null
    if (!st.isDirectory()) return p
  }
  return null
}
