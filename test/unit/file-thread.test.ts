// The file thread against real files: what it writes and hashes, a full ring, failures, its death.
import { createHash, randomBytes } from 'node:crypto'
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { PassThrough, Readable } from 'node:stream'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { streamToFd } from '../../src/files/file-sink.js'
import { FileThread, type ThreadFile } from '../../src/files/file-thread.js'
import { RING_BYTES } from '../../src/files/ring.js'
import { WriteMode } from '../../src/files/write-mode.js'

// Compiled JavaScript: `npm test` builds dist/ before vitest starts.
const WORKER = new URL('../../dist/files/file-thread-worker.js', import.meta.url)
const dir = mkdtempSync(path.join(os.tmpdir(), 'upload-recv-thread-'))
beforeAll(() => {
  if (!existsSync(WORKER)) throw new Error('dist/files/file-thread-worker.js is missing: run `npm run build` first')
})
afterAll(() => rmSync(dir, { recursive: true, force: true }))

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex')
const tempFile = () => path.join(dir, `f-${Math.random().toString(36).slice(2)}`)

// Each test's thread is ended after it: a thread left running keeps its ring and isolate for the
// rest of this worker's tests.
const threads: FileThread[] = []
afterEach(async () => {
  await Promise.all(threads.splice(0).map((t) => t.terminate()))
})

async function started(fromBytes = 0): Promise<FileThread> {
  const t = new FileThread(WORKER, fromBytes)
  threads.push(t)
  expect(await t.ready()).toBe(true)
  return t
}

function open(t: FileThread, fd: number, position = 0, onError: (err: Error) => void = () => {}): ThreadFile {
  const f = t.open(fd, position, onError)
  expect(f).not.toBeNull()
  return f!
}

describe('the file thread', () => {
  it('writes and hashes what it is given, at the given positions, in pieces larger than a record', async () => {
    const t = await started()
    const data = randomBytes(1024 * 1024 + 12_345)
    const file = tempFile()
    const fd = openSync(file, 'wx+')
    try {
      const f = open(t, fd)
      // Out of order on purpose: each record carries its position.
      expect(f.tryAppend([data.subarray(0, 300_000), data.subarray(300_000, 700_001)], 0)).toBe(true)
      expect(f.tryAppend([data.subarray(700_001)], 700_001)).toBe(true)
      expect(await f.digest(data.length)).toBe(sha256(data))
    } finally {
      closeSync(fd)
    }
    expect(readFileSync(file).equals(data)).toBe(true)
  })

  it('a full ring says so; bytes written by the caller are read back and hashed in order', async () => {
    const t = await started()
    const fd = openSync(tempFile(), 'wx+')
    try {
      const f = open(t, fd)
      const parts = Array.from({ length: 64 }, () => randomBytes(128 * 1024))
      let pos = 0
      let refused = 0
      // Far more than the ring holds, in one go: some appends must be refused.
      for (const chunk of parts) {
        if (!f.tryAppend([chunk], pos)) {
          refused++
          writeSync(fd, chunk, 0, chunk.length, pos)
          await f.wroteHere(pos, chunk.length)
        }
        pos += chunk.length
      }
      expect(64 * 128 * 1024).toBeGreaterThan(RING_BYTES)
      expect(refused).toBeGreaterThan(0)
      expect(await f.digest(pos)).toBe(sha256(Buffer.concat(parts)))
    } finally {
      closeSync(fd)
    }
  })

  it('a file handed over mid-way: the bytes before are read back', async () => {
    const t = await started()
    const data = randomBytes(3 * 1024 * 1024)
    const fd = openSync(tempFile(), 'wx+')
    try {
      const head = 2 * 1024 * 1024 + 1
      writeSync(fd, data, 0, head, 0)
      const f = open(t, fd, head)
      expect(f.tryAppend([data.subarray(head)], head)).toBe(true)
      expect(await f.digest(data.length)).toBe(sha256(data))
    } finally {
      closeSync(fd)
    }
  })

  it('a write that fails (EBADF: read-only): onError once, and the digest is that error', async () => {
    const t = await started()
    const file = tempFile()
    closeSync(openSync(file, 'wx'))
    const fd = openSync(file, 'r')
    try {
      const errors: Error[] = []
      const f = open(t, fd, 0, (err) => errors.push(err))
      expect(f.tryAppend([randomBytes(1000)], 0)).toBe(true)
      await expect(f.digest(1000)).rejects.toMatchObject({ code: 'EBADF' })
      expect(errors.length).toBeLessThanOrEqual(1)
    } finally {
      closeSync(fd)
    }
  })

  it('release: answered, and the next file goes on normally', async () => {
    const t = await started()
    const fd = openSync(tempFile(), 'wx+')
    try {
      const f = open(t, fd)
      f.tryAppend([randomBytes(500_000)], 0)
      await f.release()
      const g = open(t, fd)
      const data = randomBytes(10)
      g.tryAppend([data], 0)
      expect(await g.digest(10)).toBe(sha256(data))
    } finally {
      closeSync(fd)
    }
  })

  it('dies mid-file: that file fails (EFILETHREAD: an internal error, not EIO from the disk), a release resolves, later files stay on the main thread', async () => {
    const t = await started()
    const fd = openSync(tempFile(), 'wx+')
    const fd2 = openSync(tempFile(), 'wx+')
    try {
      const f = open(t, fd)
      const g = open(t, fd2)
      f.tryAppend([randomBytes(100_000)], 0)
      // Dead before the file is finished: its digest, asked for after, can never come. (Asked for
      // before, a thread quicker than terminate() could answer it first, on a busy machine.)
      await t.terminate()
      const digest = f.digest(100_000)
      await expect(digest).rejects.toMatchObject({ code: 'EFILETHREAD' })
      await g.release()
      expect(t.open(fd, 0, () => {})).toBeNull()
    } finally {
      closeSync(fd)
      closeSync(fd2)
    }
    // And a whole file through the sink with the dead thread: written and hashed on the main thread.
    const data = randomBytes(300_000)
    const file = tempFile()
    const fd3 = openSync(file, 'wx+')
    try {
      const result = await streamToFd(Readable.from([data]), fd3, { maxFileSize: Infinity }, new WriteMode(), t)
      expect(result).toEqual({ size: data.length, sha256: sha256(data) })
    } finally {
      closeSync(fd3)
    }
    expect(readFileSync(file).equals(data)).toBe(true)
  })

  it('starts only once `startWith` files are past `fromBytes` at the same time, and counts each file once', async () => {
    const MiB = 1024 * 1024
    const t = new FileThread(WORKER, MiB, 2)
    const fds: number[] = []
    const sink = (source: Readable) => {
      const file = tempFile()
      const fd = openSync(file, 'wx+')
      fds.push(fd)
      return { file, done: streamToFd(source, fd, { maxFileSize: Infinity }, new WriteMode(), t) }
    }
    /** Writes `data` in 64 KiB pieces, letting the sink take each. */
    const feed = async (to: PassThrough, data: Buffer) => {
      for (let off = 0; off < data.length; off += 64 * 1024) {
        to.write(data.subarray(off, off + 64 * 1024))
        await new Promise((r) => setImmediate(r))
      }
    }
    try {
      // Two files past 1 MiB, one after the other: no thread.
      for (let i = 0; i < 2; i++) {
        const data = randomBytes(3 * MiB)
        const src = new PassThrough()
        const s = sink(src)
        await feed(src, data)
        src.end()
        expect(await s.done).toEqual({ size: data.length, sha256: sha256(data) })
      }
      expect(t.started).toBe(false)
      // Two at once: the second one past 1 MiB starts it.
      const datas = [randomBytes(3 * MiB), randomBytes(3 * MiB + 1)]
      const srcs = [new PassThrough(), new PassThrough()]
      const sinks = srcs.map(sink)
      await feed(srcs[0]!, datas[0]!.subarray(0, 2 * MiB))
      expect(t.started).toBe(false)
      await feed(srcs[1]!, datas[1]!.subarray(0, 2 * MiB))
      expect(t.started).toBe(true)
      await Promise.all(srcs.map((src, i) => feed(src, datas[i]!.subarray(2 * MiB)).then(() => src.end())))
      for (const [i, s] of sinks.entries()) {
        expect(await s.done).toEqual({ size: datas[i]!.length, sha256: sha256(datas[i]!) })
        expect(readFileSync(s.file).equals(datas[i]!)).toBe(true)
      }
    } finally {
      for (const fd of fds) closeSync(fd)
      await t.terminate()
    }
  })

  it('a thread that cannot start: not ready, files are never handed over', async () => {
    const t = new FileThread(new URL('file:///nonexistent/file-thread-worker.js'), 0)
    expect(await t.ready()).toBe(false)
    expect(t.open(0, 0, () => {})).toBeNull()
  })
})
