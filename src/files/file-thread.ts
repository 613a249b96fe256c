// Large files are written and hashed by a second thread, fed through a shared ring (ring.ts).
//
// On the main thread a large upload costs parsing (busboy), the write(2) into the page cache and
// SHA-256; with two of those three on another thread the main thread parses only (issue #7: W3
// profile, writev 29 %, SHA-256 25 %). Handing the thread the chunks themselves would keep them
// alive until it is done; copying them into a 2 MiB ring costs a memcpy (~0.1 s/GiB), bounds
// what is in flight by construction, and lets the socket's buffers die young. When the ring is
// full the main thread writes the chunk itself and tells the thread to hash it by reading it back
// (file-sink.ts), unless writes block (a slow device): then the file, and its client, wait.
//
// A file starts on the main thread and moves over once it is past `fromBytes` (the thread reads
// the bytes already on disk back to hash them): a photo costs no round trip. The thread costs
// ~12 MiB of RSS (its own V8 heap, stack and malloc arena, the ring) and only starts once two
// files are past `fromBytes` at the same time: alone, the main thread stores a large upload at
// ~350 MiB/s here (the thread adds ~25 % on loopback, nothing on a real link), while several at
// once share it (16 clients: at busboy's pace without the thread, 1.3-1.6x with it). A server
// that only ever gets one large upload at a time never starts it. Files move only once the
// thread is running; if it can't start, they stay on the main thread. If it dies, the files it
// holds fail (their bytes were in the ring).
import { availableParallelism } from 'node:os'
import { Worker } from 'node:worker_threads'
import { CONTROL_BYTES, Ctl, H, HEADER_BYTES, MAX_PAYLOAD, Op, RING_BYTES, recordBytes, views, type FromThread, type RingViews } from './ring.js'

// ES2024 (Node >= 16); TypeScript only declares it with lib es2024.
const waitAsync = (Atomics as unknown as {
  waitAsync(a: Int32Array, index: number, value: number, timeoutMs: number): { async: boolean; value: unknown }
}).waitAsync

type Waiter = { kind: 'digest'; resolve(sha256: string): void; reject(err: Error): void } | { kind: 'release'; resolve(): void }

// Not EIO: the disk did nothing wrong, and toHttpError would say it had.
const threadGone = () => Object.assign(new Error('The file thread stopped.'), { code: 'EFILETHREAD' })

export class ThreadFile {
  private waiter: Waiter | null = null
  failure: Error | null = null

  constructor(
    private readonly owner: FileThread,
    readonly id: number,
    /** Called once if a write fails before the file is complete (ENOSPC, EIO...). */
    private readonly onError: (err: Error) => void,
  ) {}

  /** Queues `bufs` to be written at `position`; false if the ring has no room for them now. Throws if the file failed. */
  tryAppend(bufs: readonly Buffer[], position: number): boolean {
    if (this.failure) throw this.failure
    return this.owner.tryAppend(this.id, bufs, position)
  }

  /** Whether `bufs` fit in the ring at all (half of it, so that waiting for room always ends). */
  couldFit(bufs: readonly Buffer[]): boolean {
    return FileThread.bytesFor(bufs) <= RING_BYTES / 2
  }

  /** Resolves once `bufs` would fit (rejects if the thread is gone); see couldFit. */
  room(bufs: readonly Buffer[]): Promise<void> {
    return this.owner.room(FileThread.bytesFor(bufs))
  }

  /**
   * The caller wrote `length` bytes at `position` itself (the ring was full): the thread hashes
   * them by reading them back, in order with the rest. null: said; a promise: once there was room.
   */
  wroteHere(position: number, length: number): Promise<void> | null {
    if (this.failure) throw this.failure
    return this.owner.control(Op.Written, this.id, position, 0, length)
  }

  /** The file is complete at `size` bytes: its SHA-256, once the thread has written everything. */
  digest(size: number): Promise<string> {
    if (this.failure) return Promise.reject(this.failure)
    return new Promise((resolve, reject) => {
      this.waiter = { kind: 'digest', resolve, reject }
      try {
        this.owner.control(Op.Digest, this.id, size)?.catch(reject)
      } catch (err) {
        reject(err as Error)
      }
    })
  }

  /** The file failed: resolves once the thread no longer uses its descriptor (it may be closed then). */
  release(): Promise<void> {
    if (this.owner.gone) return Promise.resolve()
    return new Promise((resolve) => {
      this.waiter = { kind: 'release', resolve }
      // The thread is gone if this fails: then nobody uses the descriptor any more.
      try {
        this.owner.control(Op.Release, this.id, 0)?.catch(() => resolve())
      } catch {
        resolve()
      }
    })
  }

  /** A message from the thread (or the thread's death, as `failed`); true when the file is settled. */
  receive(m: FromThread): boolean {
    const w = this.waiter
    if (m[0] === 'failed') {
      const err = Object.assign(new Error(m[3]), { code: m[2] })
      if (w?.kind === 'digest') {
        w.reject(err)
        return true
      }
      if (w?.kind === 'release' && this.owner.gone) {
        w.resolve()
        return true
      }
      if (!this.failure) {
        this.failure = err
        this.onError(err)
      }
      return false
    }
    if (m[0] === 'digest' && w?.kind === 'digest') w.resolve(m[2])
    else if (m[0] === 'released' && w?.kind === 'release') w.resolve()
    return true
  }
}

export class FileThread {
  private worker: Worker | null = null
  private online = false
  private broken = false
  private ring: RingViews | null = null
  /** Producer's counter of bytes appended (wrapped to 32 bits, as in the control block). */
  private written = 0
  private nextId = 0
  private readonly files = new Map<number, ThreadFile>()
  /** Files past `fromBytes` now, on either thread. */
  private large = 0

  /**
   * `fromBytes`: how much of a file is handled on the main thread before the thread takes over.
   * `startWith`: how many files must be past it at once for the thread to start.
   */
  constructor(
    private readonly script: URL,
    readonly fromBytes: number,
    private readonly startWith = 1,
  ) {}

  get gone(): boolean {
    return this.broken
  }

  /** Whether the thread has been started (it may still be starting, or have failed). */
  get started(): boolean {
    return this.worker !== null
  }

  /** A file is past `fromBytes`: counts towards `startWith` until the returned function is called. */
  enlist(): () => void {
    this.large++
    let left = false
    return () => {
      if (left) return
      left = true
      this.large--
    }
  }

  /**
   * Hands the file on `fd` over from `position` on (the bytes before it are on disk already).
   * null until the thread runs (it starts once `startWith` files are enlisted, in ~30 ms), or if
   * it can't run: the caller goes on by itself and asks again later.
   */
  open(fd: number, position: number, onError: (err: Error) => void): ThreadFile | null {
    if (!this.online) {
      if (this.large >= this.startWith) this.start()
      return null
    }
    const id = this.nextId + 1
    // Synchronously or not at all: a Data record must never overtake its Open. A full ring just
    // means the file stays on the main thread a little longer.
    if (!this.put(Op.Open, id, position, fd, null)) return null
    this.nextId = id
    const file = new ThreadFile(this, id, onError)
    this.files.set(id, file)
    return file
  }

  static bytesFor(bufs: readonly Buffer[]): number {
    let size = 0
    for (const b of bufs) {
      const whole = Math.floor(b.length / MAX_PAYLOAD)
      size += whole * recordBytes(MAX_PAYLOAD) + (b.length % MAX_PAYLOAD > 0 ? recordBytes(b.length % MAX_PAYLOAD) : 0)
    }
    return size
  }

  tryAppend(id: number, bufs: readonly Buffer[], position: number): boolean {
    if (!this.fits(FileThread.bytesFor(bufs))) return false
    for (const b of bufs) {
      for (let off = 0; off < b.length; off += MAX_PAYLOAD) {
        const piece = off === 0 && b.length <= MAX_PAYLOAD ? b : b.subarray(off, off + MAX_PAYLOAD)
        // fits() left room for all of them, a wrap included.
        this.put(Op.Data, id, position, 0, piece)
        position += piece.length
      }
    }
    return true
  }

  /** Room for `size` bytes of records now, even if the first has to wrap (at most its size again). */
  private fits(size: number): boolean {
    const used = (this.written - Atomics.load(this.ring!.ctl, Ctl.Read)) >>> 0
    return RING_BYTES - used >= size + Math.min(size, MAX_PAYLOAD + HEADER_BYTES)
  }

  /** A record without payload. null: written; a promise: once there was room for it. */
  control(op: number, id: number, position: number, fd = 0, length = 0): Promise<void> | null {
    if (this.put(op, id, position, fd, null, length)) return null
    return this.room(recordBytes(0)).then(() => this.control(op, id, position, fd, length) ?? undefined)
  }

  /** Writes one record if it fits now (a Wrap first if it would cross the end); false if not. */
  private put(op: number, id: number, position: number, fd: number, payload: Buffer | null, length = 0): boolean {
    if (this.broken) throw threadGone()
    const { ctl, bytes, i32, f64 } = this.ring!
    const size = recordBytes(payload?.length ?? 0)
    let at = (this.written >>> 0) % RING_BYTES
    const wrap = at + size > RING_BYTES ? RING_BYTES - at : 0
    const used = (this.written - Atomics.load(ctl, Ctl.Read)) >>> 0
    if (RING_BYTES - used < wrap + size) return false
    if (wrap > 0) {
      i32[at >> 2] = Op.Wrap
      at = 0
    }
    const slot = at >> 2
    i32[slot + H.op] = op
    i32[slot + H.id] = id
    i32[slot + H.length] = payload?.length ?? length
    i32[slot + H.fd] = fd
    f64[(at >> 3) + H.position] = position
    if (payload !== null) payload.copy(bytes, at + HEADER_BYTES)
    // The record is in place before the counter says so (Atomics are sequentially consistent).
    this.written = (this.written + wrap + size) | 0
    Atomics.store(ctl, Ctl.Written, this.written)
    if (Atomics.load(ctl, Ctl.ConsumerAsleep) === 1) Atomics.notify(ctl, Ctl.Written)
    return true
  }

  /** Resolves once records of `size` bytes could fit, or rejects if the thread is gone. */
  async room(size: number): Promise<void> {
    const { ctl } = this.ring!
    for (;;) {
      if (this.broken) throw threadGone()
      const read = Atomics.load(ctl, Ctl.Read)
      if (this.fits(size)) return
      Atomics.store(ctl, Ctl.ProducerWaiting, 1)
      if (Atomics.load(ctl, Ctl.Read) !== read) continue
      // Bounded, so a thread that died between two checks is noticed.
      const r = waitAsync(ctl, Ctl.Read, read, 1000)
      if (r.async) await r.value
    }
  }

  /** Starts the thread; true once it runs, false if it can't. (Tests; files don't wait for it.) */
  ready(): Promise<boolean> {
    this.start()
    if (this.online || this.broken) return Promise.resolve(this.online)
    const worker = this.worker!
    return new Promise((resolve) => {
      const onMessage = (m: FromThread) => {
        if (m[0] !== 'ready') return
        worker.off('message', onMessage)
        resolve(this.online)
      }
      worker.on('message', onMessage)
      worker.once('exit', () => resolve(false))
    })
  }

  /** Stops the thread as if it had died (tests): the files it holds fail. */
  async terminate(): Promise<void> {
    await this.worker?.terminate()
  }

  private start(): void {
    if (this.worker !== null || this.broken) return
    try {
      const sab = new SharedArrayBuffer(CONTROL_BYTES + RING_BYTES)
      this.ring = views(sab)
      const worker = new Worker(this.script, {
        workerData: sab,
        // It allocates a few small objects per record: V8's default young generation is 16+ MiB.
        resourceLimits: { maxYoungGenerationSizeMb: 1, maxOldGenerationSizeMb: 16 },
        // Our stdout is the data channel (SPEC §2): nothing of the thread's may ever reach it.
        stdout: true,
      })
      // It runs for the life of the process but must not keep the process alive.
      worker.unref()
      worker.on('message', (m: FromThread) => {
        if (m[0] === 'ready') {
          this.online = !this.broken
          return
        }
        const file = this.files.get(m[1])
        if (file?.receive(m)) this.files.delete(m[1])
      })
      worker.on('error', () => this.fail())
      worker.on('exit', () => this.fail())
      this.worker = worker
    } catch {
      this.broken = true
    }
  }

  /** The thread is gone: every file it held fails (their bytes were in the ring), nothing new moves over. */
  private fail(): void {
    if (this.broken) return
    this.broken = true
    this.online = false
    const err = threadGone()
    for (const [id, file] of this.files) file.receive(['failed', id, err.code, err.message])
    this.files.clear()
  }
}

/**
 * Process-wide: one thread writes and hashes every large upload once two have been in flight at
 * the same time. Not on a single core, where it could only compete with the main thread.
 */
export const fileThread = new FileThread(
  new URL('./file-thread-worker.js', import.meta.url),
  availableParallelism() > 1 ? 8 * 1024 * 1024 : Infinity,
  2,
)
