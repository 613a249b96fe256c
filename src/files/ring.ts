// The shared memory between the main thread and the file thread (file-thread.ts): a control block
// and a ring of records, one producer (the main thread) and one consumer (the file thread).
//
// Counters are byte totals wrapped to 32 bits; RING_BYTES is a power of two, so `counter % RING`
// is the offset. Records start on a 32-byte boundary: a header, then the payload, padded. A record
// that would run past the end of the ring is preceded by a Wrap record filling the rest.

export const RING_BYTES = 2 * 1024 * 1024
/** At most this much payload per record: a larger chunk becomes several records. */
export const MAX_PAYLOAD = 256 * 1024
export const HEADER_BYTES = 32
const ALIGN = 32

/** Int32 slots of the control block. */
export const Ctl = {
  /** Bytes appended (producer only). */
  Written: 0,
  /** Bytes consumed (consumer only). */
  Read: 1,
  /** The consumer is (about to be) asleep waiting on Written. */
  ConsumerAsleep: 2,
  /** The producer waits for Read to move. */
  ProducerWaiting: 3,
} as const
export const CONTROL_BYTES = 64

export const Op = {
  /** Fills the rest of the ring; the next record starts at offset 0. */
  Wrap: 0,
  /** [id, fd, position = bytes already on disk, to hash by reading them back]. */
  Open: 1,
  /** [id, length, position]: write the payload there and hash it. */
  Data: 2,
  /** [id, position = size]: the file is complete; answer its digest. */
  Digest: 3,
  /** [id]: the file failed; answer once its descriptor is no longer used. */
  Release: 4,
  /** [id, length, position]: the main thread wrote these bytes itself (the ring was full); hash them by reading them back. */
  Written: 5,
} as const

/** Header layout, as Int32 slots (op, id, length, fd) and one Float64 (position) at byte 16. */
export const H = { op: 0, id: 1, length: 2, fd: 3, position: 2 } as const

export function recordBytes(payload: number): number {
  return (HEADER_BYTES + payload + ALIGN - 1) & ~(ALIGN - 1)
}

export interface RingViews {
  ctl: Int32Array
  bytes: Buffer
  i32: Int32Array
  f64: Float64Array
}

export function views(sab: SharedArrayBuffer): RingViews {
  return {
    ctl: new Int32Array(sab, 0, CONTROL_BYTES / 4),
    bytes: Buffer.from(sab, CONTROL_BYTES, RING_BYTES),
    i32: new Int32Array(sab, CONTROL_BYTES, RING_BYTES / 4),
    f64: new Float64Array(sab, CONTROL_BYTES, RING_BYTES / 8),
  }
}

/** Messages from the file thread. */
export type FromThread =
  /** Its code is loaded and it takes records ('online' comes before the module has loaded). */
  | readonly ['ready', id: 0]
  /** Answer to Digest. */
  | readonly ['digest', id: number, sha256: string]
  /** Answer to Release. */
  | readonly ['released', id: number]
  /** A write or read failed: the file is lost (sent once, as soon as it happens, and again as the answer). */
  | readonly ['failed', id: number, code: string, message: string]
