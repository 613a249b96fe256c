// Bytes of one file on their way to a destination: counted, limited and hashed in the same pass.
import { createHash } from 'node:crypto'
import { Transform, type Readable, type Writable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { HttpError } from '../errors.js'
import { limitText } from '../size.js'

/**
 * What has been pushed into a readable stream, whether or not anyone has read it: Node's own
 * bookkeeping, not a public API (tests cover both readers), so read in this one place.
 */
export function pushedState(stream: Readable): { ended?: boolean; length?: number } | undefined {
  return (stream as Readable & { _readableState?: { ended?: boolean; length?: number } })._readableState
}

/** The one wording of a file over --max-file-size, wherever it is found out. */
export function fileTooLarge(maxFileSize: number): HttpError {
  return new HttpError('FILE_TOO_LARGE', `The file is larger than the limit of ${limitText(maxFileSize)}.`)
}

export interface SinkOptions {
  maxFileSize: number
  onProgress?: ((bytes: number) => void) | undefined
  /** false: leave `dest` open (standard output is not ours to close). */
  end?: boolean
}

export interface SinkResult {
  size: number
  sha256: string
}

export async function sinkInto(source: Readable, dest: Writable, opts: SinkOptions): Promise<SinkResult> {
  const hash = createHash('sha256')
  let size = 0
  const meter = new Transform({
    transform(chunk: Buffer, _enc, done) {
      size += chunk.length
      if (size > opts.maxFileSize) {
        done(fileTooLarge(opts.maxFileSize))
        return
      }
      hash.update(chunk)
      opts.onProgress?.(size)
      done(null, chunk)
    },
  })
  await pipeline(source, meter, dest, { end: opts.end ?? true })
  return { size, sha256: hash.digest('hex') }
}
