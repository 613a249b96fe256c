// Malformed and hostile request heads and framings against the real CLI over raw sockets: each
// gets the exact SPEC §3 status, and where the framing can no longer be trusted the connection is
// closed. Smuggling attempts (CL.TE, TE.CL, duplicate CL, `Transfer-Encoding : chunked` …) must
// never get a hidden second request executed.
import { readdirSync } from 'node:fs'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { removeDir, startCli, type Cli } from '../helpers/cli.js'
import { rawRequest, statuses, type RawResult } from '../helpers/raw.js'

/** Joins field lines into a head: `r('GET / HTTP/1.1', 'Host: x')`. */
const r = (...lines: string[]) => lines.join('\r\n') + '\r\n\r\n'
const H = 'Host: x'
/** A well-formed request that ends the connection; sent after a row to prove it stayed usable. */
const FOLLOW_UP = r('GET / HTTP/1.1', H, 'Connection: close')

type Close =
  /** The framing can't be trusted: exactly one answer, `Connection: close`, socket closed. */
  | 'closed'
  /** The connection must survive: a follow-up request on it is answered too. */
  | 'kept'
  /** Not asserted (the request itself asks for close). */
  | 'either'

interface Row {
  what: string
  request: string | Buffer | Array<string | Buffer>
  status: number
  close: Close
  /** Half-close our side after writing (a client that gave up mid-body). */
  endAfterWrite?: boolean
  gapMs?: number
  check?: (res: RawResult) => void
}

const chunkedPut = (body: string, target = '/c.txt', ...extra: string[]) =>
  r(`PUT ${target} HTTP/1.1`, H, 'Transfer-Encoding: chunked', ...extra) + body

const ROWS: Row[] = [
  // --- line endings and bytes ---------------------------------------------------------------
  { what: 'bare LF line endings', request: 'GET / HTTP/1.1\nHost: x\n\n', status: 400, close: 'closed' },
  { what: 'bare LF ending one header line', request: 'GET / HTTP/1.1\r\nHost: x\nX-A: 1\r\n\r\n', status: 400, close: 'closed' },
  { what: 'bare LF ending the head', request: 'GET / HTTP/1.1\r\nHost: x\r\n\n', status: 400, close: 'closed' },
  { what: 'bare CR in a header value', request: r('GET / HTTP/1.1', H, 'X-A: a\rb'), status: 400, close: 'closed' },
  { what: 'bare CR ending the request line', request: 'GET / HTTP/1.1\rXHost: x\r\n\r\n', status: 400, close: 'closed' },
  { what: 'bare CR split across writes', request: ['GET / HTTP/1.1\r', 'XHost: x\r\n\r\n'], gapMs: 20, status: 400, close: 'closed' },
  { what: 'obs-fold', request: r('GET / HTTP/1.1', H, 'X-A: a', ' folded'), status: 400, close: 'closed' },
  { what: 'space before colon', request: r('GET / HTTP/1.1', 'Host : x'), status: 400, close: 'closed' },
  { what: 'empty header name', request: r('GET / HTTP/1.1', H, ': x'), status: 400, close: 'closed' },
  { what: 'header line without a colon', request: r('GET / HTTP/1.1', H, 'X-A'), status: 400, close: 'closed' },
  { what: 'NUL in a value', request: r('GET / HTTP/1.1', H, 'X-A: a\x00b'), status: 400, close: 'closed' },
  { what: 'DEL in a value', request: r('GET / HTTP/1.1', H, 'X-A: a\x7fb'), status: 400, close: 'closed' },
  { what: 'vertical tab before a value', request: r('GET / HTTP/1.1', H, 'X-A:\x0bb'), status: 400, close: 'closed' },
  // --- request line ---------------------------------------------------------------------------
  { what: 'request line with two spaces', request: r('GET  / HTTP/1.1', H), status: 400, close: 'closed' },
  { what: 'trailing space after the version', request: r('GET / HTTP/1.1 ', H), status: 400, close: 'closed' },
  { what: 'leading space before the method', request: r(' GET / HTTP/1.1', H), status: 400, close: 'closed' },
  { what: 'no version (HTTP/0.9 style)', request: 'GET /\r\n\r\n', status: 400, close: 'closed' },
  {
    what: 'lowercase `get` is an unknown method',
    request: r('get / HTTP/1.1', H),
    status: 405,
    close: 'kept',
    check: (res) => expect(res.text).toMatch(/\r\nAllow: GET, HEAD, POST, PUT, OPTIONS\r\n/),
  },
  { what: 'unknown method BREW', request: r('BREW / HTTP/1.1', H), status: 405, close: 'kept' },
  { what: 'DELETE', request: r('DELETE /x.txt HTTP/1.1', H), status: 405, close: 'kept' },
  { what: 'HTTP/1.2', request: r('GET / HTTP/1.2', H), status: 505, close: 'closed' },
  { what: 'HTTP/2.0', request: r('GET / HTTP/2.0', H), status: 505, close: 'closed' },
  { what: 'HTTP/2 connection preface', request: 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', status: 505, close: 'closed' },
  { what: 'HTTP/1.10', request: r('GET / HTTP/1.10', H), status: 400, close: 'closed' },
  { what: 'http/1.1 (lowercase)', request: r('GET / http/1.1', H), status: 400, close: 'closed' },
  { what: 'target over 8 KiB', request: r(`GET /${'a'.repeat(8 * 1024)} HTTP/1.1`, H), status: 414, close: 'closed' },
  { what: 'target of 64 KiB, no end in sight', request: `GET /${'a'.repeat(64 * 1024)}`, status: 414, close: 'closed' },
  // The same bytes get the same answer wherever TCP cuts them: a long method or version is no long target.
  { what: 'a 9,000-byte method, cut after it', request: ['A'.repeat(9000), ` / HTTP/1.1\r\n${H}\r\n\r\n`], gapMs: 50, status: 405, close: 'kept' },
  { what: 'a 9,000-byte version, cut before its CRLF', request: [`GET / ${'H'.repeat(9000)}`, `\r\n${H}\r\n\r\n`], gapMs: 50, status: 400, close: 'closed' },
  { what: 'a 20,000-byte method', request: r(`${'A'.repeat(20_000)} / HTTP/1.1`, H), status: 431, close: 'closed' },
  { what: 'head over 16 KiB', request: r('GET / HTTP/1.1', H, ...Array.from({ length: 20 }, (_, i) => `X-Pad-${i}: ${'p'.repeat(900)}`)), status: 431, close: 'closed' },
  { what: '101 header fields', request: r('GET / HTTP/1.1', H, ...Array.from({ length: 100 }, (_, i) => `X-F${i}: ${i}`)), status: 431, close: 'closed' },
  { what: 'non-ASCII byte in the target', request: r('GET /caf\xe9 HTTP/1.1', H), status: 400, close: 'closed' },
  { what: 'fragment in the target', request: r('GET /#frag HTTP/1.1', H), status: 400, close: 'closed' },
  { what: 'asterisk-form with GET', request: r('GET * HTTP/1.1', H), status: 400, close: 'closed' },
  // --- Host ------------------------------------------------------------------------------------
  { what: 'missing Host on 1.1', request: r('GET / HTTP/1.1', 'X-A: 1'), status: 400, close: 'closed' },
  { what: 'duplicate Host', request: r('GET / HTTP/1.1', H, H), status: 400, close: 'closed' },
  { what: 'Host with whitespace inside', request: r('GET / HTTP/1.1', 'Host: a b'), status: 400, close: 'closed' },
  // --- framing -------------------------------------------------------------------------------
  { what: 'CL + TE', request: r('PUT /a.txt HTTP/1.1', H, 'Content-Length: 5', 'Transfer-Encoding: chunked') + '0\r\n\r\n', status: 400, close: 'closed' },
  { what: 'two different CLs', request: r('PUT /a.txt HTTP/1.1', H, 'Content-Length: 5', 'Content-Length: 6') + 'hello!', status: 400, close: 'closed' },
  { what: 'CL list `5, 6`', request: r('PUT /a.txt HTTP/1.1', H, 'Content-Length: 5, 6') + 'hello!', status: 400, close: 'closed' },
  { what: 'CL `+5`', request: r('PUT /a.txt HTTP/1.1', H, 'Content-Length: +5') + 'hello', status: 400, close: 'closed' },
  { what: 'CL `-1`', request: r('PUT /a.txt HTTP/1.1', H, 'Content-Length: -1'), status: 400, close: 'closed' },
  { what: 'CL `0x5`', request: r('PUT /a.txt HTTP/1.1', H, 'Content-Length: 0x5') + 'hello', status: 400, close: 'closed' },
  { what: 'CL `1e3`', request: r('PUT /a.txt HTTP/1.1', H, 'Content-Length: 1e3'), status: 400, close: 'closed' },
  { what: 'CL `5 5`', request: r('PUT /a.txt HTTP/1.1', H, 'Content-Length: 5 5') + 'hello', status: 400, close: 'closed' },
  { what: 'CL 2^53', request: r('PUT /a.txt HTTP/1.1', H, `Content-Length: ${2 ** 53}`), status: 400, close: 'closed' },
  { what: 'CL of 20 digits', request: r('PUT /a.txt HTTP/1.1', H, 'Content-Length: 12345678901234567890'), status: 400, close: 'closed' },
  { what: 'CL empty', request: r('PUT /a.txt HTTP/1.1', H, 'Content-Length:'), status: 400, close: 'closed' },
  { what: 'TE `gzip, chunked`', request: r('PUT /a.txt HTTP/1.1', H, 'Transfer-Encoding: gzip, chunked') + '0\r\n\r\n', status: 501, close: 'closed' },
  { what: 'TE `chunked, gzip`', request: r('PUT /a.txt HTTP/1.1', H, 'Transfer-Encoding: chunked, gzip') + '0\r\n\r\n', status: 400, close: 'closed' },
  { what: 'TE `chunked, chunked`', request: r('PUT /a.txt HTTP/1.1', H, 'Transfer-Encoding: chunked, chunked') + '0\r\n\r\n', status: 400, close: 'closed' },
  { what: 'TE `chunked;q=1`', request: r('PUT /a.txt HTTP/1.1', H, 'Transfer-Encoding: chunked;q=1') + '0\r\n\r\n', status: 400, close: 'closed' },
  { what: 'TE `xchunked`', request: r('PUT /a.txt HTTP/1.1', H, 'Transfer-Encoding: xchunked') + '0\r\n\r\n', status: 400, close: 'closed' },
  { what: 'TE `gzip`', request: r('PUT /a.txt HTTP/1.1', H, 'Transfer-Encoding: gzip') + 'xx', status: 400, close: 'closed' },
  { what: 'TE in HTTP/1.0', request: r('PUT /a.txt HTTP/1.0', 'Transfer-Encoding: chunked') + '0\r\n\r\n', status: 400, close: 'closed' },
  {
    what: '`Expect: foo`',
    request: r('PUT /a.txt HTTP/1.1', H, 'Expect: foo', 'Content-Length: 5'),
    status: 417,
    close: 'closed',
  },
  { what: 'PUT without a length', request: r('PUT /a.txt HTTP/1.1', H, 'Connection: close'), status: 411, close: 'either' },
  { what: 'POST without a length', request: r('POST / HTTP/1.1', H, 'Connection: close'), status: 411, close: 'either' },
  // --- malformed chunked bodies -------------------------------------------------------------
  { what: 'chunked `2;`', request: chunkedPut('2;\r\nab\r\n0\r\n\r\n'), status: 400, close: 'closed' },
  { what: 'chunked `a ` (trailing space)', request: chunkedPut('a \r\n0123456789\r\n0\r\n\r\n'), status: 400, close: 'closed' },
  { what: 'chunked `0x5`', request: chunkedPut('0x5\r\nhello\r\n0\r\n\r\n'), status: 400, close: 'closed' },
  { what: 'chunked `-1`', request: chunkedPut('-1\r\nx\r\n0\r\n\r\n'), status: 400, close: 'closed' },
  { what: 'chunked empty size line', request: chunkedPut('\r\nhello\r\n0\r\n\r\n'), status: 400, close: 'closed' },
  { what: 'chunked 14 hex digits', request: chunkedPut('10000000000000\r\nhello\r\n0\r\n\r\n'), status: 400, close: 'closed' },
  { what: 'chunked bare LF in the size line', request: chunkedPut('5\nhello\r\n0\r\n\r\n'), status: 400, close: 'closed' },
  { what: 'chunked missing CRLF after data', request: chunkedPut('5\r\nhelloX0\r\n\r\n'), status: 400, close: 'closed' },
  { what: 'chunked LF only after data', request: chunkedPut('5\r\nhello\n0\r\n\r\n'), status: 400, close: 'closed' },
  { what: 'chunked escaped CR in a quoted extension', request: chunkedPut('5;a="\\\r"\r\nhello\r\n0\r\n\r\n'), status: 400, close: 'closed' },
  { what: 'chunked trailer without a colon', request: chunkedPut('5\r\nhello\r\n0\r\nX-Sum abc\r\n\r\n'), status: 400, close: 'closed' },
  { what: 'chunked trailer with a space before the colon', request: chunkedPut('5\r\nhello\r\n0\r\nX-Sum : abc\r\n\r\n'), status: 400, close: 'closed' },
  // --- bodies that stop short -----------------------------------------------------------------
  {
    what: 'body shorter than Content-Length, then half-close',
    request: r('PUT /short.txt HTTP/1.1', H, 'Content-Length: 100') + 'only ten b',
    endAfterWrite: true,
    status: 400,
    close: 'closed',
  },
  {
    what: 'chunked body cut off, then half-close',
    request: chunkedPut('a\r\n01234', '/short-chunked.txt'),
    endAfterWrite: true,
    status: 400,
    close: 'closed',
  },
  // --- odd but valid ---------------------------------------------------------------------------
  { what: 'absolute-form GET http://x/', request: r('GET http://x/ HTTP/1.1', H), status: 200, close: 'kept' },
  {
    what: 'OPTIONS *',
    request: r('OPTIONS * HTTP/1.1', H),
    status: 204,
    close: 'kept',
    check: (res) => expect(res.text).toMatch(/\r\nAllow: [^\r]*\bPUT\b[^\r]*\r\n/),
  },
  { what: 'leading empty lines before the request line', request: '\r\n\r\n' + r('GET / HTTP/1.1', H), status: 200, close: 'kept' },
  { what: 'exactly 100 header fields', request: r('GET / HTTP/1.1', H, ...Array.from({ length: 99 }, (_, i) => `X-F${i}: ${i}`)), status: 200, close: 'kept' },
  { what: 'unknown path', request: r('GET /nope HTTP/1.1', H), status: 404, close: 'kept' },
  { what: 'HTTP/1.0 without Host is served, then closed', request: r('GET / HTTP/1.0'), status: 200, close: 'closed' },
  { what: 'HTTP/1.0 asking for keep-alive', request: r('GET / HTTP/1.0', 'Connection: keep-alive'), status: 200, close: 'kept' },
  { what: 'HTTP/1.0 `Expect: foo` is ignored', request: r('GET / HTTP/1.0', 'Expect: foo'), status: 200, close: 'closed' },
  {
    what: 'pipelined valid chunked PUT with extensions and trailers',
    request: chunkedPut('5;a="b \\" c"\r\nhello\r\n0\r\nX-Sum: 1\r\n\r\n', '/pipelined-ok.txt'),
    status: 201,
    close: 'kept',
  },
]

function walk(dir: string): string[] {
  const out: string[] = []
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const abs = path.join(dir, e.name)
    out.push(abs)
    if (e.isDirectory()) out.push(...walk(abs))
  }
  return out
}

const GET_ROOT = r('GET / HTTP/1.1', H, 'Connection: close')

describe('hostile requests', () => {
  let cli: Cli

  beforeAll(async () => {
    cli = await startCli(['--quiet'])
  })
  afterAll(async () => {
    await cli?.stop()
    if (cli) removeDir(path.dirname(cli.dir))
  })

  it(`has at least 40 rows (${ROWS.length})`, () => {
    expect(ROWS.length).toBeGreaterThanOrEqual(40)
  })

  for (const row of ROWS) {
    it(`${row.what} -> ${row.status}${row.close === 'closed' ? ', closed' : row.close === 'kept' ? ', kept alive' : ''}`, async () => {
      const first = Array.isArray(row.request) ? row.request : [row.request]
      const chunks = row.close === 'kept' ? [...first, FOLLOW_UP] : first
      const res = await rawRequest(cli.port, chunks, {
        ms: 3_000,
        ...(row.gapMs ? { gapMs: row.gapMs } : {}),
        ...(row.endAfterWrite ? { endAfterWrite: true } : {}),
      })
      const got = statuses(res.text)
      if (row.close === 'closed') {
        expect(got, res.text).toEqual([row.status])
        expect(res.text).toMatch(/\r\nConnection: close\r\n/i)
        expect(res.closed).toBe(true)
      } else if (row.close === 'kept') {
        expect(got, res.text).toEqual([row.status, 200])
        expect(res.closed).toBe(true)
      } else {
        expect(got, res.text).toEqual([row.status])
      }
      // Error answers are JSON with a code (no Accept header was sent).
      if (row.status >= 400) expect(res.text).toMatch(/\{"error":\{"code":"[A-Z_]+"/)
      row.check?.(res)
    })
  }

  it('the likeliest slip is named: a space in the path, a size line with something after it, a method in lower case', async () => {
    const message = async (request: string) => {
      const { text } = await rawRequest(cli.port, [request], { ms: 3_000 })
      return [statuses(text)[0], JSON.parse(text.slice(text.indexOf('\r\n\r\n') + 4)).error.message]
    }
    expect(await message(r('GET /my file.txt HTTP/1.1', H))).toEqual([400, 'Malformed request line: a space in the path must be sent as %20.'])
    expect(await message(r('PUT /sz.txt HTTP/1.1', H, 'Transfer-Encoding: chunked') + 'a x\r\n0123456789\r\n0\r\n\r\n')).toEqual([
      400,
      'Malformed chunked body: invalid chunk size line.',
    ])
    expect(await message(r('put /lower.txt HTTP/1.1', H, 'Content-Length: 0', 'Connection: close'))).toEqual([
      405,
      'put is not supported here (methods are case-sensitive: PUT).',
    ])
  })

  it('a head that fails to parse is still answered as its method and Accept ask: no body for HEAD, HTML for a browser', async () => {
    const head = await rawRequest(cli.port, [r('HEAD / HTTP/1.2', H)], { ms: 3_000 })
    expect(statuses(head.text)).toEqual([505])
    expect(head.text.endsWith('\r\n\r\n'), head.text).toBe(true)
    const folded = await rawRequest(cli.port, [r('GET / HTTP/1.1', H, 'Accept: text/html', 'X-A: a', ' folded')], { ms: 3_000 })
    expect(statuses(folded.text)).toEqual([400])
    expect(folded.text).toMatch(/\r\nContent-Type: text\/html/i)
    const many = Array.from({ length: 100 }, (_, i) => `X-F${i}: ${i}`)
    const tooMany = await rawRequest(cli.port, [r('GET / HTTP/1.1', H, 'Accept: text/html', ...many)], { ms: 3_000 })
    expect(statuses(tooMany.text)).toEqual([431])
    expect(tooMany.text).toMatch(/\r\nContent-Type: text\/html/i)
    // No upload was tried: the page says the request failed, not an upload.
    expect(tooMany.text).toContain('<h1>Request failed</h1>')
    const put = await rawRequest(cli.port, [r('PUT /x.txt HTTP/1.1', H, 'Accept: text/html', 'Content-Length: 2', ...many)], { ms: 3_000 })
    expect(put.text).toContain('<h1>Upload failed</h1>')
  })

  it('a method refused by the router is titled as the same refusal from the parser: no upload was tried', async () => {
    // 405 comes from the router, 417 from the connection: the same DELETE, one title.
    const refused = await rawRequest(cli.port, [r('DELETE / HTTP/1.1', H, 'Accept: text/html', 'Connection: close')], { ms: 3_000 })
    expect(statuses(refused.text)).toEqual([405])
    expect(refused.text).toContain('<h1>Request failed</h1>')
    const expect417 = await rawRequest(cli.port, [r('DELETE / HTTP/1.1', H, 'Accept: text/html', 'Expect: foo', 'Connection: close')], { ms: 3_000 })
    expect(statuses(expect417.text)).toEqual([417])
    expect(expect417.text).toContain('<h1>Request failed</h1>')
    // An upload the router refuses is still an upload that failed.
    const noLength = await rawRequest(cli.port, [r('POST / HTTP/1.1', H, 'Accept: text/html', 'Connection: close')], { ms: 3_000 })
    expect(statuses(noLength.text)).toEqual([411])
    expect(noLength.text).toContain('<h1>Upload failed</h1>')
  })

  it('the rows left exactly one file on disk: no short body, no temp file', async () => {
    // Temp files go once the connection is gone; give the cleanup a bounded moment.
    const deadline = Date.now() + 2_000
    let names = walk(cli.dir).map((p) => path.relative(cli.dir, p))
    while (names.length !== 1 && Date.now() < deadline) {
      await new Promise((res) => setTimeout(res, 50))
      names = walk(cli.dir).map((p) => path.relative(cli.dir, p))
    }
    expect(names).toEqual(['pipelined-ok.txt'])
  })

  // ---------------------------------------------------------------------------------------------
  // Smuggling: the body of an ambiguous request hides a complete second request.

  const SMUGGLED = (tag: string) => r(`PUT /smuggled-${tag}.txt HTTP/1.1`, H, 'Content-Length: 5') + 'owned'
  const SMUGGLING: Array<{ what: string; request: string; status: number }> = [
    (() => {
      const body = '0\r\n\r\n' + SMUGGLED('clte')
      return { what: 'CL.TE (CL covers the hidden request, chunked ends before it)', request: r('POST /clte.txt HTTP/1.1', H, `Content-Length: ${body.length}`, 'Transfer-Encoding: chunked') + body, status: 400 }
    })(),
    (() => {
      const hidden = SMUGGLED('tecl')
      const body = `${hidden.length.toString(16)}\r\n${hidden}\r\n0\r\n\r\n`
      return { what: 'TE.CL (chunked covers the hidden request, CL ends before it)', request: r('POST /tecl.txt HTTP/1.1', H, 'Transfer-Encoding: chunked', 'Content-Length: 4') + body, status: 400 }
    })(),
    (() => {
      const body = SMUGGLED('dupcl')
      return { what: 'duplicate CL: 0 then the real length', request: r('POST /dupcl.txt HTTP/1.1', H, 'Content-Length: 0', `Content-Length: ${body.length}`) + body, status: 400 }
    })(),
    (() => {
      const body = SMUGGLED('dupcl2')
      return { what: 'duplicate CL: the real length then 0', request: r('POST /dupcl2.txt HTTP/1.1', H, `Content-Length: ${body.length}`, 'Content-Length: 0') + body, status: 400 }
    })(),
    (() => {
      const body = '0\r\n\r\n' + SMUGGLED('tespace')
      return { what: '`Transfer-Encoding : chunked` (space before colon) with CL', request: r('POST /tespace.txt HTTP/1.1', H, `Content-Length: ${body.length}`, 'Transfer-Encoding : chunked') + body, status: 400 }
    })(),
    (() => {
      const body = '0\r\n\r\n' + SMUGGLED('tespace-nocl')
      return { what: '`Transfer-Encoding : chunked` alone', request: r('POST /tespace-nocl.txt HTTP/1.1', H, 'Transfer-Encoding : chunked') + body, status: 400 }
    })(),
    (() => {
      const body = '0\r\n\r\n' + SMUGGLED('xchunked')
      return { what: '`Transfer-Encoding: xchunked` with CL', request: r('POST /xchunked.txt HTTP/1.1', H, `Content-Length: ${body.length}`, 'Transfer-Encoding: xchunked') + body, status: 400 }
    })(),
    (() => {
      const body = '0\r\n\r\n' + SMUGGLED('tevt')
      return { what: 'TE with a vertical tab before chunked, with CL', request: r('POST /tevt.txt HTTP/1.1', H, `Content-Length: ${body.length}`, 'Transfer-Encoding:\x0bchunked') + body, status: 400 }
    })(),
    (() => {
      const body = '0\r\n\r\n' + SMUGGLED('tefold')
      return { what: 'TE behind obs-fold, with CL', request: r('POST /tefold.txt HTTP/1.1', H, `Content-Length: ${body.length}`, 'Transfer-Encoding:', ' chunked') + body, status: 400 }
    })(),
    (() => {
      const body = '0\r\n\r\n' + SMUGGLED('te10')
      return { what: 'chunked in HTTP/1.0 with keep-alive', request: r('POST /te10.txt HTTP/1.0', 'Connection: keep-alive', 'Transfer-Encoding: chunked') + body, status: 400 }
    })(),
    (() => {
      const body = '0\r\n\r\n' + SMUGGLED('gzip')
      return { what: 'TE `gzip, chunked` with CL', request: r('POST /gzip.txt HTTP/1.1', H, `Content-Length: ${body.length}`, 'Transfer-Encoding: gzip, chunked') + body, status: 400 }
    })(),
    (() => {
      const hidden = SMUGGLED('ext-lf')
      // A parser that ends the size line at a bare LF reads `2;` + `xx`, then the hidden request.
      return { what: 'bare LF in a chunk extension (TE.TE ext)', request: r('POST /ext-lf.txt HTTP/1.1', H, 'Transfer-Encoding: chunked') + `2;\nxx\r\n0\r\n\r\n${hidden}`, status: 400 }
    })(),
    (() => {
      const hidden = SMUGGLED('ext-quote')
      // A parser that skips any byte after `\` reads a quoted extension swallowing the CRLF.
      return { what: 'escaped CR in a quoted extension', request: r('POST /ext-quote.txt HTTP/1.1', H, 'Transfer-Encoding: chunked') + `2;a="\\\r"\r\nxx\r\n0\r\n\r\n${hidden}`, status: 400 }
    })(),
    (() => {
      const hidden = SMUGGLED('bigchunk')
      // 2^64 + 0x10 wraps to 0x10 in a 64-bit parser.
      return { what: 'chunk size overflowing 64 bits', request: r('POST /bigchunk.txt HTTP/1.1', H, 'Transfer-Encoding: chunked') + `10000000000000010\r\n${hidden}\r\n0\r\n\r\n`, status: 400 }
    })(),
    (() => {
      const hidden = SMUGGLED('crline')
      return { what: 'bare CR ending the request line', request: `POST /crline.txt HTTP/1.1\rXHost: x\r\nContent-Length: ${hidden.length}\r\n\r\n${hidden}`, status: 400 }
    })(),
    (() => {
      const hidden = SMUGGLED('underscore')
      // A proxy that maps `_` to `-` (CGI style) sends the hidden request as this one's body.
      return { what: '`Content_Length` (411: the body that follows is no request)', request: r('PUT /underscore.txt HTTP/1.1', H, `Content_Length: ${hidden.length}`) + hidden, status: 411 }
    })(),
    (() => {
      const hidden = SMUGGLED('get-chunked')
      // The page's handler never reads a body; the broken framing is still the answer.
      return { what: 'GET with a malformed chunked body', request: r('GET / HTTP/1.1', H, 'Transfer-Encoding: chunked') + `zz\r\n${hidden}`, status: 400 }
    })(),
  ]

  // 0xA0 is obs-text (NBSP in latin1), not whitespace: `chunked\xa0` is no chunked, `\xa05` no length.
  for (const [tag, field] of [
    ['nbsp-te', 'Transfer-Encoding: chunked\xa0'],
    ['nbsp-te2', 'Transfer-Encoding: \xa0chunked'],
  ] as const) {
    const hidden = SMUGGLED(tag)
    const body = `${hidden.length.toString(16)}\r\n${hidden}\r\n0\r\n\r\n`
    SMUGGLING.push({ what: `\`${field.replace('\xa0', '\\xa0')}\` (bytes, not UTF-8)`, request: r(`POST /${tag}.txt HTTP/1.1`, H, field) + body, status: 400 })
  }
  {
    const hidden = SMUGGLED('nbsp-cl')
    SMUGGLING.push({ what: '`Content-Length: \\xa0N` (bytes, not UTF-8)', request: r('POST /nbsp-cl.txt HTTP/1.1', H, `Content-Length: \xa0${hidden.length}`) + hidden, status: 400 })
  }

  for (const row of SMUGGLING) {
    it(`smuggling: ${row.what} -> one ${row.status}, closed, nothing stored`, async () => {
      // latin1: every char one byte, as written (0xA0 stays 0xA0).
      const res = await rawRequest(cli.port, [Buffer.from(row.request, 'latin1')], { ms: 3_000 })
      expect(statuses(res.text), res.text).toEqual([row.status])
      expect(res.text.match(/^HTTP\/1\.[01] \d{3} /gm) ?? []).toHaveLength(1)
      expect(res.closed).toBe(true)
      // The server is still fine, and answers a normal request.
      const after = await rawRequest(cli.port, [GET_ROOT], { ms: 3_000 })
      expect(statuses(after.text)).toEqual([200])
      // Nothing named smuggled* anywhere under --dir, and no event about it.
      expect(walk(cli.dir).filter((p) => /smuggled/i.test(path.basename(p)))).toEqual([])
      expect(cli.events.filter((e) => /smuggled/i.test(JSON.stringify(e)))).toEqual([])
    })
  }

  it('the smuggling rows stored nothing at all', () => {
    const stored = cli.events.filter((e) => e.event === 'stored').map((e) => e.name)
    expect(stored).toEqual(['pipelined-ok.txt'])
  })
})

describe('hostile requests against --max-file-size', () => {
  let cli: Cli

  beforeAll(async () => {
    cli = await startCli(['--quiet', '--max-file-size', '10'])
  })
  afterAll(async () => {
    await cli?.stop()
    if (cli) removeDir(path.dirname(cli.dir))
  })

  it('a PUT announcing 11 bytes with Expect: 100-continue gets 413 at once (no 100), closed', async () => {
    const res = await rawRequest(cli.port, [r('PUT /big.txt HTTP/1.1', H, 'Content-Length: 11', 'Expect: 100-continue')], { ms: 3_000 })
    expect(statuses(res.text), res.text).toEqual([413])
    expect(res.text).toMatch(/"code":"FILE_TOO_LARGE"/)
    expect(res.text).toMatch(/\r\nConnection: close\r\n/i)
    expect(res.closed).toBe(true)
  })

  it('a PUT sending 11 bytes gets 413, and a hidden request in the drained body is never run', async () => {
    const hidden = r('PUT /smuggled-drain.txt HTTP/1.1', H, 'Content-Length: 1') + 'x'
    // No `Connection: close`: a receiver that took the hidden bytes for a request would answer it
    // on this connection (a second status) and store its file. Sent in one write, the whole body
    // may be decoded before the answer, so the connection may stay open; either way, one answer.
    const res = await rawRequest(
      cli.port,
      [r('PUT /big.txt HTTP/1.1', H, `Content-Length: ${11 + hidden.length}`) + 'x'.repeat(11) + hidden],
      { ms: 1_500 },
    )
    expect(statuses(res.text), res.text).toEqual([413])
    expect(walk(cli.dir).map((p) => path.basename(p))).toEqual([])
  })

  it('a chunked PUT over the limit gets 413 and leaves nothing', async () => {
    // The whole body may be read before the limit trips, so keep-alive would be legitimate: ask for close.
    const res = await rawRequest(cli.port, [chunkedPut('6\r\nabcdef\r\n6\r\nghijkl\r\n0\r\n\r\n', '/big-chunked.txt', 'Connection: close')], { ms: 3_000 })
    expect(statuses(res.text), res.text).toEqual([413])
    expect(res.closed).toBe(true)
    expect(walk(cli.dir)).toEqual([])
  })

  it('exactly 10 bytes is stored (201) and the connection stays usable', async () => {
    const res = await rawRequest(cli.port, [r('PUT /ten.txt HTTP/1.1', H, 'Content-Length: 10') + '0123456789', FOLLOW_UP], { ms: 3_000 })
    expect(statuses(res.text), res.text).toEqual([201, 200])
    expect(walk(cli.dir).map((p) => path.basename(p))).toEqual(['ten.txt'])
  })
})

describe('hostile requests against --token', () => {
  let cli: Cli

  beforeAll(async () => {
    cli = await startCli(['--quiet', '--token', 's3cret'])
  })
  afterAll(async () => {
    await cli?.stop()
    if (cli) removeDir(path.dirname(cli.dir))
  })

  it('a POST without framing gets its 401 with the connection closed: the body no framing delimits is never run as a request', async () => {
    const hidden = r('PUT /smuggled-token.txt?token=s3cret HTTP/1.1', H, 'Content-Length: 5') + 'owned'
    const res = await rawRequest(cli.port, [r('POST /a.txt HTTP/1.1', H, `Content_Length: ${hidden.length}`) + hidden], { ms: 3_000 })
    expect(statuses(res.text), res.text).toEqual([401])
    expect(res.text).toMatch(/\r\nConnection: close\r\n/i)
    expect(res.closed).toBe(true)
    expect(cli.events.filter((e) => e.event === 'stored')).toEqual([])
    expect(readdirSync(cli.dir)).toEqual([])
  })

  it.each(['PATCH', 'DELETE', 'GET'])('%s with a `Content_Length` gets its answer with the connection closed: the body a proxy would frame is never run', async (method) => {
    const hidden = r(`PUT /smuggled-${method}.txt?token=s3cret HTTP/1.1`, H, 'Content-Length: 5') + 'owned'
    const res = await rawRequest(cli.port, [r(`${method} /a.txt HTTP/1.1`, H, `Content_Length: ${hidden.length}`) + hidden], { ms: 3_000 })
    expect(statuses(res.text), res.text).toEqual([401])
    expect(res.text).toMatch(/\r\nConnection: close\r\n/i)
    expect(res.closed).toBe(true)
    expect(readdirSync(cli.dir)).toEqual([])
  })
})
