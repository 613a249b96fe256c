// The boundary search busboy uses, with the native loop, against streamsearch's own: the same
// callbacks, in the same order, for inputs made to be hard (near-misses, needles cut across
// chunks, needles at chunk edges) and cut at random points.
import busboy from 'busboy'
import fc from 'fast-check'
import { createHash } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { currentPush, fastPush, installCloseDelimiterStop, installFastBoundarySearch, originalPush, searchWith } from '../../src/app/busboy-search.js'

type Call = [isMatch: boolean, data: string | null, isSafeData: boolean]
type Push = Parameters<typeof searchWith>[0]

function calls(push: Push, needle: Buffer, chunks: Buffer[]): Call[] {
  const out: Call[] = []
  const s = searchWith(push, needle, (isMatch, data, start, end, isSafeData) => {
    out.push([isMatch, data ? data.toString('latin1', start, end) : null, isSafeData])
  })
  for (const c of chunks) s.push(c)
  return out
}

function cut(buf: Buffer, at: number[]): Buffer[] {
  const points = [...new Set(at.map((p) => p % (buf.length + 1)))].sort((a, b) => a - b)
  const out: Buffer[] = []
  let from = 0
  for (const p of points) {
    out.push(buf.subarray(from, p))
    from = p
  }
  out.push(buf.subarray(from))
  return out
}

// Boundaries as busboy builds its needle: CRLF, two dashes, the boundary (no CR/LF in it, RFC 2046).
const needleArb = fc.stringMatching(/^[ab\-0-9]{1,12}$/).map((b) => Buffer.from(`\r\n--${b}`, 'latin1'))
// Pieces of the needle, bytes of its alphabet and the whole needle, so near-misses are common.
const haystackArb = (needle: Buffer) =>
  fc
    .array(
      fc.oneof(
        fc.integer({ min: 1, max: needle.length }).map((n) => needle.subarray(0, n)),
        fc.constantFrom(...'\r\nab-0'.split('')).map((c) => Buffer.from(c, 'latin1')),
        fc.constant(needle),
        fc.uint8Array({ maxLength: 8 }).map((u) => Buffer.from(u)),
      ),
      { maxLength: 60 },
    )
    .map((parts) => Buffer.concat(parts))

const fast = installFastBoundarySearch()

describe('busboy boundary search with a native loop', () => {
  it('is installed on the streamsearch busboy loads', () => {
    expect(fast).toBe(true)
    expect(currentPush()).toBe(fastPush)
    expect(fastPush).not.toBe(originalPush)
  })

  it('reports the same callbacks as streamsearch, whatever the input and wherever it is cut', () => {
    fc.assert(
      fc.property(
        needleArb.chain((needle) => fc.tuple(fc.constant(needle), haystackArb(needle), fc.array(fc.nat(), { maxLength: 12 }))),
        ([needle, hay, at]) => {
          const chunks = cut(hay, at)
          expect(calls(fastPush, needle, chunks)).toEqual(calls(originalPush, needle, chunks))
        },
      ),
      { numRuns: 3000, seed: 7 },
    )
  })

  it('finds a needle split over three chunks and one at the very start or end', () => {
    const needle = Buffer.from('\r\n--xyz')
    for (const chunks of [
      [Buffer.from('aaa\r'), Buffer.from('\n-'), Buffer.from('-xyzbbb')],
      [Buffer.from('\r\n--xyz'), Buffer.from('tail')],
      [Buffer.from('head\r\n--xyz')],
      [Buffer.from('head\r\n--xy'), Buffer.from('q\r\n--xyz')],
    ]) {
      expect(calls(fastPush, needle, chunks)).toEqual(calls(originalPush, needle, chunks))
    }
  })

  it('busboy parses a multipart body the same, fed in odd pieces', async () => {
    const boundary = 'x-boundary-1'
    const file = Buffer.alloc(300_000)
    for (let i = 0; i < file.length; i++) file[i] = (i * 7919) % 251
    // The boundary's own bytes, and its prefix, inside the file: near-misses for the search.
    Buffer.from(`\r\n--${boundary.slice(0, -1)}`).copy(file, 1000)
    Buffer.from('\r\n--').copy(file, file.length - 4)
    const body = Buffer.concat([
      Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="f"; filename="a.bin"\r\n\r\n`),
      file,
      Buffer.from(`\r\n--${boundary}--\r\n`),
    ])
    for (const size of [1, 7, 4096, 65536]) {
      const got = await parse(body, boundary, size)
      expect(got).toEqual(createHash('sha256').update(file).digest('hex'))
    }
  })
})

describe('busboy stops at the close delimiter', () => {
  const cd = (name: string) => `Content-Disposition: form-data; name="f"; filename="${name}"\r\n\r\n`
  // Part-like text in the epilogue; and a body that is all epilogue (the close delimiter first).
  const bodies: Array<[Buffer, string[]]> = [
    [Buffer.from(`--B\r\n${cd('one.txt')}hello\r\n--B--\r\n--B\r\n${cd('e1.txt')}x\r\n--B\r\n${cd('e2.bin')}${'y'.repeat(100)}`), ['one.txt']],
    [Buffer.from(`--B--\r\n--B\r\n${cd('f1.txt')}v\r\n--B\r\n${cd('f2.bin')}${'y'.repeat(2000)}\r\n--B--\r\n`), []],
  ]

  /** The files busboy starts, and whether it closes (it hung on these before). */
  function run(body: Buffer, at: number): Promise<{ files: string[]; closed: boolean }> {
    return new Promise((resolve) => {
      const bb = busboy({ headers: { 'content-type': 'multipart/form-data; boundary=B' } })
      const files: string[] = []
      bb.on('file', (_name, stream, info) => {
        files.push(info.filename ?? '')
        stream.resume()
      })
      const timer = setTimeout(() => resolve({ files, closed: false }), 1_000)
      bb.on('close', () => {
        clearTimeout(timer)
        resolve({ files, closed: true })
      })
      bb.write(body.subarray(0, at))
      bb.end(body.subarray(at))
    })
  }

  it('ignores the epilogue wherever the body is cut: no part started, busboy closes', async () => {
    installFastBoundarySearch()
    expect(installCloseDelimiterStop()).toBe(true)
    for (const [body, expected] of bodies) {
      for (let at = 0; at <= body.length; at += 3) {
        expect(await run(body, at), `cut at ${at}`).toEqual({ files: expected, closed: true })
      }
    }
  })
})

function parse(body: Buffer, boundary: string, size: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const bb = busboy({ headers: { 'content-type': `multipart/form-data; boundary=${boundary}` } })
    bb.on('file', (_name, stream) => {
      const h = createHash('sha256')
      stream.on('data', (d: Buffer) => h.update(d))
      stream.on('end', () => resolve(h.digest('hex')))
    })
    bb.on('error', reject)
    for (let i = 0; i < body.length; i += size) bb.write(body.subarray(i, i + size))
    bb.end()
  })
}
