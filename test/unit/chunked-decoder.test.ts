// ChunkedDecoder (RFC 9112 §7.1, strictly): valid bodies decode to the same payload and stop at
// the same byte whatever the cuts; malformed ones throw BAD_REQUEST at every cut.
import { describe, expect, it } from 'vitest'
import { HttpError, type ErrorCode } from '../../src/errors.js'
import { ChunkedDecoder } from '../../src/http/chunked-decoder.js'
import { MAX_CHUNK_EXTENSION_BYTES, MAX_CHUNK_LINE_BYTES, MAX_TRAILER_BYTES } from '../../src/limits.js'
import { allSplits, onePiece, randomSplits, twoWayCuts, type Splitting } from '../helpers/splits.js'

const b = (s: string) => Buffer.from(s, 'latin1')

interface Decoded {
  payload: string
  done: boolean
  /** Bytes of the input the decoder consumed (its body ends there once done). */
  consumed: number
  error: ErrorCode | null
}

function decode(chunks: readonly Buffer[]): Decoded {
  const parts: Buffer[] = []
  const d = new ChunkedDecoder((slice) => {
    if (slice.length === 0) throw new Error('empty payload slice')
    parts.push(Buffer.from(slice))
  })
  let consumed = 0
  let error: ErrorCode | null = null
  try {
    for (const chunk of chunks) {
      if (d.done) break
      const end = d.push(chunk, 0)
      if (end < 0 || end > chunk.length) throw new Error(`push returned ${end} for ${chunk.length} bytes`)
      if (!d.done && end !== chunk.length) throw new Error('stopped early without being done')
      consumed += end
    }
  } catch (err) {
    if (!(err instanceof HttpError)) throw err
    error = err.code
  }
  return { payload: Buffer.concat(parts).toString('latin1'), done: d.done, consumed, error }
}

function expectEverySplit(input: Buffer, expected: Decoded, splits: Iterable<Splitting> = allSplits(input)): number {
  const want = JSON.stringify(expected)
  let n = 0
  for (const s of splits) {
    const got = decode(s.chunks)
    if (JSON.stringify(got) !== want) expect(got, s.label).toEqual(expected)
    n++
  }
  return n
}

describe('valid chunked bodies, every split', () => {
  const rows: Array<{ what: string; wire: string; payload: string; leftover?: string }> = [
    { what: 'one chunk', wire: '5\r\nhello\r\n0\r\n\r\n', payload: 'hello' },
    { what: 'no data at all', wire: '0\r\n\r\n', payload: '' },
    { what: 'multiple chunks', wire: '3\r\nabc\r\n1\r\nd\r\n4\r\nefgh\r\n0\r\n\r\n', payload: 'abcdefgh' },
    { what: 'uppercase hex', wire: 'A\r\n0123456789\r\n1F\r\n' + 'x'.repeat(31) + '\r\n0\r\n\r\n', payload: '0123456789' + 'x'.repeat(31) },
    { what: 'mixed-case hex', wire: 'aB\r\n' + 'y'.repeat(0xab) + '\r\n0\r\n\r\n', payload: 'y'.repeat(0xab) },
    { what: 'leading zeros', wire: '0005\r\nhello\r\n000\r\n\r\n', payload: 'hello' },
    { what: '13 hex digits is still fine', wire: '0000000000003\r\nabc\r\n0000000000000\r\n\r\n', payload: 'abc' },
    { what: 'data holding CRLF and a fake last chunk', wire: '9\r\n\r\n0\r\n\r\nxx\r\n0\r\n\r\n', payload: '\r\n0\r\n\r\nxx' },
    { what: 'binary data', wire: '4\r\n\x00\xff\r\x0a\r\n0\r\n\r\n', payload: '\x00\xff\r\n' },
    { what: 'valueless extension', wire: '5;foo\r\nhello\r\n0\r\n\r\n', payload: 'hello' },
    { what: 'token extension', wire: '5;name=value\r\nhello\r\n0\r\n\r\n', payload: 'hello' },
    { what: 'several extensions', wire: '5;a=1;b;c=x-y.z\r\nhello\r\n0;last\r\n\r\n', payload: 'hello' },
    { what: 'extensions with BWS (SP)', wire: '5 ; a = 1 ; b\r\nhello\r\n0\r\n\r\n', payload: 'hello' },
    { what: 'extensions with BWS (HTAB)', wire: '5\t;\ta\t=\t1\r\nhello\r\n0\r\n\r\n', payload: 'hello' },
    { what: 'quoted-string value', wire: '5;name="quoted value; with = signs"\r\nhello\r\n0\r\n\r\n', payload: 'hello' },
    { what: 'quoted-string with escapes', wire: '5;n="a \\"b\\" \\\\ c \\x"\r\nhello\r\n0\r\n\r\n', payload: 'hello' },
    { what: 'empty quoted-string', wire: '5;n=""\r\nhello\r\n0\r\n\r\n', payload: 'hello' },
    { what: 'quoted-string with obs-text', wire: '5;n="F\xc3\xb6"\r\nhello\r\n0\r\n\r\n', payload: 'hello' },
    { what: 'extension on the last chunk', wire: '5\r\nhello\r\n0;x="y"\r\n\r\n', payload: 'hello' },
    { what: 'trailers', wire: '5\r\nhello\r\n0\r\nX-Checksum: sha256-abc=\r\nX-Count:3\r\nX-Empty:\r\n\r\n', payload: 'hello' },
    { what: 'trailer value with OWS and obs-text', wire: '5\r\nhello\r\n0\r\nX-A: \t a b \xe9 \r\n\r\n', payload: 'hello' },
    { what: 'leftover: next pipelined request', wire: '5\r\nhello\r\n0\r\n\r\n', payload: 'hello', leftover: 'GET / HTTP/1.1\r\nHost: a\r\n\r\n' },
    { what: 'leftover after trailers', wire: '1\r\nz\r\n0\r\nT: 1\r\n\r\n', payload: 'z', leftover: '0\r\n\r\n' },
    { what: 'leftover that looks like a chunk', wire: '0\r\n\r\n', payload: '', leftover: '5\r\nhello\r\n0\r\n\r\n' },
  ]
  for (const row of rows) {
    it(row.what, () => {
      const body = b(row.wire)
      const input = Buffer.concat([body, b(row.leftover ?? '')])
      const expected: Decoded = { payload: row.payload, done: true, consumed: body.length, error: null }
      expect(decode([input])).toEqual(expected)
      expectEverySplit(input, expected)
    })
  }

  it('push returns the index where the body ended, from any start offset', () => {
    const input = b('XXX5\r\nhello\r\n0\r\n\r\nNEXT')
    const d = new ChunkedDecoder(() => {})
    expect(d.push(input, 3)).toBe(input.length - 4)
    expect(d.done).toBe(true)
    // Once done it takes nothing more.
    expect(d.push(input, input.length - 4)).toBe(input.length - 4)
    expect(d.push(b('more'), 0)).toBe(0)
  })

  it('payload slices are views of the pushed buffer (no copy of the data)', () => {
    const input = b('a\r\n0123456789\r\n0\r\n\r\n')
    const slices: Buffer[] = []
    new ChunkedDecoder((s) => slices.push(s)).push(input, 0)
    expect(slices).toHaveLength(1)
    expect(slices[0]!.buffer).toBe(input.buffer)
  })
})

describe('incomplete bodies are not done (and not an error)', () => {
  const rows: Array<[string, string, string]> = [
    ['last chunk without the final CRLF', '5\r\nhello\r\n0\r\n', 'hello'],
    ['last chunk with half the final CRLF', '5\r\nhello\r\n0\r\n\r', 'hello'],
    ['trailer without the final CRLF', '5\r\nhello\r\n0\r\nX-A: 1\r\n', 'hello'],
    ['in the middle of data', '5\r\nhel', 'hel'],
    ['after data, before its CRLF', '5\r\nhello', 'hello'],
    ['in a size line', '5\r\nhello\r\n1', 'hello'],
    ['in an extension', '5;name="val', ''],
    ['nothing yet', '', ''],
  ]
  for (const [what, wire, payload] of rows) {
    it(what, () => {
      const input = b(wire)
      const expected: Decoded = { payload, done: false, consumed: input.length, error: null }
      expect(decode([input])).toEqual(expected)
      if (input.length > 0) expectEverySplit(input, expected)
    })
  }
})

describe('malformed chunked bodies: BAD_REQUEST at every split', () => {
  const rows: Array<{ what: string; wire: string; code?: ErrorCode }> = [
    { what: '`2;` (extension without a name)', wire: '2;\r\nab\r\n0\r\n\r\n' },
    { what: '`2;;a`', wire: '2;;a\r\nab\r\n0\r\n\r\n' },
    { what: '`a ` (trailing space)', wire: 'a \r\n0123456789\r\n0\r\n\r\n' },
    { what: '`a\\t` (trailing tab)', wire: 'a\t\r\n0123456789\r\n0\r\n\r\n' },
    { what: 'trailing space after an extension name', wire: '5;a \r\nhello\r\n0\r\n\r\n' },
    { what: 'trailing space after an extension value', wire: '5;a=b \r\nhello\r\n0\r\n\r\n' },
    { what: '`0x5`', wire: '0x5\r\nhello\r\n0\r\n\r\n' },
    { what: '`+5`', wire: '+5\r\nhello\r\n0\r\n\r\n' },
    { what: '`-1`', wire: '-1\r\nx\r\n0\r\n\r\n' },
    { what: 'leading space', wire: ' 5\r\nhello\r\n0\r\n\r\n' },
    { what: '`5 5`', wire: '5 5\r\nhello\r\n0\r\n\r\n' },
    { what: 'non-hex digit `g`', wire: '5g\r\nhello\r\n0\r\n\r\n' },
    { what: 'empty size line', wire: '\r\nhello\r\n0\r\n\r\n' },
    { what: 'empty size line after a chunk', wire: '5\r\nhello\r\n\r\n0\r\n\r\n' },
    { what: '14 hex digits (overflow guard)', wire: '10000000000000\r\nx\r\n0\r\n\r\n' },
    { what: '14 hex digits, leading zeros', wire: '00000000000005\r\nhello\r\n0\r\n\r\n' },
    { what: '16 hex digits (2^64-1)', wire: 'ffffffffffffffff\r\nx\r\n0\r\n\r\n' },
    { what: 'missing CRLF after data', wire: '5\r\nhelloX\r\n0\r\n\r\n' },
    { what: 'data longer than announced', wire: '3\r\nhello\r\n0\r\n\r\n' },
    { what: 'LF only after data', wire: '5\r\nhello\n0\r\n\r\n' },
    { what: 'CR only after data', wire: '5\r\nhello\r0\r\n\r\n' },
    { what: 'bare LF ending the size line', wire: '5\nhello\r\n0\r\n\r\n' },
    { what: 'bare LF ending an extension', wire: '5;a=b\nhello\r\n0\r\n\r\n' },
    { what: 'bare LF ending the last-chunk line', wire: '5\r\nhello\r\n0\n\r\n' },
    { what: 'bare CR in the size line', wire: '5\r;a\r\nhello\r\n0\r\n\r\n' },
    { what: 'bare CR in an extension name', wire: '5;a\rb\r\nhello\r\n0\r\n\r\n' },
    { what: 'bare CR in a quoted extension value', wire: '5;a="x\ry"\r\nhello\r\n0\r\n\r\n' },
    { what: 'bare CR escaped in a quoted extension value', wire: '5;a="\\\r"\r\nhello\r\n0\r\n\r\n' },
    { what: 'NUL escaped in a quoted extension value', wire: '5;a="\\\x00"\r\nhello\r\n0\r\n\r\n' },
    { what: 'NUL in a quoted extension value', wire: '5;a="\x00"\r\nhello\r\n0\r\n\r\n' },
    { what: 'unterminated quoted extension value', wire: '5;a="abc\r\nhello\r\n0\r\n\r\n' },
    { what: 'backslash at the end of a quoted value', wire: '5;a="abc\\"\r\nhello\r\n0\r\n\r\n' },
    { what: 'extension without a name, with a value', wire: '5;=x\r\nhello\r\n0\r\n\r\n' },
    { what: 'extension with an empty value', wire: '5;a=\r\nhello\r\n0\r\n\r\n' },
    { what: 'extension value with a space', wire: '5;a=b c\r\nhello\r\n0\r\n\r\n' },
    { what: 'extension value with a comma', wire: '5;a=b,c\r\nhello\r\n0\r\n\r\n' },
    { what: 'extension separated by a comma', wire: '5,a\r\nhello\r\n0\r\n\r\n' },
    { what: 'garbage after the last chunk instead of CRLF', wire: '5\r\nhello\r\n0\r\nGARBAGE\r\n' },
    { what: 'a request line after the last chunk instead of CRLF', wire: '5\r\nhello\r\n0\r\nGET / HTTP/1.1\r\n' },
    { what: 'bare CR after the last chunk', wire: '5\r\nhello\r\n0\r\n\rX\r\n' },
    { what: 'CR CR LF after the last chunk', wire: '5\r\nhello\r\n0\r\n\r\r\n' },
    { what: 'bare LF after the last chunk', wire: '5\r\nhello\r\n0\r\n\n' },
    { what: 'trailer without a colon', wire: '5\r\nhello\r\n0\r\nX-Checksum abc\r\n\r\n' },
    { what: 'trailer with a space before the colon', wire: '5\r\nhello\r\n0\r\nX-Checksum : abc\r\n\r\n' },
    { what: 'trailer with an empty name', wire: '5\r\nhello\r\n0\r\n: abc\r\n\r\n' },
    { what: 'trailer obs-fold', wire: '5\r\nhello\r\n0\r\nX-A: 1\r\n 2\r\n\r\n' },
    { what: 'trailer with NUL in the value', wire: '5\r\nhello\r\n0\r\nX-A: \x00\r\n\r\n' },
    { what: 'trailer with a bare CR in the value', wire: '5\r\nhello\r\n0\r\nX-A: a\rb\r\n\r\n' },
    { what: 'trailer ended by a bare LF', wire: '5\r\nhello\r\n0\r\nX-A: 1\n\r\n' },
  ]
  for (const row of rows) {
    const code = row.code ?? 'BAD_REQUEST'
    it(`${row.what} -> ${code}`, () => {
      const input = b(row.wire)
      let n = 0
      for (const s of allSplits(input)) {
        const got = decode(s.chunks)
        expect(got.error, s.label).toBe(code)
        expect(got.done, s.label).toBe(false)
        n++
      }
      expect(n).toBe(input.length + 1)
    })
  }

  const sampled = (buf: Buffer): Splitting[] => [onePiece(buf), ...[...twoWayCuts(buf)].filter((_, i) => i % 101 === 0), ...randomSplits(buf, 5, 11, 512)]

  it('a size line over the limit is BAD_REQUEST, at the limit it is fine', () => {
    const ext = (n: number) => ';e=' + 'v'.repeat(n - 3)
    // The line counts its CRLF: `5` + ext + CRLF.
    const ok = b(`5${ext(MAX_CHUNK_LINE_BYTES - 3)}\r\nhello\r\n0\r\n\r\n`)
    const over = b(`5${ext(MAX_CHUNK_LINE_BYTES - 2)}\r\nhello\r\n0\r\n\r\n`)
    const endless = b(`5;e=${'v'.repeat(3 * MAX_CHUNK_LINE_BYTES)}`)
    for (const s of sampled(ok)) expect(decode(s.chunks), s.label).toEqual({ payload: 'hello', done: true, consumed: ok.length, error: null })
    for (const s of sampled(over)) expect(decode(s.chunks).error, s.label).toBe('BAD_REQUEST')
    for (const s of sampled(endless)) expect(decode(s.chunks).error, s.label).toBe('BAD_REQUEST')
  })

  it('chunk extensions over the limit in all (many 1-byte chunks, each within its line limit) are BAD_REQUEST, at the limit fine', () => {
    // 1-byte chunks whose extensions (`;e=` and the value) add up to exactly the limit, then one byte more.
    const per = 1024
    const chunk = (n: number) => `1;e=${'v'.repeat(n - 3)}\r\nx\r\n`
    const full = MAX_CHUNK_EXTENSION_BYTES / per
    const ok = b(chunk(per).repeat(full) + '0\r\n\r\n')
    const over = b(chunk(per).repeat(full) + '1;e\r\nx\r\n0\r\n\r\n')
    expect(decode([ok])).toEqual({ payload: 'x'.repeat(full), done: true, consumed: ok.length, error: null })
    for (const s of sampled(over)) expect(decode(s.chunks).error, s.label).toBe('BAD_REQUEST')
  })

  it('a trailer section over the limit is HEADERS_TOO_LARGE', () => {
    const field = `X-Pad: ${'p'.repeat(1000)}\r\n`
    const over = b('0\r\n' + field.repeat(Math.ceil(MAX_TRAILER_BYTES / field.length) + 1) + '\r\n')
    const endless = b('0\r\nX-Pad: ' + 'p'.repeat(2 * MAX_TRAILER_BYTES))
    for (const s of sampled(over)) expect(decode(s.chunks).error, s.label).toBe('HEADERS_TOO_LARGE')
    for (const s of sampled(endless)) expect(decode(s.chunks).error, s.label).toBe('HEADERS_TOO_LARGE')
  })

  it('the error is thrown by the push that completes the bad line, not earlier', () => {
    const d = new ChunkedDecoder(() => {})
    expect(d.push(b('5\r\nhello\r\n2;'), 0)).toBe(12)
    expect(() => d.push(b('\r\n'), 0)).toThrow(HttpError)
  })
})

describe('memory held for a line split across reads', () => {
  it('a trailer line waiting for its end costs about its own size per connection, not ~12 times that', () => {
    // 200 connections, each 15 KiB into a trailer line, as a client can leave them.
    const line = b('X-Pad: ' + 'a'.repeat(15 * 1024 - 7))
    const before = process.memoryUsage()
    const held = Array.from({ length: 200 }, () => {
      const d = new ChunkedDecoder(() => {})
      d.push(b('0\r\n'), 0)
      for (let i = 0; i < line.length; i += 1024) d.push(line.subarray(i, i + 1024), 0)
      return d
    })
    const after = process.memoryUsage()
    const grown = after.heapUsed - before.heapUsed + (after.arrayBuffers - before.arrayBuffers)
    // As numbers in an array, ~195 KB each (39 MB here); as bytes, at most twice the line.
    expect(grown / held.length).toBeLessThan(64 * 1024)
  })
})
