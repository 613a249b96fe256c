// One error class for everything a client can cause, one table mapping its code to a status.
// Codes are the `code` strings of the JSON error answers and the `--json` `failed` events.
const ERROR_STATUS = {
  BAD_REQUEST: 400,
  BODY_INCOMPLETE: 400,
  MULTIPART_MALFORMED: 400,
  NO_FILE: 400,
  UNAUTHORIZED: 401,
  NOT_FOUND: 404,
  METHOD_NOT_ALLOWED: 405,
  TIMEOUT: 408,
  CONFLICT: 409,
  LENGTH_REQUIRED: 411,
  FILE_TOO_LARGE: 413,
  TOO_MANY_FILES: 413,
  URI_TOO_LONG: 414,
  TYPE_NOT_ALLOWED: 415,
  EXPECTATION_FAILED: 417,
  HEADERS_TOO_LARGE: 431,
  INTERNAL: 500,
  NOT_IMPLEMENTED: 501,
  UNAVAILABLE: 503,
  VERSION_UNSUPPORTED: 505,
  INSUFFICIENT_STORAGE: 507,
} as const

export type ErrorCode = keyof typeof ERROR_STATUS

export class HttpError extends Error {
  readonly status: number
  readonly headers: Record<string, string>
  constructor(
    readonly code: ErrorCode,
    message: string,
    options: { cause?: unknown; headers?: Record<string, string> } = {},
  ) {
    super(message, { cause: options.cause })
    this.name = 'HttpError'
    this.status = ERROR_STATUS[code]
    this.headers = options.headers ?? {}
  }
}

/** The one wording of a request cut off or refused by a stop (a second Ctrl-C, a new request while stopping). */
export function shuttingDown(cause?: unknown): HttpError {
  return new HttpError('UNAVAILABLE', 'The receiver is stopping.', { cause })
}

/** No room left where the bytes go (507 wherever that is: the disk, or what --stdout writes to). */
export function isDiskFull(code: string | undefined): boolean {
  return code === 'ENOSPC' || code === 'EDQUOT'
}

/** Maps anything thrown while handling a request to the answer the client gets. */
export function toHttpError(err: unknown): HttpError {
  if (err instanceof HttpError) return err
  const code = (err as NodeJS.ErrnoException | null)?.code
  if (isDiskFull(code)) {
    return new HttpError('INSUFFICIENT_STORAGE', 'The disk is full.', { cause: err })
  }
  // The process's (or the system's) open-file limit: the environment, not a bug, and it passes.
  if (code === 'EMFILE' || code === 'ENFILE') {
    return new HttpError('UNAVAILABLE', 'The receiver has too many files open at once (its ulimit -n, or a lower --max-connections, would help); try again shortly.', { cause: err })
  }
  if (code === 'ENAMETOOLONG') {
    return new HttpError('BAD_REQUEST', 'The file name is too long for this file system.', { cause: err })
  }
  // Files changed under a running receiver (--dir removed, a folder made read-only). Still a 500
  // (nothing the client can fix), but said plainly: "Internal error." left the operator reading
  // it on stderr no wiser.
  if (code === 'ENOENT' || code === 'ENOTDIR') {
    return new HttpError('INTERNAL', 'A folder the receiver was storing into is gone (deleted or moved while it ran).', { cause: err })
  }
  if (code === 'EACCES' || code === 'EPERM' || code === 'EROFS') {
    return new HttpError('INTERNAL', 'The receiver may not write there (permissions, or a read-only file system).', { cause: err })
  }
  if (code === 'EIO') {
    return new HttpError('INTERNAL', "The receiving computer's disk failed to write (I/O error).", { cause: err })
  }
  return new HttpError('INTERNAL', 'Internal error.', { cause: err })
}

/** The command line itself is wrong: exit 2 with one line. */
export class UsageError extends Error {
  override name = 'UsageError'
}

/** The environment refuses (port in use, folder not writable): exit 1 with one line. */
export class StartupError extends Error {
  override name = 'StartupError'
}
