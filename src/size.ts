import bytes from 'bytes-iec'

// SPEC §1 units only; letters case-insensitive, so `5mb` is megabytes (never megabits).
const SIZE_SHAPE = /^(\d+)(?:\.(\d+))? *((?:[kmgt]i?)?b)?$/i

/** `123`, `10kB`, `5MB`, `1.5GiB` → bytes (kB = 1000, KiB = 1024); throws one line on anything else. */
export function parseSize(text: string): number {
  const shape = SIZE_SHAPE.exec(text.trim())
  if (!shape) {
    throw new Error(`invalid size "${text}": use a number with an optional unit, like 123, 10kB, 5MB or 1.5GiB`)
  }
  const [, whole = '', fraction = '', unit = 'B'] = shape
  // Half a byte is no limit anyone means (it would refuse every file): say so. With a unit the
  // fraction of a byte is dropped (1.1KiB = 1126).
  if (/^b$/i.test(unit) && /[1-9]/.test(fraction)) {
    throw new Error(`invalid size "${text}": a number of bytes is whole; give a unit for fractions, like ${whole}.${fraction}MB`)
  }
  // bytes-iec multiplies a float (1.001 * 1000 = 1000.999… → 1000), so hand it the digits
  // without the decimal point and shift the point back in exact integer arithmetic. Past 2^53
  // that product is inexact anyway; the library's own answer is then off by at most a byte.
  const scaled = bytes.parse(`${whole}${fraction}${unit}`)
  const size =
    scaled !== null && Number.isSafeInteger(scaled)
      ? Number(BigInt(scaled) / 10n ** BigInt(fraction.length))
      : bytes.parse(`${whole}.${fraction || '0'}${unit}`)
  if (size === null || !Number.isSafeInteger(size)) throw new Error(`invalid size "${text}": too large`)
  return size
}

/** `5 MB`, `1.5 kB`, `999 B`: short decimal units for messages. */
export function formatSize(size: number): string {
  return bytes.format(size, { unitSeparator: ' ' }) ?? `${size} B`
}

/**
 * A limit as it was most likely given: `1 MB` for 1000000, `1 MiB` for 1048576, `1.5 GiB`,
 * `1,023 bytes`. Exact, unlike formatSize: two limits never read the same (`1023` and `1KiB` were
 * both 1.02 kB).
 */
export function limitText(n: number): string {
  const units: Array<[string, number]> = [
    ['TiB', 2 ** 40],
    ['TB', 1e12],
    ['GiB', 2 ** 30],
    ['GB', 1e9],
    ['MiB', 2 ** 20],
    ['MB', 1e6],
    ['KiB', 2 ** 10],
    ['kB', 1e3],
  ]
  // Whole in a unit (below 1000 of it, but for the largest), else exact to two decimals (`1.5 GiB`).
  for (const [unit, size] of units) {
    if (n >= size && n % size === 0 && (n / size < 1000 || size >= 1e12)) return `${n / size} ${unit}`
  }
  // Past 2^53 / 100 the product is no longer exact.
  if (n * 100 <= Number.MAX_SAFE_INTEGER) {
    for (const [unit, size] of units) if (n >= size && (n * 100) % size === 0) return `${n / size} ${unit}`
  }
  return n === 1 ? '1 byte' : `${n.toLocaleString('en-US')} bytes`
}
