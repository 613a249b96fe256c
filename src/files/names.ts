// Linux NAME_MAX (ext4, XFS, Btrfs) counts bytes, not characters.
export const NAME_MAX_BYTES = 255

/** Linux PATH_MAX (4096) counts the terminating NUL: a path handed to the kernel has at most 4095 bytes. */
export const PATH_MAX_BYTES = 4095

/** Every temp file's name starts so (store.ts); a client's name never may (sanitize.ts). */
export const TEMP_PREFIX = '.upload-recv-'
export const TEMP_SUFFIX = '.part'

// An extension longer than this is more likely part of the name ("notes.from the meeting
// with …"), so cutting may eat into it rather than leave almost nothing of the stem.
const SHORT_EXT_BYTES = 16

const COMPOUND_EXTS = ['.tar.gz', '.tar.bz2', '.tar.xz', '.tar.zst']

export function utf8Length(text: string): number {
  return Buffer.byteLength(text, 'utf8')
}

function codePointBytes(ch: string): number {
  const cp = ch.codePointAt(0) ?? 0
  // A lone surrogate is written as U+FFFD, 3 bytes.
  return cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4
}

/**
 * `archive.tar.gz` → [`archive`, `.tar.gz`], `.env` → [`.env`, ``], `..cache` → [`..cache`, ``]:
 * leading dots start a name, not an extension. Nor does a dot before words: `Mr. Smith's letter`
 * has no extension (an extension has no space), so its number goes last, not after `Mr`.
 */
export function splitExtension(name: string): [stem: string, ext: string] {
  let lead = 0
  while (name[lead] === '.') lead++
  for (const ext of COMPOUND_EXTS) {
    const at = name.length - ext.length
    if (at > lead && name.slice(at).toLowerCase() === ext) return [name.slice(0, at), name.slice(at)]
  }
  const dot = name.lastIndexOf('.')
  return dot > lead && !name.includes(' ', dot) ? [name.slice(0, dot), name.slice(dot)] : [name, '']
}

/** The longest prefix of `text` within `maxBytes` UTF-8 bytes that ends on a code point boundary. */
export function cutToBytes(text: string, maxBytes: number): string {
  let bytes = 0
  let end = 0
  for (const ch of text) {
    const size = codePointBytes(ch)
    if (bytes + size > maxBytes) break
    bytes += size
    end += ch.length
  }
  return text.slice(0, end)
}

/**
 * `name` with `infix` inserted before its extension (SPEC §4: `project (1).sublime-workspace`), cut
 * to NAME_MAX_BYTES. When it must be cut, a short extension survives whole and the stem is
 * shortened; a long one then counts as part of the stem.
 */
export function fitName(name: string, infix = ''): string {
  let [stem, ext] = splitExtension(name)
  const cut = utf8Length(name) + utf8Length(infix) > NAME_MAX_BYTES
  if (cut && utf8Length(ext) > SHORT_EXT_BYTES) [stem, ext] = [name, '']
  const room = NAME_MAX_BYTES - utf8Length(infix) - utf8Length(ext)
  return cutToBytes(stem, room) + infix + ext
}

/** Collision numbers never go past this (and a name's room in its path is kept for it). */
export const MAX_COLLISION_NUMBER = 999_999

/** Past this many taken names in a row something is wrong (or hostile); give up rather than loop. */
const MAX_COLLISION_ATTEMPTS = 10_000

/** Names remembered per store (a key is a folder and a name: up to ~4 KiB), the oldest forgotten first. */
const NUMBERING_KEYS = 1024

/**
 * Which collision number to try, attempt by attempt: the name itself first, then on from the
 * number after the last one this process gave that name in that folder. iOS names every camera
 * photo `image.jpg`: each new one tried every taken number from 1 first, quadratic over a photo
 * drop, and a synchronous small-file save then held the event loop for longer each time.
 */
export class Numbering {
  private readonly after = new Map<string, number>()

  given(dir: string, base: string, n: number): void {
    if (n === 0) return
    const key = `${dir}\0${base}`
    // Deleted first so the key moves to the end: a Map iterates in insertion order.
    this.after.delete(key)
    if (this.after.size >= NUMBERING_KEYS) this.after.delete(this.after.keys().next().value!)
    this.after.set(key, n)
  }

  /** The number for attempt `i` (0: the name as it is). */
  number(dir: string, base: string, i: number): number {
    return i === 0 ? 0 : (this.after.get(`${dir}\0${base}`) ?? 0) + i
  }

  /** The names to try, attempt by attempt from `from`, bounded: [attempt, number, name]. */
  *candidates(dir: string, base: string, from = 0): Generator<[attempt: number, n: number, name: string]> {
    for (let i = from; i < MAX_COLLISION_ATTEMPTS; i++) {
      const n = this.number(dir, base, i)
      if (n > MAX_COLLISION_NUMBER) return
      yield [i, n, candidateName(base, n)]
    }
  }
}

/** The n-th name to try when `base` is taken: `a.txt`, `a (1).txt`, `a (2).txt` … */
export function candidateName(base: string, n: number): string {
  return n === 0 ? base : fitName(base, ` (${n})`)
}

/**
 * `segments` under a root of `rootBytes` bytes whose last segment may grow to `lastBytes`: a name
 * too deep for the file system's path limit goes into the deepest of its folders that fits, since
 * a name is made safe, never refused (SPEC §4). Null if not even the root's own level fits.
 */
export function fitDepth(rootBytes: number, segments: readonly string[], lastBytes: number): readonly string[] | null {
  const folders = segments.length - 1
  let total = rootBytes + 1 + lastBytes
  if (total > PATH_MAX_BYTES) return null
  let keep = 0
  while (keep < folders) {
    const next = total + utf8Length(segments[keep]!) + 1
    if (next > PATH_MAX_BYTES) break
    total = next
    keep++
  }
  return keep === folders ? segments : [...segments.slice(0, keep), segments[folders]!]
}
