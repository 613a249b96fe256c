// Incremental parser for a request head (request line + header fields), fed bytes in any pieces.
// It works on octets and only decodes (latin1) after a line has passed the byte tables, so a
// multibyte sequence can never hide a CR or LF (RFC 9112 §2.2).
import { HttpError } from '../errors.js'
import { COLON, CR, FIELD_BYTE, HTAB, LF, SP, TARGET_BYTE, TCHAR } from './bytes.js'
import type { Header, RequestHead } from './head.js'
import { isValidAuthority } from './host.js'

export interface HeadLimits {
  maxTargetBytes: number
  maxHeadBytes: number
  maxHeaderCount: number
}

export interface HeadResult {
  head: RequestHead
  /** Index in the pushed buffer just after the head; what follows is body or the next request. */
  end: number
}

const EMPTY = Buffer.alloc(0)
const CRLF = Buffer.from('\r\n')

export class HeadParser {
  private pending: Buffer = EMPTY
  /** Where the LF scan of `pending` resumes, so a trickled head is scanned once, not quadratically. */
  private scanned = 0
  private firstLineSeen = false
  /** The target's length check (checkTarget): where its scan resumes (Infinity: done), where the target began (-1: still in the method). */
  private lineScan = 0
  private targetStart = -1

  constructor(private readonly limits: HeadLimits) {}

  /** True once any byte of a head has arrived (a client that sent nothing is idle, not slow). */
  get started(): boolean {
    return this.pending.length > 0
  }

  private reset(): void {
    this.pending = EMPTY
    this.scanned = 0
    this.firstLineSeen = false
    this.lineScan = 0
    this.targetStart = -1
  }

  /**
   * The method and any well-formed Accept of the head so far: one still arriving (answered 408 or
   * 503 before it completes), or the one push just threw on. So its error is answered like any
   * other: no body for a HEAD, HTML for a browser. Null without a method.
   */
  partial(): RequestHead | null {
    return this.pending.length > 0 ? salvage(this.pending) : null
  }

  /**
   * Feeds `buf` from `pos`. Returns the head and where it ended in `buf`, or null when every byte
   * was taken and more are needed. Throws HttpError for a head that can never be valid.
   */
  push(buf: Buffer, pos: number): HeadResult | null {
    if (this.pending.length === 0) {
      // RFC 9112 §2.2: ignore empty lines before the request line.
      while (pos + 1 < buf.length && buf[pos] === CR && buf[pos + 1] === LF) pos += 2
      if (pos === buf.length) return null
      if (buf[pos] === CR && pos + 1 === buf.length) {
        this.pending = Buffer.from([CR])
        return null
      }
    } else if (this.pending.length === 1 && this.pending[0] === CR && !this.firstLineSeen && buf[pos] === LF) {
      // A leading CRLF split across pushes.
      this.pending = EMPTY
      return this.push(buf, pos + 1)
    }

    const room = this.limits.maxHeadBytes - this.pending.length
    const take = Math.min(buf.length - pos, room + 1)
    const data = this.pending.length === 0 ? buf.subarray(pos, pos + take) : Buffer.concat([this.pending, buf.subarray(pos, pos + take)])
    const offset = this.pending.length

    let head: RequestHead
    let end: number
    try {
      // First, so that neither the head's size nor a bare LF decides before the target does.
      this.checkTarget(data)
      end = this.findEnd(data)
      if (end === -1) {
        if (data.length > this.limits.maxHeadBytes) {
          throw new HttpError('HEADERS_TOO_LARGE', 'The request header section is too large.')
        }
        // Socket buffers may be large slabs: keep a copy of just the partial head.
        this.pending = Buffer.from(data)
        return null
      }
      head = this.parse(data.subarray(0, end))
    } catch (err) {
      // For partial(): the parser is not fed again after it throws.
      this.pending = data
      throw err
    }
    const consumedHere = end - offset
    this.reset()
    return { head, end: pos + consumedHere }
  }

  /**
   * 414 as soon as the request target is over the limit, before any other verdict on the head,
   * and only for the target: the answer must not depend on where TCP cut the bytes (a long method
   * or version is judged with the complete line, or as part of a head over its limit). Resumes
   * where it stopped; done once the target has ended.
   */
  private checkTarget(data: Buffer): void {
    let i = this.lineScan
    if (i === Infinity) return
    if (this.targetStart === -1) {
      while (i < data.length && TCHAR[data[i]!] === 1) i++
      this.lineScan = i
      if (i === data.length) return
      // Not `method SP`: no target to measure; the complete line gets its 400.
      if (i === 0 || data[i] !== SP) {
        this.lineScan = Infinity
        return
      }
      this.targetStart = i = i + 1
    }
    while (i < data.length && TARGET_BYTE[data[i]!] === 1) i++
    if (i - this.targetStart > this.limits.maxTargetBytes) throw new HttpError('URI_TOO_LONG', 'The request target is too long.')
    // The target has ended (or its scan was given up): nothing more to measure.
    this.lineScan = i < data.length ? Infinity : i
  }

  /** Index just past the CRLFCRLF that ends the head, or -1. A bare LF anywhere is an error. */
  private findEnd(data: Buffer): number {
    let i = data.indexOf(LF, this.scanned)
    while (i !== -1) {
      if (i === 0 || data[i - 1] !== CR) throw new HttpError('BAD_REQUEST', 'Bare LF in the request head.')
      this.firstLineSeen = true
      if (i >= 3 && data[i - 2] === LF) return i + 1
      i = data.indexOf(LF, i + 1)
    }
    // Resume where an unfinished CR LF CR LF might still start.
    this.scanned = Math.max(0, data.length - 3)
    return -1
  }

  private parse(data: Buffer): RequestHead {
    if (data.length > this.limits.maxHeadBytes) {
      throw new HttpError('HEADERS_TOO_LARGE', 'The request header section is too large.')
    }
    let lineEnd = data.indexOf(CR)
    if (data[lineEnd + 1] !== LF) throw new HttpError('BAD_REQUEST', 'Bare CR in the request line.')
    const requestLine = parseRequestLine(data.subarray(0, lineEnd))
    const headers: Header[] = []
    let pos = lineEnd + 2
    // The head ends with an empty line: stop at it.
    while (pos < data.length - 2) {
      lineEnd = data.indexOf(CR, pos)
      if (data[lineEnd + 1] !== LF) throw new HttpError('BAD_REQUEST', 'Bare CR in the request head.')
      if (headers.length === this.limits.maxHeaderCount) {
        throw new HttpError('HEADERS_TOO_LARGE', 'Too many header fields.')
      }
      headers.push(parseField(data, pos, lineEnd))
      pos = lineEnd + 2
    }
    return { ...requestLine, headers }
  }
}

/** Where `method SP` ends the method at the start of `line` (the SP's index), or -1. */
function methodEnd(line: Buffer): number {
  let i = 0
  while (i < line.length && TCHAR[line[i]!] === 1) i++
  return i > 0 && line[i] === SP ? i : -1
}

/** The target's length was judged already, as it arrived (checkTarget). */
function parseRequestLine(line: Buffer): Omit<RequestHead, 'headers'> {
  let i = methodEnd(line)
  if (i === -1) throw new HttpError('BAD_REQUEST', 'Malformed request line.')
  const method = line.toString('latin1', 0, i)
  const targetStart = ++i
  while (i < line.length && TARGET_BYTE[line[i]!] === 1) i++
  if (i === targetStart || line[i] !== SP) throw new HttpError('BAD_REQUEST', 'Malformed request line.')
  const target = line.toString('latin1', targetStart, i)
  const versionMinor = parseVersion(line.subarray(i + 1))
  return { method, target, versionMinor, ...splitTarget(method, target) }
}

const HTTP_SLASH = Buffer.from('HTTP/')

/** `HTTP/` DIGIT `.` DIGIT, case-sensitive (RFC 9112 §2.3); 1.0 and 1.1 served, other versions 505. */
function parseVersion(v: Buffer): number {
  const isDigit = (c: number | undefined) => c !== undefined && c >= 0x30 && c <= 0x39
  if (v.length !== 8 || !v.subarray(0, 5).equals(HTTP_SLASH) || !isDigit(v[5]) || v[6] !== 0x2e || !isDigit(v[7])) {
    // `GET /my file.txt HTTP/1.1`: the version is fine, the target has a space in it.
    if (v.includes(SP)) throw new HttpError('BAD_REQUEST', 'Malformed request line: a space in the path must be sent as %20.')
    throw new HttpError('BAD_REQUEST', 'Malformed HTTP version.')
  }
  if (v[5] !== 0x31 || (v[7] !== 0x30 && v[7] !== 0x31)) {
    throw new HttpError('VERSION_UNSUPPORTED', 'Only HTTP/1.0 and HTTP/1.1 are supported.')
  }
  return v[7] - 0x30
}

const ABSOLUTE_FORM = /^https?:\/\/[^/?#]*/i

function splitTarget(method: string, target: string): { path: string; query: string } {
  if (target === '*') {
    if (method !== 'OPTIONS') throw new HttpError('BAD_REQUEST', 'Asterisk-form is only for OPTIONS.')
    return { path: '*', query: '' }
  }
  let rest = target
  if (target[0] !== '/') {
    // RFC 9112 §3.2.2: a server MUST accept absolute-form; authority-form only exists for CONNECT.
    const m = ABSOLUTE_FORM.exec(target)
    if (m) {
      // Its host stands in for the Host header's (RFC 9112 §3.2.2), so it is judged as strictly.
      if (!isValidAuthority(m[0].slice(m[0].indexOf('//') + 2))) throw new HttpError('BAD_REQUEST', 'Malformed request target.')
      rest = target.slice(m[0].length) || '/'
    } else if (method === 'CONNECT') return { path: '', query: '' }
    else throw new HttpError('BAD_REQUEST', 'Malformed request target.')
    if (rest[0] !== '/' && rest[0] !== '?') throw new HttpError('BAD_REQUEST', 'Malformed request target.')
    if (rest[0] === '?') rest = '/' + rest
  }
  const q = rest.indexOf('?')
  const hash = rest.indexOf('#')
  if (hash !== -1) throw new HttpError('BAD_REQUEST', 'A fragment is not allowed in a request target.')
  return q === -1 ? { path: rest, query: '' } : { path: rest.slice(0, q), query: rest.slice(q + 1) }
}

/** `field-name ":" OWS field-value OWS`, strictly: no space before the colon, no obs-fold (RFC 9112 §5). */
function parseField(data: Buffer, start: number, end: number): Header {
  let i = start
  while (i < end && TCHAR[data[i]!] === 1) i++
  if (i === start) {
    const what = data[start] === SP || data[start] === HTAB ? 'Obsolete line folding' : 'Malformed header field'
    throw new HttpError('BAD_REQUEST', `${what} in the request head.`)
  }
  if (data[i] !== COLON) throw new HttpError('BAD_REQUEST', 'Malformed header field name.')
  const name = data.toString('latin1', start, i).toLowerCase()
  i++
  while (i < end && (data[i] === SP || data[i] === HTAB)) i++
  let valueEnd = end
  while (valueEnd > i && (data[valueEnd - 1] === SP || data[valueEnd - 1] === HTAB)) valueEnd--
  for (let j = i; j < valueEnd; j++) {
    if (FIELD_BYTE[data[j]!] !== 1) throw new HttpError('BAD_REQUEST', `Invalid byte in the ${name} header.`)
  }
  return [name, data.toString('latin1', i, valueEnd)]
}

/** What partial() says of a head's bytes: its method and well-formed Accept fields only. */
function salvage(data: Buffer): RequestHead | null {
  const end = methodEnd(data)
  if (end === -1) return null
  const method = data.toString('latin1', 0, end)
  const headers: Header[] = []
  let pos = data.indexOf(CRLF)
  while (pos !== -1) {
    const start = pos + 2
    pos = data.indexOf(CRLF, start)
    if (pos === -1 || pos === start) break
    try {
      const field = parseField(data, start, pos)
      if (field[0] === 'accept') headers.push(field)
    } catch {
      // A malformed line is skipped: only Accept is wanted.
    }
  }
  return { method, target: '', path: '', query: '', versionMinor: 1, headers }
}
