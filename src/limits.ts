// Protocol limits that are not flags, and the flags' defaults. Each says where its value comes from.

/** RFC 9112 §3 recommends supporting request lines of at least 8000 octets; SPEC §3: 414 above 8 KiB. */
export const MAX_TARGET_BYTES = 8 * 1024
/** Node's default maxHeaderSize (16 KiB); SPEC §3: 431 above it, request line included. */
export const MAX_HEAD_BYTES = 16 * 1024
/** SPEC §3: 431 above 100 header fields. */
export const MAX_HEADER_COUNT = 100
/** A chunk-size line with extensions. */
export const MAX_CHUNK_LINE_BYTES = 4 * 1024
/** Chunk extensions of one body in all, as Node caps them (CVE-2024-22019): otherwise 1-byte
 * chunks with 4 KiB of extensions each move 4,000 bytes on the wire per byte of file, outside
 * `--max-file-size`. */
export const MAX_CHUNK_EXTENSION_BYTES = 16 * 1024
/** Trailer section of a chunked body: same budget as a head. */
export const MAX_TRAILER_BYTES = 16 * 1024
/** SPEC §1 `--timeout` default: head deadline and body inactivity, as nginx's client_*_timeout. */
export const DEFAULT_TIMEOUT_MS = 60_000
/** Idle time between requests on a kept-alive connection; a phone re-uses it for the next file. */
export const KEEP_ALIVE_IDLE_MS = 30_000
/** After an early answer with `Connection: close`, how much of the unread body we swallow so
 * the client reads our answer instead of a TCP reset (RFC 9112 §9.6 lingering close). */
export const DRAIN_MAX_BYTES = 64 * 1024 * 1024
export const DRAIN_MAX_MS = 2_000
/** SPEC §1 `--max-connections` default. */
export const DEFAULT_MAX_CONNECTIONS = 256

/** After a graceful stop begins, how long a request head still arriving may take to complete (it is then told 503). */
export const SHUTDOWN_HEAD_GRACE_MS = 1_000
