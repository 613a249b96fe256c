// busboy with the part-header hooks of src/app/busboy-headers.ts, fed real multipart bodies cut
// at every point: the hooks must give the same parts however the bytes arrive.
import busboy from 'busboy'
import { describe, expect, it } from 'vitest'
import { fallbackBoundary, installPartHeaderHooks, multipartBoundary, partFacts, type PartFacts } from '../../src/app/busboy-headers.js'
import { multipartBody, type Part } from '../helpers/multipart.js'
import { byteByByte, onePiece, twoWayCuts, type Splitting } from '../helpers/splits.js'

interface Seen {
  filename: string | undefined
  mimeType: string
  facts: PartFacts
  data: string
}

function parse(contentType: string, split: Splitting): Promise<{ files: Seen[]; fields: string[]; error: string | null }> {
  return new Promise((resolve) => {
    const files: Seen[] = []
    const fields: string[] = []
    // As upload-multipart.ts configures it.
    const bb = busboy({ headers: { 'content-type': contentType }, defParamCharset: 'utf8', preservePath: true })
    bb.on('file', (_name, stream, info) => {
      const seen: Seen = { filename: info.filename, mimeType: info.mimeType, facts: partFacts(), data: '' }
      files.push(seen)
      stream.on('data', (d: Buffer) => (seen.data += d.toString('latin1')))
    })
    bb.on('field', (name) => fields.push(name))
    bb.on('error', (err: Error) => resolve({ files, fields, error: err.message }))
    bb.on('close', () => resolve({ files, fields, error: null }))
    for (const chunk of split.chunks) bb.write(chunk)
    bb.end()
  })
}

function* splittings(body: Buffer): Generator<Splitting> {
  yield onePiece(body)
  yield byteByByte(body)
  yield* twoWayCuts(body)
}

const plain: PartFacts = { extendedName: false, emptyName: false, mimeType: '' }

describe('busboy part-header hooks', () => {
  it('are installed on the busboy we run', () => {
    expect(installPartHeaderHooks()).toBe(true)
  })

  it('drop raw control bytes from a part header instead of failing the request; the file bytes after it are untouched', async () => {
    installPartHeaderHooks()
    // Control bytes in the file's data, right after the header, must survive.
    const data = '\x00\x01\x7f\x1b\r\nbody'
    const { body, contentType } = multipartBody([
      { rawFilename: Buffer.from('a\x01b\x7fc\x1b\x00.txt', 'latin1'), contentType: 'text/pl\x02ain', data },
      { filename: 'second.bin', data: 'two' },
    ])
    for (const split of splittings(body)) {
      const r = await parse(contentType, split)
      expect(r.error, split.label).toBeNull()
      expect(r.files, split.label).toEqual([
        { filename: 'abc.txt', mimeType: 'text/plain', facts: plain, data },
        { filename: 'second.bin', mimeType: 'application/octet-stream', facts: plain, data: 'two' },
      ])
    }
  })

  it('make a part with filename="" and bytes a file, keeping its declared type', async () => {
    installPartHeaderHooks()
    const parts: Part[] = [
      { field: 'typed', rawFilename: '', contentType: 'Text/Plain; charset=utf-8', data: 'hello' },
      { field: 'untyped', disposition: 'form-data; name="untyped"; filename=""', data: 'x' },
      { field: 'comment', data: 'a field stays a field' },
    ]
    const { body, contentType } = multipartBody(parts)
    for (const split of [onePiece(body), byteByByte(body)]) {
      const r = await parse(contentType, split)
      expect(r.error, split.label).toBeNull()
      expect(r.files, split.label).toEqual([
        { filename: undefined, mimeType: 'application/octet-stream', facts: { extendedName: false, emptyName: true, mimeType: 'text/plain' }, data: 'hello' },
        { filename: undefined, mimeType: 'application/octet-stream', facts: { extendedName: false, emptyName: true, mimeType: 'text/plain' }, data: 'x' },
      ])
      expect(r.fields, split.label).toEqual(['comment'])
    }
  })

  it('keep a part whose filename*= does not decode (busboy dropped it): under its filename=, else as a nameless file', async () => {
    installPartHeaderHooks()
    const { body, contentType } = multipartBody([
      { disposition: `form-data; name="f"; filename="fallback.txt"; filename*=UTF-8''bad%G1.txt`, contentType: 'text/plain', data: '1' },
      { disposition: `form-data; name="f"; filename*=no-such-charset''abc.txt`, contentType: 'text/plain', data: '2' },
      { disposition: `form-data; name="f"; filename*=UTF-8''a%zz.txt`, data: '3' },
    ])
    for (const split of [onePiece(body), byteByByte(body)]) {
      const r = await parse(contentType, split)
      expect(r.error, split.label).toBeNull()
      expect(r.files.map((f) => [f.filename, f.facts.emptyName, f.facts.emptyName ? f.facts.mimeType : f.mimeType, f.data]), split.label).toEqual([
        ['fallback.txt', false, 'text/plain', '1'],
        [undefined, true, 'text/plain', '2'],
        [undefined, true, 'text/plain', '3'],
      ])
    }
  })

  it('keep a part whose disposition busboy cannot parse strictly (an unquoted name with a space or UTF-8, spaces around =)', async () => {
    installPartHeaderHooks()
    const { body, contentType } = multipartBody([
      { disposition: 'form-data; name="f"; filename=Fotoğraf.jpg', contentType: 'image/jpeg', data: '1' },
      { disposition: 'form-data; name=f; filename=my photo.jpg; size=1', data: '2' },
      { disposition: 'form-data; name="f"; filename = "spaced.txt"', contentType: 'text/plain', data: '3' },
      { disposition: 'form-data; name="f"; filename=a\\b/c"d.txt', data: '4' },
      { disposition: 'form-data; name="f"; filename="x"y.txt"', contentType: 'text/plain', data: '5' },
      { disposition: 'form-data; name="f"; filename=plain.txt', data: '6' },
      { disposition: 'form-data; name="f"; filename="report.pdf";', data: '7' },
      { disposition: "form-data; name=\"f\"; filename=fall back.txt; filename*=UTF-8''bad%G1.txt", data: '8' },
      { disposition: 'form-data; name=my field', data: 'not a file, whatever busboy makes of it' },
    ])
    for (const split of [onePiece(body), byteByByte(body)]) {
      const r = await parse(contentType, split)
      expect(r.error, split.label).toBeNull()
      expect(r.files.map((f) => [f.filename, f.facts.emptyName, f.facts.emptyName ? f.facts.mimeType : f.mimeType, f.data]), split.label).toEqual([
        ['Fotoğraf.jpg', false, 'image/jpeg', '1'],
        ['my photo.jpg', false, 'text/plain', '2'],
        ['spaced.txt', false, 'text/plain', '3'],
        ['a\\b/c"d.txt', false, 'text/plain', '4'],
        // A stray quote: no name can be read from it, but the bytes are kept.
        [undefined, true, 'text/plain', '5'],
        ['plain.txt', false, 'text/plain', '6'],
        ['report.pdf', false, 'text/plain', '7'],
        // A filename*= that does not decode gives way to the loose filename= beside it.
        ['fall back.txt', false, 'text/plain', '8'],
      ])
    }
  })

  it('tell a filename*= name (already percent-decoded) from a filename= one', async () => {
    installPartHeaderHooks()
    const { body, contentType } = multipartBody([
      { disposition: `form-data; name="f"; filename*=UTF-8''a%2522b%C3%A9.txt`, data: '1' },
      { disposition: 'form-data; name="f"; filename="a%22b.txt"', data: '2' },
    ])
    const r = await parse(contentType, onePiece(body))
    expect(r.files.map((f) => [f.filename, f.facts.extendedName])).toEqual([
      ['a%22bé.txt', true],
      ['a%22b.txt', false],
    ])
  })
})

describe('fallbackBoundary (used only if busboy moves its internals)', () => {
  it.each([
    'multipart/form-data; boundary=abc',
    'multipart/form-data; boundary="a b;c"',
    'multipart/form-data;boundary=----WebKitFormBoundaryx7',
    'multipart/form-data; charset=utf-8; boundary=xyz',
    'multipart/form-data; BOUNDARY=Up',
    'multipart/form-data; boundary=abc; charset=utf-8',
    'multipart/form-data',
    'multipart/form-data; boundary="a\\"b"',
    'multipart/form-data; x="; boundary=evil"; boundary=good',
    'multipart/form-data; boundary = x',
    'multipart/form-data; boundary=a@b',
    'multipart/form-data; boundary=abc,def',
  ])('reads %j as busboy does', (contentType) => {
    expect(fallbackBoundary(contentType)).toBe(multipartBoundary(contentType))
  })
})
