// HeadParser fed REAL requests (curl -F, a chunked upload with extensions and trailers, a Chrome
// form post, pipelined pairs), cut at every byte offset, byte by byte and in one piece: the parsed
// heads, the decoded bodies and the bytes left for the next request must not depend on the cuts.
import { describe, expect, it } from 'vitest'
import { HttpError, type ErrorCode } from '../../src/errors.js'
import type { BodyDecoder } from '../../src/http/body-decoder.js'
import { ChunkedDecoder } from '../../src/http/chunked-decoder.js'
import { interpretHead, type Framing } from '../../src/http/framing.js'
import { HeadParser, type HeadLimits } from '../../src/http/head-parser.js'
import type { RequestHead } from '../../src/http/head.js'
import { LengthDecoder } from '../../src/http/length-decoder.js'
import { MAX_HEAD_BYTES, MAX_HEADER_COUNT, MAX_TARGET_BYTES } from '../../src/limits.js'
import { allSplits, byteByByte, detached, onePiece, randomSplits, twoWayCuts, type Splitting } from '../helpers/splits.js'

const LIMITS: HeadLimits = { maxTargetBytes: MAX_TARGET_BYTES, maxHeadBytes: MAX_HEAD_BYTES, maxHeaderCount: MAX_HEADER_COUNT }

// ---------------------------------------------------------------------------------------------
// The driver: what Connection does, minus the sockets. Head parser, then the decoder the framing
// asks for, then the next head; after `maxRequests` complete requests the rest is left over.

interface Parsed {
  head: RequestHead
  framing: Framing
  keepAlive: boolean
  expectContinue: boolean
  body: Buffer
}

interface Driven {
  requests: Parsed[]
  /** Bytes after the last request taken (only when `maxRequests` was reached). */
  leftover: Buffer
  /** A head or body was started but not finished when the input ran out. */
  pending: boolean
  error: ErrorCode | null
}

function drive(chunks: readonly Buffer[], maxRequests = Infinity, limits: HeadLimits = LIMITS): Driven {
  const parser = new HeadParser(limits)
  const requests: Parsed[] = []
  const leftover: Buffer[] = []
  let decoder: BodyDecoder | null = null
  let current: Omit<Parsed, 'body'> | null = null
  let parts: Buffer[] = []
  let error: ErrorCode | null = null
  const finish = () => {
    requests.push({ ...current!, body: Buffer.concat(parts) })
    current = null
    decoder = null
    parts = []
  }
  try {
    for (const chunk of chunks) {
      let pos = 0
      while (pos < chunk.length) {
        if (requests.length >= maxRequests) {
          leftover.push(chunk.subarray(pos))
          break
        }
        if (decoder === null) {
          const r = parser.push(chunk, pos)
          if (r === null) break // every byte taken, more needed
          if (r.end <= pos || r.end > chunk.length) throw new Error(`head end ${r.end} out of range (pos ${pos}, len ${chunk.length})`)
          pos = r.end
          const sem = interpretHead(r.head)
          current = { head: r.head, ...sem }
          const onPayload = (slice: Buffer) => {
            if (slice.length === 0) throw new Error('decoder emitted an empty payload slice')
            parts.push(Buffer.from(slice))
          }
          if (sem.framing.kind === 'none') finish()
          else if (sem.framing.kind === 'length') decoder = new LengthDecoder(sem.framing.length, onPayload)
          else decoder = new ChunkedDecoder(onPayload)
        } else {
          const d: BodyDecoder = decoder
          const next = d.push(chunk, pos)
          if (next < pos || next > chunk.length) throw new Error(`decoder returned ${next} (pos ${pos}, len ${chunk.length})`)
          if (!d.done && next !== chunk.length) throw new Error('decoder stopped early without being done')
          pos = next
          if (d.done) finish()
        }
      }
    }
  } catch (err) {
    if (!(err instanceof HttpError)) throw err
    error = err.code
  }
  return { requests, leftover: Buffer.concat(leftover), pending: decoder !== null || parser.started, error }
}

/** A canonical string for a result (fixed key order, bodies as hex), so thousands of comparisons stay cheap. */
function canon(d: Driven): string {
  const requests = d.requests.map((r) => {
    const { method, target, path, query, versionMinor, headers } = r.head
    return [method, target, path, query, versionMinor, headers, r.framing.kind, r.framing.kind === 'length' ? r.framing.length : -1, r.keepAlive, r.expectContinue, r.body.toString('hex')]
  })
  return JSON.stringify([requests, d.leftover.toString('hex'), d.pending, d.error])
}

/** Drives every splitting and checks each result equals `expected` (the one-piece result). */
function expectSameEverywhere(input: Buffer, expected: Driven, maxRequests = Infinity, opts: { random?: number } = {}): number {
  const want = canon(expected)
  let n = 0
  for (const split of allSplits(input, opts)) {
    const got = drive(detached(split).chunks, maxRequests)
    // Only on a mismatch pay for the deep comparison (it gives the readable diff).
    if (canon(got) !== want) expect(got, split.label).toEqual(expected)
    n++
  }
  return n
}

// ---------------------------------------------------------------------------------------------
// Real requests, built byte for byte as the clients send them.

const b = (s: string) => Buffer.from(s, 'latin1')

/** curl -F 'file=@report.bin' -F note=hello http://127.0.0.1:4000/inbox (curl 8.x boundary: 24 dashes + 22 alnum). */
const CURL_BOUNDARY = '------------------------q3Zx8LkP0vWm2RtY7sNc4B'
const CURL_FILE = Buffer.concat([
  b('line one\r\n--' + CURL_BOUNDARY.slice(0, 30) + '\r\n\r\n'),
  Buffer.from([0x00, 0x01, 0x02, 0xff, 0xfe, 0x0d, 0x0a, 0x0d, 0x0a, 0x80, 0xc3, 0xa9]),
  b('tail without newline'),
])
const CURL_BODY = Buffer.concat([
  b(`--${CURL_BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="report.bin"\r\nContent-Type: application/octet-stream\r\n\r\n`),
  CURL_FILE,
  b(`\r\n--${CURL_BOUNDARY}\r\nContent-Disposition: form-data; name="note"\r\n\r\nhello\r\n--${CURL_BOUNDARY}--\r\n`),
])
const CURL_HEAD =
  'POST /inbox HTTP/1.1\r\n' +
  'Host: 127.0.0.1:4000\r\n' +
  'User-Agent: curl/8.5.0\r\n' +
  'Accept: */*\r\n' +
  `Content-Length: ${CURL_BODY.length}\r\n` +
  `Content-Type: multipart/form-data; boundary=${CURL_BOUNDARY}\r\n` +
  'Expect: 100-continue\r\n' +
  '\r\n'
const CURL_REQUEST = Buffer.concat([b(CURL_HEAD), CURL_BODY])
const CURL_EXPECTED: Parsed = {
  head: {
    method: 'POST',
    target: '/inbox',
    path: '/inbox',
    query: '',
    versionMinor: 1,
    headers: [
      ['host', '127.0.0.1:4000'],
      ['user-agent', 'curl/8.5.0'],
      ['accept', '*/*'],
      ['content-length', String(CURL_BODY.length)],
      ['content-type', `multipart/form-data; boundary=${CURL_BOUNDARY}`],
      ['expect', '100-continue'],
    ],
  },
  framing: { kind: 'length', length: CURL_BODY.length },
  keepAlive: true,
  expectContinue: true,
  body: CURL_BODY,
}

/** A chunked upload (curl -T - / a streaming script) with chunk extensions, BWS and trailers. */
const CHUNK_DATA = [
  b('abcdefghijklmnopqrstuvwxyz'), // 0x1A
  b('0\r\n\r\nGET / HTTP/1.1'), // 0x13: looks like a last chunk and a request, is data
  b('\r\n0'), // 3
]
const CHUNKED_HEAD =
  'PUT /logs/app.log?tag=nightly&x=%20y HTTP/1.1\r\n' +
  'Host: uploads.example:4000\r\n' +
  'User-Agent: curl/8.5.0\r\n' +
  'Accept: */*\r\n' +
  'Transfer-Encoding: chunked\r\n' +
  'Content-Type: text/plain; charset=utf-8\r\n' +
  'Trailer: X-Checksum, X-Count\r\n' +
  '\r\n'
const CHUNKED_BODY_WIRE = Buffer.concat([
  b('1A;name=value\r\n'),
  CHUNK_DATA[0]!,
  b('\r\n013 ; name="quoted \\"value\\" \\\\ here" ;flag\t;\tz = 1\r\n'),
  CHUNK_DATA[1]!,
  b('\r\n3;a=b;c="d e"\r\n'),
  CHUNK_DATA[2]!,
  b('\r\n0;last=yes\r\nX-Checksum: sha256-47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\r\nX-Count: 3\r\n\r\n'),
])
const CHUNKED_REQUEST = Buffer.concat([b(CHUNKED_HEAD), CHUNKED_BODY_WIRE])
const CHUNKED_EXPECTED: Parsed = {
  head: {
    method: 'PUT',
    target: '/logs/app.log?tag=nightly&x=%20y',
    path: '/logs/app.log',
    query: 'tag=nightly&x=%20y',
    versionMinor: 1,
    headers: [
      ['host', 'uploads.example:4000'],
      ['user-agent', 'curl/8.5.0'],
      ['accept', '*/*'],
      ['transfer-encoding', 'chunked'],
      ['content-type', 'text/plain; charset=utf-8'],
      ['trailer', 'X-Checksum, X-Count'],
    ],
  },
  framing: { kind: 'chunked' },
  keepAlive: true,
  expectContinue: false,
  body: Buffer.concat(CHUNK_DATA),
}

/** Chrome 124 on Android posting the upload form (multipart, UTF-8 file name, binary bytes). */
const CHROME_BOUNDARY = '----WebKitFormBoundaryX3bY9kLmN2pQ7rSt'
const JPEG_BYTES = Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0x00, 0x10, 0x4a, 0x46, 0x49, 0x46, 0x00, 0x01, 0x0d, 0x0a, 0x2d, 0x2d, 0xff, 0xd9])
const CHROME_BODY = Buffer.concat([
  b(`--${CHROME_BOUNDARY}\r\nContent-Disposition: form-data; name="files"; filename="`),
  Buffer.from('Föto 1.jpg', 'utf8'),
  b('"\r\nContent-Type: image/jpeg\r\n\r\n'),
  JPEG_BYTES,
  b(`\r\n--${CHROME_BOUNDARY}\r\nContent-Disposition: form-data; name="files"; filename=""\r\nContent-Type: application/octet-stream\r\n\r\n\r\n--${CHROME_BOUNDARY}--\r\n`),
])
const CHROME_HEADERS: Array<[string, string]> = [
  ['Host', '192.168.1.10:4000'],
  ['Connection', 'keep-alive'],
  ['Content-Length', String(CHROME_BODY.length)],
  ['Cache-Control', 'max-age=0'],
  ['sec-ch-ua', '"Chromium";v="124", "Google Chrome";v="124", "Not-A.Brand";v="99"'],
  ['sec-ch-ua-mobile', '?1'],
  ['sec-ch-ua-platform', '"Android"'],
  ['Origin', 'http://192.168.1.10:4000'],
  ['Content-Type', `multipart/form-data; boundary=${CHROME_BOUNDARY}`],
  ['Upgrade-Insecure-Requests', '1'],
  ['User-Agent', 'Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Mobile Safari/537.36'],
  ['Accept', 'text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,image/apng,*/*;q=0.8,application/signed-exchange;v=b3;q=0.7'],
  ['Sec-Fetch-Site', 'same-origin'],
  ['Sec-Fetch-Mode', 'navigate'],
  ['Sec-Fetch-User', '?1'],
  ['Sec-Fetch-Dest', 'document'],
  ['Referer', 'http://192.168.1.10:4000/'],
  ['Accept-Encoding', 'gzip, deflate'],
  ['Accept-Language', 'en-US,en;q=0.9,de;q=0.8'],
]
const CHROME_REQUEST = Buffer.concat([
  b('POST /photos/ HTTP/1.1\r\n' + CHROME_HEADERS.map(([n, v]) => `${n}: ${v}\r\n`).join('') + '\r\n'),
  CHROME_BODY,
])
const CHROME_EXPECTED: Parsed = {
  head: {
    method: 'POST',
    target: '/photos/',
    path: '/photos/',
    query: '',
    versionMinor: 1,
    headers: CHROME_HEADERS.map(([n, v]) => [n.toLowerCase(), v] as const),
  },
  framing: { kind: 'length', length: CHROME_BODY.length },
  keepAlive: true,
  expectContinue: false,
  body: CHROME_BODY,
}

const FAVICON_REQUEST = b('GET /favicon.ico HTTP/1.1\r\nHost: 192.168.1.10:4000\r\nAccept: image/avif,image/webp,*/*\r\n\r\n')
const FAVICON_EXPECTED: Parsed = {
  head: {
    method: 'GET',
    target: '/favicon.ico',
    path: '/favicon.ico',
    query: '',
    versionMinor: 1,
    headers: [
      ['host', '192.168.1.10:4000'],
      ['accept', 'image/avif,image/webp,*/*'],
    ],
  },
  framing: { kind: 'none' },
  keepAlive: true,
  expectContinue: false,
  body: Buffer.alloc(0),
}

const one = (p: Parsed): Driven => ({ requests: [p], leftover: Buffer.alloc(0), pending: false, error: null })

describe('real requests, every split', () => {
  it('the fixtures are what the clients send', () => {
    expect(CURL_BOUNDARY).toMatch(/^-{24}[A-Za-z0-9]{22}$/)
    expect(CHROME_BOUNDARY).toMatch(/^----WebKitFormBoundary[A-Za-z0-9]{16}$/)
    // Content-Length is the exact body size.
    expect(CURL_REQUEST.length - Buffer.byteLength(CURL_HEAD, 'latin1')).toBe(CURL_BODY.length)
  })

  it('(a) curl -F multipart upload with Expect: 100-continue', () => {
    expect(drive([CURL_REQUEST])).toEqual(one(CURL_EXPECTED))
    expect(expectSameEverywhere(CURL_REQUEST, one(CURL_EXPECTED))).toBe(CURL_REQUEST.length + 1)
  })

  it('(b) chunked upload with chunk extensions (token, quoted, escaped, BWS) and trailers', () => {
    expect(CHUNK_DATA.map((d) => d.length)).toEqual([0x1a, 0x13, 3])
    expect(drive([CHUNKED_REQUEST])).toEqual(one(CHUNKED_EXPECTED))
    expectSameEverywhere(CHUNKED_REQUEST, one(CHUNKED_EXPECTED), Infinity, { random: 50 })
  })

  it('(c) Chrome form post with realistic headers and a binary body', () => {
    expect(drive([CHROME_REQUEST])).toEqual(one(CHROME_EXPECTED))
    expectSameEverywhere(CHROME_REQUEST, one(CHROME_EXPECTED))
  })

  it('(d) two pipelined requests: chunked PUT then curl POST, with the start of a third left over', () => {
    const third = b('GET /next HTTP/1.1\r\nHo')
    const input = Buffer.concat([CHUNKED_REQUEST, CURL_REQUEST, third])
    const expected: Driven = { requests: [CHUNKED_EXPECTED, CURL_EXPECTED], leftover: third, pending: false, error: null }
    expect(drive([input], 2)).toEqual(expected)
    const n = expectSameEverywhere(input, expected, 2, { random: 50 })
    expect(n).toBe(input.length + 1 + 50)
  })

  it('(d) two pipelined requests: bodiless GET then Chrome post, nothing left over', () => {
    const input = Buffer.concat([FAVICON_REQUEST, CHROME_REQUEST])
    const expected: Driven = { requests: [FAVICON_EXPECTED, CHROME_EXPECTED], leftover: Buffer.alloc(0), pending: false, error: null }
    expect(drive([input], 2)).toEqual(expected)
    expectSameEverywhere(input, expected, 2)
  })

  it('(d) pipelined without a stop: the partial third head is pending in the parser, not lost or misread', () => {
    const input = Buffer.concat([CURL_REQUEST, CHUNKED_REQUEST, b('\r\nGET /next HTTP/1.1\r\nHo')])
    const expected: Driven = { requests: [CURL_EXPECTED, CHUNKED_EXPECTED], leftover: Buffer.alloc(0), pending: true, error: null }
    expectSameEverywhere(input, expected)
  })

  it('three pipelined requests of all kinds, random splittings', () => {
    const input = Buffer.concat([CHROME_REQUEST, FAVICON_REQUEST, CHUNKED_REQUEST, CURL_REQUEST])
    const expected: Driven = {
      requests: [CHROME_EXPECTED, FAVICON_EXPECTED, CHUNKED_EXPECTED, CURL_EXPECTED],
      leftover: Buffer.alloc(0),
      pending: false,
      error: null,
    }
    const want = canon(expected)
    for (const split of [onePiece(input), byteByByte(input), ...randomSplits(input, 200, 7, 64)]) {
      const got = drive(split.chunks)
      if (canon(got) !== want) expect(got, split.label).toEqual(expected)
    }
  })
})

// ---------------------------------------------------------------------------------------------
// Heads the parser must refuse, whatever the cuts, and a few it must accept.

describe('head parser rows, every split', () => {
  const GOOD: Array<{ what: string; input: string; head: Partial<RequestHead> }> = [
    { what: 'leading CRLFs before the request line (RFC 9112 §2.2)', input: '\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n', head: { method: 'GET', target: '/' } },
    { what: 'HTTP/1.0 without Host', input: 'GET /x?y=1 HTTP/1.0\r\n\r\n', head: { versionMinor: 0, path: '/x', query: 'y=1', headers: [] } },
    { what: 'absolute-form', input: 'GET http://x:4000/a/b?c HTTP/1.1\r\nHost: x:4000\r\n\r\n', head: { target: 'http://x:4000/a/b?c', path: '/a/b', query: 'c' } },
    { what: 'absolute-form without path', input: 'GET http://x HTTP/1.1\r\nHost: x\r\n\r\n', head: { path: '/', query: '' } },
    { what: 'absolute-form with an IPv6 literal and port', input: 'GET http://[::1]:4000/a HTTP/1.1\r\nHost: [::1]:4000\r\n\r\n', head: { path: '/a' } },
    { what: 'asterisk-form OPTIONS', input: 'OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n', head: { method: 'OPTIONS', path: '*' } },
    { what: 'OWS around a value is trimmed, inner kept', input: 'GET / HTTP/1.1\r\nHost:\t a \r\nX-A:  b  c \t\r\n\r\n', head: { headers: [['host', 'a'], ['x-a', 'b  c']] } },
    { what: 'empty field value', input: 'GET / HTTP/1.1\r\nHost: a\r\nX-Empty:\r\n\r\n', head: { headers: [['host', 'a'], ['x-empty', '']] } },
    { what: 'obs-text in a value passes as latin1', input: 'GET / HTTP/1.1\r\nHost: a\r\nX-N: F\xc3\xb6\r\n\r\n', head: { headers: [['host', 'a'], ['x-n', 'F\xc3\xb6']] } },
    { what: 'lowercase method is parsed as is (routing decides: 405)', input: 'get / HTTP/1.1\r\nHost: a\r\n\r\n', head: { method: 'get' } },
  ]
  for (const row of GOOD) {
    it(`accepts: ${row.what}`, () => {
      const input = b(row.input)
      const whole = drive([input])
      expect(whole.error).toBeNull()
      expect(whole.requests).toHaveLength(1)
      expect(whole.requests[0]!.head).toMatchObject(row.head)
      expectSameEverywhere(input, whole)
    })
  }

  const BAD: Array<{ what: string; input: string; code: ErrorCode }> = [
    { what: 'bare LF line endings', input: 'GET / HTTP/1.1\nHost: a\n\n', code: 'BAD_REQUEST' },
    // The host of an absolute-form target stands in for Host (RFC 9112 §3.2.2): judged as strictly.
    { what: 'absolute-form with an empty host (RFC 9110 §4.2.1)', input: 'PUT http:///e.txt HTTP/1.1\r\nHost: x\r\n\r\n', code: 'BAD_REQUEST' },
    { what: 'absolute-form with only a port', input: 'GET http://:80/ HTTP/1.1\r\nHost: x\r\n\r\n', code: 'BAD_REQUEST' },
    { what: 'absolute-form with userinfo', input: 'PUT http://u:p@y/u.txt HTTP/1.1\r\nHost: y\r\n\r\n', code: 'BAD_REQUEST' },
    { what: 'absolute-form with a bad port', input: 'PUT http://y:abc/q.txt HTTP/1.1\r\nHost: y\r\n\r\n', code: 'BAD_REQUEST' },
    { what: 'absolute-form with an unclosed IPv6 literal', input: 'PUT http://[::1/b.txt HTTP/1.1\r\nHost: y\r\n\r\n', code: 'BAD_REQUEST' },
    { what: 'bare LF ending one header line', input: 'GET / HTTP/1.1\r\nHost: a\nX: y\r\n\r\n', code: 'BAD_REQUEST' },
    { what: 'bare LF ending the head', input: 'GET / HTTP/1.1\r\nHost: a\r\n\n', code: 'BAD_REQUEST' },
    { what: 'leading bare LF', input: '\nGET / HTTP/1.1\r\nHost: a\r\n\r\n', code: 'BAD_REQUEST' },
    { what: 'bare CR in a header value', input: 'GET / HTTP/1.1\r\nHost: a\r\nX: a\rb\r\n\r\n', code: 'BAD_REQUEST' },
    { what: 'bare CR ending a header line', input: 'GET / HTTP/1.1\r\nHost: a\rX: b\r\n\r\n', code: 'BAD_REQUEST' },
    { what: 'bare CR ending the request line, then a byte', input: 'GET / HTTP/1.1\rXHost: a\r\n\r\n', code: 'BAD_REQUEST' },
    { what: 'bare CR ending the request line, then CRLF', input: 'GET / HTTP/1.1\r\r\nHost: a\r\n\r\n', code: 'BAD_REQUEST' },
    { what: 'obs-fold (SP)', input: 'GET / HTTP/1.1\r\nHost: a\r\nX: a\r\n b\r\n\r\n', code: 'BAD_REQUEST' },
    { what: 'obs-fold (HTAB)', input: 'GET / HTTP/1.1\r\nHost: a\r\nX: a\r\n\tb\r\n\r\n', code: 'BAD_REQUEST' },
    { what: 'space before colon', input: 'GET / HTTP/1.1\r\nHost : a\r\n\r\n', code: 'BAD_REQUEST' },
    { what: 'tab before colon', input: 'GET / HTTP/1.1\r\nHost\t: a\r\n\r\n', code: 'BAD_REQUEST' },
    { what: 'empty header name', input: 'GET / HTTP/1.1\r\nHost: a\r\n: b\r\n\r\n', code: 'BAD_REQUEST' },
    { what: 'no colon', input: 'GET / HTTP/1.1\r\nHost: a\r\nX-Nothing\r\n\r\n', code: 'BAD_REQUEST' },
    { what: 'non-token byte in a name', input: 'GET / HTTP/1.1\r\nHost: a\r\nX(y): b\r\n\r\n', code: 'BAD_REQUEST' },
    { what: 'NUL in a value', input: 'GET / HTTP/1.1\r\nHost: a\r\nX: a\x00b\r\n\r\n', code: 'BAD_REQUEST' },
    { what: 'DEL in a value', input: 'GET / HTTP/1.1\r\nHost: a\r\nX: a\x7fb\r\n\r\n', code: 'BAD_REQUEST' },
    { what: 'two spaces after the method', input: 'GET  / HTTP/1.1\r\nHost: a\r\n\r\n', code: 'BAD_REQUEST' },
    { what: 'two spaces before the version', input: 'GET /  HTTP/1.1\r\nHost: a\r\n\r\n', code: 'BAD_REQUEST' },
    { what: 'tab as separator', input: 'GET\t/ HTTP/1.1\r\nHost: a\r\n\r\n', code: 'BAD_REQUEST' },
    { what: 'trailing space after the version', input: 'GET / HTTP/1.1 \r\nHost: a\r\n\r\n', code: 'BAD_REQUEST' },
    { what: 'leading space', input: ' GET / HTTP/1.1\r\nHost: a\r\n\r\n', code: 'BAD_REQUEST' },
    { what: 'HTTP/0.9 style line', input: 'GET /\r\n\r\n', code: 'BAD_REQUEST' },
    { what: 'lowercase http', input: 'GET / http/1.1\r\nHost: a\r\n\r\n', code: 'BAD_REQUEST' },
    { what: 'HTTP/1.10', input: 'GET / HTTP/1.10\r\nHost: a\r\n\r\n', code: 'BAD_REQUEST' },
    { what: 'HTTP/1', input: 'GET / HTTP/1\r\nHost: a\r\n\r\n', code: 'BAD_REQUEST' },
    { what: 'HTTP/1.2', input: 'GET / HTTP/1.2\r\nHost: a\r\n\r\n', code: 'VERSION_UNSUPPORTED' },
    { what: 'HTTP/2.0', input: 'GET / HTTP/2.0\r\nHost: a\r\n\r\n', code: 'VERSION_UNSUPPORTED' },
    { what: 'HTTP/0.9', input: 'GET / HTTP/0.9\r\n\r\n', code: 'VERSION_UNSUPPORTED' },
    { what: 'non-ASCII byte in the target', input: 'GET /\xe9 HTTP/1.1\r\nHost: a\r\n\r\n', code: 'BAD_REQUEST' },
    { what: 'fragment in the target', input: 'GET /a#b HTTP/1.1\r\nHost: a\r\n\r\n', code: 'BAD_REQUEST' },
    { what: 'asterisk-form with GET', input: 'GET * HTTP/1.1\r\nHost: a\r\n\r\n', code: 'BAD_REQUEST' },
    { what: 'relative target', input: 'GET a/b HTTP/1.1\r\nHost: a\r\n\r\n', code: 'BAD_REQUEST' },
  ]
  for (const row of BAD) {
    it(`refuses: ${row.what} -> ${row.code}`, () => {
      const input = b(row.input)
      for (const split of allSplits(input)) {
        const got = drive(split.chunks)
        expect(got.error, split.label).toBe(row.code)
        expect(got.requests, split.label).toEqual([])
      }
    })
  }
})

describe('head parser limits', () => {
  it('a target over 8 KiB is 414, at the limit it is served', () => {
    const ok = b(`GET /${'a'.repeat(MAX_TARGET_BYTES - 1)} HTTP/1.1\r\nHost: a\r\n\r\n`)
    const tooLong = b(`GET /${'a'.repeat(MAX_TARGET_BYTES)} HTTP/1.1\r\nHost: a\r\n\r\n`)
    const huge = b(`GET /${'a'.repeat(3 * MAX_TARGET_BYTES)} HTTP/1.1\r\nHost: a\r\n\r\n`)
    const sampled = (buf: Buffer): Splitting[] => [onePiece(buf), ...[...twoWayCuts(buf)].filter((_, i) => i % 257 === 0)]
    for (const s of sampled(ok)) expect(drive(s.chunks).requests[0]?.head.target.length, s.label).toBe(MAX_TARGET_BYTES)
    for (const s of sampled(tooLong)) expect(drive(s.chunks).error, s.label).toBe('URI_TOO_LONG')
    for (const s of [...sampled(huge), ...randomSplits(huge, 3, 3, 4096)]) expect(drive(s.chunks).error, s.label).toBe('URI_TOO_LONG')
  })

  it('a head over 16 KiB is 431, whether it ever ends or not', () => {
    const field = `X-Pad: ${'p'.repeat(1000)}\r\n`
    const over = b('GET / HTTP/1.1\r\nHost: a\r\n' + field.repeat(17) + '\r\n')
    const endless = b('GET / HTTP/1.1\r\nHost: a\r\n' + field.repeat(40))
    for (const s of [onePiece(over), ...randomSplits(over, 5, 5, 3000)]) expect(drive(s.chunks).error, s.label).toBe('HEADERS_TOO_LARGE')
    for (const s of [onePiece(endless), ...randomSplits(endless, 5, 6, 3000)]) expect(drive(s.chunks).error, s.label).toBe('HEADERS_TOO_LARGE')
  })

  it('100 fields are served, 101 are 431', () => {
    const fields = (n: number) => 'Host: a\r\n' + Array.from({ length: n - 1 }, (_, i) => `X-F${i}: ${i}\r\n`).join('')
    const ok = b(`GET / HTTP/1.1\r\n${fields(MAX_HEADER_COUNT)}\r\n`)
    const over = b(`GET / HTTP/1.1\r\n${fields(MAX_HEADER_COUNT + 1)}\r\n`)
    expect(drive([ok]).requests[0]?.head.headers).toHaveLength(MAX_HEADER_COUNT)
    for (const s of [onePiece(over), byteByByte(over), ...randomSplits(over, 20, 9)]) expect(drive(s.chunks).error, s.label).toBe('HEADERS_TOO_LARGE')
  })

  it('small limits give the same verdict at every cut', () => {
    const small: HeadLimits = { maxTargetBytes: 16, maxHeadBytes: 96, maxHeaderCount: 3 }
    const rows: Array<[string, ErrorCode | null]> = [
      ['GET /aaaaaaaaaaaaaaa HTTP/1.1\r\nHost: a\r\n\r\n', null], // 16-byte target
      ['GET /aaaaaaaaaaaaaaaa HTTP/1.1\r\nHost: a\r\n\r\n', 'URI_TOO_LONG'],
      ['GET / HTTP/1.1\r\nHost: a\r\nB: 1\r\nC: 2\r\n\r\n', null],
      ['GET / HTTP/1.1\r\nHost: a\r\nB: 1\r\nC: 2\r\nD: 3\r\n\r\n', 'HEADERS_TOO_LARGE'],
      [`GET / HTTP/1.1\r\nHost: a\r\nB: ${'x'.repeat(100)}\r\n\r\n`, 'HEADERS_TOO_LARGE'],
      // A long method or version is not a long target: the line is judged whole, wherever it is cut.
      [`${'A'.repeat(70)} / HTTP/1.1\r\nHost: a\r\n\r\n`, null],
      [`${'M'.repeat(60)} /${'a'.repeat(15)} HTTP/1.0\r\n\r\n`, null],
      [`GET / ${'H'.repeat(80)}\r\n\r\n`, 'BAD_REQUEST'],
      [`GET /${'a'.repeat(16)} ${'H'.repeat(60)}\r\n\r\n`, 'URI_TOO_LONG'],
      [`${'A'.repeat(120)} / HTTP/1.1\r\n\r\n`, 'HEADERS_TOO_LARGE'],
      // A target over the limit is 414 before the head's size or a bare LF has its say.
      [`GET /${'a'.repeat(20)} HTTP/1.1\r\nX: ${'b'.repeat(80)}\r\n\r\n`, 'URI_TOO_LONG'],
      [`GET /${'a'.repeat(20)} HTTP/1.1\nHost: a\n\n`, 'URI_TOO_LONG'],
    ]
    for (const [text, code] of rows) {
      for (const s of allSplits(b(text))) {
        const got = drive(s.chunks, Infinity, small)
        expect(got.error, `${JSON.stringify(text)} ${s.label}`).toBe(code)
        expect(got.requests.length, `${JSON.stringify(text)} ${s.label}`).toBe(code === null ? 1 : 0)
      }
    }
  })

  it('a head that fails still gives its method and Accept, so its error is answered like any other', () => {
    const cases: Array<[string, ErrorCode, string | null, string | null]> = [
      ['HEAD / HTTP/1.2\r\nHost: a\r\n\r\n', 'VERSION_UNSUPPORTED', 'HEAD', null],
      ['GET / HTTP/1.1\r\nHost: a\r\nAccept: text/html\r\nX: a\r\n b\r\n\r\n', 'BAD_REQUEST', 'GET', 'text/html'],
      ['GET / HTTP/1.1\r\nX : y\r\naccept:  text/html;q=0.9 \r\n\r\n', 'BAD_REQUEST', 'GET', 'text/html;q=0.9'],
      [`HEAD /${'a'.repeat(MAX_TARGET_BYTES + 1)} HTTP/1.1\r\n\r\n`, 'URI_TOO_LONG', 'HEAD', null],
      ['G@T / HTTP/1.1\r\nAccept: text/html\r\n\r\n', 'BAD_REQUEST', null, null],
    ]
    for (const [text, code, method, accept] of cases) {
      for (const s of [onePiece(b(text)), byteByByte(b(text))]) {
        const parser = new HeadParser(LIMITS)
        let thrown: unknown = null
        try {
          for (const c of s.chunks) parser.push(c, 0)
        } catch (err) {
          thrown = err
        }
        expect((thrown as HttpError).code, `${text} ${s.label}`).toBe(code)
        expect(parser.partial()?.method ?? null, text).toBe(method)
        expect(parser.partial()?.headers.find(([n]) => n === 'accept')?.[1] ?? null, text).toBe(accept)
      }
    }
  })

  it('a socket slab larger than the head is not retained: push returns the end inside the slab', () => {
    const slab = Buffer.concat([b('GET / HTTP/1.1\r\nHost: a\r\n\r\n'), Buffer.alloc(64 * 1024, 0x41)])
    const r = new HeadParser(LIMITS).push(slab, 0)
    expect(r?.end).toBe(27)
    // Starting at an offset, too.
    const r2 = new HeadParser(LIMITS).push(Buffer.concat([b('xyz'), slab]), 3)
    expect(r2?.end).toBe(30)
  })
})
