// interpretHead / bodyFraming: how a parsed head is delimited (RFC 9112 §6.3), whether the
// connection persists (§9.3) and what Expect means (RFC 9110 §10.1.1). Heads are parsed from
// real bytes, so OWS trimming and repeated fields behave as they do on the wire.
import { describe, expect, it } from 'vitest'
import { HttpError, type ErrorCode } from '../../src/errors.js'
import { bodyFraming, declaresBody, interpretHead, type Framing, type Semantics } from '../../src/http/framing.js'
import { HeadParser } from '../../src/http/head-parser.js'
import type { RequestHead } from '../../src/http/head.js'
import { MAX_HEAD_BYTES, MAX_HEADER_COUNT, MAX_TARGET_BYTES } from '../../src/limits.js'

function parse(text: string): RequestHead {
  const r = new HeadParser({ maxTargetBytes: MAX_TARGET_BYTES, maxHeadBytes: MAX_HEAD_BYTES, maxHeaderCount: MAX_HEADER_COUNT }).push(
    Buffer.from(text, 'latin1'),
    0,
  )
  if (r === null) throw new Error(`incomplete head: ${JSON.stringify(text)}`)
  return r.head
}

/** A POST head with these field lines; HTTP/1.1 gets `Host: x` unless the lines name a Host (or `X-No-Host`). */
function head(lines: string[], version: '1.0' | '1.1' = '1.1', method = 'POST'): RequestHead {
  const host = version === '1.1' && !lines.some((l) => /^(host|x-no-host):/i.test(l)) ? ['Host: x'] : []
  return parse(`${method} /up HTTP/${version}\r\n${[...host, ...lines].map((l) => `${l}\r\n`).join('')}\r\n`)
}

function errorOf(fn: () => unknown): { code: ErrorCode; status: number } | null {
  try {
    fn()
    return null
  } catch (err) {
    if (!(err instanceof HttpError)) throw err
    return { code: err.code, status: err.status }
  }
}

type Row = { what: string; lines: string[]; version?: '1.0' | '1.1' } & (
  | { framing: Framing; error?: never }
  | { error: ErrorCode; status: number; framing?: never }
)

const TWO_53 = String(2 ** 53)

describe('body framing (Content-Length / Transfer-Encoding)', () => {
  const rows: Row[] = [
    { what: 'no body fields', lines: [], framing: { kind: 'none' } },
    { what: 'CL 0', lines: ['Content-Length: 0'], framing: { kind: 'none' } },
    { what: 'CL 42', lines: ['Content-Length: 42'], framing: { kind: 'length', length: 42 } },
    { what: 'CL 003 is 3', lines: ['Content-Length: 003'], framing: { kind: 'length', length: 3 } },
    { what: 'CL 000 is 0', lines: ['Content-Length: 000'], framing: { kind: 'none' } },
    { what: 'CL with many leading zeros', lines: ['Content-Length: 0000000000000000000005'], framing: { kind: 'length', length: 5 } },
    { what: 'CL `42, 42` (one list, same value)', lines: ['Content-Length: 42, 42'], framing: { kind: 'length', length: 42 } },
    { what: 'CL 42 twice (two fields, same value)', lines: ['Content-Length: 42', 'Content-Length: 42'], framing: { kind: 'length', length: 42 } },
    { what: 'CL ` 5 ` (OWS is trimmed)', lines: ['Content-Length:   5 \t'], framing: { kind: 'length', length: 5 } },
    { what: 'CL 15 digits', lines: ['Content-Length: 999999999999999'], framing: { kind: 'length', length: 999999999999999 } },
    { what: 'CL 16 digits (10^15)', lines: ['Content-Length: 1000000000000000'], framing: { kind: 'length', length: 1e15 } },
    { what: 'CL 2^53 - 1, the largest', lines: [`Content-Length: ${2 ** 53 - 1}`], framing: { kind: 'length', length: 2 ** 53 - 1 } },
    { what: 'two different CLs (two fields)', lines: ['Content-Length: 42', 'Content-Length: 43'], error: 'BAD_REQUEST', status: 400 },
    { what: 'two different CLs (one list)', lines: ['Content-Length: 42, 43'], error: 'BAD_REQUEST', status: 400 },
    { what: 'CL 0 then CL 5', lines: ['Content-Length: 0', 'Content-Length: 5'], error: 'BAD_REQUEST', status: 400 },
    { what: 'CL `5 5`', lines: ['Content-Length: 5 5'], error: 'BAD_REQUEST', status: 400 },
    { what: 'CL `+5`', lines: ['Content-Length: +5'], error: 'BAD_REQUEST', status: 400 },
    { what: 'CL `-1`', lines: ['Content-Length: -1'], error: 'BAD_REQUEST', status: 400 },
    { what: 'CL `0x5`', lines: ['Content-Length: 0x5'], error: 'BAD_REQUEST', status: 400 },
    { what: 'CL `1e3`', lines: ['Content-Length: 1e3'], error: 'BAD_REQUEST', status: 400 },
    { what: 'CL `5.0`', lines: ['Content-Length: 5.0'], error: 'BAD_REQUEST', status: 400 },
    { what: 'CL empty', lines: ['Content-Length:'], error: 'BAD_REQUEST', status: 400 },
    { what: 'CL `5,` (empty member)', lines: ['Content-Length: 5,'], error: 'BAD_REQUEST', status: 400 },
    { what: 'CL full-width digit', lines: ['Content-Length: \xef\xbc\x95'], error: 'BAD_REQUEST', status: 400 },
    { what: `CL 2^53 (${TWO_53})`, lines: [`Content-Length: ${TWO_53}`], error: 'BAD_REQUEST', status: 400 },
    { what: 'CL 20 digits', lines: ['Content-Length: 12345678901234567890'], error: 'BAD_REQUEST', status: 400 },
    { what: 'CL 400 digits', lines: [`Content-Length: ${'9'.repeat(400)}`], error: 'BAD_REQUEST', status: 400 },
    { what: 'TE chunked', lines: ['Transfer-Encoding: chunked'], framing: { kind: 'chunked' } },
    { what: 'TE Chunked (codings are case-insensitive)', lines: ['Transfer-Encoding: Chunked'], framing: { kind: 'chunked' } },
    { what: 'CL + TE', lines: ['Content-Length: 5', 'Transfer-Encoding: chunked'], error: 'BAD_REQUEST', status: 400 },
    { what: 'TE + CL', lines: ['Transfer-Encoding: chunked', 'Content-Length: 5'], error: 'BAD_REQUEST', status: 400 },
    { what: 'TE + CL 0', lines: ['Transfer-Encoding: chunked', 'Content-Length: 0'], error: 'BAD_REQUEST', status: 400 },
    { what: 'TE `gzip, chunked` -> 501', lines: ['Transfer-Encoding: gzip, chunked'], error: 'NOT_IMPLEMENTED', status: 501 },
    { what: 'TE gzip + TE chunked fields -> 501', lines: ['Transfer-Encoding: gzip', 'Transfer-Encoding: chunked'], error: 'NOT_IMPLEMENTED', status: 501 },
    { what: 'TE `chunked, gzip`', lines: ['Transfer-Encoding: chunked, gzip'], error: 'BAD_REQUEST', status: 400 },
    { what: 'TE `chunked, chunked`', lines: ['Transfer-Encoding: chunked, chunked'], error: 'BAD_REQUEST', status: 400 },
    { what: 'TE chunked twice (two fields)', lines: ['Transfer-Encoding: chunked', 'Transfer-Encoding: chunked'], error: 'BAD_REQUEST', status: 400 },
    { what: 'TE `chunked;q=1`', lines: ['Transfer-Encoding: chunked;q=1'], error: 'BAD_REQUEST', status: 400 },
    { what: 'TE `xchunked`', lines: ['Transfer-Encoding: xchunked'], error: 'BAD_REQUEST', status: 400 },
    { what: 'TE `chunkedx`', lines: ['Transfer-Encoding: chunkedx'], error: 'BAD_REQUEST', status: 400 },
    { what: 'TE `"chunked"`', lines: ['Transfer-Encoding: "chunked"'], error: 'BAD_REQUEST', status: 400 },
    { what: 'TE `gzip`', lines: ['Transfer-Encoding: gzip'], error: 'BAD_REQUEST', status: 400 },
    { what: 'TE `identity`', lines: ['Transfer-Encoding: identity'], error: 'BAD_REQUEST', status: 400 },
    { what: 'TE empty', lines: ['Transfer-Encoding:'], error: 'BAD_REQUEST', status: 400 },
    { what: 'TE in HTTP/1.0', version: '1.0', lines: ['Transfer-Encoding: chunked'], error: 'BAD_REQUEST', status: 400 },
    { what: 'CL in HTTP/1.0', version: '1.0', lines: ['Content-Length: 7'], framing: { kind: 'length', length: 7 } },
    // 0xA0 (NBSP in latin1) is obs-text, part of the value: only SP and HTAB are OWS (RFC 9110 §5.6.3).
    { what: 'CL `\\xa05`', lines: ['Content-Length: \xa05'], error: 'BAD_REQUEST', status: 400 },
    { what: 'CL `5\\xa0`', lines: ['Content-Length: 5\xa0'], error: 'BAD_REQUEST', status: 400 },
    { what: 'CL `5\\xa0,\\xa05`', lines: ['Content-Length: 5\xa0,\xa05'], error: 'BAD_REQUEST', status: 400 },
    { what: 'CL `5,\\t5` (a tab is OWS)', lines: ['Content-Length: 5,\t5'], framing: { kind: 'length', length: 5 } },
    { what: 'TE `\\xa0chunked`', lines: ['Transfer-Encoding: \xa0chunked'], error: 'BAD_REQUEST', status: 400 },
    { what: 'TE `chunked\\xa0`', lines: ['Transfer-Encoding: chunked\xa0'], error: 'BAD_REQUEST', status: 400 },
    { what: 'TE `gzip,\\xa0chunked`', lines: ['Transfer-Encoding: gzip,\xa0chunked'], error: 'BAD_REQUEST', status: 400 },
  ]
  for (const row of rows) {
    it(row.what, () => {
      const h = head(row.lines, row.version)
      if (row.framing) {
        expect(bodyFraming(h)).toEqual(row.framing)
        expect(interpretHead(h).framing).toEqual(row.framing)
      } else {
        expect(errorOf(() => bodyFraming(h))).toEqual({ code: row.error, status: row.status })
        expect(errorOf(() => interpretHead(h))).toEqual({ code: row.error, status: row.status })
      }
    })
  }

  it('declaresBody: any CL or TE, even CL 0', () => {
    expect(declaresBody(head([]))).toBe(false)
    expect(declaresBody(head(['Content-Length: 0']))).toBe(true)
    expect(declaresBody(head(['Transfer-Encoding: chunked']))).toBe(true)
  })
})

describe('Host', () => {
  const rows: Array<{ what: string; lines: string[]; version?: '1.0' | '1.1'; error?: ErrorCode }> = [
    { what: 'one Host on 1.1', lines: ['Host: example.com:8080'] },
    { what: 'IPv6 literal', lines: ['Host: [::1]:4000'] },
    { what: 'empty Host (allowed by RFC 9110 §7.2)', lines: ['Host:'] },
    { what: 'missing Host on 1.1', lines: ['X-No-Host: 1'], error: 'BAD_REQUEST' },
    { what: 'two Host on 1.1', lines: ['Host: a', 'Host: a'], error: 'BAD_REQUEST' },
    { what: 'two different Host on 1.1', lines: ['Host: a', 'Host: b'], error: 'BAD_REQUEST' },
    { what: 'Host with a comma list', lines: ['Host: a, b'], error: 'BAD_REQUEST' },
    { what: 'Host with a space', lines: ['Host: a b'], error: 'BAD_REQUEST' },
    { what: 'Host with userinfo', lines: ['Host: user@a'], error: 'BAD_REQUEST' },
    { what: 'Host with a path', lines: ['Host: a/b'], error: 'BAD_REQUEST' },
    { what: 'no Host on 1.0 is fine', version: '1.0', lines: [] },
    { what: 'one Host on 1.0', version: '1.0', lines: ['Host: a'] },
    { what: 'two Host on 1.0', version: '1.0', lines: ['Host: a', 'Host: b'], error: 'BAD_REQUEST' },
  ]
  for (const row of rows) {
    it(`${row.what} -> ${row.error ?? 'ok'}`, () => {
      const h = head(row.lines, row.version, 'GET')
      expect(errorOf(() => interpretHead(h))?.code ?? null).toBe(row.error ?? null)
    })
  }
})

describe('Expect', () => {
  const rows: Array<{ what: string; lines: string[]; version?: '1.0' | '1.1'; expect?: boolean; error?: ErrorCode }> = [
    { what: 'none', lines: [], expect: false },
    { what: '100-continue', lines: ['Expect: 100-continue'], expect: true },
    { what: '100-Continue (case-insensitive)', lines: ['Expect: 100-Continue'], expect: true },
    { what: 'foo -> 417', lines: ['Expect: foo'], error: 'EXPECTATION_FAILED' },
    { what: '100-continue, foo -> 417', lines: ['Expect: 100-continue, foo'], error: 'EXPECTATION_FAILED' },
    { what: '100-continue with a parameter -> 417', lines: ['Expect: 100-continue; x=1'], error: 'EXPECTATION_FAILED' },
    { what: 'foo ignored in HTTP/1.0', version: '1.0', lines: ['Expect: foo'], expect: false },
    { what: '100-continue ignored in HTTP/1.0', version: '1.0', lines: ['Expect: 100-continue'], expect: false },
    { what: '\\xa0100-continue -> 417', lines: ['Expect: \xa0100-continue'], error: 'EXPECTATION_FAILED' },
  ]
  for (const row of rows) {
    it(`${row.what}`, () => {
      const h = head([...row.lines, 'Content-Length: 10'], row.version)
      if (row.error) {
        expect(errorOf(() => interpretHead(h))).toEqual({ code: row.error, status: 417 })
      } else {
        expect(interpretHead(h).expectContinue).toBe(row.expect)
      }
    })
  }

  it('framing errors win over Expect (400 before 417)', () => {
    expect(errorOf(() => interpretHead(head(['Expect: foo', 'Content-Length: 1', 'Content-Length: 2'])))?.status).toBe(400)
  })
})

describe('keep-alive', () => {
  const rows: Array<{ what: string; lines: string[]; version: '1.0' | '1.1'; keepAlive: boolean }> = [
    { what: '1.1 default', version: '1.1', lines: [], keepAlive: true },
    { what: '1.1 Connection: close', version: '1.1', lines: ['Connection: close'], keepAlive: false },
    { what: '1.1 Connection: Close', version: '1.1', lines: ['Connection: Close'], keepAlive: false },
    { what: '1.1 Connection: keep-alive, close', version: '1.1', lines: ['Connection: keep-alive, close'], keepAlive: false },
    { what: '1.1 close in a second Connection field', version: '1.1', lines: ['Connection: keep-alive', 'Connection: close'], keepAlive: false },
    { what: '1.1 Connection: keep-alive', version: '1.1', lines: ['Connection: keep-alive'], keepAlive: true },
    { what: '1.1 Connection: Upgrade', version: '1.1', lines: ['Connection: Upgrade'], keepAlive: true },
    { what: '1.0 default', version: '1.0', lines: [], keepAlive: false },
    { what: '1.0 Connection: keep-alive', version: '1.0', lines: ['Connection: keep-alive'], keepAlive: true },
    { what: '1.0 Connection: Keep-Alive', version: '1.0', lines: ['Connection: Keep-Alive'], keepAlive: true },
    { what: '1.0 keep-alive, close', version: '1.0', lines: ['Connection: keep-alive, close'], keepAlive: false },
    { what: '1.0 Connection: close', version: '1.0', lines: ['Connection: close'], keepAlive: false },
    { what: '1.0 `\\xa0keep-alive` is not keep-alive', version: '1.0', lines: ['Connection: \xa0keep-alive'], keepAlive: false },
    { what: '1.1 `close\\xa0` is not close', version: '1.1', lines: ['Connection: close\xa0'], keepAlive: true },
  ]
  for (const row of rows) {
    it(row.what, () => {
      const s: Semantics = interpretHead(head(row.lines, row.version, 'GET'))
      expect(s).toEqual({ framing: { kind: 'none' }, keepAlive: row.keepAlive, expectContinue: false })
    })
  }
})
