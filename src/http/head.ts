// The parsed request head, and the few questions the rest of the server asks of it.

/** A header field as received: name lower-cased (names are case-insensitive), value trimmed of OWS. */
export type Header = readonly [name: string, value: string]

export interface RequestHead {
  readonly method: string
  /** The request-target exactly as sent. */
  readonly target: string
  /** Path part of the target, still percent-encoded; `*` for asterisk-form, `''` for authority-form. */
  readonly path: string
  /** Query without the `?`, `''` when absent. */
  readonly query: string
  /** 0 for HTTP/1.0, 1 for HTTP/1.1. */
  readonly versionMinor: number
  readonly headers: readonly Header[]
}

/** All values of a field, in order (a repeated field and a comma list mean the same: RFC 9110 §5.3). */
export function headerValues(head: RequestHead, name: string): string[] {
  const out: string[] = []
  for (const [n, v] of head.headers) if (n === name) out.push(v)
  return out
}

/** A singleton field's value, or undefined. Repeats are joined; callers that care check `headerValues`. */
export function header(head: RequestHead, name: string): string | undefined {
  const values = headerValues(head, name)
  return values.length === 0 ? undefined : values.join(', ')
}

/**
 * `s` without the optional whitespace around it: spaces and tabs only (RFC 9110 §5.6.3).
 * `String#trim` also strips U+00A0, which a latin1 head holds for the obs-text byte 0xA0: it made
 * `chunked\xa0` chunked and `\xa05` a length of 5, where strict parsers refuse both (smuggling).
 */
export function trimOws(s: string): string {
  let start = 0
  let end = s.length
  while (start < end && (s.charCodeAt(start) === 0x20 || s.charCodeAt(start) === 0x09)) start++
  while (end > start && (s.charCodeAt(end - 1) === 0x20 || s.charCodeAt(end - 1) === 0x09)) end--
  return start === 0 && end === s.length ? s : s.slice(start, end)
}

/** Comma-separated list members of a field, lower-cased and trimmed, empty members dropped (RFC 9110 §5.6.1). */
export function headerTokens(head: RequestHead, name: string): string[] {
  const out: string[] = []
  for (const v of headerValues(head, name)) {
    for (const part of v.split(',')) {
      const t = trimOws(part).toLowerCase()
      if (t !== '') out.push(t)
    }
  }
  return out
}
