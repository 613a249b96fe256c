// The hashing thread against real files: it reads back what was written and must agree with
// SHA-256 of the bytes; when it can't run, the main thread gives the same answer.
import { createHash, randomBytes } from 'node:crypto'
import { closeSync, existsSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ThreadHashing, localHashing, type Hashing } from '../../src/files/hasher.js'

// The thread runs compiled JavaScript: `npm test` builds dist/ before vitest starts.
const WORKER = new URL('../../dist/files/hash-worker.js', import.meta.url)
const dir = mkdtempSync(path.join(os.tmpdir(), 'upload-recv-hasher-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))
beforeAll(() => {
  if (!existsSync(WORKER)) throw new Error('dist/files/hash-worker.js is missing: run `npm run build` first')
})

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex')
const tempFile = () => path.join(dir, `f-${Math.random().toString(36).slice(2)}`)

/** Writes `data` to a fresh read-write file in pieces, telling `hashing` as it goes, as the sink does. */
async function hashWhileWriting(hashing: Hashing, data: Buffer, piece: number): Promise<string> {
  const fd = openSync(tempFile(), 'wx+')
  try {
    const h = hashing.open(fd)
    for (let pos = 0; pos < data.length; pos += piece) {
      const chunk = data.subarray(pos, pos + piece)
      h.update(chunk)
      writeSync(fd, chunk)
      h.written(pos + chunk.length)
    }
    return await h.digest(data.length)
  } finally {
    closeSync(fd)
  }
}

describe.each<[string, () => Hashing]>([
  ['main thread', () => localHashing],
  ['hashing thread from byte 0', () => new ThreadHashing(WORKER, 0)],
  ['main thread, then the hashing thread past 1 MiB', () => new ThreadHashing(WORKER, 1024 * 1024)],
  ['a thread that cannot start (read back on the main thread)', () => new ThreadHashing(new URL('file:///nonexistent/hash-worker.js'), 0)],
  ['a thread that cannot start, past 1 MiB (the main thread goes on)', () => new ThreadHashing(new URL('file:///nonexistent/hash-worker.js'), 1024 * 1024)],
])('%s', (_name, make) => {
  it.each([
    ['empty', 0, 1],
    ['one byte', 1, 1],
    ['5 MiB + 3 in 64 KiB writes (several catch-ups)', 5 * 1024 * 1024 + 3, 65_536],
    ['300 KiB in odd writes', 300 * 1024, 4093],
  ])('%s: the digest of the bytes written', async (_what, size, piece) => {
    const data = randomBytes(size)
    expect(await hashWhileWriting(make(), data, piece)).toBe(sha256(data))
  })

  it('release() resolves, and nothing is asked of the descriptor afterwards', async () => {
    const fd = openSync(tempFile(), 'wx+')
    const h = make().open(fd)
    writeSync(fd, randomBytes(2 * 1024 * 1024))
    h.written(2 * 1024 * 1024)
    await h.release()
    closeSync(fd)
  })
})

describe('hashing thread', () => {
  it('many files at once, interleaved, each gets its own digest', async () => {
    const hashing = new ThreadHashing(WORKER, 0)
    const files = Array.from({ length: 8 }, (_, i) => randomBytes(1024 * 1024 + i * 7919))
    const digests = await Promise.all(files.map((data) => hashWhileWriting(hashing, data, 32 * 1024)))
    expect(digests).toEqual(files.map(sha256))
  })

  it('a file it cannot read: the digest is an error, not a wrong hash', async () => {
    const file = tempFile()
    const fd = openSync(file, 'wx') // write-only: reading it back fails
    try {
      writeSync(fd, randomBytes(1000))
      const h = new ThreadHashing(WORKER, 0).open(fd)
      h.written(1000)
      await expect(h.digest(1000)).rejects.toThrow(/Hashing the upload failed/)
    } finally {
      closeSync(fd)
    }
  })

  it('below the threshold the thread is not used; past it, it is (a read-back failure shows it)', async () => {
    const hashing = new ThreadHashing(WORKER, 1024 * 1024)
    const fd = openSync(tempFile(), 'wx') // write-only: only the thread reads it back
    try {
      const small = hashing.open(fd)
      const a = randomBytes(1000)
      small.update(a)
      writeSync(fd, a)
      small.written(1000)
      expect(await small.digest(1000)).toBe(sha256(a))

      const big = hashing.open(fd)
      const b = randomBytes(2 * 1024 * 1024)
      big.update(b)
      writeSync(fd, b, 0, b.length, 0)
      big.written(b.length)
      await expect(big.digest(b.length)).rejects.toThrow(/Hashing the upload failed/)
    } finally {
      closeSync(fd)
    }
  })

  it('a file shorter than announced: an error', async () => {
    const fd = openSync(tempFile(), 'wx+')
    try {
      writeSync(fd, randomBytes(100))
      const h = new ThreadHashing(WORKER, 0).open(fd)
      await expect(h.digest(200)).rejects.toThrow(/shorter/)
    } finally {
      closeSync(fd)
    }
  })
})
