// busboy parses each part's header itself and decides from it whether the part is a file. In four
// places that differs from SPEC §4, so its header parser (busboy 1.x's HeaderParser, whose
// prototype is reached through an instance's `_hparser`) gets two small hooks:
//
// - A raw control byte in a header fails the whole request in busboy ("Malformed part header").
//   Browsers escape only `"`, CR and LF in a file name and send the rest as is, and names are to
//   be made safe, never refused: C0 controls (but tab, CR, LF) and DEL are dropped from the
//   header's bytes before busboy reads them, as the sanitiser would drop them from the name.
// - `filename=""` with content is a field to busboy (a file only if typed
//   application/octet-stream); SPEC: any empty name with content is stored under a generated name.
//   Such a part is shown to busboy as application/octet-stream, and its declared type is kept here.
// - Browsers' `%22`/`%0D`/`%0A` escapes belong to `filename=`; a `filename*=` name is already
//   percent-decoded and must not be decoded again (`a%2522b` is `a%22b`, not `a"b`). One that does
//   not decode at all made busboy drop the part silently; the file is kept (repairExtendedName).
// - A `Content-Disposition` busboy cannot parse strictly (`filename=my photo.jpg` unquoted, with a
//   space or UTF-8, as scripts and small HTTP libraries send it; spaces around `=`) made it drop
//   the part silently too: it is re-read leniently and kept (repairLooseParams).
//
// busboy emits 'file' synchronously from the header callback, right after the reset hooked here,
// so `partFacts()` read in a 'file' listener describes that part. If busboy's internals ever change
// shape the hooks are not installed and busboy runs as shipped.
import busboy from 'busboy'
import { createRequire } from 'node:module'

interface HeaderParser {
  header: Record<string, string[]> | undefined
  push(chunk: Buffer, pos: number, end: number): number
  reset(): void
}

interface Disposition {
  type: string
  params: Record<string, string | undefined> | undefined
}

interface BusboyUtils {
  getDecoder(charset: string): unknown
  parseDisposition(value: string, decoder: unknown): Disposition | undefined
  parseContentType(value: string): { type: string; subtype: string; params?: Record<string, string> } | undefined
}

export interface PartFacts {
  /** The name came from `filename*=` (RFC 5987), not `filename=`. */
  extendedName: boolean
  /** `filename=""`: busboy was shown the part as application/octet-stream; `mimeType` is its own. */
  emptyName: boolean
  mimeType: string
}

const none: PartFacts = { extendedName: false, emptyName: false, mimeType: '' }
let last: PartFacts = none

/** What busboy's header callback doesn't pass on about the part it is emitting now. */
export function partFacts(): PartFacts {
  return last
}

const require = createRequire(import.meta.url)

// A parameter (RFC 9110 §5.6.6): `; name=token` or `; name="quoted \" string"`, then the next `;` or the end.
const TOKEN = "[!#$%&'*+.^_`|~0-9A-Za-z-]+"
const PARAM = new RegExp(`;[ \\t]*(${TOKEN})=(?:(${TOKEN})|"((?:[^"\\\\]|\\\\.)*)")[ \\t]*(?=;|$)`, 'y')

/** The boundary as busboy reads it, for when busboy's own parser cannot be reached: parameters in order, strictly. */
export function fallbackBoundary(contentType: string): string | undefined {
  PARAM.lastIndex = contentType.indexOf(';')
  if (PARAM.lastIndex === -1) return undefined
  for (let m = PARAM.exec(contentType); m !== null; m = PARAM.exec(contentType)) {
    if (m[1]!.toLowerCase() === 'boundary') return m[2] ?? m[3]!.replace(/\\(.)/g, '$1')
  }
  return undefined
}

/** If busboy's utils ever move: the hooks stay off, and the boundary is read by fallbackBoundary. */
const FALLBACK: BusboyUtils = {
  getDecoder: () => null,
  parseDisposition: () => undefined,
  parseContentType(value) {
    const boundary = fallbackBoundary(value)
    return boundary === undefined ? undefined : { type: '', subtype: '', params: { boundary } }
  },
}

function loadUtils(): BusboyUtils {
  try {
    const u = createRequire(require.resolve('busboy'))('./utils.js') as Partial<BusboyUtils>
    const known = typeof u.getDecoder === 'function' && typeof u.parseDisposition === 'function' && typeof u.parseContentType === 'function'
    return known ? (u as BusboyUtils) : FALLBACK
  } catch {
    return FALLBACK
  }
}

const utils = loadUtils()
// What upload-multipart.ts gives busboy as defParamCharset.
const decoder = utils.getDecoder('utf8')

/** The boundary busboy reads from a request's Content-Type, parsed by busboy's own parser. */
export function multipartBoundary(contentType: string): string | undefined {
  return utils.parseContentType(contentType)?.params?.boundary
}

const CRLFCRLF = Buffer.from('\r\n\r\n')
// What browsers and curl send for a file: busboy reads it as it is, nothing to look at.
const TYPICAL = /^form-data; name="[^"\\]*"; filename="[^"\\]+"$/

function dropped(byte: number): boolean {
  return byte < 0x20 ? byte !== 0x09 && byte !== 0x0a && byte !== 0x0d : byte === 0x7f
}

function withoutControls(original: HeaderParser['push']): HeaderParser['push'] {
  return function (this: HeaderParser, chunk, pos, end) {
    // Only the header's own bytes: the file's bytes that follow it in the chunk are not looked at.
    const found = chunk.indexOf(CRLFCRLF, pos)
    const stop = found === -1 || found >= end ? end : found
    let i = pos
    while (i < stop && !dropped(chunk[i]!)) i++
    if (i === stop) return original.call(this, chunk, pos, end)
    // Rare: a copy without them, and busboy's answer (where the header ended) mapped back.
    const kept: number[] = []
    for (let j = pos; j < stop; j++) if (!dropped(chunk[j]!)) kept.push(j)
    const copy = Buffer.allocUnsafe(kept.length + (end - stop))
    for (let k = 0; k < kept.length; k++) copy[k] = chunk[kept[k]!]!
    chunk.copy(copy, kept.length, stop, end)
    const r = original.call(this, copy, 0, copy.length)
    if (r <= 0) return r === 0 ? pos : r
    // Just past the last byte busboy took: dropped bytes after it may be the file's first bytes.
    return r <= kept.length ? kept[r - 1]! + 1 : stop + (r - kept.length)
  }
}

function inspect(header: Record<string, string[]>): void {
  last = none
  const value = header['content-disposition']?.[0]
  // Most parts: spare them a second parse of the value (busboy does its own).
  if (value === undefined || TYPICAL.test(value)) return
  const params =
    utils.parseDisposition(value, decoder)?.params ?? repairExtendedName(header, value) ?? repairLooseParams(header)
  if (params === undefined) return
  if (params['filename*']) {
    last = { extendedName: true, emptyName: false, mimeType: '' }
  } else if (params['filename'] === '') {
    const declared = header['content-type']?.[0]
    const type = declared === undefined ? undefined : utils.parseContentType(declared)
    last = { extendedName: false, emptyName: true, mimeType: type ? `${type.type}/${type.subtype}` : 'text/plain' }
    header['content-type'] = ['application/octet-stream']
  }
}

/**
 * busboy skips a whole part whose `filename*=` does not decode (a bad escape, an unknown charset),
 * bytes and all. The file is kept instead: under its plain `filename=` if it has one, else under
 * a generated name (shown to busboy as `filename=""`).
 */
function repairExtendedName(header: Record<string, string[]>, value: string): Disposition['params'] {
  const without = value.replace(/;\s*filename\*\s*=\s*[^;]*/gi, '')
  if (without === value) return undefined
  const plain = utils.parseDisposition(without, decoder)?.params
  if (plain === undefined) return undefined
  const fixed = plain['filename'] !== undefined ? without : `${without}; filename=""`
  header['content-disposition'] = [fixed]
  return utils.parseDisposition(fixed, decoder)?.params
}

/** `a; b="x;y"; c` → `a`, ` b="x;y"`, ` c`: split at semicolons outside quoted strings. */
function splitParams(value: string): string[] {
  const out: string[] = []
  let start = 0
  let quoted = false
  for (let i = 0; i < value.length; i++) {
    const c = value[i]
    if (c === '\\' && quoted) i++
    else if (c === '"') quoted = !quoted
    else if (c === ';' && !quoted) {
      out.push(value.slice(start, i))
      start = i + 1
    }
  }
  out.push(value.slice(start))
  return out
}

/**
 * busboy skips a whole part whose disposition is not strictly `token=token` or `token="quoted"`,
 * bytes and all. Each parameter is read leniently instead (spaces around `=` allowed, an unquoted
 * value taken up to the next `;` and trimmed) and written back quoted; a file whose name still
 * does not parse is kept under a generated name.
 */
function repairLooseParams(header: Record<string, string[]>): Disposition['params'] {
  const [type, ...pairs] = splitParams(header['content-disposition']![0]!)
  if (type!.trim().toLowerCase() !== 'form-data') return undefined
  let file = false
  const fixed: string[] = []
  for (const pair of pairs) {
    const eq = pair.indexOf('=')
    // An empty piece (`filename="a.pdf";`) says nothing.
    if (eq === -1) {
      if (pair.trim() !== '') fixed.push(pair.trim())
      continue
    }
    const key = pair.slice(0, eq).trim()
    let raw = pair.slice(eq + 1).trim()
    if (/^filename\*?$/i.test(key)) file = true
    if (key.endsWith('*')) {
      fixed.push(`${key}=${raw}`)
      continue
    }
    if (!(raw.length >= 2 && raw.startsWith('"') && raw.endsWith('"'))) raw = `"${raw.replace(/["\\]/g, '\\$&')}"`
    fixed.push(`${key}=${raw}`)
  }
  if (!file) return undefined
  // As read; then without a `filename*=` that does not decode (its plain `filename=` stands);
  // then, if still nothing can be read, a nameless file whose bytes are kept.
  const tries = [fixed, fixed.filter((p) => !/^filename\*/i.test(p))]
  for (const t of tries) {
    const value = ['form-data', ...t].join('; ')
    const params = utils.parseDisposition(value, decoder)?.params
    if (params !== undefined && (params['filename'] !== undefined || params['filename*'] !== undefined)) {
      header['content-disposition'] = [value]
      return params
    }
  }
  header['content-disposition'] = ['form-data; filename=""']
  return utils.parseDisposition('form-data; filename=""', decoder)?.params
}

function withInspection(original: HeaderParser['reset']): HeaderParser['reset'] {
  return function (this: HeaderParser) {
    // At the end of a header busboy resets, then calls back with the header it had: look first.
    const header = this.header
    if (header !== undefined) inspect(header)
    original.call(this)
  }
}

function headerParserPrototype(): HeaderParser | null {
  try {
    const bb = busboy({ headers: { 'content-type': 'multipart/form-data; boundary=x' } })
    bb.on('error', () => {})
    // The preamble's boundary, and a byte of a header: busboy is then inside a part's header.
    bb.write(Buffer.from('--x\r\nX'))
    const parser = (bb as unknown as { _hparser?: unknown })._hparser
    bb.destroy()
    if (typeof parser !== 'object' || parser === null) return null
    const proto = Object.getPrototypeOf(parser) as Partial<HeaderParser>
    const header = (parser as Partial<HeaderParser>).header
    const known =
      typeof proto.push === 'function' &&
      proto.push.length === 3 &&
      typeof proto.reset === 'function' &&
      typeof header === 'object' &&
      utils !== FALLBACK
    return known ? (proto as HeaderParser) : null
  } catch {
    return null
  }
}

let installed = false

/** Hooks busboy's part-header parser as described above; true if it is hooked (idempotent). */
export function installPartHeaderHooks(): boolean {
  if (installed) return true
  const proto = headerParserPrototype()
  if (proto === null) return false
  proto.push = withoutControls(proto.push)
  proto.reset = withInspection(proto.reset)
  installed = true
  return true
}
