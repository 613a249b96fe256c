import { describe, it, expect } from 'vitest'
import { decodeFormEscapes, generatedName, percentDecodePath, sanitizeName, sanitizePath } from '../../src/files/sanitize.js'

const NOW = new Date(Date.UTC(2026, 10, 27, 11, 36, 0, 123))
const GENERATED = ['upload-20261127T113600Z']
const bytes = (s: string) => Buffer.byteLength(s, 'utf8')

const cases: { what: string; input: string; expected: string[] }[] = [
  // ordinary names pass through
  { what: 'plain name', input: 'photo.jpg', expected: ['photo.jpg'] },
  { what: 'relative folders are kept', input: 'a/b/c.txt', expected: ['a', 'b', 'c.txt'] },
  { what: 'backslash separates folders', input: 'a\\b\\c.txt', expected: ['a', 'b', 'c.txt'] },
  { what: 'spaces inside and leading spaces are kept', input: ' my photo (2).jpg', expected: [' my photo (2).jpg'] },
  { what: 'dot files are kept', input: '.htaccess', expected: ['.htaccess'] },
  { what: 'emoji are kept', input: '😀 party.png', expected: ['😀 party.png'] },
  { what: 'ZWJ emoji sequences are kept', input: '👩‍👩‍👧.txt', expected: ['👩‍👩‍👧.txt'] },
  // traversal
  { what: 'parent traversal', input: '../x', expected: ['x'] },
  { what: 'deep parent traversal', input: '../../../../etc/passwd', expected: ['etc', 'passwd'] },
  { what: 'backslash traversal', input: '..\\..\\x', expected: ['x'] },
  { what: 'traversal in the middle is dropped, not resolved', input: 'foo/../../x', expected: ['foo', 'x'] },
  { what: 'percent-encoded traversal', input: percentDecodePath('%2e%2e%2fx'), expected: ['x'] },
  { what: 'percent-encoded backslash traversal', input: percentDecodePath('%2E%2E%5C%2e%2e%5Cx'), expected: ['x'] },
  { what: 'double encoding is decoded once only', input: percentDecodePath('%252e%252e%252fx'), expected: ['%2e%2e%2fx'] },
  { what: 'absolute path', input: '/etc/passwd', expected: ['etc', 'passwd'] },
  { what: 'drive letter with backslash', input: 'C:\\x', expected: ['C', 'x'] },
  { what: 'drive-relative name', input: 'C:x', expected: ['Cx'] },
  { what: 'UNC path', input: '\\\\host\\share\\x', expected: ['host', 'share', 'x'] },
  { what: 'dot and empty segments', input: 'a/./b//c', expected: ['a', 'b', 'c'] },
  { what: 'trailing slash', input: 'a/b/', expected: ['a', 'b'] },
  { what: 'rustypaste ../.', input: '../.', expected: GENERATED },
  { what: 'spaces-only segment is dropped', input: 'a/   /b', expected: ['a', 'b'] },
  { what: 'dots-and-spaces segment is dropped', input: 'a/. ./b', expected: ['a', 'b'] },
  // nothing left
  { what: 'empty name', input: '', expected: GENERATED },
  { what: 'dot', input: '.', expected: GENERATED },
  { what: 'dot dot', input: '..', expected: GENERATED },
  { what: 'three dots', input: '...', expected: GENERATED },
  { what: 'only spaces', input: '    ', expected: GENERATED },
  { what: 'only separators', input: '/\\//', expected: GENERATED },
  { what: 'only forbidden characters', input: '<>:"|?*', expected: GENERATED },
  { what: 'only controls', input: '\u0000\u0001\u007f\u009f\u202e', expected: GENERATED },
  // control and forbidden characters
  { what: 'NUL', input: 'a\u0000b.txt', expected: ['ab.txt'] },
  { what: 'NUL from percent-decoding', input: percentDecodePath('a%00b'), expected: ['ab'] },
  { what: 'C0 controls', input: 'a\u0001\u0008\u001bb\u001f', expected: ['ab'] },
  { what: 'tab, CR and LF', input: 'a\tb\r\nc', expected: ['abc'] },
  { what: 'DEL', input: 'a\u007fb', expected: ['ab'] },
  { what: 'C1 controls', input: 'a\u0080\u0085\u009fb', expected: ['ab'] },
  { what: 'right-to-left override spoofing', input: 'photo\u202egpj.exe', expected: ['photogpj.exe'] },
  { what: 'bidi embeddings U+202A–202D', input: '\u202aa\u202bb\u202cc\u202dd', expected: ['abcd'] },
  { what: 'bidi isolates U+2066–2069', input: 'a\u2066b\u2067c\u2068d\u2069', expected: ['abcd'] },
  { what: 'line and paragraph separators', input: 'a\u2028b\u2029c', expected: ['abc'] },
  { what: 'Windows-forbidden characters', input: 'a<b>c:d"e|f?g*h', expected: ['abcdefgh'] },
  { what: 'alternate data stream', input: 'file.txt:secret', expected: ['file.txtsecret'] },
  { what: 'lone surrogate becomes U+FFFD', input: 'a\ud800b\udc00', expected: ['a\ufffdb\ufffd'] },
  // trailing dots and spaces
  { what: 'trailing dots and spaces', input: 'a. . .', expected: ['a'] },
  { what: 'trailing dot after extension', input: 'name.txt.', expected: ['name.txt'] },
  { what: 'trailing dots on a folder', input: 'dir../x', expected: ['dir', 'x'] },
  { what: 'control hidden before trailing dot', input: 'a.\u0000', expected: ['a'] },
  // device names
  { what: 'CON', input: 'CON', expected: ['_CON'] },
  { what: 'nul.txt', input: 'nul.txt', expected: ['_nul.txt'] },
  { what: 'Com1.log', input: 'Com1.log', expected: ['_Com1.log'] },
  { what: 'lpt9', input: 'lpt9', expected: ['_lpt9'] },
  { what: 'PRN and AUX', input: 'prn/aux', expected: ['_prn', '_aux'] },
  { what: 'compound extension con.tar.gz', input: 'con.tar.gz', expected: ['_con.tar.gz'] },
  { what: 'device name as a folder', input: 'dir/AUX/x', expected: ['dir', '_AUX', 'x'] },
  { what: 'device name revealed by trailing dot', input: 'CON.', expected: ['_CON'] },
  { what: 'device name with spaces before the dot', input: 'NUL .txt', expected: ['_NUL .txt'] },
  { what: 'superscript COM digit', input: 'com¹.txt', expected: ['_com¹.txt'] },
  { what: 'CONIN$', input: 'conin$', expected: ['_conin$'] },
  { what: 'device name revealed by removed control', input: 'C\u0000ON', expected: ['_CON'] },
  { what: 'COM0 (on Microsoft\'s list)', input: 'COM0', expected: ['_COM0'] },
  { what: 'lpt0.txt (on Microsoft\'s list)', input: 'lpt0.txt', expected: ['_lpt0.txt'] },
  { what: 'COM10 is not a device', input: 'COM10', expected: ['COM10'] },
  // Our temp files' namespace: a client's name there could name another upload's temp file.
  { what: 'a temp file name', input: '.upload-recv-1a2b3c-1.part', expected: ['_.upload-recv-1a2b3c-1.part'] },
  { what: 'a temp file name, other case, as a folder', input: '.UPLOAD-RECV-x/y', expected: ['_.UPLOAD-RECV-x', 'y'] },
  { what: 'CONSOLE is not a device', input: 'CONSOLE.txt', expected: ['CONSOLE.txt'] },
  { what: 'nullable.txt is not a device', input: 'nullable.txt', expected: ['nullable.txt'] },
  { what: 'a device name inside a word', input: 'my-con.txt', expected: ['my-con.txt'] },
  // Unicode normalisation
  { what: 'NFD e + combining acute becomes NFC', input: 'caf\u0065\u0301.txt', expected: ['caf\u00e9.txt'] },
  { what: 'NFD Hangul becomes NFC', input: '\u1112\u1161\u11ab', expected: ['\ud55c'] },
  { what: 'NFC after removing a control between base and mark', input: 'e\u0000\u0301', expected: ['\u00e9'] },
  { what: 'NFD ≮ keeps its < (composed before removal)', input: 'a<\u0338b', expected: ['a\u226eb'] },
  // length
  { what: '300-byte ASCII name keeps .jpg', input: `${'a'.repeat(296)}.jpg`, expected: [`${'a'.repeat(251)}.jpg`] },
  { what: '300-byte CJK name is cut between characters', input: '漢'.repeat(100), expected: ['漢'.repeat(85)] },
  { what: 'CJK name keeps its extension', input: `${'漢'.repeat(100)}.txt`, expected: [`${'漢'.repeat(83)}.txt`] },
  { what: 'emoji at the cut boundary is dropped whole', input: `${'a'.repeat(253)}😀b`, expected: ['a'.repeat(253)] },
  { what: 'emoji before the extension at the boundary', input: `${'a'.repeat(249)}😀.png`, expected: [`${'a'.repeat(249)}.png`] },
  { what: 'compound extension kept when cutting', input: `${'x'.repeat(300)}.tar.gz`, expected: [`${'x'.repeat(248)}.tar.gz`] },
  { what: 'long extension is cut like the rest', input: `a.${'b'.repeat(300)}`, expected: [`a.${'b'.repeat(253)}`] },
  { what: 'exactly 255 bytes is untouched', input: 'a'.repeat(255), expected: ['a'.repeat(255)] },
  { what: 'each segment is cut on its own', input: `${'d'.repeat(300)}/${'f'.repeat(300)}`, expected: ['d'.repeat(255), 'f'.repeat(255)] },
  { what: 'cut exposing a trailing space', input: `${'a'.repeat(254)} b`, expected: ['a'.repeat(254)] },
  { what: 'cut exposing a device name', input: `CON${' '.repeat(300)}x`, expected: ['_CON'] },
  { what: 'cut leaving only spaces', input: `${' '.repeat(300)}x`, expected: GENERATED },
  { what: 'device prefix pushing past 255 bytes', input: `con.${'a'.repeat(251)}`, expected: [`_con.${'a'.repeat(250)}`] },
]

describe('sanitizePath', () => {
  it.each(cases)('$what', ({ input, expected }) => {
    expect(sanitizePath(input, NOW)).toEqual(expected)
  })

  it('has a hostile corpus of at least 40 names', () => {
    expect(cases.length).toBeGreaterThanOrEqual(40)
  })

  // No clock in the assertion: quadratic work on 200,000 characters would take minutes, far past
  // this test's own time limit, where linear work takes milliseconds.
  it('stays linear on a huge run of dots and spaces', () => {
    // `. y` is no extension (white space): cut at 255 bytes, whose trailing dots and spaces go.
    expect(sanitizePath(`x${'. '.repeat(100_000)}y`, NOW)).toEqual(['x'])
  }, 10_000)

  it('uses the current time when no clock is given', () => {
    expect(sanitizePath('..')[0]).toMatch(/^upload-\d{8}T\d{6}Z$/)
  })
})

// mulberry32: tiny, seeded, good enough to spread inputs; keeps failures reproducible.
function prng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed)
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

const PIECES = [
  'a', 'Z', 'e', '0', '9', '.', '.', '..', ' ', '/', '\\', '-', '_', '(', ')', '$',
  '\u0000', '\u0001', '\t', '\n', '\r', '\u001f', '\u007f', '\u0080', '\u0085', '\u009f',
  '\u2028', '\u2029', '\u202a', '\u202e', '\u2066', '\u2069', '\u200e', '\u200d', '\ufeff',
  '<', '>', ':', '"', '|', '?', '*', '%2e', '%2f', '%5c', '%00', '%zz', '%',
  '\u0301', '\u0338', 'é', 'ß', '漢', '한', '\u1100', '\u1161', '😀', '👩‍👩‍👧', '\ud800', '\udfff', '\ufffd',
  'CON', 'nul', 'com1', 'LPT9', 'aux.', '.txt', '.tar.gz', 'x'.repeat(40), '漢'.repeat(30),
]

function randomName(next: () => number): string {
  const count = Math.floor(next() ** 2 * 120)
  let name = ''
  for (let i = 0; i < count; i++) name += PIECES[Math.floor(next() * PIECES.length)]
  return name
}

const FORBIDDEN = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069<>:"|?*/\\]/
const DEVICE = /^(con|prn|aux|nul|conin\$|conout\$|com[0-9¹²³]|lpt[0-9¹²³])$/i

function unsafeBecause(segment: string): string | undefined {
  if (segment === '' || segment === '.' || segment === '..') return 'empty or dot segment'
  if (FORBIDDEN.test(segment)) return 'separator, control or forbidden character'
  if (bytes(segment) > 255) return 'over 255 bytes'
  if (segment.normalize('NFC') !== segment) return 'not NFC'
  if (Buffer.from(segment).toString() !== segment) return 'lone surrogate'
  if (/[. ]$/.test(segment)) return 'trailing dot or space'
  if (DEVICE.test(segment.split('.')[0]!.trimEnd())) return 'device name'
  return undefined
}

describe('sanitizePath on pseudo-random input', () => {
  const next = prng(20261127)
  const names = Array.from({ length: 4000 }, () => randomName(next))

  it('only ever returns safe, non-empty, NFC segments of at most 255 bytes', () => {
    const failures: string[] = []
    for (const name of names) {
      for (const raw of [name, percentDecodePath(name), decodeFormEscapes(name)]) {
        const segments = sanitizePath(raw, NOW)
        if (segments.length === 0) failures.push(`${JSON.stringify(raw)} → []`)
        for (const segment of segments) {
          const broken = unsafeBecause(segment)
          if (broken) failures.push(`${JSON.stringify(raw)} → ${JSON.stringify(segment)}: ${broken}`)
        }
      }
    }
    expect(failures).toEqual([])
  })

  it('is idempotent: a sanitised path sanitises to itself', () => {
    for (const name of names) {
      const segments = sanitizePath(name, NOW)
      expect(sanitizePath(segments.join('/'), NOW), JSON.stringify(name)).toEqual(segments)
    }
  })
})

describe('generatedName', () => {
  it.each([
    { what: 'UTC timestamp without colons or milliseconds', now: NOW, expected: 'upload-20261127T113600Z' },
    { what: 'zero-padded fields', now: new Date(Date.UTC(2027, 0, 2, 3, 4, 5)), expected: 'upload-20270102T030405Z' },
  ])('$what', ({ now, expected }) => {
    expect(generatedName(now)).toBe(expected)
  })

  it('defaults to now', () => {
    expect(generatedName()).toMatch(/^upload-\d{8}T\d{6}Z$/)
  })
})

describe('sanitizeName: says when the name was made up', () => {
  it.each([
    { input: '', generated: true },
    { input: '../..', generated: true },
    { input: '\u0000\u202e', generated: true },
    { input: 'a.txt', generated: false },
    { input: 'docs/../a.txt', generated: false },
    // A client may choose a name that looks generated: it is the client's, and --overwrite may replace it.
    { input: 'upload-20261127T113600Z', generated: false },
  ])('$input → generated: $generated', ({ input, generated }) => {
    const named = sanitizeName(input, NOW)
    expect(named.generated).toBe(generated)
    expect(named.segments).toEqual(sanitizePath(input, NOW))
    if (generated) expect(named.segments).toEqual(['upload-20261127T113600Z'])
  })
})

describe('decodeFormEscapes', () => {
  it.each([
    { what: 'quote', input: 'say %22hi%22.txt', expected: 'say "hi".txt' },
    { what: 'CR and LF', input: 'a%0D%0Ab', expected: 'a\r\nb' },
    { what: 'lower-case hex', input: '%22%0d%0a', expected: '"\r\n' },
    { what: 'other escapes stay literal', input: '100%25 %2e%2e%2f %20', expected: '100%25 %2e%2e%2f %20' },
    { what: 'lone percent stays', input: '50% off', expected: '50% off' },
    { what: 'decodes once, not recursively', input: '%2522', expected: '%2522' },
    { what: 'no escapes', input: 'plain.txt', expected: 'plain.txt' },
  ])('$what', ({ input, expected }) => {
    expect(decodeFormEscapes(input)).toBe(expected)
  })
})

describe('percentDecodePath', () => {
  it.each([
    { what: 'dot dot slash', input: '%2e%2e%2f', expected: '../' },
    { what: 'upper-case hex', input: '%2E%2E%2F', expected: '../' },
    { what: 'backslash', input: '%5c', expected: '\\' },
    { what: 'space', input: 'my%20file.txt', expected: 'my file.txt' },
    { what: 'plus is not a space in a path', input: 'a+b', expected: 'a+b' },
    { what: 'UTF-8 emoji', input: '%F0%9F%98%80', expected: '😀' },
    { what: 'UTF-8 CJK', input: '%E6%BC%A2.txt', expected: '漢.txt' },
    { what: 'literal non-ASCII passes through', input: 'café/漢', expected: 'café/漢' },
    { what: 'mixed literal and escaped', input: 'caf%C3%A9', expected: 'café' },
    { what: 'invalid hex stays literal', input: '%zz', expected: '%zz' },
    { what: 'half-invalid hex stays literal', input: '%2g', expected: '%2g' },
    { what: 'lone percent at the end', input: 'a%', expected: 'a%' },
    { what: 'percent and one digit at the end', input: 'a%2', expected: 'a%2' },
    { what: 'double encoding decodes once', input: '%252e', expected: '%2e' },
    { what: 'NUL is decoded (sanitize removes it)', input: '%00', expected: '\u0000' },
    { what: 'invalid UTF-8 byte becomes U+FFFD', input: '%FF', expected: '\ufffd' },
    { what: 'truncated sequence becomes U+FFFD', input: '%E6%BCx', expected: '\ufffdx' },
    { what: 'overlong encoding of / is not a slash', input: '%C0%AF', expected: '\ufffd\ufffd' },
    { what: 'encoded surrogate is not decoded', input: '%ED%A0%80', expected: '\ufffd\ufffd\ufffd' },
    { what: 'leading BOM is kept as data', input: '%EF%BB%BFa', expected: '\ufeffa' },
    { what: 'empty', input: '', expected: '' },
  ])('$what', ({ input, expected }) => {
    expect(percentDecodePath(input)).toBe(expected)
  })

  it('never throws', () => {
    const next = prng(7)
    for (let i = 0; i < 2000; i++) {
      const input = randomName(next)
      expect(() => percentDecodePath(input)).not.toThrow()
    }
  })
})
