// SHA-256 of streamed files on a second thread that reads them back from the temp file.
//
// On the main thread SHA-256 was a quarter of the work per uploaded byte (issue #7, W3 profile),
// and the main thread is what limits a large upload. Handing chunks to a thread means keeping
// them alive until it is done (or copying them into a ring), which is what made a hashing thread
// cost ~30 MiB before. Reading back what was just written costs the thread a memcpy from the page
// cache, needs no memory beyond one 256 KiB buffer, and hashes exactly the bytes on disk. The main
// thread only says, once per MiB, how far the file is written.
//
// A file starts hashed on the main thread and moves to the thread once it is past THREAD_FROM
// bytes (the thread simply reads it back from byte 0): a photo costs no round trip, and a server
// that only ever gets small files never starts the thread, which costs ~10 MiB of RSS (measured:
// its own V8 heap, stack and malloc arena). Files that arrive whole are hashed in one call
// (store.ts). If the thread can't start, or dies, files are hashed on the main thread; a file in
// flight at that moment is read back on the main thread.
import { createHash } from 'node:crypto'
import { readSync } from 'node:fs'
import { availableParallelism } from 'node:os'
import { Worker } from 'node:worker_threads'
import { Op, type FromHasher, type ToHasher } from './hash-protocol.js'

/** The hash of one file being written to a descriptor. */
export interface FileHash {
  /** Every chunk, in order, as it is accepted (before it is written). */
  update(chunk: Buffer): void
  /** Bytes [0, n) of the file are written. */
  written(n: number): void
  /** The file is complete at `size` bytes. */
  digest(size: number): Promise<string>
  /** The file failed: resolves once nothing reads its descriptor any more (it may be closed then). */
  release(): Promise<void>
}

export interface Hashing {
  open(fd: number): FileHash
}

class LocalHash implements FileHash {
  private readonly hash = createHash('sha256')
  update(chunk: Buffer): void {
    this.hash.update(chunk)
  }
  written(): void {}
  digest(): Promise<string> {
    return Promise.resolve(this.hash.digest('hex'))
  }
  release(): Promise<void> {
    return Promise.resolve()
  }
}

/** Hashing on the main thread, chunk by chunk. */
export const localHashing: Hashing = { open: () => new LocalHash() }

// Between the thread's catch-ups: fewer messages, but a longer wait for the last stretch.
const HINT_BYTES = 1024 * 1024
// Hashing 8 MiB on the main thread takes ~4 ms here; past that the thread pays for itself.
const THREAD_FROM = 8 * 1024 * 1024

interface Waiter {
  fd: number
  /** For a digest: the file's size (null for a release). */
  size: number | null
  resolve(sha256: string | null): void
  reject(err: Error): void
}

export class ThreadHashing implements Hashing {
  private worker: Worker | null = null
  private broken = false
  private nextId = 0
  private readonly waiting = new Map<number, Waiter>()

  /** `fromBytes`: how much of a file is hashed on the main thread before the thread takes over. */
  constructor(
    private readonly script: URL,
    private readonly fromBytes = THREAD_FROM,
  ) {}

  open(fd: number): FileHash {
    if (this.fromBytes > 0) return new MovingHash(this, fd, this.fromBytes)
    return this.openOnThread(fd) ?? new LocalHash()
  }

  /** A hash done by the thread from byte 0 on; null if the thread can't run. */
  openOnThread(fd: number): FileHash | null {
    const worker = this.start()
    if (worker === null) return null
    const id = ++this.nextId
    this.send([Op.Open, id, fd])
    return new ThreadHash(this, id, fd)
  }

  send(m: ToHasher): void {
    this.worker?.postMessage(m)
  }

  /** Sends `m` and waits for the thread's answer about the file. */
  ask(m: ToHasher, fd: number, size: number | null): Promise<string | null> {
    if (this.worker === null) return Promise.resolve(size === null ? null : readBack(fd, size))
    return new Promise((resolve, reject) => {
      // The thread keeps the process alive only while someone waits for it.
      if (this.waiting.size === 0) this.worker!.ref()
      this.waiting.set(m[1], { fd, size, resolve, reject })
      this.worker!.postMessage(m)
    })
  }

  private start(): Worker | null {
    if (this.worker !== null || this.broken) return this.worker
    try {
      const worker = new Worker(this.script, {
        // It allocates a few small objects per MiB: V8's default young generation is 16+ MiB.
        resourceLimits: { maxYoungGenerationSizeMb: 1, maxOldGenerationSizeMb: 16 },
        // Our stdout is the data channel (SPEC §2): nothing of the thread's may ever reach it.
        stdout: true,
      })
      worker.unref()
      worker.on('message', (m: FromHasher) => this.answer(m))
      worker.on('error', () => this.fail())
      worker.on('exit', () => this.fail())
      this.worker = worker
    } catch {
      this.broken = true
    }
    return this.worker
  }

  private answer([id, sha256, error]: FromHasher): void {
    const w = this.waiting.get(id)
    if (w === undefined) return
    this.waiting.delete(id)
    if (this.waiting.size === 0) this.worker?.unref()
    if (error !== null) w.reject(Object.assign(new Error(`Hashing the upload failed: ${error}`), { code: 'EIO' }))
    else w.resolve(sha256)
  }

  /** The thread is gone: whoever waits gets the answer from the main thread. */
  private fail(): void {
    if (this.broken) return
    this.broken = true
    this.worker = null
    for (const [id, w] of this.waiting) {
      this.waiting.delete(id)
      try {
        w.resolve(w.size === null ? null : readBack(w.fd, w.size))
      } catch (err) {
        w.reject(err as Error)
      }
    }
  }
}

class ThreadHash implements FileHash {
  private hinted = 0

  constructor(
    private readonly owner: ThreadHashing,
    private readonly id: number,
    private readonly fd: number,
  ) {}

  update(): void {}

  written(n: number): void {
    if (n - this.hinted < HINT_BYTES) return
    this.hinted = n
    this.owner.send([Op.Written, this.id, n])
  }

  async digest(size: number): Promise<string> {
    return (await this.owner.ask([Op.Digest, this.id, size], this.fd, size))!
  }

  async release(): Promise<void> {
    await this.owner.ask([Op.Release, this.id, 0], this.fd, null)
  }
}

/** On the main thread until `from` bytes are written, then on the thread (which starts over from byte 0). */
class MovingHash implements FileHash {
  private local: LocalHash | null = new LocalHash()
  private hash: FileHash = this.local!
  private tried = false

  constructor(
    private readonly owner: ThreadHashing,
    private readonly fd: number,
    private readonly from: number,
  ) {}

  update(chunk: Buffer): void {
    this.local?.update(chunk)
  }

  written(n: number): void {
    if (!this.tried && n >= this.from) {
      this.tried = true
      // Without the thread the local hash, which has seen every byte, simply goes on.
      const remote = this.owner.openOnThread(this.fd)
      if (remote !== null) {
        this.local = null
        this.hash = remote
      }
    }
    this.hash.written(n)
  }

  digest(size: number): Promise<string> {
    return this.hash.digest(size)
  }

  release(): Promise<void> {
    return this.hash.release()
  }
}

/** SHA-256 of the first `size` bytes of `fd`, read on the calling thread. */
function readBack(fd: number, size: number): string {
  const hash = createHash('sha256')
  const buf = Buffer.allocUnsafe(Math.min(size, 256 * 1024))
  for (let pos = 0; pos < size; ) {
    const n = readSync(fd, buf, 0, Math.min(buf.length, size - pos), pos)
    if (n === 0) throw Object.assign(new Error('The temp file is shorter than what was written to it.'), { code: 'EIO' })
    hash.update(buf.subarray(0, n))
    pos += n
  }
  return hash.digest('hex')
}

/**
 * Process-wide: one thread hashes every large upload. On a single core it would only compete with
 * the main thread, and reading the file back costs ~0.6 CPU s/GiB more than hashing it in passing.
 */
export const threadHashing = new ThreadHashing(
  new URL('./hash-worker.js', import.meta.url),
  availableParallelism() > 1 ? THREAD_FROM : Infinity,
)
