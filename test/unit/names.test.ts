import { describe, it, expect } from 'vitest'
import { PATH_MAX_BYTES, candidateName, cutToBytes, fitDepth, fitName, splitExtension, Numbering } from '../../src/files/names.js'

const bytes = (s: string) => Buffer.byteLength(s, 'utf8')

describe('candidateName', () => {
  it.each([
    { what: 'n = 0 is the name itself', base: 'a.txt', n: 0, expected: 'a.txt' },
    { what: 'n = 0 leaves even an over-long name alone', base: 'a'.repeat(300), n: 0, expected: 'a'.repeat(300) },
    { what: 'number before the extension', base: 'a.txt', n: 1, expected: 'a (1).txt' },
    { what: 'extension case is kept', base: 'photo.JPG', n: 2, expected: 'photo (2).JPG' },
    { what: 'two-digit number', base: 'a.txt', n: 10, expected: 'a (10).txt' },
    { what: 'spaces in the stem', base: 'my photo.jpg', n: 1, expected: 'my photo (1).jpg' },
    { what: 'name already numbered', base: 'a (1).txt', n: 1, expected: 'a (1) (1).txt' },
    { what: '.tar.gz stays whole', base: 'b.tar.gz', n: 1, expected: 'b (1).tar.gz' },
    { what: '.tar.bz2 stays whole', base: 'b.tar.bz2', n: 1, expected: 'b (1).tar.bz2' },
    { what: '.tar.xz stays whole', base: 'b.tar.xz', n: 1, expected: 'b (1).tar.xz' },
    { what: '.tar.zst stays whole', base: 'b.tar.zst', n: 1, expected: 'b (1).tar.zst' },
    { what: 'compound extension matched case-insensitively', base: 'B.TAR.GZ', n: 3, expected: 'B (3).TAR.GZ' },
    { what: 'plain .tar', base: 'b.tar', n: 1, expected: 'b (1).tar' },
    { what: 'plain .gz', base: 'b.gz', n: 1, expected: 'b (1).gz' },
    { what: '.tgz', base: 'b.tgz', n: 1, expected: 'b (1).tgz' },
    { what: 'only a real .tar. part counts', base: 'x.star.gz', n: 1, expected: 'x.star (1).gz' },
    { what: 'other compound-looking extensions split at the last dot', base: 'a.min.js', n: 1, expected: 'a.min (1).js' },
    { what: 'last extension only', base: 'a.b.c', n: 1, expected: 'a.b (1).c' },
    { what: 'no extension', base: 'Makefile', n: 1, expected: 'Makefile (1)' },
    { what: 'leading dot is not an extension', base: '.env', n: 1, expected: '.env (1)' },
    { what: 'leading dots are not an extension', base: '..cache', n: 1, expected: '..cache (1)' },
    { what: 'leading dots, then an extension', base: '..a.txt', n: 1, expected: '..a (1).txt' },
    { what: 'leading dots before a compound extension', base: '..tar.gz', n: 1, expected: '..tar (1).gz' },
    { what: 'dot file with an extension', base: '.bashrc.bak', n: 1, expected: '.bashrc (1).bak' },
    { what: 'a bare .tar.gz is a dot file with .gz', base: '.tar.gz', n: 1, expected: '.tar (1).gz' },
    { what: 'generated name', base: 'upload-20261127T113600Z', n: 1, expected: 'upload-20261127T113600Z (1)' },
    { what: 'Unicode stem', base: '漢字.txt', n: 1, expected: '漢字 (1).txt' },
    {
      what: 'a full-length name gives up stem bytes',
      base: `${'a'.repeat(251)}.txt`,
      n: 1,
      expected: `${'a'.repeat(247)} (1).txt`,
    },
    {
      what: 'a full-length compound name keeps .tar.gz',
      base: `${'a'.repeat(248)}.tar.gz`,
      n: 12,
      expected: `${'a'.repeat(243)} (12).tar.gz`,
    },
    {
      what: 'CJK is cut between characters',
      base: `${'漢'.repeat(83)}.txt`,
      n: 1,
      expected: `${'漢'.repeat(82)} (1).txt`,
    },
    {
      what: 'an emoji that no longer fits goes whole',
      base: `${'a'.repeat(246)}😀.txt`,
      n: 1,
      expected: `${'a'.repeat(246)} (1).txt`,
    },
    {
      what: 'a dot before words is no extension: the number goes last',
      base: "Mr. Smith's letter to the editor",
      n: 1,
      expected: "Mr. Smith's letter to the editor (1)",
    },
    {
      what: 'a no-break space is no space: the extension stays',
      base: 'photo.jpg\u00a0',
      n: 1,
      expected: 'photo (1).jpg\u00a0',
    },
    {
      what: 'nor a date in the middle of a sentence',
      base: 'Minutes 12.03.2024 board meeting',
      n: 2,
      expected: 'Minutes 12.03.2024 board meeting (2)',
    },
    {
      what: 'a long extension, when nothing has to be cut: the number goes before it (SPEC §4)',
      base: 'project.sublime-workspace',
      n: 1,
      expected: 'project (1).sublime-workspace',
    },
    {
      what: 'a long extension counts as stem once the name must be cut: the number goes last',
      base: `a.${'b'.repeat(253)}`,
      n: 1,
      expected: `a.${'b'.repeat(249)} (1)`,
    },
  ])('$what', ({ base, n, expected }) => {
    expect(candidateName(base, n)).toBe(expected)
  })

  it.each([
    { what: 'ASCII with extension', base: `${'a'.repeat(251)}.txt` },
    { what: 'CJK with extension', base: `${'漢'.repeat(83)}.txt` },
    { what: 'emoji without extension', base: '😀'.repeat(63) },
    { what: 'long extension', base: `a.${'b'.repeat(253)}` },
    { what: 'compound extension', base: `${'x'.repeat(248)}.tar.gz` },
  ])('gives distinct names of at most 255 bytes for n = 0…1000: $what', ({ base }) => {
    const names = Array.from({ length: 1001 }, (_, n) => candidateName(base, n))
    expect(new Set(names).size).toBe(names.length)
    for (const name of names) expect(bytes(name)).toBeLessThanOrEqual(255)
  })
})

describe('splitExtension', () => {
  it.each([
    { what: 'simple', name: 'a.txt', expected: ['a', '.txt'] },
    { what: 'compound', name: 'a.tar.gz', expected: ['a', '.tar.gz'] },
    { what: 'none', name: 'README', expected: ['README', ''] },
    { what: 'dot file', name: '.env', expected: ['.env', ''] },
    { what: 'two leading dots', name: '..cache', expected: ['..cache', ''] },
    { what: 'only dots', name: '...', expected: ['...', ''] },
    { what: 'trailing dot', name: 'a.', expected: ['a', '.'] },
    { what: 'empty', name: '', expected: ['', ''] },
  ])('$what', ({ name, expected }) => {
    expect(splitExtension(name)).toEqual(expected)
  })
})

describe('cutToBytes', () => {
  it.each([
    { what: 'fits', text: 'abc', max: 3, expected: 'abc' },
    { what: 'ASCII', text: 'abcdef', max: 4, expected: 'abcd' },
    { what: 'never splits a 2-byte character', text: 'aé', max: 2, expected: 'a' },
    { what: 'never splits a 3-byte character', text: '漢漢', max: 5, expected: '漢' },
    { what: 'never splits a surrogate pair', text: 'a😀', max: 4, expected: 'a' },
    { what: 'keeps a whole surrogate pair', text: 'a😀b', max: 5, expected: 'a😀' },
    { what: 'zero bytes', text: 'abc', max: 0, expected: '' },
  ])('$what', ({ text, max, expected }) => {
    expect(cutToBytes(text, max)).toBe(expected)
  })
})

describe('fitName', () => {
  it.each([
    { what: 'short name untouched', name: 'a.txt', expected: 'a.txt' },
    { what: 'keeps a 16-byte extension', name: `${'a'.repeat(300)}.${'e'.repeat(15)}`, expected: `${'a'.repeat(239)}.${'e'.repeat(15)}` },
    { what: 'cuts a 17-byte extension', name: `${'a'.repeat(300)}.${'e'.repeat(16)}`, expected: 'a'.repeat(255) },
  ])('$what', ({ name, expected }) => {
    expect(fitName(name)).toBe(expected)
  })
})

describe('fitDepth', () => {
  const deep = Array.from({ length: 20 }, (_, i) => `d${i}`.padEnd(250, 'x'))
  const pathBytes = (root: number, segs: readonly string[], last: number) =>
    root + segs.slice(0, -1).reduce((n, s) => n + bytes(s) + 1, 0) + 1 + last

  it('leaves a path that fits alone', () => {
    const segs = ['a', 'b', 'c.txt']
    expect(fitDepth(20, segs, 255)).toBe(segs)
  })

  it('a path exactly at the limit fits; one byte more loses the deepest folder', () => {
    const segs = [...deep.slice(0, 14), 'f.txt']
    const root = PATH_MAX_BYTES - pathBytes(0, segs, 255)
    expect(fitDepth(root, segs, 255)).toBe(segs)
    expect(fitDepth(root + 1, segs, 255)).toEqual([...deep.slice(0, 13), 'f.txt'])
  })

  it('keeps the leading folders that fit and the file name, within PATH_MAX', () => {
    const segs = [...deep, 'f.txt']
    const fitted = fitDepth(30, segs, 255)!
    expect(fitted.at(-1)).toBe('f.txt')
    expect(fitted.slice(0, -1)).toEqual(deep.slice(0, fitted.length - 1))
    expect(pathBytes(30, fitted, 255)).toBeLessThanOrEqual(PATH_MAX_BYTES)
    // One more folder would not have fitted.
    expect(pathBytes(30, [...deep.slice(0, fitted.length), 'f.txt'], 255)).toBeGreaterThan(PATH_MAX_BYTES)
  })

  it('counts UTF-8 bytes, not characters', () => {
    const wide = Array.from({ length: 20 }, () => 'é'.repeat(120)) // 240 bytes each
    const fitted = fitDepth(10, [...wide, 'f'], 255)!
    expect(pathBytes(10, fitted, 255)).toBeLessThanOrEqual(PATH_MAX_BYTES)
    expect(fitted.length - 1).toBe(Math.floor((PATH_MAX_BYTES - 10 - 1 - 255) / 241))
  })

  it('null when not even a file directly in the root fits', () => {
    expect(fitDepth(PATH_MAX_BYTES - 100, ['a', 'f'], 255)).toBeNull()
  })
})

describe('Numbering', () => {
  it('tries the name itself, then on from the last number given to that name in that folder', () => {
    const numbering = new Numbering()
    expect([0, 1, 2].map((i) => numbering.number('/in', 'image.jpg', i))).toEqual([0, 1, 2])
    numbering.given('/in', 'image.jpg', 7)
    expect([0, 1, 2].map((i) => numbering.number('/in', 'image.jpg', i))).toEqual([0, 8, 9])
    // Another name, or the same name in another folder, starts from 1.
    expect(numbering.number('/in', 'other.jpg', 1)).toBe(1)
    expect(numbering.number('/in/sub', 'image.jpg', 1)).toBe(1)
    // The name itself being free says nothing about the numbers.
    numbering.given('/in', 'image.jpg', 0)
    expect(numbering.number('/in', 'image.jpg', 1)).toBe(8)
  })

  it('past its 1024 names it forgets the one given longest ago, not all of them', () => {
    const numbering = new Numbering()
    numbering.given('/in', 'image.jpg', 50)
    for (let i = 0; i < 1023; i++) numbering.given('/in', `n${i}`, 1)
    // Given again: now the newest.
    numbering.given('/in', 'image.jpg', 51)
    numbering.given('/in', 'one-more', 1)
    expect(numbering.number('/in', 'image.jpg', 1)).toBe(52)
    expect(numbering.number('/in', 'n0', 1)).toBe(1)
    expect(numbering.number('/in', 'n1', 1)).toBe(2)
  })
})
