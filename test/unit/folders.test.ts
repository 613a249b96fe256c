// Folders (src/files/folders.ts) on a real temp directory: a failed save removes the folders it
// made, never while another save is in them, and the last one out removes them instead.
import { existsSync, mkdtempSync, realpathSync, rmSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { Folders } from '../../src/files/folders.js'

const roots: string[] = []
afterEach(() => {
  for (const r of roots.splice(0)) rmSync(r, { recursive: true, force: true })
})
function fresh(): { root: string; folders: Folders; has: (rel: string) => boolean } {
  const root = realpathSync(mkdtempSync(path.join(os.tmpdir(), 'upload-recv-folders-')))
  roots.push(root)
  return { root, folders: new Folders(root), has: (rel) => existsSync(path.join(root, rel)) }
}

describe('Folders', () => {
  it('a failed save removes every folder it made, up to the first, and none that was there', async () => {
    const { root, folders, has } = fresh()
    await folders.enter(['kept'])
    const a = await folders.enter(['kept', 'a', 'b'])
    expect(a.dir).toBe(path.join(root, 'kept', 'a', 'b'))
    a.leave(true)
    expect(has('kept/a')).toBe(false)
    expect(has('kept')).toBe(true)
  })

  it('a successful save keeps its folders', async () => {
    const { folders, has } = fresh()
    const a = await folders.enter(['x', 'y'])
    a.leave(false)
    expect(has('x/y')).toBe(true)
  })

  it('not while another save is in them: the last one out removes them if it failed too, and keeps them if it stored its file', async () => {
    const { root, folders, has } = fresh()
    const a = await folders.enter(['x'])
    const b = await folders.enter(['x'])
    a.leave(true)
    expect(has('x')).toBe(true)
    b.leave(true)
    expect(has('x')).toBe(false)

    const c = await folders.enter(['y'])
    const d = await folders.enter(['y', 'z'])
    c.leave(true)
    writeFileSync(path.join(root, 'y', 'z', 'file.txt'), 'stored')
    d.leave(false)
    expect(has('y/z/file.txt')).toBe(true)
  })

  it('a save that fails while making its folders removes those it made before the failure', async () => {
    const { folders, has } = fresh()
    // The third level's name is over NAME_MAX: mkdir fails there (ENAMETOOLONG).
    await expect(folders.enter(['a', 'b', 'c'.repeat(300)])).rejects.toMatchObject({ code: 'ENAMETOOLONG' })
    expect(has('a')).toBe(false)
  })

  it('a folder that meanwhile holds something else stays', async () => {
    const { root, folders, has } = fresh()
    const a = await folders.enter(['m'])
    writeFileSync(path.join(root, 'm', 'theirs.txt'), 'not ours')
    a.leave(true)
    expect(has('m/theirs.txt')).toBe(true)
  })
})
