// Both write paths of the file sink against real files: synchronous (the normal case) and the
// thread pool (after a streak of slow writes, which a test can't wait for on a fast disk), with
// SHA-256 on the main thread and on the hashing thread (which reads the file back).
import { createHash, randomBytes } from 'node:crypto'
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { Readable } from 'node:stream'
import { afterAll, describe, expect, it } from 'vitest'
import { HttpError } from '../../src/errors.js'
import { streamToFd } from '../../src/files/file-sink.js'
import { ThreadHashing, localHashing, type Hashing } from '../../src/files/hasher.js'
import { WriteMode } from '../../src/files/write-mode.js'

const dir = mkdtempSync(path.join(os.tmpdir(), 'upload-recv-sink-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

function asyncMode(): WriteMode {
  const m = new WriteMode(50, 3, 60_000)
  for (let i = 0; i < 3; i++) m.record(performance.now(), 100)
  expect(m.sync(performance.now())).toBe(false)
  return m
}

/** A source that hands out `data` in pieces of the given sizes, some pushed in the same turn. */
function pieces(data: Buffer, sizes: number[]): Readable {
  let pos = 0
  let i = 0
  return new Readable({
    highWaterMark: 64 * 1024,
    read() {
      // Several pushes per read so the sink sees batches (writev) as well as single chunks.
      for (let k = 0; k < 3; k++) {
        if (pos >= data.length) return void this.push(null)
        const n = sizes[i++ % sizes.length]!
        this.push(data.subarray(pos, pos + n))
        pos += n
      }
    },
  })
}

// Compiled JavaScript: `npm test` builds dist/ before vitest starts.
const threadHashing = new ThreadHashing(new URL('../../dist/files/hash-worker.js', import.meta.url), 0)

const MODES: Array<[string, () => WriteMode, Hashing]> = [
  ['synchronous writes, hashed on the main thread', () => new WriteMode(), localHashing],
  ['synchronous writes, hashing thread', () => new WriteMode(), threadHashing],
  ['thread-pool writes, hashed on the main thread', asyncMode, localHashing],
  ['thread-pool writes, hashing thread', asyncMode, threadHashing],
]

describe.each(MODES)('streamToFd, %s', (_name, mode, hashing) => {
  it.each([
    ['empty', 0],
    ['one byte', 1],
    ['3 MiB in odd pieces', 3 * 1024 * 1024 + 7],
  ])('%s: every byte on disk, size and SHA-256 right', async (_what, size) => {
    const data = randomBytes(size)
    const file = path.join(dir, `f-${Math.random().toString(36).slice(2)}`)
    const fd = openSync(file, 'wx+')
    try {
      const result = await streamToFd(pieces(data, [1, 65_536, 4093, 200_000, 17]), fd, { maxFileSize: Infinity }, mode(), hashing)
      expect(result.size).toBe(size)
      expect(result.sha256).toBe(createHash('sha256').update(data).digest('hex'))
    } finally {
      closeSync(fd)
    }
    expect(readFileSync(file).equals(data)).toBe(true)
  })

  it('over --max-file-size: FILE_TOO_LARGE, and nothing past the limit is written', async () => {
    const data = randomBytes(300_000)
    const file = path.join(dir, `big-${Math.random().toString(36).slice(2)}`)
    const fd = openSync(file, 'wx+')
    try {
      await expect(streamToFd(pieces(data, [50_000]), fd, { maxFileSize: 120_000 }, mode(), hashing)).rejects.toMatchObject({
        code: 'FILE_TOO_LARGE',
      } satisfies Partial<HttpError>)
    } finally {
      closeSync(fd)
    }
    expect(readFileSync(file).length).toBeLessThanOrEqual(120_000)
  })

  it('a source that breaks off: rejected, never resolved as a short file', async () => {
    const file = path.join(dir, `cut-${Math.random().toString(36).slice(2)}`)
    const fd = openSync(file, 'wx+')
    const source = new Readable({ read() {} })
    source.push(randomBytes(100_000))
    setTimeout(() => source.destroy(), 20)
    try {
      await expect(streamToFd(source, fd, { maxFileSize: Infinity }, mode(), hashing)).rejects.toBeInstanceOf(Error)
    } finally {
      closeSync(fd)
    }
  })
})
