// RFC 9112 §7.1 chunked coding, strictly: `chunk-size [chunk-ext] CRLF data CRLF`, a last chunk,
// a trailer section (read and discarded) and the final CRLF. Size lines and trailer lines may be
// split anywhere, so they are gathered (bounded) before being judged; data passes straight through.
import { HttpError } from '../errors.js'
import { MAX_CHUNK_EXTENSION_BYTES, MAX_CHUNK_LINE_BYTES, MAX_TRAILER_BYTES } from '../limits.js'
import type { BodyDecoder, OnPayload } from './body-decoder.js'
import { COLON, CR, DQUOTE, EQUALS, FIELD_BYTE, HEX_VALUE, HTAB, LF, QDTEXT, SEMI, SP, TCHAR, BACKSLASH } from './bytes.js'

const enum State {
  SizeLine,
  Data,
  DataCR,
  DataLF,
  Trailer,
  Done,
}

// 13 hex digits stay below 2^53: no precision loss (§7.1 "MUST prevent integer overflow").
const MAX_SIZE_DIGITS = 13

const LINE_START_BYTES = 64
const LINE_KEEP_BYTES = 1024
const malformed = (what: string) => new HttpError('BAD_REQUEST', `Malformed chunked body: ${what}.`)

export class ChunkedDecoder implements BodyDecoder {
  private state = State.SizeLine
  // A size or trailer line split across reads, gathered as bytes: a number[] cost ~12 bytes per
  // byte (a 16 KiB trailer held ~195 KB per connection).
  private line = Buffer.allocUnsafe(LINE_START_BYTES)
  private lineLen = 0
  private remaining = 0
  private trailerBytes = 0
  private extensionBytes = 0

  constructor(private readonly onPayload: OnPayload) {}

  get done(): boolean {
    return this.state === State.Done
  }

  push(buf: Buffer, pos: number): number {
    const len = buf.length
    while (pos < len) {
      switch (this.state) {
        case State.Data: {
          const n = Math.min(this.remaining, len - pos)
          this.remaining -= n
          this.onPayload(buf.subarray(pos, pos + n))
          pos += n
          if (this.remaining === 0) this.state = State.DataCR
          break
        }
        case State.DataCR:
          if (buf[pos++] !== CR) throw malformed('missing CRLF after chunk data')
          this.state = State.DataLF
          break
        case State.DataLF:
          if (buf[pos++] !== LF) throw malformed('missing CRLF after chunk data')
          this.state = State.SizeLine
          break
        case State.SizeLine:
        case State.Trailer: {
          const lf = buf.indexOf(LF, pos)
          const end = lf === -1 ? len : lf + 1
          this.gather(buf, pos, end)
          pos = end
          if (lf !== -1) this.lineDone()
          break
        }
        case State.Done:
          return pos
      }
    }
    return pos
  }

  private gather(buf: Buffer, start: number, end: number): void {
    const limit = this.state === State.SizeLine ? MAX_CHUNK_LINE_BYTES : MAX_TRAILER_BYTES - this.trailerBytes
    const need = this.lineLen + (end - start)
    if (need > limit) {
      throw this.state === State.SizeLine
        ? malformed('chunk size line too long')
        : new HttpError('HEADERS_TOO_LARGE', 'The chunked trailer section is too large.')
    }
    if (need > this.line.length) {
      const grown = Buffer.allocUnsafe(Math.max(need, 2 * this.line.length))
      this.line.copy(grown, 0, 0, this.lineLen)
      this.line = grown
    }
    buf.copy(this.line, this.lineLen, start, end)
    this.lineLen = need
  }

  private lineDone(): void {
    const line = this.line
    const n = this.lineLen
    this.lineLen = 0
    // A long trailer line's room is not kept for the rest of the connection.
    if (line.length > LINE_KEEP_BYTES) this.line = Buffer.allocUnsafe(LINE_START_BYTES)
    if (n < 2 || line[n - 2] !== CR) throw malformed('bare LF')
    if (this.state === State.SizeLine) {
      this.remaining = parseSizeLine(line, n - 2)
      // What follows the size digits (checked well-formed just now) is extensions.
      let digits = 0
      while (digits < n - 2 && HEX_VALUE[line[digits]!]! >= 0) digits++
      this.extensionBytes += n - 2 - digits
      if (this.extensionBytes > MAX_CHUNK_EXTENSION_BYTES) {
        throw new HttpError('BAD_REQUEST', `The chunked body's extensions are over ${MAX_CHUNK_EXTENSION_BYTES / 1024} KiB in all.`)
      }
      this.state = this.remaining === 0 ? State.Trailer : State.Data
      return
    }
    this.trailerBytes += n
    if (n === 2) {
      this.state = State.Done
      return
    }
    checkTrailerField(line, n - 2)
  }
}

/** chunk-size = 1*HEXDIG, then `*( BWS ";" BWS ext-name [ BWS "=" BWS ext-val ] )`: `2;` and `a ` are malformed. */
function parseSizeLine(line: Uint8Array, end: number): number {
  let i = 0
  let size = 0
  while (i < end && HEX_VALUE[line[i]!]! >= 0) {
    if (i === MAX_SIZE_DIGITS) throw malformed('chunk size too large')
    size = size * 16 + HEX_VALUE[line[i]!]!
    i++
  }
  if (i === 0) throw malformed('missing chunk size')
  while (i < end) {
    i = skipBws(line, i, end)
    // `a ` or `a x`: no `;`, so no extension at all, but a size line with something after it.
    if (line[i] !== SEMI) throw malformed('invalid chunk size line')
    i = skipBws(line, i + 1, end)
    const nameStart = i
    while (i < end && TCHAR[line[i]!] === 1) i++
    if (i === nameStart) throw malformed('invalid chunk extension')
    const afterName = i
    i = skipBws(line, i, end)
    if (line[i] !== EQUALS) {
      // No value: only legal if nothing but another extension follows.
      if (i < end && line[i] !== SEMI) throw malformed('invalid chunk extension')
      if (i === end && afterName !== end) throw malformed('invalid chunk extension')
      continue
    }
    i = skipBws(line, i + 1, end)
    i = skipExtValue(line, i, end)
  }
  return size
}

function skipBws(line: Uint8Array, i: number, end: number): number {
  while (i < end && (line[i] === SP || line[i] === HTAB)) i++
  return i
}

function skipExtValue(line: Uint8Array, i: number, end: number): number {
  if (line[i] !== DQUOTE) {
    const start = i
    while (i < end && TCHAR[line[i]!] === 1) i++
    if (i === start) throw malformed('invalid chunk extension value')
    return i
  }
  i++
  while (i < end && line[i] !== DQUOTE) {
    if (line[i] === BACKSLASH) {
      // quoted-pair = "\" ( HTAB / SP / VCHAR / obs-text ): never a CR, LF, NUL or other control.
      i++
      if (i < end && QDTEXT[line[i]!] !== 1 && line[i] !== DQUOTE && line[i] !== BACKSLASH) {
        throw malformed('invalid quoted-pair in chunk extension')
      }
    } else if (QDTEXT[line[i]!] !== 1) throw malformed('invalid chunk extension value')
    i++
  }
  if (i >= end) throw malformed('unterminated quoted chunk extension')
  return i + 1
}

function checkTrailerField(line: Uint8Array, end: number): void {
  let i = 0
  while (i < end && TCHAR[line[i]!] === 1) i++
  if (i === 0 || line[i] !== COLON) throw malformed('invalid trailer field')
  for (i++; i < end; i++) if (FIELD_BYTE[line[i]!] !== 1) throw malformed('invalid trailer field')
}
