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
 * A limit as it was most likely given: `1 MB` for 1000000, `1 MiB` for 1048576, `1,023 bytes` for
 * 1023. Exact, unlike formatSize: two limits never read the same (`1023` and `1KiB` were both 1.02 kB).
 */
export function limitText(n: number): string {
  const units: Array<[string, number, string, number]> = [
    ['TB', 1e12, 'TiB', 2 ** 40],
    ['GB', 1e9, 'GiB', 2 ** 30],
    ['MB', 1e6, 'MiB', 2 ** 20],
    ['kB', 1e3, 'KiB', 2 ** 10],
  ]
  for (const [dec, d, bin, b] of units) {
    if (n >= d && n % d === 0 && n / d < 1000) return `${n / d} ${dec}`
    if (n >= b && n % b === 0 && n / b < 1024) return `${n / b} ${bin}`
  }
  const short = formatSize(n)
  return parseSize(short.replace(' ', '')) === n ? short : `${n.toLocaleString('en-US')} bytes`
}
