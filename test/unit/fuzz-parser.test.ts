// Property-based fuzzing of the request parser and the body decoders (issue #6):
//  - arbitrary bytes, HTTP-ish token soup and mutated valid requests, cut into arbitrary pieces,
//    never make HeadParser.push, interpretHead, ChunkedDecoder.push or LengthDecoder.push throw
//    anything but an HttpError, and never loop or emit more payload than was sent;
//  - any valid request (generated method, target, headers, Content-Length or chunked body with
//    random chunking, extensions and trailers, bytes after it), re-split arbitrarily, parses to
//    exactly the generated head fields, decoded body and leftover bytes.
//
// The normal suite runs each property with a fixed seed for a short time budget. A longer run:
//   FUZZ_RUNS=200000 npx vitest run test/unit/fuzz-parser.test.ts
// (FUZZ_SEED=<n> picks another seed; FUZZ_BUDGET_MS=<ms> changes the default per-property budget.)
import fc from 'fast-check'
import { isDeepStrictEqual } from 'node:util'
import { afterAll, describe, expect, it } from 'vitest'
import { HttpError } from '../../src/errors.js'
import type { BodyDecoder } from '../../src/http/body-decoder.js'
import { ChunkedDecoder } from '../../src/http/chunked-decoder.js'
import { interpretHead, type Framing, type Semantics } from '../../src/http/framing.js'
import { HeadParser, type HeadLimits } from '../../src/http/head-parser.js'
import type { Header, RequestHead } from '../../src/http/head.js'
import { LengthDecoder } from '../../src/http/length-decoder.js'
import { MAX_HEAD_BYTES, MAX_HEADER_COUNT, MAX_TARGET_BYTES } from '../../src/limits.js'

const RUNS = Number(process.env.FUZZ_RUNS ?? '') || 0
const SEED = Number(process.env.FUZZ_SEED ?? '') || 0x5eed2026
/** Safety ceiling per property in the normal suite: a slow machine runs fewer, never longer. */
const BUDGET_MS = Number(process.env.FUZZ_BUDGET_MS ?? '') || 2_500
/** Long runs get no vitest timeout worth the name. */
const TEST_TIMEOUT = RUNS ? 12 * 3600_000 : 30_000

const LIMITS: HeadLimits = { maxTargetBytes: MAX_TARGET_BYTES, maxHeadBytes: MAX_HEAD_BYTES, maxHeaderCount: MAX_HEADER_COUNT }
const TINY: HeadLimits = { maxTargetBytes: 24, maxHeadBytes: 160, maxHeaderCount: 3 }

const figures: string[] = []

/**
 * Runs a property with the fixed seed: FUZZ_RUNS runs when set (no time limit), else
 * `defaultRuns` (a second or so) with the time budget as a ceiling.
 */
function run<Ts>(name: string, property: fc.IProperty<Ts>, defaultRuns: number): void {
  const started = performance.now()
  const details = fc.check(property, {
    seed: SEED,
    numRuns: RUNS || defaultRuns,
    ...(RUNS ? {} : { plugins: [fc.interruptAfterTimeLimit(BUDGET_MS)] }),
  })
  const ms = performance.now() - started
  figures.push(`${name}: ${details.numRuns} runs in ${(ms / 1000).toFixed(1)} s${details.interrupted ? ' (time budget reached)' : ''}`)
  if (details.failed) throw new Error(fc.defaultReportMessage(details))
  expect(details.numRuns).toBeGreaterThan(0)
}

afterAll(() => {
  // The figures the README quotes for the long run.
  console.log(`fuzz-parser (seed ${SEED}):\n  ${figures.join('\n  ')}`)
})

/** Deep equality without the matcher machinery (fast enough for hundreds of thousands of runs). */
function same(got: unknown, want: unknown, what: string): void {
  if (!isDeepStrictEqual(got, want)) throw new Error(`${what}: got ${JSON.stringify(got)}, want ${JSON.stringify(want)}`)
}

// ---------------------------------------------------------------------------------------------
// Cutting bytes into pieces, as a socket might deliver them.

/** `cuts` are arbitrary numbers; each becomes a cut position. Pieces are copies, never empty. */
function cut(buf: Buffer, cuts: readonly number[]): Buffer[] {
  const positions = [...new Set(cuts.map((c) => c % (buf.length + 1)))].filter((p) => p > 0 && p < buf.length).sort((a, b) => a - b)
  const pieces: Buffer[] = []
  let prev = 0
  for (const p of [...positions, buf.length]) {
    if (p > prev) pieces.push(Buffer.from(buf.subarray(prev, p)))
    prev = p
  }
  return pieces
}

type Split = { kind: 'one' } | { kind: 'bytes' } | { kind: 'cuts'; cuts: number[] }
const splitArb: fc.Arbitrary<Split> = fc.oneof(
  { weight: 1, arbitrary: fc.constant<Split>({ kind: 'one' }) },
  { weight: 1, arbitrary: fc.constant<Split>({ kind: 'bytes' }) },
  { weight: 6, arbitrary: fc.array(fc.nat(), { maxLength: 24 }).map<Split>((cuts) => ({ kind: 'cuts', cuts })) },
)

function pieces(buf: Buffer, split: Split): Buffer[] {
  if (buf.length === 0) return []
  if (split.kind === 'one') return [Buffer.from(buf)]
  if (split.kind === 'bytes') return [...buf].map((b) => Buffer.from([b]))
  return cut(buf, split.cuts)
}

// ---------------------------------------------------------------------------------------------
// Drivers: what the connection does with the pieces.

function decoderFor(framing: Framing, onPayload: (b: Buffer) => void): BodyDecoder | null {
  if (framing.kind === 'none') return null
  return framing.kind === 'length' ? new LengthDecoder(framing.length, onPayload) : new ChunkedDecoder(onPayload)
}

interface One {
  head: RequestHead
  semantics: Semantics
  body: Buffer
  leftover: Buffer
}

/** Parses the first request (head and body) and returns the bytes after it untouched; null if incomplete. */
function parseOne(input: Buffer[], limits = LIMITS): One | null {
  const parser = new HeadParser(limits)
  let head: RequestHead | null = null
  let semantics: Semantics | null = null
  let decoder: BodyDecoder | null = null
  const body: Buffer[] = []
  const finish = (k: number, buf: Buffer, pos: number): One => ({
    head: head!,
    semantics: semantics!,
    body: Buffer.concat(body),
    leftover: Buffer.concat([buf.subarray(pos), ...input.slice(k + 1)]),
  })
  for (let k = 0; k < input.length; k++) {
    const buf = input[k]!
    let pos = 0
    while (pos < buf.length) {
      if (head === null) {
        const r = parser.push(buf, pos)
        if (r === null) break
        if (!(r.end > pos && r.end <= buf.length)) throw new Error(`head end ${r.end} out of range`)
        head = r.head
        pos = r.end
        semantics = interpretHead(head)
        decoder = decoderFor(semantics.framing, (b) => body.push(Buffer.from(b)))
        if (decoder === null) return finish(k, buf, pos)
      } else {
        const next = decoder!.push(buf, pos)
        if (next < pos || next > buf.length) throw new Error(`decoder returned ${next} from ${pos}`)
        pos = next
        if (decoder!.done) return finish(k, buf, pos)
        if (pos !== buf.length) throw new Error('decoder stopped early without being done')
      }
    }
  }
  return null
}

/**
 * Feeds everything through head parser, framing and decoders, pipelined request after request,
 * until the input ends or an HttpError stops it (as the connection would, answering and closing).
 * Anything else thrown fails the property. Returns how far it got, for sanity checks.
 */
function parseAll(
  input: Buffer[],
  limits: HeadLimits,
): { requests: number; payload: number; error: HttpError | null; midHead: boolean } {
  const parser = new HeadParser(limits)
  let decoder: BodyDecoder | null = null
  let requests = 0
  let payload = 0
  const onPayload = (b: Buffer) => {
    payload += b.length
  }
  try {
    for (const buf of input) {
      let pos = 0
      let guard = 0
      while (pos < buf.length) {
        if (++guard > buf.length + 8) throw new Error('no progress: the parser loops')
        if (decoder === null) {
          const r = parser.push(buf, pos)
          if (r === null) break
          if (!(r.end > pos && r.end <= buf.length)) throw new Error(`head end ${r.end} out of range`)
          pos = r.end
          requests++
          decoder = decoderFor(interpretHead(r.head).framing, onPayload)
        } else {
          const next = decoder.push(buf, pos)
          if (next < pos || next > buf.length) throw new Error(`decoder returned ${next} from ${pos}`)
          if (!decoder.done && next !== buf.length) throw new Error('decoder stopped early without being done')
          pos = next
          if (decoder.done) decoder = null
        }
      }
    }
  } catch (err) {
    if (err instanceof HttpError) return { requests, payload, error: err, midHead: false }
    throw err
  }
  return { requests, payload, error: null, midHead: decoder === null && parser.started }
}

/** Feeds bytes straight into a ChunkedDecoder; only HttpError may escape. */
function chunkedAll(input: Buffer[]): { payload: number; done: boolean; error: HttpError | null } {
  let payload = 0
  const d = new ChunkedDecoder((b) => {
    payload += b.length
  })
  try {
    for (const buf of input) {
      const next = d.push(buf, 0)
      if (next < 0 || next > buf.length) throw new Error(`push returned ${next}`)
      if (!d.done && next !== buf.length) throw new Error('stopped early without being done')
      if (d.done) return { payload, done: true, error: null }
    }
  } catch (err) {
    if (err instanceof HttpError) return { payload, done: d.done, error: err }
    throw err
  }
  return { payload, done: false, error: null }
}

// ---------------------------------------------------------------------------------------------
// Byte alphabets.

const TCHARS = "!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
const range = (a: number, b: number) => Array.from({ length: b - a + 1 }, (_, i) => String.fromCharCode(a + i))
const VCHAR = range(0x21, 0x7e)
const OBS_TEXT = range(0x80, 0xff)
/** Target bytes other than `?` and `#` (path), and other than `#` (query). */
const PATH_CHARS = VCHAR.filter((c) => c !== '?' && c !== '#')
const QUERY_CHARS = VCHAR.filter((c) => c !== '#')
const FIELD_VCHARS = [...VCHAR, ...OBS_TEXT]

const tokenArb = (max = 12) => fc.string({ unit: fc.constantFrom(...TCHARS), minLength: 1, maxLength: max })
const randomCase = (s: string, flips: boolean[]) =>
  [...s].map((c, i) => (flips[i % Math.max(1, flips.length)] ? c.toUpperCase() : c.toLowerCase())).join('')
const owsArb = fc.constantFrom('', ' ', '\t', '  ', ' \t ')

/** Fragments that make the soup look like HTTP, so the fuzzer gets past the first byte. */
const SOUP = [
  'GET', 'PUT', 'POST', 'OPTIONS', ' ', '/', '/a?b=c', '*', 'http://h', ' HTTP/1.1', ' HTTP/1.0', ' HTTP/2.0', 'HTTP/1.1',
  '\r\n', '\r\n\r\n', '\r', '\n', 'Host: x', 'Host:', 'Content-Length: ', 'Content-Length: 5', 'Transfer-Encoding: chunked',
  'Transfer-Encoding: gzip, chunked', 'Expect: 100-continue', 'Connection: close', ':', ';', '=', '"', '\\', '\t', ',',
  '0', '1', '5', 'a', 'F', 'fffffffffffff', '00000000000000', '0\r\n\r\n', '5\r\nhello\r\n', ';ext=1', ';e="q\\"x"',
  'X-A: b', 'Trailer: t', '\x00', '\x7f', '\x80', '\xff', 'é', '%2e%2e/',
]
const soupArb = fc
  .array(fc.oneof(fc.constantFrom(...SOUP), fc.string({ unit: 'binary-ascii', maxLength: 4 })), { maxLength: 80 })
  .map((parts) => Buffer.from(parts.join(''), 'latin1'))

const CHUNK_SOUP = [
  '0', '1', '2', 'a', 'A', 'f', 'F', 'g', '10', 'fffffffffffff', 'ffffffffffffff', '0000000000000001', ';', ' ', '\t', '=', '"',
  '\\', 'x', 'name', '\r\n', '\r', '\n', '\r\n\r\n', 'T: v', ':', '\x00', '\x80', 'hello', '5\r\nhello\r\n', '0\r\n\r\n',
]
const chunkSoupArb = fc
  .array(fc.oneof(fc.constantFrom(...CHUNK_SOUP), fc.string({ unit: 'binary-ascii', maxLength: 3 })), { maxLength: 80 })
  .map((parts) => Buffer.from(parts.join(''), 'latin1'))

// ---------------------------------------------------------------------------------------------
// Valid requests, with the result a correct parser must produce.

interface Generated {
  bytes: Buffer
  head: Omit<RequestHead, 'headers'> & { headers: Header[] }
  semantics: Semantics
  body: Buffer
  leftover: Buffer
}

const fieldValueArb = fc
  .oneof(
    fc.constant(''),
    fc
      .tuple(
        fc.constantFrom(...FIELD_VCHARS),
        fc.string({ unit: fc.constantFrom(...FIELD_VCHARS, ' ', '\t'), maxLength: 30 }),
        fc.constantFrom(...FIELD_VCHARS),
      )
      .map(([a, mid, b]) => a + mid + b),
    fc.constantFrom(...FIELD_VCHARS),
  )

const extensionHeaderArb = fc.record({
  name: tokenArb(16).map((t) => `x-${t}`),
  flips: fc.array(fc.boolean(), { minLength: 1, maxLength: 8 }),
  value: fieldValueArb,
  before: owsArb,
  after: owsArb,
})

const hostArb = fc.oneof(
  fc.constantFrom('127.0.0.1', '127.0.0.1:4000', 'example.com', 'example.com:8080', '[::1]:4000', '[fe80::1]', 'a-b.c_d~', ''),
  fc.string({ unit: fc.constantFrom(...'abcdefghijklmnopqrstuvwxyz0123456789-._~!$&\'()*+,;=%'), maxLength: 20 }),
)

const targetArb = fc.oneof(
  { weight: 6, arbitrary: fc
    .tuple(fc.string({ unit: fc.constantFrom(...PATH_CHARS), maxLength: 60 }), fc.option(fc.string({ unit: fc.constantFrom(...QUERY_CHARS), maxLength: 40 })))
    .map(([p, q]) => {
      const path = '/' + p
      return { target: q === null ? path : `${path}?${q}`, path, query: q ?? '' }
    }) },
  { weight: 1, arbitrary: fc
    .tuple(
      fc.constantFrom('http', 'https', 'HTTP', 'hTtPs'),
      // A valid authority: a host (never empty, RFC 9110 §4.2.1), maybe a port, no userinfo.
      fc
        .tuple(
          fc.oneof(
            fc.string({ unit: fc.constantFrom(...'abcdefghijklmnopqrstuvwxyz0123456789.-'), minLength: 1, maxLength: 16 }),
            fc.constantFrom('[::1]', '[fe80::1]', '127.0.0.1'),
          ),
          fc.option(fc.string({ unit: fc.constantFrom(...'0123456789'), maxLength: 5 })),
        )
        .map(([host, port]) => (port === null ? host : `${host}:${port}`)),
      fc.oneof(
        fc.string({ unit: fc.constantFrom(...PATH_CHARS), maxLength: 30 }).map((p) => ({ rest: '/' + p, path: '/' + p, query: '' })),
        fc.constant({ rest: '', path: '/', query: '' }),
        fc.string({ unit: fc.constantFrom(...QUERY_CHARS), maxLength: 10 }).map((q) => ({ rest: '?' + q, path: '/', query: q })),
      ),
    )
    .map(([scheme, host, r]) => ({ target: `${scheme}://${host}${r.rest}`, path: r.path, query: r.query })) },
)

/** `chunk-ext` per RFC 9112 §7.1.1, with the optional BWS the decoder must accept. */
const chunkExtArb = fc
  .array(
    fc.record({
      b1: owsArb,
      b2: owsArb,
      name: tokenArb(8),
      value: fc.option(
        fc.record({
          b3: owsArb,
          b4: owsArb,
          v: fc.oneof(
            tokenArb(8),
            fc
              .array(
                fc.oneof(
                  fc.constantFrom(...[...VCHAR, ...OBS_TEXT, ' ', '\t'].filter((c) => c !== '"' && c !== '\\')),
                  fc.constantFrom(...VCHAR, ' ', '\t', ...OBS_TEXT).map((c) => '\\' + c),
                ),
                { maxLength: 10 },
              )
              .map((parts) => `"${parts.join('')}"`),
          ),
        }),
      ),
    }),
    { maxLength: 3 },
  )
  .map((exts) => exts.map((e) => `${e.b1};${e.b2}${e.name}${e.value ? `${e.value.b3}=${e.value.b4}${e.value.v}` : ''}`).join(''))

const trailerArb = fc
  .array(fc.tuple(tokenArb(10), fc.string({ unit: fc.constantFrom(...FIELD_VCHARS, ' ', '\t'), maxLength: 20 })), { maxLength: 3 })
  .map((fields) => fields.map(([n, v]) => `${n}:${v}\r\n`).join(''))

const hexArb = (n: number) =>
  fc.record({ zeros: fc.integer({ min: 0, max: 3 }), upper: fc.boolean() }).map(({ zeros, upper }) => {
    const hex = n.toString(16)
    const padded = '0'.repeat(Math.min(zeros, 13 - hex.length)) + hex
    return upper ? padded.toUpperCase() : padded
  })

/** A chunked encoding of `body` cut at random places, with extensions, trailers and a random last-chunk. */
function chunkedArb(body: Buffer): fc.Arbitrary<Buffer> {
  return fc
    .record({
      cuts: fc.array(fc.nat(), { maxLength: 8 }),
      exts: fc.array(chunkExtArb, { minLength: 10, maxLength: 10 }),
      lastZeros: fc.integer({ min: 1, max: 4 }),
      lastExt: chunkExtArb,
      trailers: trailerArb,
      upper: fc.boolean(),
    })
    .chain(({ cuts, exts, lastZeros, lastExt, trailers }) => {
      const chunks = body.length === 0 ? [] : cut(body, cuts)
      return fc.tuple(...chunks.map((c) => hexArb(c.length))).map((sizes) => {
        const parts: Buffer[] = []
        chunks.forEach((c, i) => {
          parts.push(Buffer.from(`${sizes[i]}${exts[i % exts.length]}\r\n`, 'latin1'), c, Buffer.from('\r\n'))
        })
        parts.push(Buffer.from(`${'0'.repeat(lastZeros)}${lastExt}\r\n${trailers}\r\n`, 'latin1'))
        return Buffer.concat(parts)
      })
    })
}

const requestArb: fc.Arbitrary<Generated> = fc
  .record({
    method: fc.oneof(fc.constantFrom('GET', 'HEAD', 'POST', 'PUT', 'OPTIONS', 'DELETE', 'PATCH'), tokenArb(10)),
    target: targetArb,
    minor: fc.constantFrom(1, 1, 1, 0),
    leading: fc.constantFrom('', '\r\n', '\r\n\r\n'),
    host: hostArb,
    hostName: fc.constantFrom('Host', 'host', 'HOST', 'hOsT'),
    extra: fc.array(extensionHeaderArb, { maxLength: 10 }),
    hostAt: fc.nat(),
    framing: fc.constantFrom('none', 'length', 'length', 'chunked', 'chunked'),
    clForm: fc.constantFrom('plain', 'zeros', 'repeat', 'list'),
    connection: fc.constantFrom(null, 'close', 'keep-alive', 'Keep-Alive, Upgrade', 'upgrade'),
    expect: fc.boolean(),
    body: fc.uint8Array({ maxLength: 400 }).map((a) => Buffer.from(a)),
    leftover: fc.oneof(
      fc.constant(Buffer.alloc(0)),
      fc.uint8Array({ minLength: 1, maxLength: 40 }).map((a) => Buffer.from(a)),
      fc.constant(Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n')),
    ),
  })
  .chain((r) => {
    const framing = r.minor === 0 && r.framing === 'chunked' ? 'length' : r.framing
    const bodyBytes = framing === 'none' ? Buffer.alloc(0) : r.body
    const encoded = framing === 'chunked' ? chunkedArb(bodyBytes) : fc.constant(bodyBytes)
    return encoded.map((wire) => ({ r, framing, bodyBytes, wire }))
  })
  .map(({ r, framing, bodyBytes, wire }) => {
    const lines: string[] = []
    const headers: Header[] = []
    const add = (name: string, value: string, before = ' ', after = '') => {
      lines.push(`${name}:${before}${value}${after}\r\n`)
      headers.push([name.toLowerCase(), value])
    }
    const extras = r.extra.map((h) => () => add(randomCase(h.name, h.flips), h.value, h.before, h.after))
    const hostAt = r.hostAt % (extras.length + 1)
    extras.splice(hostAt, 0, () => add(r.hostName, r.host))
    for (const f of extras) f()
    let semFraming: Framing = { kind: 'none' }
    if (framing === 'length') {
      const n = String(bodyBytes.length)
      if (r.clForm === 'zeros') add('Content-Length', '00' + n)
      else if (r.clForm === 'repeat') {
        add('Content-Length', n)
        add('content-length', n)
      } else if (r.clForm === 'list') add('Content-Length', `${n}, ${n}`)
      else add('Content-Length', n)
      semFraming = bodyBytes.length === 0 ? { kind: 'none' } : { kind: 'length', length: bodyBytes.length }
    } else if (framing === 'chunked') {
      add('Transfer-Encoding', 'chunked', ' ', ' ')
      semFraming = { kind: 'chunked' }
    }
    if (r.connection) add('Connection', r.connection)
    const expectContinue = r.expect && r.minor === 1
    if (r.expect) add('Expect', '100-Continue')
    const tokens = (r.connection ?? '').toLowerCase().split(',').map((t) => t.trim())
    const keepAlive = !tokens.includes('close') && (r.minor === 1 || tokens.includes('keep-alive'))
    const requestLine = `${r.method} ${r.target.target} HTTP/1.${r.minor}\r\n`
    const bytes = Buffer.concat([Buffer.from(r.leading + requestLine + lines.join('') + '\r\n', 'latin1'), wire, r.leftover])
    return {
      bytes,
      head: {
        method: r.method,
        target: r.target.target,
        path: r.target.path,
        query: r.target.query,
        versionMinor: r.minor,
        headers,
      },
      semantics: { framing: semFraming, keepAlive, expectContinue },
      body: bodyBytes,
      leftover: r.leftover,
    }
  })

// ---------------------------------------------------------------------------------------------

describe('fuzz: the request parser and body decoders (fast-check, fixed seed)', () => {
  it(
    'arbitrary bytes, cut anywhere: only HttpError escapes, whatever the limits',
    () => {
      run(
        'arbitrary bytes',
        fc.property(fc.uint8Array({ maxLength: 600 }), splitArb, fc.boolean(), (bytes, split, tiny) => {
          const buf = Buffer.from(bytes)
          const r = parseAll(pieces(buf, split), tiny ? TINY : LIMITS)
          if (r.payload > buf.length) throw new Error('more payload than input')
        }),
        3000,
      )
    },
    TEST_TIMEOUT,
  )

  it(
    'HTTP-ish token soup, cut anywhere: only HttpError escapes; payload never exceeds the input',
    () => {
      run(
        'token soup',
        fc.property(soupArb, splitArb, fc.boolean(), (buf, split, tiny) => {
          const r = parseAll(pieces(buf, split), tiny ? TINY : LIMITS)
          if (r.payload > buf.length) throw new Error('more payload than input')
          // Same bytes in one piece: the same requests and payload, and what one piece rejects is
          // rejected when cut up too. Cut-up input may be rejected earlier: a request line past the
          // limit is 414 as soon as a piece passes it without a line end, while in one piece the
          // head is still incomplete (it is rejected when it completes). The code may differ the
          // same way (414 early, or 400 when a bare LF arrives in the same piece).
          const whole = parseAll([buf], tiny ? TINY : LIMITS)
          same([r.requests, r.payload], [whole.requests, whole.payload], 'split vs whole')
          if (whole.error !== null && r.error === null) throw new Error(`cut up, accepted what one piece rejects (${whole.error.code})`)
          if (r.error !== null && whole.error === null && !whole.midHead) {
            throw new Error(`cut up, rejected (${r.error.code}) what one piece accepts`)
          }
        }),
        1500,
      )
    },
    TEST_TIMEOUT,
  )

  it(
    'chunked decoder on arbitrary and chunk-ish bytes: only HttpError, payload bounded, split-independent',
    () => {
      run(
        'chunked decoder',
        fc.property(fc.oneof(chunkSoupArb, fc.uint8Array({ maxLength: 300 }).map((a) => Buffer.from(a))), splitArb, (buf, split) => {
          const r = chunkedAll(pieces(buf, split))
          if (r.payload > buf.length) throw new Error('more payload than input')
          const whole = chunkedAll(buf.length ? [buf] : [])
          same([r.payload, r.done, r.error?.code], [whole.payload, whole.done, whole.error?.code], 'split vs whole')
        }),
        2000,
      )
    },
    TEST_TIMEOUT,
  )

  it(
    'a valid request, re-split arbitrarily, parses to the generated head, body and leftover',
    () => {
      run(
        'valid requests re-split',
        fc.property(requestArb, splitArb, (g, split) => {
          const got = parseOne(pieces(g.bytes, split))
          if (got === null) throw new Error('the complete request was not recognised')
          same(got.head, g.head, 'head')
          same(got.semantics, g.semantics, 'semantics')
          if (!got.body.equals(g.body)) throw new Error(`body: got ${got.body.toString('hex')}, want ${g.body.toString('hex')}`)
          if (!got.leftover.equals(g.leftover)) throw new Error(`leftover: got ${got.leftover.toString('hex')}, want ${g.leftover.toString('hex')}`)
        }),
        400,
      )
    },
    TEST_TIMEOUT,
  )

  it(
    'a valid request with the leftover removed and cut short anywhere is incomplete, never an error',
    () => {
      run(
        'valid requests truncated',
        fc.property(requestArb, fc.nat(), splitArb, (g, at, split) => {
          const full = g.bytes.subarray(0, g.bytes.length - g.leftover.length)
          const short = full.subarray(0, at % full.length)
          if (parseOne(pieces(short, split)) !== null) throw new Error('a truncated request was taken as complete')
        }),
        400,
      )
    },
    TEST_TIMEOUT,
  )

  it(
    'mutated valid requests (flips, inserts, deletes, duplicates), cut anywhere: only HttpError escapes',
    () => {
      const INTERESTING = [0x0d, 0x0a, 0x20, 0x09, 0x00, 0x3a, 0x3b, 0x22, 0x5c, 0x30, 0x66, 0x2c, 0x7f, 0x80, 0xff]
      const mutationArb = fc.record({
        kind: fc.constantFrom('flip', 'set', 'insert', 'delete', 'dup', 'truncate'),
        at: fc.nat(),
        len: fc.integer({ min: 1, max: 32 }),
        byte: fc.oneof(fc.constantFrom(...INTERESTING), fc.integer({ min: 0, max: 255 })),
      })
      run(
        'mutated requests',
        fc.property(requestArb, fc.array(mutationArb, { minLength: 1, maxLength: 4 }), splitArb, fc.boolean(), (g, muts, split, tiny) => {
          let b = Buffer.from(g.bytes)
          for (const m of muts) {
            if (b.length === 0) break
            const at = m.at % b.length
            if (m.kind === 'flip') b[at] = b[at]! ^ (1 << (m.byte & 7))
            else if (m.kind === 'set') b[at] = m.byte
            else if (m.kind === 'insert') b = Buffer.concat([b.subarray(0, at), Buffer.from([m.byte]), b.subarray(at)])
            else if (m.kind === 'delete') b = Buffer.concat([b.subarray(0, at), b.subarray(at + 1)])
            else if (m.kind === 'dup') b = Buffer.concat([b.subarray(0, at + m.len), b.subarray(at, at + m.len), b.subarray(at + m.len)])
            else b = b.subarray(0, at)
          }
          const r = parseAll(pieces(b, split), tiny ? TINY : LIMITS)
          if (r.payload > b.length) throw new Error('more payload than input')
        }),
        300,
      )
    },
    TEST_TIMEOUT,
  )
})
