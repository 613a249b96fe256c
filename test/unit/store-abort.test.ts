// The store against a real folder: what a second Ctrl-C (removeTemps) does to an upload whose
// bytes are all in but not yet published.
import { mkdtempSync, readdirSync, rmSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { Readable } from 'node:stream'
import { afterEach, describe, expect, it } from 'vitest'
import { HttpError } from '../../src/errors.js'
import { createStore } from '../../src/files/store.js'
import { until } from '../helpers/fs-walk.js'

const dirs: string[] = []
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true })
})


describe('store.removeTemps (second Ctrl-C)', () => {
  it('fails an upload it cut off as UNAVAILABLE (the abort), not INTERNAL, and leaves nothing', async () => {
    const root = mkdtempSync(path.join(os.tmpdir(), 'upload-recv-store-'))
    dirs.push(root)
    const store = createStore({ root, overwrite: false, maxFileSize: Infinity })
    const source = new Readable({ read() {} })
    source.push(Buffer.alloc(100_000, 1))
    const saving = store.save(source, ['cut.bin'])
    saving.catch(() => undefined)
    await until(() => readdirSync(root).some((n) => n.endsWith('.part')), 5_000, 'a temp file')
    // Every byte is in: only the publish is left when the temp file goes.
    source.push(null)
    store.removeTemps()
    const err = await saving.then(() => null, (e: unknown) => e)
    expect(err).toBeInstanceOf(HttpError)
    expect((err as HttpError).code).toBe('UNAVAILABLE')
    expect(readdirSync(root)).toEqual([])
  })
})
