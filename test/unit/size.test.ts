import { describe, it, expect } from 'vitest'
import { formatSize, parseSize } from '../../src/size.js'

describe('parseSize', () => {
  it.each([
    { what: 'plain bytes', text: '123', expected: 123 },
    { what: 'zero', text: '0', expected: 0 },
    { what: 'leading zeros', text: '007', expected: 7 },
    { what: 'B suffix', text: '123B', expected: 123 },
    { what: 'b suffix means bytes, not bits', text: '123b', expected: 123 },
    { what: 'kB is 1000', text: '10kB', expected: 10_000 },
    { what: 'KB is 1000', text: '10KB', expected: 10_000 },
    { what: 'kb is 1000 (case-insensitive)', text: '10kb', expected: 10_000 },
    { what: 'MB', text: '5MB', expected: 5_000_000 },
    { what: 'mb is megabytes, not megabits', text: '5mb', expected: 5_000_000 },
    { what: 'Mb is megabytes too', text: '5Mb', expected: 5_000_000 },
    { what: 'GB', text: '2GB', expected: 2_000_000_000 },
    { what: 'TB', text: '1TB', expected: 1_000_000_000_000 },
    { what: 'KiB is 1024', text: '1KiB', expected: 1024 },
    { what: 'kib is 1024', text: '1kib', expected: 1024 },
    { what: 'MiB', text: '5MiB', expected: 5 * 1024 ** 2 },
    { what: 'GiB with a fraction', text: '1.5GiB', expected: 1_610_612_736 },
    { what: 'gib lower-case', text: '1.5gib', expected: 1_610_612_736 },
    { what: 'TiB', text: '2TiB', expected: 2 * 1024 ** 4 },
    { what: 'space before the unit', text: '5 MB', expected: 5_000_000 },
    { what: 'several spaces before the unit', text: '5   MB', expected: 5_000_000 },
    { what: 'surrounding whitespace', text: ' 5MB\n', expected: 5_000_000 },
    { what: 'fraction of a kB', text: '0.5kB', expected: 500 },
    { what: 'a zero fraction of bytes', text: '12.00', expected: 12 },
    { what: 'fraction below one byte', text: '0.0001kB', expected: 0 },
    { what: 'decimal exactness: 1.001kB', text: '1.001kB', expected: 1001 },
    { what: 'decimal exactness: 4.35MB', text: '4.35MB', expected: 4_350_000 },
    { what: 'decimal exactness: 0.29kB', text: '0.29kB', expected: 290 },
    { what: 'decimal exactness: 1.1TB', text: '1.1TB', expected: 1_100_000_000_000 },
    { what: 'binary fraction is floored', text: '1.3KiB', expected: 1331 },
    { what: 'trailing zeros in the fraction', text: '1.50000000000000000000GiB', expected: 1_610_612_736 },
    { what: 'many fraction digits on a big unit', text: '1.0000001TB', expected: 1_000_000_100_000 },
    { what: 'largest safe integer', text: '9007199254740991', expected: Number.MAX_SAFE_INTEGER },
  ])('$what: $text', ({ text, expected }) => {
    expect(parseSize(text)).toBe(expected)
  })

  it('is exact for every kB and MB value with three decimals up to 100', () => {
    const wrong: string[] = []
    for (let i = 0; i <= 100_000; i++) {
      const text = `${Math.floor(i / 1000)}.${String(i % 1000).padStart(3, '0')}`
      if (parseSize(`${text}kB`) !== i) wrong.push(`${text}kB`)
      if (parseSize(`${text}MB`) !== i * 1000) wrong.push(`${text}MB`)
    }
    expect(wrong).toEqual([])
  })

  const usage = (text: string) =>
    `invalid size "${text}": use a number with an optional unit, like 123, 10kB, 5MB or 1.5GiB`

  it.each([
    { what: 'half a byte', text: '0.5', message: 'invalid size "0.5": a number of bytes is whole; give a unit for fractions, like 0.5MB' },
    { what: 'fractional bytes with B', text: '1.9B', message: 'invalid size "1.9B": a number of bytes is whole; give a unit for fractions, like 1.9MB' },
    { what: 'unknown unit', text: '12XB', message: usage('12XB') },
    { what: 'empty', text: '', message: usage('') },
    { what: 'blank', text: '   ', message: usage('   ') },
    { what: 'negative', text: '-5MB', message: usage('-5MB') },
    { what: 'explicit plus', text: '+5', message: usage('+5') },
    { what: 'NaN', text: 'NaN', message: usage('NaN') },
    { what: 'Infinity', text: 'Infinity', message: usage('Infinity') },
    { what: 'exponent', text: '1e400', message: usage('1e400') },
    { what: 'small exponent', text: '1e3', message: usage('1e3') },
    { what: 'hex', text: '0x10', message: usage('0x10') },
    { what: 'thousands separator', text: '1,000', message: usage('1,000') },
    { what: 'no digit before the point', text: '.5MB', message: usage('.5MB') },
    { what: 'no digit after the point', text: '5.MB', message: usage('5.MB') },
    { what: 'unit without number', text: 'MB', message: usage('MB') },
    { what: 'unit without B', text: '5M', message: usage('5M') },
    { what: 'k without B', text: '5k', message: usage('5k') },
    { what: 'i without a prefix', text: '5ib', message: usage('5ib') },
    { what: 'bits', text: '1kbit', message: usage('1kbit') },
    { what: 'unit beyond TB', text: '1PB', message: usage('1PB') },
    { what: 'two numbers', text: '1 2MB', message: usage('1 2MB') },
    { what: 'too large', text: '9'.repeat(400), message: `invalid size "${'9'.repeat(400)}": too large` },
    { what: 'just over the safe range', text: '9007199254740993', message: 'invalid size "9007199254740993": too large' },
    { what: 'too large with a unit', text: '10000TiB', message: 'invalid size "10000TiB": too large' },
  ])('rejects $what', ({ text, message }) => {
    expect(() => parseSize(text)).toThrow(new Error(message))
  })
})

describe('formatSize', () => {
  it.each([
    { what: 'zero', size: 0, expected: '0 B' },
    { what: 'bytes', size: 999, expected: '999 B' },
    { what: 'kilobytes', size: 1000, expected: '1 kB' },
    { what: 'fraction', size: 1536, expected: '1.54 kB' },
    { what: 'megabytes', size: 5_000_000, expected: '5 MB' },
    { what: 'gigabytes', size: 1_610_612_736, expected: '1.61 GB' },
    { what: 'terabytes', size: 2e12, expected: '2 TB' },
  ])('$what', ({ size, expected }) => {
    expect(formatSize(size)).toBe(expected)
  })

  it('round-trips with parseSize', () => {
    expect(parseSize(formatSize(5_000_000))).toBe(5_000_000)
  })
})
