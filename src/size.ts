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
