// Messages between the store (hasher.ts) and the hashing thread (hash-worker.ts).

export const Op = {
  /** [Open, id, fd]: a new temp file, hashed from byte 0. */
  Open: 0,
  /** [Written, id, n]: bytes [0, n) are on disk and may be hashed. */
  Written: 1,
  /** [Digest, id, size]: the file is complete at `size` bytes; answer its digest. */
  Digest: 2,
  /** [Release, id, 0]: the file failed; answer once its descriptor is no longer read. */
  Release: 3,
} as const
export type Op = (typeof Op)[keyof typeof Op]

export type ToHasher = readonly [op: Op, id: number, n: number]

/** [id, hex digest or null, error message or null]. */
export type FromHasher = readonly [id: number, sha256: string | null, error: string | null]
