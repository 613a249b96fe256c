// Serialising a response head. Everything we send has a known length, so there is no chunked output.
const REASONS: Record<number, string> = {
  100: 'Continue', 200: 'OK', 201: 'Created', 204: 'No Content', 303: 'See Other', 304: 'Not Modified',
  400: 'Bad Request', 401: 'Unauthorized', 403: 'Forbidden', 404: 'Not Found', 405: 'Method Not Allowed',
  408: 'Request Timeout', 409: 'Conflict', 411: 'Length Required', 413: 'Content Too Large',
  414: 'URI Too Long', 415: 'Unsupported Media Type', 417: 'Expectation Failed',
  431: 'Request Header Fields Too Large', 500: 'Internal Server Error', 501: 'Not Implemented',
  503: 'Service Unavailable', 505: 'HTTP Version Not Supported', 507: 'Insufficient Storage',
}
const reason = (status: number) => REASONS[status] ?? 'Unknown'

/** RFC 9112 §6.3: no body, and no Content-Length, for 1xx, 204 and 304. */
export function statusHasBody(status: number): boolean {
  return !(status < 200 || status === 204 || status === 304)
}

// A header value must never carry CR or LF (response splitting): anything below SP but HTAB goes.
const UNSAFE_VALUE = /[\x00-\x08\x0a-\x1f\x7f]/g

export function serializeHead(status: number, headers: Record<string, string>): string {
  let out = `HTTP/1.1 ${status} ${reason(status)}\r\n`
  for (const name in headers) out += `${name}: ${headers[name]!.replace(UNSAFE_VALUE, '')}\r\n`
  return out + '\r\n'
}

// Date has one-second resolution (RFC 9110 §6.6.1): formatted once a second, not per response.
let dateSecond = -1
let dateText = ''
export function httpDate(): string {
  const second = Math.floor(Date.now() / 1000)
  if (second !== dateSecond) {
    dateSecond = second
    dateText = new Date(second * 1000).toUTCString()
  }
  return dateText
}

export const CONTINUE_100 = Buffer.from('HTTP/1.1 100 Continue\r\n\r\n', 'latin1')
