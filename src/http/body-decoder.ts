// The push interface every body decoder shares. A push API (not a pipe) lets the connection
// keep the bytes after the body: they are the next pipelined request.
export type OnPayload = (slice: Buffer) => void

export interface BodyDecoder {
  /** Consumes from `buf` at `pos`, emitting payload slices; returns where it stopped. Throws HttpError. */
  push(buf: Buffer, pos: number): number
  readonly done: boolean
}
