// The hashing thread (see hasher.ts): SHA-256 of temp files read back with pread(2) from the page
// cache, behind the main thread's writes. Messages are small arrays, one per MiB written.
import { createHash, type Hash } from 'node:crypto'
import { readSync } from 'node:fs'
import { parentPort } from 'node:worker_threads'
import { Op, type FromHasher, type ToHasher } from './hash-protocol.js'

interface Open {
  fd: number
  hash: Hash
  /** Bytes hashed so far. */
  pos: number
  /** A read failed: the file's digest is this error instead. */
  error: string | null
}

// One read buffer for every file: the thread hashes one file at a time.
const buf = Buffer.allocUnsafeSlow(256 * 1024)
const files = new Map<number, Open>()
const port = parentPort!

function catchUp(f: Open, upTo: number): void {
  if (f.error !== null) return
  try {
    while (f.pos < upTo) {
      const n = readSync(f.fd, buf, 0, Math.min(buf.length, upTo - f.pos), f.pos)
      // The main thread only announces bytes already written: a short file is an outside change.
      if (n === 0) throw new Error('the temp file is shorter than what was written to it')
      f.hash.update(n === buf.length ? buf : buf.subarray(0, n))
      f.pos += n
    }
  } catch (err) {
    f.error = (err as Error).message
  }
}

function reply(m: FromHasher): void {
  port.postMessage(m)
}

port.on('message', (m: ToHasher) => {
  const [op, id, n] = m
  if (op === Op.Open) {
    files.set(id, { fd: n, hash: createHash('sha256'), pos: 0, error: null })
    return
  }
  const f = files.get(id)
  if (f === undefined) return
  if (op === Op.Written) {
    catchUp(f, n)
  } else if (op === Op.Digest) {
    catchUp(f, n)
    files.delete(id)
    reply(f.error === null ? [id, f.hash.digest('hex'), null] : [id, null, f.error])
  } else {
    // Op.Release: after this reply the descriptor is never read again, so it may be closed.
    files.delete(id)
    reply([id, null, null])
  }
})
