// The pure formatters behind every human line on stderr.
import { describe, expect, it } from 'vitest'
import { clientAddress } from '../../src/http/address.js'
import {
  charWidth,
  displayWidth,
  fitWidth,
  formatDuration,
  formatEta,
  formatRate,
  formatSize,
  formatSizeShort,
  stripControl,
} from '../../src/report/format.js'

describe('formatSize', () => {
  it.each([
    [0, '0 B'],
    [999, '999 B'],
    [1000, '1 kB'],
    [48213, '48.21 kB'],
    [4_800_000, '4.8 MB'],
    [73_400_320, '73.4 MB'],
    [1.5e9, '1.5 GB'],
  ])('%d bytes → %s', (n, text) => {
    expect(formatSize(n)).toBe(text)
  })
})

describe('formatSizeShort (live numbers: three significant digits)', () => {
  it.each([
    [0, '0 B'],
    [-1, '0 B'],
    [999, '999 B'],
    [999.6, '1 kB'],
    [1000, '1 kB'],
    [1234, '1.23 kB'],
    [12_345, '12.3 kB'],
    [720_896, '721 kB'],
    [999_499, '999 kB'],
    [999_500, '1 MB'],
    [4_980_000, '4.98 MB'],
    [10_000_000, '10 MB'],
    [123_456_789, '123 MB'],
    [1.5e12, '1.5 TB'],
  ])('%d → %s', (n, text) => {
    expect(formatSizeShort(n)).toBe(text)
  })
})

describe('formatDuration', () => {
  it.each([
    [0, '0 ms'],
    [-5, '0 ms'],
    [412, '412 ms'],
    [999.4, '999 ms'],
    // Rounds up into the next unit rather than printing "1000 ms" or "60.0 s".
    [999.6, '1.0 s'],
    [1200, '1.2 s'],
    [59_940, '59.9 s'],
    [59_960, '1 min 0 s'],
    [61_000, '1 min 1 s'],
    [3_599_000, '59 min 59 s'],
    [3_600_000, '1 h 0 min'],
    [7_380_000, '2 h 3 min'],
  ])('%d ms → %s', (ms, text) => {
    expect(formatDuration(ms)).toBe(text)
  })
})

describe('formatRate', () => {
  it('is bytes per second in the size units', () => {
    expect(formatRate(4_800_000, 400)).toBe('12 MB/s')
    expect(formatRate(1000, 1000)).toBe('1 kB/s')
    expect(formatRate(2_600_000, 3_668)).toBe('709 kB/s')
    expect(formatRate(0, 1000)).toBe('0 B/s')
  })
  it('is empty when no time has passed (no division by zero, no Infinity)', () => {
    expect(formatRate(100, 0)).toBe('')
    expect(formatRate(100, -1)).toBe('')
  })
})

describe('formatEta', () => {
  it('extrapolates the average rate so far', () => {
    // A quarter done in 1 s: three more seconds. Whole seconds: a live ETA in ms only jitters.
    expect(formatEta(250, 1000, 1000)).toBe('3 s')
    expect(formatEta(900, 1000, 1000)).toBe('1 s')
    expect(formatEta(999, 1000, 1000)).toBe('1 s')
    expect(formatEta(1, 60, 1000)).toBe('59 s')
    expect(formatEta(1, 121, 500)).toBe('1 min 0 s')
  })
  it('says nothing until there is something to go on, or when done', () => {
    expect(formatEta(0, 1000, 5000)).toBe('')
    expect(formatEta(500, 1000, 100)).toBe('')
    expect(formatEta(1000, 1000, 5000)).toBe('')
    expect(formatEta(1200, 1000, 5000)).toBe('')
  })
})

describe('stripControl', () => {
  it('removes whole ANSI sequences a client put in a name, not just the ESC byte', () => {
    expect(stripControl('\x1b[31mred\x1b[0m.txt')).toBe('red.txt')
    expect(stripControl('a\x1b[2J\x1b[Hb')).toBe('ab')
    expect(stripControl('\x1b[1A\x1b[Kup')).toBe('up')
    // OSC 8 hyperlink and OSC 0 window title, terminated by ST or BEL.
    expect(stripControl('\x1b]8;;http://evil\x1b\\click\x1b]8;;\x1b\\')).toBe('click')
    expect(stripControl('\x1b]0;pwned\x07x')).toBe('x')
    // 8-bit CSI, and two-byte escapes.
    expect(stripControl('\x9b31mx')).toBe('x')
    expect(stripControl('\x1bcreset')).toBe('reset')
  })
  it('removes C0, DEL, C1, line/paragraph separators and bidi controls', () => {
    expect(stripControl('a\rb\nc\td\x00e\x7ff\x85g\u2028h\u2029i')).toBe('abcdefghi')
    expect(stripControl('evil\u202egpj.exe')).toBe('evilgpj.exe')
    // The bidi marks too: a stored name may keep them, a terminal line does not get them.
    expect(stripControl('a\u200eb\u200fc\u061cd')).toBe('abcd')
    expect(stripControl('\u2066x\u2069')).toBe('x')
  })
  it('leaves ordinary names alone, including non-ASCII ones', () => {
    for (const name of ['img (1).jpg', 'Ünïcödé.txt', '写真.png', 'photos/2024/a.heic', '🎉.gif', '[31m.txt']) {
      expect(stripControl(name)).toBe(name)
    }
  })
  it('never lets an escape byte through, whatever the input', () => {
    const nasty = ['\x1b', '\x1b[', '\x1b]', '\x1b]no terminator', '\x1b[999999999999', '\x1b\x1b[m', '\x9b', 'a\x1b']
    for (const s of nasty) expect(stripControl(s)).not.toMatch(/[\x1b\x9b\x00-\x1f]/)
  })
})

describe('clientAddress', () => {
  it('shows an IPv4-mapped IPv6 client as plain IPv4, other addresses as they are', () => {
    expect(clientAddress('::ffff:192.168.1.23')).toBe('192.168.1.23')
    expect(clientAddress('192.168.1.23')).toBe('192.168.1.23')
    expect(clientAddress('::1')).toBe('::1')
    expect(clientAddress('fe80::1')).toBe('fe80::1')
    expect(clientAddress(undefined)).toBe('')
  })
})

describe('charWidth and displayWidth', () => {
  it('counts terminal columns: wide CJK and emoji take two, combining marks none', () => {
    expect(charWidth('a')).toBe(1)
    expect(charWidth('é')).toBe(1)
    expect(charWidth('写')).toBe(2)
    expect(charWidth('한')).toBe(2)
    expect(charWidth('ｱ')).toBe(1) // halfwidth katakana
    expect(charWidth('Ａ')).toBe(2) // fullwidth Latin
    expect(charWidth('🎉')).toBe(2)
    expect(charWidth('\u0301')).toBe(0) // combining acute
    expect(charWidth('\u200b')).toBe(0)
    expect(displayWidth('写真.png')).toBe(8)
    expect(displayWidth('e\u0301')).toBe(1)
  })
  it('every East Asian Wide or Fullwidth code point is two columns, as terminals draw it (wcwidth), not just the big blocks', () => {
    // Hentaigana, Hangul Jamo Extended-A, vertical forms, small form variants, angle brackets,
    // hexagrams, Tangut, squared CJK: each drawn two wide by glibc's wcwidth, xterm and tmux.
    for (const ch of ['\u{1b001}', '\ua960', '\ufe10', '\ufe50', '\u2329', '\u4dc0', '\u{17000}', '\u{1f200}']) {
      expect(charWidth(ch), `U+${ch.codePointAt(0)!.toString(16)}`).toBe(2)
    }
    // VS16 widens a text-style emoji in many terminals (kitty, WezTerm, iTerm2): counted, so a
    // line is at worst a column short, never a column over.
    expect(displayWidth('\u2764\ufe0f')).toBe(2)
  })
  it('ignores colour sequences', () => {
    expect(displayWidth('\x1b[32m✔\x1b[39m ok')).toBe(4)
  })
})

describe('fitWidth', () => {
  it('returns what fits unchanged', () => {
    expect(fitWidth('img.jpg', 7)).toBe('img.jpg')
    expect(fitWidth('img.jpg', 80)).toBe('img.jpg')
  })
  it('cuts the middle with an ellipsis, keeping the end (extension, counter) visible', () => {
    const name = 'holiday-photos-from-the-beach-in-summer (12).jpg'
    for (const w of [8, 12, 20, 30, 47]) {
      const cut = fitWidth(name, w)
      expect(displayWidth(cut), cut).toBe(w)
      expect(cut).toContain('…')
      expect(cut.startsWith('holi')).toBe(true)
    }
    expect(fitWidth(name, 30).endsWith('(12).jpg')).toBe(true)
  })
  it('never exceeds the width with wide characters, and never splits a surrogate pair', () => {
    const name = '写真写真写真写真写真写真写真写真🎉🎉🎉🎉.png'
    for (let w = 2; w < displayWidth(name); w++) {
      const cut = fitWidth(name, w)
      expect(displayWidth(cut), `width ${w}: ${cut}`).toBeLessThanOrEqual(w)
      // A wide character that does not fit at either cut costs a column there.
      expect(displayWidth(cut)).toBeGreaterThanOrEqual(w - 2)
      expect(cut).not.toMatch(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/)
    }
  })
  it('keeps the extension with its dot where it takes at most half the room', () => {
    const name = 'a-very-long-holiday-video-name.mp4'
    for (let w = 9; w < name.length; w++) expect(fitWidth(name, w), `width ${w}`).toMatch(/…\.mp4$|….*\.mp4$/)
    // Too little room: the dot goes before the head does.
    expect(fitWidth('abcdefghij.tar', 6)).toBe('abcd…r')
  })

  it('degenerate widths', () => {
    expect(fitWidth('abcdef', 1)).toBe('…')
    expect(fitWidth('abcdef', 0)).toBe('')
    expect(fitWidth('', 0)).toBe('')
  })
})
