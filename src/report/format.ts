// Small pure formatters for what people read on stderr.
import { eastAsianWidth } from 'get-east-asian-width'
import { BIDI_MARKS, controlClass } from '../controls.js'
import { formatSize } from '../size.js'

export { formatSize }

// Whole escape sequences first (CSI incl. the 8-bit form, OSC, other two-byte ESC forms), so a name
// like `\x1b[31mred` shows as `red`, not `[31mred`; then any stray control character.
// eslint-disable-next-line no-control-regex
const ESCAPES = /(?:\x1b\[|\x9b)[0-?]*[ -/]*[@-~]?|\x1b\][^\x07\x1b\x9c]*(?:\x07|\x1b\\|\x9c)|\x1b[ -/]*[0-~]?/g
// The bidi marks (ALM, LRM, RLM) too: stored names may keep them (SPEC lists the controls only), a line must not.
const CONTROLS = controlClass(BIDI_MARKS, 'g')

/** A client-supplied name must not be able to move the cursor or recolour the terminal. */
export function stripControl(s: string): string {
  return s.replace(ESCAPES, '').replace(CONTROLS, '')
}


export function formatDuration(ms: number): string {
  if (ms < 999.5) return `${Math.max(0, Math.round(ms))} ms`
  if (ms < 59_950) return `${(ms / 1000).toFixed(1)} s`
  const s = Math.round(ms / 1000)
  if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`
  return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`
}

const UNITS = ['B', 'kB', 'MB', 'GB', 'TB', 'PB']

/**
 * Three significant digits (`721 kB`, `4.98 MB`, `12.3 MB`): for numbers that change while people
 * watch, where `720.9 kB` → `786.43 kB` would only jitter. Same units as formatSize.
 */
export function formatSizeShort(size: number): string {
  let n = Math.max(0, size)
  let i = 0
  while (n >= 999.5 && i < UNITS.length - 1) {
    n /= 1000
    i++
  }
  const decimals = i === 0 || n >= 99.95 ? 0 : n >= 9.995 ? 1 : 2
  return `${Number(n.toFixed(decimals))} ${UNITS[i]}`
}

export function formatRate(bytes: number, ms: number): string {
  if (ms <= 0) return ''
  return `${formatSizeShort((bytes * 1000) / ms)}/s`
}

/** Time left at the average rate so far, in whole seconds; '' until there is something to go on. */
export function formatEta(done: number, total: number, ms: number): string {
  if (done <= 0 || ms < 250 || done >= total) return ''
  const left = ((total - done) * ms) / done
  return left < 59_500 ? `${Math.max(1, Math.round(left / 1000))} s` : formatDuration(left)
}

const ZERO_WIDTH = /^[\p{Mn}\p{Me}\p{Cf}\u200b\ufe00-\ufe0e]$/u
const EMOJI = /^\p{Emoji_Presentation}$/u

/** Terminal columns one code point takes: 0 for combining marks, 2 for East Asian wide and emoji. */
export function charWidth(ch: string): number {
  const cp = ch.codePointAt(0) ?? 0
  if (cp < 0x20 || (cp >= 0x7f && cp < 0xa0)) return 0
  if (cp < 0x300) return 1
  // VS16 (emoji presentation) makes many terminals draw the character before it two wide; where it
  // does not, counting it only leaves a line a column short, never a column over.
  if (cp === 0xfe0f) return 1
  if (ZERO_WIDTH.test(ch)) return 0
  // Unicode's East Asian Width table, whole: terminals' wcwidth follows it, and a code point
  // counted narrow but drawn wide wraps the live block's line and leaves copies of it behind.
  return eastAsianWidth(cp) === 2 || EMOJI.test(ch) ? 2 : 1
}

// eslint-disable-next-line no-control-regex
const SGR = /\x1b\[[0-9;]*m/g

/** Columns `s` takes on a terminal, ignoring colour sequences. */
export function displayWidth(s: string): number {
  let n = 0
  for (const ch of s.replace(SGR, '')) n += charWidth(ch)
  return n
}

/**
 * Cuts `s` to at most `width` terminal columns, with an ellipsis in the middle so the end of the
 * name (its extension, a counter like ` (2)`) stays visible.
 */
export function fitWidth(s: string, width: number): string {
  if (displayWidth(s) <= width) return s
  const chars = [...s]
  if (width <= 1) return width === 1 ? '…' : ''
  // A third of the room for the end, and at least the extension with its dot when that takes at
  // most half: `a-very-l….mp4`, not `a-very-lo…mp4`.
  const dot = s.lastIndexOf('.')
  const ext = dot > 0 ? displayWidth(s.slice(dot)) : 0
  const tailRoom = Math.min(Math.max(Math.floor((width - 1) / 3), ext <= (width - 1) / 2 ? ext : 0), 12)
  const headRoom = width - 1 - tailRoom
  let head = ''
  let used = 0
  for (const ch of chars) {
    const w = charWidth(ch)
    if (used + w > headRoom) break
    head += ch
    used += w
  }
  let tail = ''
  used = 0
  for (let i = chars.length - 1; i >= 0; i--) {
    const w = charWidth(chars[i]!)
    if (used + w > tailRoom) break
    tail = chars[i]! + tail
    used += w
  }
  return head + '…' + tail
}

/** Cut from the end: `↑ 2001:db8:…`, where no middle of the line can go without misleading. */
export function fitEnd(s: string, width: number): string {
  if (displayWidth(s) <= width) return s
  let out = ''
  let used = 0
  for (const ch of s) {
    const w = charWidth(ch)
    if (used + w > width - 1) break
    out += ch
    used += w
  }
  return `${out}…`
}
