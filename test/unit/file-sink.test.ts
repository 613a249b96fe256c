// Both write paths of the file sink against real files: synchronous (the normal case) and the
// thread pool (after a streak of slow writes, which a test can't wait for on a fast disk), and
// through the file thread (from byte 0, or past 1 MiB after the main thread wrote the start).
import { createHash, randomBytes } from 'node:crypto'
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { Readable } from 'node:stream'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { HttpError } from '../../src/errors.js'
import { streamToFd } from '../../src/files/file-sink.js'
import { fileTooLarge } from '../../src/files/sink.js'
import { FileThread } from '../../src/files/file-thread.js'
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
const WORKER = new URL('../../dist/files/file-thread-worker.js', import.meta.url)
const fromStart = new FileThread(WORKER, 0)
const fromOneMiB = new FileThread(WORKER, 1024 * 1024)
beforeAll(async () => {
  expect(await fromStart.ready()).toBe(true)
  expect(await fromOneMiB.ready()).toBe(true)
})

const MODES: Array<[string, () => WriteMode, FileThread | null]> = [
  ['synchronous writes', () => new WriteMode(), null],
  ['thread-pool writes', asyncMode, null],
  ['the file thread from byte 0', () => new WriteMode(), fromStart],
  ['synchronous writes, the file thread past 1 MiB', () => new WriteMode(), fromOneMiB],
  ['thread-pool writes, the file thread past 1 MiB', asyncMode, fromOneMiB],
]

describe.each(MODES)('streamToFd, %s', (_name, mode, thread) => {
  it.each([
    ['empty', 0],
    ['one byte', 1],
    ['3 MiB in odd pieces', 3 * 1024 * 1024 + 7],
    // Several times the 2 MiB ring, pushed as fast as the sink takes it: the ring fills and waits.
    ['24 MiB in odd pieces', 24 * 1024 * 1024 + 5],
  ])('%s: every byte on disk, size and SHA-256 right', async (_what, size) => {
    const data = randomBytes(size)
    const file = path.join(dir, `f-${Math.random().toString(36).slice(2)}`)
    const fd = openSync(file, 'wx+')
    try {
      const result = await streamToFd(pieces(data, [1, 65_536, 4093, 200_000, 17]), fd, { maxFileSize: Infinity }, mode(), thread)
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
      await expect(streamToFd(pieces(data, [50_000]), fd, { maxFileSize: 120_000 }, mode(), thread)).rejects.toMatchObject({
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
      await expect(streamToFd(source, fd, { maxFileSize: Infinity }, mode(), thread)).rejects.toBeInstanceOf(Error)
    } finally {
      closeSync(fd)
    }
  })
})

describe('fileTooLarge', () => {
  it('names the limit exactly, in the unit it was most likely given in', () => {
    expect(fileTooLarge(1023).message).toBe('The file is larger than the limit of 1,023 bytes.')
    expect(fileTooLarge(1024).message).toBe('The file is larger than the limit of 1 KiB.')
    expect(fileTooLarge(5_000_000).message).toBe('The file is larger than the limit of 5 MB.')
  })
})
