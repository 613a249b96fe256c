// One file's bytes into an open file descriptor: counted, limited and hashed in the same pass.
// Lighter per file than a Transform + fs.WriteStream + pipeline(), which matters when
// thousands of small files arrive.
//
// Three ways bytes reach the disk:
// - Past 8 MiB, through the file thread (file-thread.ts), which writes and hashes them while the
//   main thread goes on parsing; it starts once two files have been that large at the same time.
// - Until then, synchronously. A write(2) into the page cache is a memcpy; handing the chunk to
//   the thread pool kept it alive until the pool got round to it, so with many clients buffers
//   outlived young-generation GCs and peak RSS doubled (issue #7, W3: 105 -> 65 MiB). nginx
//   writes request bodies to its temp files the same way.
// - Through the thread pool after a streak of slow writes (write-mode.ts): a device that blocks
//   (USB stick, network mount) must not freeze every other client.
import { createHash, type Hash } from 'node:crypto'
import fs from 'node:fs'
import { Writable, type Readable } from 'node:stream'
import { HttpError } from '../errors.js'
import { fileThread as sharedThread, type FileThread, type ThreadFile } from './file-thread.js'
import { fileTooLarge, type SinkOptions, type SinkResult } from './sink.js'
import { writeMode as sharedWriteMode, type WriteMode } from './write-mode.js'

// Only fills while a thread-pool write is in flight: larger batches mean fewer writev calls
// (Node's 16 KiB default cost 1.7-3x on big files, issue #7 notes); beyond ~256 KiB the gain
// is gone and memory per connection only grows.
const WRITE_HWM = 256 * 1024

class FdSink extends Writable {
  size = 0
  /** Bytes handed to the disk so far (written, or queued to the file thread), from byte 0. */
  private pos = 0
  /** SHA-256 of what the main thread wrote; null once the file thread has the file. */
  private local: Hash | null = createHash('sha256')
  private remote: ThreadFile | null = null
  /** Set once the file is past the thread's `fromBytes`: ends its count towards starting the thread. */
  private leave: (() => void) | null = null

  constructor(
    private readonly fd: number,
    private readonly opts: SinkOptions,
    private readonly mode: WriteMode,
    private readonly thread: FileThread | null,
  ) {
    super({ highWaterMark: WRITE_HWM })
  }

  private count(chunk: Buffer): HttpError | null {
    this.size += chunk.length
    if (this.size > this.opts.maxFileSize) {
      return fileTooLarge(this.opts.maxFileSize)
    }
    this.local?.update(chunk)
    return null
  }

  override _writev(chunks: Array<{ chunk: Buffer }>, done: (err?: Error | null) => void): void {
    const bufs = new Array<Buffer>(chunks.length)
    for (let i = 0; i < chunks.length; i++) {
      const err = this.count(chunks[i]!.chunk)
      if (err) return done(err)
      bufs[i] = chunks[i]!.chunk
    }
    this.opts.onProgress?.(this.size)
    this.writeAll(bufs, done)
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, done: (err?: Error | null) => void): void {
    const err = this.count(chunk)
    if (err) return done(err)
    this.opts.onProgress?.(this.size)
    this.writeAll([chunk], done)
  }

  /** The SHA-256 of the complete file (after 'finish'). */
  digest(): Promise<string> {
    return this.remote ? this.remote.digest(this.size) : Promise.resolve(this.local!.digest('hex'))
  }

  /** The file is complete or has failed: it no longer counts towards starting the thread. */
  stopCounting(): void {
    this.leave?.()
  }

  /** The file failed: resolves once nothing uses the descriptor any more (it may be closed then). */
  async release(): Promise<void> {
    await this.whenIdle()
    await this.remote?.release()
  }

  private writing = false
  private onIdle: (() => void) | null = null

  /** Resolves once no thread-pool write is in flight. */
  private whenIdle(): Promise<void> {
    return this.writing ? new Promise((resolve) => (this.onIdle = resolve)) : Promise.resolve()
  }

  private writeAll(bufs: Buffer[], done: (err?: Error | null) => void): void {
    if (this.destroyed) return done()
    if (this.remote === null && this.thread !== null && this.pos >= this.thread.fromBytes) {
      this.leave ??= this.thread.enlist()
      // null until the thread runs (or if it can't): the next write asks again.
      this.remote = this.thread.open(this.fd, this.pos, (err) => this.destroy(err))
      if (this.remote !== null) this.local = null
    }
    if (this.remote !== null) return this.toThread(this.remote, bufs, done)
    const start = performance.now()
    if (this.mode.sync(start)) {
      try {
        this.pos += writeAllSync(this.fd, bufs)
      } catch (err) {
        return done(err as Error)
      }
      this.mode.record(start, performance.now() - start)
      return done()
    }
    this.writing = true
    // writev may write less than asked (a full disk, a signal): go on from where it stopped.
    fs.writev(this.fd, bufs, (err, written) => {
      this.writing = false
      if (this.onIdle) {
        this.onIdle()
        this.onIdle = null
      }
      if (err) return done(err)
      this.pos += written
      skipWritten(bufs, written)
      if (bufs.length === 0) return done()
      this.writeAll(bufs, done)
    })
  }

  private toThread(remote: ThreadFile, bufs: Buffer[], done: (err?: Error | null) => void): void {
    let total = 0
    for (const b of bufs) total += b.length
    const at = this.pos
    try {
      if (remote.tryAppend(bufs, at)) {
        this.pos += total
        return done()
      }
    } catch (err) {
      return done(err as Error)
    }
    // The ring is full. Waiting for room would keep these buffers alive across young-generation
    // GCs (they get promoted, and only a full GC frees them: W3 peaked at 154 MiB that way), so
    // they are written here, at their place, and the thread reads them back to hash them.
    const start = performance.now()
    if (!this.mode.sync(start) && remote.couldFit(bufs)) {
      // Writes block (a slow device, write-mode.ts): then the file, and its client, wait.
      remote.room(bufs).then(() => this.toThread(remote, bufs, done), done)
      return
    }
    let said: Promise<void> | null
    try {
      writeAllSync(this.fd, bufs, at)
      this.mode.record(start, performance.now() - start)
      said = remote.wroteHere(at, total)
    } catch (err) {
      return done(err as Error)
    }
    this.pos += total
    if (said === null) return done()
    said.then(() => done(), done)
  }
}

/** Writes every byte of `chunks` (the array itself is left alone), however short each writev is. */
export function writeAllSync(fd: number, chunks: readonly Buffer[], position: number | null = null): number {
  const bufs = chunks.slice()
  let total = 0
  while (bufs.length > 0) {
    const written = fs.writevSync(fd, bufs, position === null ? undefined : position + total)
    // A regular file takes at least one byte or fails; 0 would loop forever.
    if (written === 0) throw Object.assign(new Error('writev wrote nothing'), { code: 'EIO' })
    total += written
    skipWritten(bufs, written)
  }
  return total
}

/** Drops what writev wrote from the front of `bufs`. */
function skipWritten(bufs: Buffer[], written: number): void {
  while (bufs.length > 0 && written >= bufs[0]!.length) written -= bufs.shift()!.length
  if (bufs.length > 0 && written > 0) bufs[0] = bufs[0]!.subarray(written)
}

/**
 * Streams `source` into `fd`; the descriptor stays open (the store closes it once the name is
 * settled), and nothing uses it any more once this settles. `mode` and `thread` are the
 * process-wide ones but for tests of every path (null: no file thread).
 */
export function streamToFd(
  source: Readable,
  fd: number,
  opts: SinkOptions,
  mode: WriteMode = sharedWriteMode,
  thread: FileThread | null = sharedThread,
): Promise<SinkResult> {
  return new Promise((resolve, reject) => {
    const sink = new FdSink(fd, opts, mode, thread)
    let settled = false
    const fail = (err: unknown) => {
      if (settled) return
      settled = true
      sink.stopCounting()
      source.unpipe(sink)
      sink.destroy()
      source.destroy()
      void sink.release().then(() => reject(err))
    }
    source.on('error', fail)
    sink.on('error', fail)
    // A source destroyed without an error (and without its end) is a cut-off file, not a short one.
    source.on('close', () => {
      if (!source.readableEnded) fail(source.errored ?? new HttpError('BODY_INCOMPLETE', 'The upload broke off.'))
    })
    sink.on('finish', () => {
      if (settled) return
      settled = true
      sink.stopCounting()
      sink.digest().then(
        (sha256) => resolve({ size: sink.size, sha256 }),
        // The file thread failed to write the last of it: nothing else uses the descriptor now.
        (err: unknown) => reject(err),
      )
    })
    if (source.errored) return fail(source.errored)
    source.pipe(sink)
  })
}
