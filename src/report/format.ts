// Small pure formatters for what people read on stderr.
import { formatSize } from '../size.js'

export { formatSize }

/** A client-supplied name must not be able to move the cursor or recolour the terminal. */
export function stripControl(s: string): string {
  return s.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g, '')
}

export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.max(0, Math.round(ms))} ms`
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`
  const s = Math.round(ms / 1000)
  if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`
  return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`
}

export function formatRate(bytes: number, ms: number): string {
  if (ms <= 0) return ''
  return `${formatSize(Math.round((bytes * 1000) / ms))}/s`
}

/** Time left at the average rate so far; '' until there is something to go on. */
export function formatEta(done: number, total: number, ms: number): string {
  if (done <= 0 || ms < 250 || done >= total) return ''
  return formatDuration(((total - done) * ms) / done)
}

/** Cuts `s` to `width` columns (code points), with an ellipsis in the middle to keep the extension. */
export function fitWidth(s: string, width: number): string {
  const chars = [...s]
  if (chars.length <= width) return s
  if (width <= 1) return chars.slice(0, Math.max(0, width)).join('')
  const tail = Math.min(Math.floor((width - 1) / 3), 12)
  return chars.slice(0, width - 1 - tail).join('') + '…' + chars.slice(chars.length - tail).join('')
}
