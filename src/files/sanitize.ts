import { controlClass } from '../controls.js'
import { TEMP_PREFIX, fitName } from './names.js'

// SPEC §4: C0, DEL, C1, line/paragraph separators, bidi embeddings/overrides/isolates
// (display spoofing: "photo\u202Egpj.exe"), and what Windows forbids in names.
export const UNSAFE = controlClass('<>:"|?*', 'g')

// A lone surrogate cannot be written as UTF-8; fs would silently store U+FFFD instead.
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g

const ASCII = /^[\u0000-\u007f]*$/

// Win32 resolves these to devices whatever follows the first dot (`nul.tar.gz`) and ignores
// spaces before it; superscript digits and CONIN$/CONOUT$ are reserved too (cpython#95486).
// COM0 and LPT0 are on Microsoft's list of names not to use ("Naming Files, Paths, and
// Namespaces") though Win32 itself lets them through: a `_` costs less than a doubt.
const DEVICE = /^(con|prn|aux|nul|conin\$|conout\$|com[0-9¹²³]|lpt[0-9¹²³])$/i

/** The client's name as safe path segments under --dir (SPEC §4 "Names"); never empty. */
export function sanitizePath(name: string, now?: Date): string[] {
  return sanitizeName(name, now).segments
}

/** sanitizePath, and whether nothing was left of the name, so the last segment is generated. */
export function sanitizeName(name: string, now?: Date): { segments: string[]; generated: boolean } {
  const segments = name.split(/[\\/]/).map(sanitizeSegment).filter((s) => s !== '')
  return segments.length > 0 ? { segments, generated: false } : { segments: [generatedName(now)], generated: true }
}

function sanitizeSegment(raw: string): string {
  // NFC first so an NFD `<` + U+0338 stays `≮`; again after removal, which can leave a
  // base letter and a combining mark side by side.
  // ASCII is already NFC; skipping normalize() there also keeps ICU's tables out of memory.
  const cleaned = ASCII.test(raw)
    ? raw.replace(UNSAFE, '')
    : raw.normalize('NFC').replace(LONE_SURROGATE, '\ufffd').replace(UNSAFE, '').normalize('NFC')
  // Cutting can expose new trailing dots or spaces, or a bare device name (`CON      …x`).
  let segment = stripTrailing(fitName(stripTrailing(cleaned)))
  // Our temp files' names are ours: a client's `.upload-recv-….part` could otherwise name (and,
  // with --overwrite, replace) another upload's temp file.
  if (isDeviceName(segment) || segment.toLowerCase().startsWith(TEMP_PREFIX)) segment = stripTrailing(fitName(`_${segment}`))
  return segment
}

// A loop, not /[. ]+$/: that regex backtracks quadratically on a long run of `. ` (seconds at 64 KB).
function stripTrailing(segment: string): string {
  let end = segment.length
  while (end > 0 && (segment[end - 1] === '.' || segment[end - 1] === ' ')) end--
  return segment.slice(0, end)
}

function isDeviceName(segment: string): boolean {
  const dot = segment.indexOf('.')
  return DEVICE.test((dot === -1 ? segment : segment.slice(0, dot)).trimEnd())
}

/** `upload-20261127T113600Z`: a UTC timestamp without the colons Windows and macOS Finder reject. */
export function generatedName(now = new Date()): string {
  return `upload-${now.toISOString().replace(/\.\d+Z$/, 'Z').replace(/[-:]/g, '')}`
}

/** Undoes the only escapes browsers put in a multipart filename (WHATWG HTML form encoding). */
export function decodeFormEscapes(name: string): string {
  return name.replace(/%(22|0d|0a)/gi, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)))
}

const PERCENT = 0x25 // '%'

/** Percent-decodes a URL path as UTF-8; malformed escapes stay literal, bad bytes become U+FFFD. */
export function percentDecodePath(path: string): string {
  // Escapes and hex digits are ASCII and never occur inside a multi-byte UTF-8 sequence,
  // so decoding at the byte level is exact.
  const input = new TextEncoder().encode(path)
  const output = new Uint8Array(input.length)
  let length = 0
  for (let i = 0; i < input.length; i++) {
    const high = hexValue(input[i + 1])
    const low = hexValue(input[i + 2])
    if (input[i] === PERCENT && high >= 0 && low >= 0) {
      output[length++] = high * 16 + low
      i += 2
    } else {
      output[length++] = input[i] as number
    }
  }
  // ignoreBOM keeps a leading U+FEFF as data instead of swallowing it.
  return new TextDecoder('utf-8', { ignoreBOM: true }).decode(output.subarray(0, length))
}

function hexValue(byte: number | undefined): number {
  if (byte === undefined) return -1
  if (byte >= 0x30 && byte <= 0x39) return byte - 0x30 // '0'-'9'
  const lower = byte | 0x20
  if (lower >= 0x61 && lower <= 0x66) return lower - 0x61 + 10 // 'a'-'f'
  return -1
}
