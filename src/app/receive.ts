// One file, from wherever it came (a multipart part or a raw body), to the store, with events.
import type { Readable } from 'node:stream'
import path from 'node:path'
import { HttpError, isDiskFull, toHttpError } from '../errors.js'
import { matchAllow } from '../files/allow.js'
import { sinkInto } from '../files/sink.js'
import type { FileAnswer } from './answers.js'
import type { AppContext } from './context.js'
import type { Request } from '../http/connection.js'

export interface IncomingFile {
  /** The request it came in (identity only). */
  from: object
  client: string
  /** Sanitised target path under --dir. */
  segments: readonly string[]
  originalName: string
  /**
   * The client gave no usable name and the server made one up (`upload-<timestamp>`): such a file
   * never replaces another, even under --overwrite, or two nameless uploads in the same second
   * would leave one file (SPEC §4: racing uploads both survive).
   */
  generated?: boolean
  mimeType: string
  /** Announced size (a raw body's Content-Length, or a form's for its first file), for progress percentages. */
  total: number | null
  /** How a failure is told (default toHttpError): the answer and the `failed` event must agree. */
  explain?: (err: unknown) => HttpError
}

let nextId = 0

/** A file refused before it reached receiveFile (limits, --allow): its failed line and event (SPEC §2, §6). */
export function reportRefused(ctx: AppContext, client: string, segments: readonly string[], err: HttpError): void {
  ctx.reporter.emit({ type: 'failed', id: 0, client, name: segments.join('/'), code: err.code, message: err.message })
}

/** Why `file` is refused before a byte of it is read (--allow), or null. */
export function refusal(ctx: AppContext, file: IncomingFile): HttpError | null {
  const { config } = ctx
  if (config.allow && !matchAllow(config.allow, { name: file.segments[file.segments.length - 1]!, type: file.mimeType })) {
    return new HttpError('TYPE_NOT_ALLOWED', `Files of this type are not accepted here (allowed: ${config.allowText}).`)
  }
  return null
}

export async function receiveFile(ctx: AppContext, source: Readable, file: IncomingFile): Promise<FileAnswer | null> {
  const id = ++nextId
  const { reporter, config } = ctx
  const display = file.segments.join('/')
  const started = Date.now()
  try {
    const refused = refusal(ctx, file)
    if (refused) throw refused
    // --stdout takes exactly one file: further files of its request are read and dropped (README),
    // before they are announced (a start line with no end would stay on the terminal).
    if (ctx.stdout?.claimedBy === file.from) {
      source.resume()
      return null
    }
    reporter.emit({ type: 'started', id, client: file.client, name: display, total: file.total })
    const onProgress = (bytes: number) => reporter.emit({ type: 'progress', id, bytes })
    let name: string
    let result: { size: number; sha256: string }
    if (ctx.stdout) {
      // Another request is told so rather than thanked for nothing.
      if (ctx.stdout.claimedBy !== null) {
        throw new HttpError('UNAVAILABLE', 'This receiver takes a single file and is already receiving another one.')
      }
      ctx.stdout.claimedBy = file.from
      let sent = 0
      const counted = (bytes: number) => {
        sent = bytes
        onProgress(bytes)
      }
      try {
        result = await sinkInto(source, ctx.stdout.sink, { maxFileSize: config.maxFileSize, onProgress: counted, end: false })
      } catch (err) {
        const e = err instanceof HttpError ? err : outputFailed(err as NodeJS.ErrnoException)
        // Refused before its first byte went out (over --max-file-size in one chunk, a cut-short
        // body): standard output is untouched, so the next upload may have it.
        if (sent === 0 && err instanceof HttpError) ctx.stdout.claimedBy = null
        else ctx.stdout.failed(e, display, sent)
        throw e
      }
      name = display
    } else {
      const saved = await ctx.store.save(source, file.segments, onProgress, file.generated === true)
      name = saved.name
      result = saved
    }
    reporter.emit({
      type: 'stored',
      id,
      client: file.client,
      name,
      originalName: file.originalName,
      path: ctx.stdout ? '-' : typedPath(config.dir, name),
      size: result.size,
      sha256: result.sha256,
      ms: Date.now() - started,
    })
    return { name, originalName: file.originalName, size: result.size, sha256: result.sha256, mimeType: file.mimeType }
  } catch (err) {
    source.resume()
    const e = file.explain ? file.explain(err) : toHttpError(err)
    reporter.emit({ type: 'failed', id, client: file.client, name: display, code: e.code, message: e.message })
    throw e
  }
}

/**
 * Before the answer to an upload that stored files: their lines go out first, and while standard
 * output's reader lags the answer waits for it (so the uploader does too), unless the client is
 * gone: nobody would read that answer, and holding it would hold the request's memory.
 */
export async function linesFirst(ctx: AppContext, req: Request): Promise<void> {
  const backlog = ctx.outputSettled()
  if (!backlog) return
  let stop = () => {}
  await Promise.race([backlog, new Promise<void>((resolve) => (stop = req.onGone(resolve)))])
  stop()
}

/**
 * --stdout could not be written. Its reader going away is the receiving end of a pipeline, not a
 * bug of ours (500); a full disk under `> file` is the 507 it is anywhere else.
 */
function outputFailed(err: NodeJS.ErrnoException): HttpError {
  if (err.code === 'EPIPE' || err.code === 'ERR_STREAM_DESTROYED') {
    return new HttpError('UNAVAILABLE', "The receiver's standard output was closed by its reader before the whole file went out.", { cause: err })
  }
  // toHttpError's other words are about folders and disks, which standard output is not.
  if (isDiskFull(err.code)) return toHttpError(err)
  return new HttpError('INTERNAL', `The receiver's standard output failed (${err.code ?? err.message}).`, { cause: err })
}

/**
 * The stored file as the user would type it; `./-rf x` rather than `-rf x`, which every command
 * takes for options, `./ x` rather than ` x`, whose space `while read` (default IFS) strips, and
 * `./~root` rather than `~root`, which a shell reads as root's home folder. A tab can only lead
 * through --dir (names lose their controls), and `read` strips it as it does a space.
 */
function typedPath(dir: string, name: string): string {
  const typed = path.join(dir, name)
  return /^[-~ \t]/.test(typed) ? `./${typed}` : typed
}
