// busboy finds multipart boundaries with streamsearch, a Boyer-Moore-Horspool search written in
// JavaScript. In a large upload that loop was the biggest item on the main thread (22 % of its
// busy time in W3, issue #7); Buffer#indexOf runs the same search in native code about 2.5 times
// as fast. So the instance busboy uses gets a `push` that asks indexOf wherever the search sees
// only the current chunk, and is streamsearch's own code (MIT, Brian White) everywhere else: the
// callbacks busboy receives are the same, call for call (test/unit/busboy-search.test.ts checks
// this against the original on random inputs split at random points).
//
// If streamsearch's internals ever change shape the patch is not applied, and busboy runs as
// shipped: slower, never wrong.
import busboy from 'busboy'
import { createRequire } from 'node:module'

type Callback = (isMatch: boolean, data: Buffer | undefined, start: number, end: number, isSafeData: boolean) => void

/** The fields of streamsearch 1.x's SBMH that its search reads and writes. */
interface Search {
  maxMatches: number
  matches: number
  _cb: Callback
  _lookbehindSize: number
  _needle: Buffer
  _bufPos: number
  _lookbehind: Buffer
  _occ: number[]
}

type SearchClass = { new (needle: Buffer | string, cb: Callback): Search; prototype: { push: PushFn } }
type PushFn = (this: Search, chunk: Buffer | string, pos?: number) => number

const require = createRequire(import.meta.url)
/** The streamsearch module busboy itself loads (resolved from busboy's folder, not ours). */
const SBMH = loadSearchClass()

/** If busboy no longer loads streamsearch from its folder: a class nothing is an instance of, whose
 * construction throws, so neither patch below finds its shape and busboy runs as shipped. */
function loadSearchClass(): SearchClass {
  try {
    const loaded = createRequire(require.resolve('busboy'))('streamsearch') as unknown
    if (typeof loaded === 'function') return loaded as SearchClass
  } catch {
    // Falls through to the stand-in.
  }
  return class {
    constructor() {
      throw new Error('streamsearch could not be loaded from busboy')
    }
  } as unknown as SearchClass
}

/** streamsearch's push, kept for the test that compares the two. */
export const originalPush: PushFn = SBMH.prototype.push

export function fastPush(this: Search, chunk: Buffer | string, pos?: number): number {
  const data = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk, 'latin1')
  let result: number | undefined
  this._bufPos = pos || 0
  while (result !== data.length && this.matches < this.maxMatches) result = feed(this, data)
  return result ?? 0
}

/** streamsearch's feed(): one match or the whole chunk. Only the loop marked below differs. */
function feed(self: Search, data: Buffer): number {
  const len = data.length
  const needle = self._needle
  const needleLen = needle.length
  // >= 0: an index into data; < 0: into the lookbehind (-1 is its last byte).
  let pos = -self._lookbehindSize
  const lastNeedleCharPos = needleLen - 1
  const lastNeedleChar = needle[lastNeedleCharPos]
  const end = len - needleLen
  const occ = self._occ
  const lookbehind = self._lookbehind

  if (pos < 0) {
    // The tail of the previous chunk may start the needle: search across both.
    while (pos < 0 && pos <= end) {
      const nextPos = pos + lastNeedleCharPos
      const ch = nextPos < 0 ? lookbehind[self._lookbehindSize + nextPos]! : data[nextPos]!
      if (ch === lastNeedleChar && matchNeedle(self, data, pos, lastNeedleCharPos)) {
        self._lookbehindSize = 0
        ++self.matches
        // streamsearch's order (the size is cleared before the test), kept: call for call the same.
        if (pos > -self._lookbehindSize) self._cb(true, lookbehind, 0, self._lookbehindSize + pos, false)
        else self._cb(true, undefined, 0, 0, true)
        return (self._bufPos = pos + needleLen)
      }
      pos += occ[ch]!
    }
    // Too little data for a full comparison: skip what can't start the needle.
    while (pos < 0 && !matchNeedle(self, data, pos, len - pos)) ++pos
    if (pos < 0) {
      const bytesToCutOff = self._lookbehindSize + pos
      if (bytesToCutOff > 0) self._cb(false, lookbehind, 0, bytesToCutOff, false)
      self._lookbehindSize -= bytesToCutOff
      lookbehind.copy(lookbehind, 0, bytesToCutOff, self._lookbehindSize)
      lookbehind.set(data, self._lookbehindSize)
      self._lookbehindSize += len
      self._bufPos = len
      return len
    }
    self._cb(false, lookbehind, 0, self._lookbehindSize, false)
    self._lookbehindSize = 0
  }

  pos += self._bufPos
  const firstNeedleChar = needle[0]

  // The one change: a native search instead of the JavaScript loop. It finds the same first match
  // at or after pos. Without one, no partial match can start at or before `end` (the needle would
  // fit whole there), which is also where streamsearch's loop leaves off looking for one.
  if (pos <= end) {
    const at = data.indexOf(needle, pos)
    if (at !== -1) {
      ++self.matches
      if (at > 0) self._cb(true, data, self._bufPos, at, true)
      else self._cb(true, undefined, 0, 0, true)
      return (self._bufPos = at + needleLen)
    }
    pos = end + 1
  }

  // The chunk's tail may be the start of a needle that the next chunk completes.
  while (pos < len) {
    if (data[pos] !== firstNeedleChar || !matchNeedle(self, data, pos, len - pos)) {
      ++pos
      continue
    }
    data.copy(lookbehind, 0, pos, len)
    self._lookbehindSize = len - pos
    break
  }
  if (pos > 0) self._cb(false, data, self._bufPos, pos < len ? pos : len, true)
  self._bufPos = len
  return len
}

/** Whether the bytes from `pos` (< 0: in the lookbehind) start like the needle, for `len` bytes. */
function matchNeedle(self: Search, data: Buffer, pos: number, len: number): boolean {
  const lb = self._lookbehind
  const lbSize = self._lookbehindSize
  const needle = self._needle
  for (let i = 0; i < len; ++i, ++pos) {
    const ch = pos < 0 ? lb[lbSize + pos] : data[pos]
    if (ch !== needle[i]) return false
  }
  return true
}

/** Whether an SBMH instance has the fields fastPush relies on, with the types it expects. */
function hasKnownShape(): boolean {
  try {
    const s = new SBMH(Buffer.from('\r\n--x'), () => {}) as unknown as Record<string, unknown>
    return (
      typeof SBMH.prototype.push === 'function' &&
      Buffer.isBuffer(s['_needle']) &&
      Buffer.isBuffer(s['_lookbehind']) &&
      Array.isArray(s['_occ']) &&
      (s['_occ'] as unknown[]).length === 256 &&
      ['maxMatches', 'matches', '_lookbehindSize', '_bufPos'].every((k) => typeof s[k] === 'number') &&
      typeof s['_cb'] === 'function'
    )
  } catch {
    return false
  }
}

let installed = false

/** Gives busboy's boundary search the native loop; true if it has it (idempotent). */
export function installFastBoundarySearch(): boolean {
  if (!installed && hasKnownShape()) {
    SBMH.prototype.push = fastPush
    installed = true
  }
  return installed
}

/**
 * busboy 1.x stops reading at the close delimiter only for later writes: the search goes on
 * through the rest of the chunk in hand, so part-like text in the epilogue (`--B--` then two
 * `--B` parts) starts a part that never ends, and busboy never closes, leaving the request
 * unanswered and its temp file open. RFC 2046 §5.1.1: the epilogue is to be ignored. busboy marks
 * the end by swapping its search (`_bparser`) for a sink; a setter on its parser's prototype sees
 * the swap and ends the old search's loop through streamsearch's own `maxMatches`. Once, not per
 * request: a closure per request kept each request's parser alive longer (W2: +3 MiB peak RSS).
 * False if busboy's shape is not the known one (then busboy runs as shipped).
 */
export function installCloseDelimiterStop(): boolean {
  if (stopInstalled) return true
  const proto = multipartPrototype()
  if (proto === null) return false
  const own = Symbol('bparser')
  Object.defineProperty(proto, '_bparser', {
    configurable: true,
    get(this: Record<symbol, unknown>) {
      return this[own]
    },
    set(this: Record<symbol, unknown>, next: unknown) {
      const previous = this[own]
      if (previous instanceof SBMH && previous !== next) (previous as unknown as Search).maxMatches = 0
      this[own] = next
    },
  })
  stopInstalled = true
  return true
}

let stopInstalled = false

/** The prototype of busboy's multipart parser, if its instances hold their search as `_bparser`. */
function multipartPrototype(): object | null {
  try {
    const bb = busboy({ headers: { 'content-type': 'multipart/form-data; boundary=x' } })
    bb.on('error', () => {})
    const fields = bb as unknown as { _bparser?: unknown; _complete?: unknown }
    const known = Object.prototype.hasOwnProperty.call(bb, '_bparser') && fields._bparser instanceof SBMH && fields._complete === false
    bb.destroy()
    const proto = Object.getPrototypeOf(bb) as object
    return known && !Object.prototype.hasOwnProperty.call(proto, '_bparser') ? proto : null
  } catch {
    return null
  }
}

/** The push busboy's searches use now (the test's check that the patch reached busboy's copy). */
export function currentPush(): PushFn {
  return SBMH.prototype.push
}

/** For the test: a search that uses `push` (the original or ours) on an instance of busboy's class. */
export function searchWith(push: PushFn, needle: Buffer, cb: Callback): { push(chunk: Buffer): number } {
  const s = new SBMH(needle, cb)
  return { push: (chunk) => push.call(s, chunk) }
}
