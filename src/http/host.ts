// The host a request names, in its Host header or in an absolute-form target.

// RFC 3986 host [":" port], loosely: no whitespace, no userinfo, no path.
const HOST = /^(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9\-._~!$&'()*+,;=%]*)(?::[0-9]*)?$/

/** A Host header's value (which may be empty: RFC 9110 §7.2). */
export function isValidHost(value: string): boolean {
  return HOST.test(value)
}

/** The authority of an absolute-form target: as strict as a Host header, and with a host (RFC 9110 §4.2.1). */
export function isValidAuthority(authority: string): boolean {
  return HOST.test(authority) && authority !== '' && authority[0] !== ':'
}
