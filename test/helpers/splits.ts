// Ways to cut one byte string into the pieces a socket might deliver it in. A parser fed any of
// them must reach the same result as when fed the whole thing at once.

export interface Splitting {
  /** Human-readable label for failure messages, e.g. `cut@17`. */
  label: string
  chunks: Buffer[]
}

/** The whole input as one piece. */
export function onePiece(buf: Buffer): Splitting {
  return { label: 'one piece', chunks: [buf] }
}

/** One byte per piece. */
export function byteByByte(buf: Buffer): Splitting {
  const chunks: Buffer[] = []
  for (let i = 0; i < buf.length; i++) chunks.push(buf.subarray(i, i + 1))
  return { label: 'byte by byte', chunks }
}

/** Every 2-way cut `[0, i) [i, n)` for 0 < i < n (no empty pieces: a socket never delivers one). */
export function* twoWayCuts(buf: Buffer): Generator<Splitting> {
  for (let i = 1; i < buf.length; i++) {
    yield { label: `cut@${i}`, chunks: [buf.subarray(0, i), buf.subarray(i)] }
  }
}

/** Small deterministic PRNG (mulberry32), so random splittings are reproducible from the seed. */
export function prng(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/** `count` random splittings into pieces of 1..maxPiece bytes, reproducible from `seed`. */
export function* randomSplits(buf: Buffer, count: number, seed = 1, maxPiece = 16): Generator<Splitting> {
  const rnd = prng(seed)
  for (let k = 0; k < count; k++) {
    const chunks: Buffer[] = []
    for (let i = 0; i < buf.length; ) {
      const n = 1 + Math.floor(rnd() * maxPiece)
      chunks.push(buf.subarray(i, i + n))
      i += n
    }
    yield { label: `random#${k} (seed ${seed})`, chunks }
  }
}

/** One piece, byte by byte, and every 2-way cut (plus `random` random splittings, default none). */
export function* allSplits(buf: Buffer, opts: { random?: number; seed?: number } = {}): Generator<Splitting> {
  yield onePiece(buf)
  yield byteByByte(buf)
  yield* twoWayCuts(buf)
  if (opts.random) yield* randomSplits(buf, opts.random, opts.seed ?? 1)
}

/** Copies each piece into its own buffer, so a parser cannot rely on pieces sharing memory. */
export function detached(s: Splitting): Splitting {
  return { label: s.label, chunks: s.chunks.map((c) => Buffer.from(c)) }
}
