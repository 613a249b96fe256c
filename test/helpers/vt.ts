// A minimal terminal: replays what we write to stderr and returns the text a person would see.
// Handles exactly what upload-recv emits (CR, LF, cursor up/down, erase below / erase line, SGR)
// plus autowrap and double-width characters; the screen has no height limit (it is the scrollback).
import { charWidth } from '../../src/report/format.js'

/** Matches one escape sequence: CSI (`ESC [ … final`), OSC (`ESC ] … BEL|ST`), or a two-byte ESC. */
// eslint-disable-next-line no-control-regex
export const ESCAPE = /\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[@-Z\\-_]/g

// eslint-disable-next-line no-control-regex
const SGR = /\x1b\[[0-9;]*m/g
export function stripSgr(s: string): string {
  return s.replace(SGR, '')
}

/**
 * Replays `bytes` on a terminal `cols` wide. A bare `\n` also returns the carriage, as a tty does
 * with its default ONLCR output setting. Returns the screen lines, right-trimmed, trailing empty
 * lines dropped.
 */
export function renderScreen(bytes: string, cols: number): string[] {
  const rows: string[][] = [[]]
  let row = 0
  let col = 0
  const at = (r: number) => {
    while (rows.length <= r) rows.push([])
    return rows[r]!
  }
  const put = (ch: string) => {
    const w = charWidth(ch)
    if (w === 0) return
    if (col + w > cols) {
      row++
      col = 0
    }
    const line = at(row)
    while (line.length < col) line.push(' ')
    line[col] = ch
    if (w === 2) line[col + 1] = ''
    col += w
  }
  let i = 0
  while (i < bytes.length) {
    const ch = bytes[i]!
    if (ch === '\x1b') {
      ESCAPE.lastIndex = i
      const m = ESCAPE.exec(bytes)
      if (!m || m.index !== i) {
        i++
        continue
      }
      i += m[0].length
      const csi = /^\x1b\[([0-9;?]*)([@-~])$/.exec(m[0])
      if (!csi) continue
      const n = Number(csi[1] || '1')
      const mode = Number(csi[1] || '0')
      switch (csi[2]) {
        case 'A':
          row = Math.max(0, row - n)
          break
        case 'B':
          row += n
          break
        case 'J':
          if (mode === 2) {
            rows.length = 0
            rows.push([])
          } else {
            at(row).length = Math.min(at(row).length, col)
            rows.length = row + 1
          }
          break
        case 'K':
          if (mode === 2) at(row).length = 0
          else at(row).length = Math.min(at(row).length, col)
          break
        default:
          // SGR and anything else: no effect on the text.
          break
      }
      continue
    }
    const cp = bytes.codePointAt(i)!
    const char = String.fromCodePoint(cp)
    i += char.length
    if (char === '\r') col = 0
    else if (char === '\n') {
      row++
      col = 0
      at(row)
    } else if (cp >= 0x20 && !(cp >= 0x7f && cp < 0xa0)) put(char)
  }
  const lines = rows.map((r) => r.join('').replace(/\s+$/, ''))
  while (lines.length > 0 && lines[lines.length - 1] === '') lines.pop()
  return lines
}
