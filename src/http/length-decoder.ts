// A Content-Length body: exactly `length` bytes, handed on as slices of the socket's buffers.
import type { BodyDecoder, OnPayload } from './body-decoder.js'

export class LengthDecoder implements BodyDecoder {
  private remaining: number

  constructor(
    length: number,
    private readonly onPayload: OnPayload,
  ) {
    this.remaining = length
  }

  get done(): boolean {
    return this.remaining === 0
  }

  push(buf: Buffer, pos: number): number {
    const n = Math.min(this.remaining, buf.length - pos)
    if (n === 0) return pos
    this.remaining -= n
    this.onPayload(pos === 0 && n === buf.length ? buf : buf.subarray(pos, pos + n))
    return pos + n
  }
}
