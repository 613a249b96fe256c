// The file thread (see file-thread.ts): takes records off the shared ring in order, writes each
// payload to its file with pwrite(2) and hashes it. It blocks in Atomics.wait when the ring is
// empty, so it has no event loop to keep alive and allocates next to nothing per record.
import { createHash, type Hash } from 'node:crypto'
import { readSync, writeSync } from 'node:fs'
import { parentPort, workerData } from 'node:worker_threads'
import { Ctl, H, HEADER_BYTES, Op, RING_BYTES, recordBytes, views, type FromThread } from './ring.js'

interface Open {
  fd: number
  hash: Hash
  /** The first failure; later records of the file are skipped. */
  error: NodeJS.ErrnoException | null
}

const port = parentPort!
const { ctl, bytes, i32, f64 } = views(workerData as SharedArrayBuffer)
const files = new Map<number, Open>()
const readBuf = Buffer.allocUnsafeSlow(256 * 1024)

function send(m: FromThread): void {
  port.postMessage(m)
}

function fail(id: number, f: Open, err: unknown): void {
  f.error = err as NodeJS.ErrnoException
  // An error without a code is ours, not the disk's (EIO would say the disk failed).
  send(['failed', id, f.error.code ?? 'EFILETHREAD', f.error.message])
}

/** Bytes the main thread wrote itself (before handing the file over, or when the ring was full): hashed by reading them back. */
function hashBack(f: Open, from: number, to: number): void {
  for (let pos = from; pos < to; ) {
    const n = readSync(f.fd, readBuf, 0, Math.min(readBuf.length, to - pos), pos)
    if (n === 0) throw Object.assign(new Error('The temp file is shorter than what was written to it.'), { code: 'EIO' })
    f.hash.update(n === readBuf.length ? readBuf : readBuf.subarray(0, n))
    pos += n
  }
}

function writeAt(fd: number, data: Buffer, position: number): void {
  for (let off = 0; off < data.length; ) {
    const n = writeSync(fd, data, off, data.length - off, position + off)
    if (n === 0) throw Object.assign(new Error('write wrote nothing'), { code: 'EIO' })
    off += n
  }
}

/** Handles the record at ring offset `at`; returns its size in the ring. */
function handle(at: number): number {
  const slot = at >> 2
  const op = i32[slot + H.op]!
  if (op === Op.Wrap) return RING_BYTES - at
  const id = i32[slot + H.id]!
  const length = i32[slot + H.length]!
  const position = f64[(at >> 3) + H.position]!
  if (op === Op.Open) {
    const f: Open = { fd: i32[slot + H.fd]!, hash: createHash('sha256'), error: null }
    files.set(id, f)
    try {
      hashBack(f, 0, position)
    } catch (err) {
      fail(id, f, err)
    }
    return recordBytes(0)
  }
  const f = files.get(id)
  if (op === Op.Data) {
    if (f !== undefined && f.error === null) {
      const data = bytes.subarray(at + HEADER_BYTES, at + HEADER_BYTES + length)
      try {
        writeAt(f.fd, data, position)
        f.hash.update(data)
      } catch (err) {
        fail(id, f, err)
      }
    }
    return recordBytes(length)
  }
  if (op === Op.Written) {
    if (f !== undefined && f.error === null) {
      try {
        hashBack(f, position, position + length)
      } catch (err) {
        fail(id, f, err)
      }
    }
    return recordBytes(0)
  }
  files.delete(id)
  if (op === Op.Digest) {
    if (f === undefined) send(['failed', id, 'EFILETHREAD', 'The file thread lost track of the file.'])
    else if (f.error !== null) send(['failed', id, f.error.code ?? 'EFILETHREAD', f.error.message])
    else send(['digest', id, f.hash.digest('hex')])
  } else {
    send(['released', id])
  }
  return recordBytes(0)
}

send(['ready', 0])
let read = Atomics.load(ctl, Ctl.Read)
for (;;) {
  if (Atomics.load(ctl, Ctl.Written) === read) {
    Atomics.store(ctl, Ctl.ConsumerAsleep, 1)
    // Checked again after saying so: the producer wakes a sleeper only if it sees the flag.
    if (Atomics.load(ctl, Ctl.Written) === read) Atomics.wait(ctl, Ctl.Written, read)
    Atomics.store(ctl, Ctl.ConsumerAsleep, 0)
    continue
  }
  read = (read + handle((read >>> 0) % RING_BYTES)) | 0
  Atomics.store(ctl, Ctl.Read, read)
  if (Atomics.load(ctl, Ctl.ProducerWaiting) === 1) {
    Atomics.store(ctl, Ctl.ProducerWaiting, 0)
    Atomics.notify(ctl, Ctl.Read)
  }
}
