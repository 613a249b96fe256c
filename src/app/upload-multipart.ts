// multipart/form-data: the body goes to busboy; every file part is stored on its own.
import busboy from 'busboy'
import type { Readable } from 'node:stream'
import { HttpError, toHttpError } from '../errors.js'
import { decodeFormEscapes, sanitizeName } from '../files/sanitize.js'
import { fileTooLarge, pushedState } from '../files/sink.js'
import type { Request, Response } from '../http/connection.js'
import { limitText } from '../size.js'
import { sendError, sendStored, type FileAnswer } from './answers.js'
import { installPartHeaderHooks, multipartBoundary, partFacts, type PartFacts } from './busboy-headers.js'
import { installCloseDelimiterStop, installFastBoundarySearch } from './busboy-search.js'
import type { AppContext } from './context.js'
import { linesFirst, receiveFile, refusal, reportRefused, type IncomingFile } from './receive.js'

const BUSBOY_HWM = 128 * 1024
/** What a form refused before its first part is called in its failed line and event. */
const FORM_NAME = '(form)'
const MAX_BOUNDARY = 70

installFastBoundarySearch()
installCloseDelimiterStop()
installPartHeaderHooks()

/** busboy's own error texts, as the rest of our messages word things (lower case after a colon). */
const BUSBOY_WORDS: Record<string, string> = {
  'Multipart: Boundary not found': 'its Content-Type names no boundary',
  'Malformed content type': 'its Content-Type cannot be read',
  'Malformed part header': "a part's header is malformed",
  'Unexpected end of form': 'it ended before its closing boundary',
  'Unexpected end of file': 'it ended inside a file',
}
function plainBusboy(message: string): string {
  return BUSBOY_WORDS[message] ?? message
}

export function isMultipart(contentType: string | undefined): boolean {
  return contentType !== undefined && /^multipart\/form-data\s*(;|$)/i.test(contentType)
}

export async function receiveMultipart(ctx: AppContext, req: Request, res: Response, folder: string[]): Promise<void> {
  const { config } = ctx
  // SPEC §3: an `Expect: 100-continue` client whose announced body can't fit is refused before it
  // sends it. Only then: the body includes part headers and boundaries, so the length overstates
  // the files, and a client that sends at once is better judged by each file's real size.
  const budget = config.maxFileSize * config.maxFiles
  if (req.expectContinue && req.framing.kind === 'length' && req.framing.length > budget) {
    const err = new HttpError(
      'FILE_TOO_LARGE',
      `The upload is larger than ${config.maxFiles} × ${limitText(config.maxFileSize)} allows.`,
    )
    // Still a failed upload for the terminal and --json (SPEC §2, §6); no part, so no file name yet.
    reportRefused(ctx, req.remoteAddress, [...folder, FORM_NAME], err)
    throw err
  }
  // RFC 2046 §5.1.1: 1 to 70 characters. No client sends more (browsers and curl: under 50), and a
  // boundary of thousands, with a body of near-misses, costs the search ~50× a normal body's CPU.
  if ((multipartBoundary(req.header('content-type') ?? '')?.length ?? 0) > MAX_BOUNDARY) {
    throw new HttpError('MULTIPART_MALFORMED', `Malformed multipart request: its boundary is longer than ${MAX_BOUNDARY} characters (RFC 2046).`)
  }
  let bb: busboy.Busboy
  try {
    bb = busboy({
      headers: { 'content-type': req.header('content-type') },
      // Browsers send UTF-8 names; busboy's latin1 default garbles them (busboy#316).
      defParamCharset: 'utf8',
      // Keep `folder/a.txt` from webkitdirectory uploads; sanitizeName makes each of its folders safe.
      preservePath: true,
      // 16 KiB defaults make every 64 KiB socket read a backpressure round trip.
      highWaterMark: BUSBOY_HWM,
      fileHwm: BUSBOY_HWM,
      limits: {
        // busboy flags a file of exactly `fileSize` bytes as truncated (multer#1402): +1, and the sink is exact.
        ...(Number.isFinite(config.maxFileSize) ? { fileSize: config.maxFileSize + 1 } : {}),
        // No `files`: busboy would count a browser's empty file input (no name, no bytes), which
        // SPEC §4 skips; --max-files is counted below.
      },
    })
  } catch (err) {
    throw new HttpError('MULTIPART_MALFORMED', `Malformed multipart request: ${plainBusboy((err as Error).message)}.`)
  }

  const results: (FileAnswer | null)[] = []
  // Only what is still in progress is held: a form of a million empty file inputs (skipped, SPEC
  // §4) must not hold a million parts and promises until its end (~2.3 KB each).
  const saves = new Set<Promise<void>>()
  const parts = new Set<Readable>()
  let failure: HttpError | null = null
  let onFailure: () => void = () => {}
  const failed = new Promise<void>((resolve) => (onFailure = resolve))
  /** What the client is told, and the terminal and --json say, for a failure here. */
  const explain = (err: unknown): HttpError => {
    // The body's own error (client gone, timeout) explains a part breaking off better than busboy does.
    const cause = req.body.errored ?? err
    // busboy's own errors ("Unexpected end of form", "Malformed part header") carry no code.
    return cause instanceof HttpError || (cause as NodeJS.ErrnoException).code !== undefined
      ? toHttpError(cause)
      : new HttpError('MULTIPART_MALFORMED', `Malformed multipart body: ${plainBusboy((cause as Error).message)}.`)
  }
  /** Files admitted so far (--max-files), counting nameless parts until they turn out empty. */
  let counted = 0
  const nameless: Readable[] = []
  /** The file the failure is about, if it is about one (a browser's answer page names it). */
  let failedName: string | null = null
  const fail = (err: unknown, name: string | null = null) => {
    if (failure) return
    failure = explain(err)
    failedName = name
    onFailure()
  }

  bb.on('file', (_field: string, stream: Readable, info: busboy.FileInfo) => {
    // Now, not later: it describes the part busboy is emitting (busboy-headers.ts).
    const facts = partFacts()
    // busboy destroys the part with an error when the body breaks off (client gone, short body).
    // Until the store's pipeline listens (after async mkdir/open), an unheard 'error' would crash
    // the whole server; the pipeline still sees the error through the stream's errored state.
    stream.on('error', () => {})
    parts.add(stream)
    stream.once('close', () => parts.delete(stream))
    // --stdout has its one file: the rest are dropped unread (receive.ts), so no limit or type
    // of theirs can fail the request.
    if (failure || ctx.stdout?.claimedBy === req) {
      stream.resume()
      return
    }
    // The request's length is a fair total for its first file: the page sends one file per request.
    const total = results.length === 0 && req.framing.kind === 'length' ? req.framing.length : null
    const file = {
      ...describePart(ctx, req, info, facts, folder, total),
      // The part's own failure as the answer tells it; anything else (the disk, a bug) as is.
      explain: (err: unknown) => (err === stream.errored ? explain(err) : toHttpError(err)),
    }
    const shown = file.segments.join('/')
    // A part over a limit or of a refused type fails the request while busboy is still on it,
    // not once the store gets to it: later parts of the same read are then not stored, and the
    // answer names this failure rather than one found after it.
    // --max-files counts files, and a part with no name and no bytes is a browser's file input
    // with nothing picked (skipped, storePart), not a file. busboy has ended every earlier part
    // by now, so those that turned out empty give their place back before this one is counted.
    for (let i = nameless.length - 1; i >= 0; i--) {
      if (endedEmpty(nameless[i]!)) {
        nameless.splice(i, 1)
        counted--
      }
    }
    // A nameless part past the limit may still be an empty input: judged, like its type, once it
    // is known to have a byte.
    const over = ++counted > config.maxFiles
    const refused = file.originalName === '' ? null : over ? tooManyFiles(config.maxFiles) : refusal(ctx, file)
    if (refused) {
      // Refused before the store hears of it: its failed line and event are told here, after
      // those of the files before it (a script reads the events in the form's order).
      const before = [...saves]
      void Promise.allSettled(before).then(() => reportRefused(ctx, file.client, file.segments, refused))
      fail(refused, shown)
      stream.resume()
      return
    }
    stream.once('limit', () => fail(fileTooLarge(config.maxFileSize), shown))
    // A nameless part's type is judged once it is known to have a byte (storePart).
    if (file.originalName === '') nameless.push(stream)
    const late = () => {
      const at = nameless.indexOf(stream)
      if (at !== -1) nameless.splice(at, 1)
      return over ? tooManyFiles(config.maxFiles) : refusal(ctx, file)
    }
    const index = results.push(null) - 1
    const save: Promise<void> = storePart(ctx, stream, file, file.originalName === '' ? late : null).then(
      (answer) => {
        results[index] = answer
        saves.delete(save)
      },
      (err) => {
        saves.delete(save)
        fail(err, shown)
      },
    )
    saves.add(save)
  })

  // A plain pipe with two listeners: pipeline() would build an AbortSignal and errors per request.
  const parsed = new Promise<void>((resolve) => {
    bb.once('close', resolve)
    // Kept for the instance's whole life: busboy can emit more than one error (multer#1176).
    bb.on('error', (err) => {
      // After the chunk in hand: parts busboy completes in the same write still count (SPEC §3).
      queueMicrotask(() => {
        fail(err)
        resolve()
      })
    })
    req.body.on('error', (err) => {
      // The part in flight fails with the body's reason (client gone, timeout), not busboy's.
      bb.destroy(err)
      fail(err)
      resolve()
    })
  })
  if (req.body.errored) fail(req.body.errored)
  else req.body.pipe(bb)
  await Promise.race([parsed, failed])
  if (failure) {
    req.body.unpipe(bb)
    bb.destroy(failure)
    // busboy can still start a part after it has failed (a malformed part header earlier in the
    // same chunk) and then neither ends nor destroys it: its save would wait forever, holding the
    // connection and a temp file. Parts whose bytes all arrived are left to finish (SPEC §3).
    for (const part of parts) if (!receivedWhole(part)) part.destroy(failure)
  }
  await Promise.allSettled(saves)
  const files = results.filter((f): f is FileAnswer => f !== null)
  if (files.length > 0) {
    ctx.onStored()
    // The lines go out before the answer (see upload-raw.ts).
    await linesFirst(ctx, req)
  } else {
    // A failed part's line goes out first too, without waiting for a lagging reader: only stored
    // files hold an answer back.
    void ctx.outputSettled()
  }
  if (failure) {
    // Under --once, stored files end the run: no "Back" to a receiver that has stopped.
    sendError(req, res, failure, files, failedName, !(config.once && files.length > 0))
  } else if (files.length === 0) {
    throw new HttpError('NO_FILE', 'The form contained no file.')
  } else {
    sendStored(req, res, files, !config.once)
  }
}

/** busboy has pushed the part's last byte (its end), whether or not the store has read it yet. */
function receivedWhole(part: Readable): boolean {
  return part.readableEnded || pushedState(part)?.ended === true
}

function describePart(
  ctx: AppContext,
  req: Request,
  info: busboy.FileInfo,
  facts: PartFacts,
  folder: string[],
  total: number | null,
): IncomingFile {
  const name = info.filename ?? ''
  const originalName = facts.extendedName ? name : decodeFormEscapes(name)
  const named = sanitizeName(originalName)
  const segments = ctx.config.flat ? named.segments.slice(-1) : named.segments
  return {
    from: req,
    client: req.remoteAddress,
    segments: [...folder, ...segments],
    originalName,
    generated: named.generated,
    mimeType: facts.emptyName ? facts.mimeType : info.mimeType,
    total,
  }
}

/**
 * A nameless part busboy has ended without a byte. Only parts nobody has read from are asked:
 * once storePart has seen a byte (and put it back), the part has left the list (`late`).
 */
function endedEmpty(part: Readable): boolean {
  const state = pushedState(part)
  return state?.ended === true && state.length === 0
}

function tooManyFiles(max: number): HttpError {
  return new HttpError('TOO_MANY_FILES', `At most ${max} file${max === 1 ? '' : 's'} per upload.`)
}

/**
 * Resolves to null for an empty file input (no name, no bytes), which browsers send when nothing
 * was picked. `admit`: for a part with no name, judged once it is known not to be one of those.
 */
async function storePart(
  ctx: AppContext,
  stream: Readable,
  file: IncomingFile,
  admit: (() => HttpError | null) | null,
): Promise<FileAnswer | null> {
  if (admit !== null) {
    if (await isEmpty(stream)) return null
    const refused = admit()
    if (refused) {
      reportRefused(ctx, file.client, file.segments, refused)
      stream.resume()
      throw refused
    }
  }
  return receiveFile(ctx, stream, file)
}

/** Waits for the first chunk or the end; a chunk is put back so nothing is lost. */
function isEmpty(stream: Readable): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const cleanup = () => {
      stream.off('readable', onReadable)
      stream.off('end', onEnd)
      stream.off('error', onError)
    }
    const onReadable = () => {
      const chunk = stream.read() as Buffer | null
      if (chunk === null) return
      cleanup()
      stream.unshift(chunk)
      resolve(false)
    }
    const onEnd = () => {
      cleanup()
      resolve(true)
    }
    const onError = (err: Error) => {
      cleanup()
      reject(err)
    }
    stream.on('readable', onReadable)
    stream.on('end', onEnd)
    stream.on('error', onError)
  })
}
