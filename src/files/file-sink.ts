// One file's bytes into an open file descriptor: counted, limited and hashed in the same pass.
// Lighter per file than a Transform + fs.WriteStream + pipeline(), which matters when
// thousands of small files arrive.
//
// Writes are synchronous while the disk keeps up. A write(2) into the page cache is a memcpy;
// handing it to the thread pool kept every chunk alive until the pool got round to it, so with
// many clients the buffers outlived young-generation GCs and peak RSS doubled (issue #7, W3:
// 105 -> 65 MiB, server CPU 3.71 -> 3.45 s/GiB; the price is that a second core no longer does
// the writes, W3 throughput 1.21x -> 1.06x busboy). nginx writes request bodies to its temp
// files the same way. A device that does block (USB stick, network mount) must not
// freeze every other client: after a streak of slow writes they go through the thread pool for a
// while (write-mode.ts).
import fs from 'node:fs'
import { Writable, type Readable } from 'node:stream'
import { HttpError } from '../errors.js'
import { threadHashing, type FileHash, type Hashing } from './hasher.js'
import { fileTooLarge, type SinkOptions, type SinkResult } from './sink.js'
import { writeMode as sharedWriteMode, type WriteMode } from './write-mode.js'

// Only fills while a thread-pool write is in flight: larger batches mean fewer writev calls
// (Node's 16 KiB default cost 1.7-3x on big files, issue #7 notes); beyond ~256 KiB the gain
// is gone and memory per connection only grows.
const WRITE_HWM = 256 * 1024

class FdSink extends Writable {
  size = 0
  /** Bytes on disk (thread-pool writes complete), in order from byte 0. */
  private written = 0

  constructor(
    private readonly fd: number,
    private readonly opts: SinkOptions,
    private readonly mode: WriteMode,
    readonly hash: FileHash,
  ) {
    super({ highWaterMark: WRITE_HWM })
  }

  private count(chunk: Buffer): HttpError | null {
    this.size += chunk.length
    if (this.size > this.opts.maxFileSize) {
      return fileTooLarge(this.opts.maxFileSize)
    }
    this.hash.update(chunk)
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

  private writing = false
  private onIdle: (() => void) | null = null

  /** Resolves once no writev is in flight: only then may the descriptor be closed (and its number reused). */
  whenIdle(): Promise<void> {
    return this.writing ? new Promise((resolve) => (this.onIdle = resolve)) : Promise.resolve()
  }

  /** writev may write less than asked (a full disk, a signal): go on from where it stopped. */
  private writeAll(bufs: Buffer[], done: (err?: Error | null) => void): void {
    if (this.destroyed) return done()
    const start = performance.now()
    if (this.mode.sync(start)) {
      let total = 0
      try {
        total = writeAllSync(this.fd, bufs)
      } catch (err) {
        return done(err as Error)
      }
      this.mode.record(start, performance.now() - start)
      this.written += total
      this.hash.written(this.written)
      return done()
    }
    this.writing = true
    fs.writev(this.fd, bufs, (err, written) => {
      this.writing = false
      if (this.onIdle) {
        this.onIdle()
        this.onIdle = null
      }
      if (err) return done(err)
      this.written += written
      this.hash.written(this.written)
      skipWritten(bufs, written)
      if (bufs.length === 0) return done()
      this.writeAll(bufs, done)
    })
  }
}

/** Writes every byte of `chunks` (the array itself is left alone), however short each writev is. */
export function writeAllSync(fd: number, chunks: readonly Buffer[]): number {
  const bufs = chunks.slice()
  let total = 0
  while (bufs.length > 0) {
    const written = fs.writevSync(fd, bufs)
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
 * settled), and nothing reads it any more. `mode` and `hashing` are the process-wide ones but
 * for tests of every path.
 */
export function streamToFd(
  source: Readable,
  fd: number,
  opts: SinkOptions,
  mode: WriteMode = sharedWriteMode,
  hashing: Hashing = threadHashing,
): Promise<SinkResult> {
  return new Promise((resolve, reject) => {
    const sink = new FdSink(fd, opts, mode, hashing.open(fd))
    let settled = false
    const fail = (err: unknown) => {
      if (settled) return
      settled = true
      source.unpipe(sink)
      sink.destroy()
      source.destroy()
      // The descriptor may be closed once neither a write nor the hashing thread uses it.
      void sink
        .whenIdle()
        .then(() => sink.hash.release())
        .then(() => reject(err))
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
      sink.hash.digest(sink.size).then((sha256) => resolve({ size: sink.size, sha256 }), reject)
    })
    if (source.errored) return fail(source.errored)
    source.pipe(sink)
  })
}
