import { describe, it, expect } from 'vitest'
import { matchAllow, parseAllow, type AllowRule } from '../../src/files/allow.js'

describe('parseAllow', () => {
  it.each<{ what: string; list: string; expected: AllowRule[] }>([
    { what: 'one extension', list: '.pdf', expected: [{ kind: 'ext', ext: '.pdf' }] },
    { what: 'compound extension', list: '.tar.gz', expected: [{ kind: 'ext', ext: '.tar.gz' }] },
    { what: 'type wildcard', list: 'image/*', expected: [{ kind: 'type', type: 'image', subtype: '*' }] },
    { what: 'exact type', list: 'text/plain', expected: [{ kind: 'type', type: 'text', subtype: 'plain' }] },
    { what: 'everything', list: '*/*', expected: [{ kind: 'type', type: '*', subtype: '*' }] },
    {
      what: 'type with RFC 6838 punctuation',
      list: 'application/vnd.ms-excel,image/svg+xml',
      expected: [
        { kind: 'type', type: 'application', subtype: 'vnd.ms-excel' },
        { kind: 'type', type: 'image', subtype: 'svg+xml' },
      ],
    },
    {
      what: 'the SPEC example, in order',
      list: 'image/*,.pdf,text/plain',
      expected: [
        { kind: 'type', type: 'image', subtype: '*' },
        { kind: 'ext', ext: '.pdf' },
        { kind: 'type', type: 'text', subtype: 'plain' },
      ],
    },
    {
      what: 'whitespace around entries is trimmed',
      list: '  image/* ,\t.pdf  ',
      expected: [
        { kind: 'type', type: 'image', subtype: '*' },
        { kind: 'ext', ext: '.pdf' },
      ],
    },
    {
      what: 'lower-cased',
      list: 'IMAGE/PNG,.PDF',
      expected: [
        { kind: 'type', type: 'image', subtype: 'png' },
        { kind: 'ext', ext: '.pdf' },
      ],
    },
    { what: 'non-ASCII extension', list: '.données', expected: [{ kind: 'ext', ext: '.données' }] },
  ])('$what', ({ list, expected }) => {
    expect(parseAllow(list)).toEqual(expected)
  })

  it.each([
    { what: 'empty list', list: '', message: '--allow: the list is empty; give e.g. image/*,.pdf' },
    { what: 'blank list', list: '   ', message: '--allow: the list is empty; give e.g. image/*,.pdf' },
    { what: 'empty entry', list: 'image/*,,.pdf', message: '--allow: "image/*,,.pdf" has an empty entry' },
    { what: 'trailing comma', list: '.pdf,', message: '--allow: ".pdf," has an empty entry' },
    { what: 'bare word', list: 'foo', message: '--allow: "foo" is neither a .extension nor a MIME type like image/*' },
    { what: 'extension without dot', list: 'pdf', message: '--allow: "pdf" is neither a .extension nor a MIME type like image/*' },
    { what: 'lone dot', list: '.', message: '--allow: "." is neither a .extension nor a MIME type like image/*' },
    { what: 'double dot', list: '..pdf', message: '--allow: "..pdf" is neither a .extension nor a MIME type like image/*' },
    { what: 'dot at the end', list: '.pdf.', message: '--allow: ".pdf." is neither a .extension nor a MIME type like image/*' },
    { what: 'space inside', list: '.p df', message: '--allow: ".p df" is neither a .extension nor a MIME type like image/*' },
    { what: 'wildcard extension', list: '.*', message: '--allow: ".*" is neither a .extension nor a MIME type like image/*' },
    { what: 'wildcard type with a subtype', list: '*/png', message: '--allow: "*/png" is neither a .extension nor a MIME type like image/*' },
    { what: 'bare star', list: '*', message: '--allow: "*" is neither a .extension nor a MIME type like image/*' },
    { what: 'missing subtype', list: 'image/', message: '--allow: "image/" is neither a .extension nor a MIME type like image/*' },
    { what: 'missing type', list: '/png', message: '--allow: "/png" is neither a .extension nor a MIME type like image/*' },
    { what: 'three parts', list: 'image/png/x', message: '--allow: "image/png/x" is neither a .extension nor a MIME type like image/*' },
    { what: 'parameters', list: 'text/plain;charset=utf-8', message: '--allow: "text/plain;charset=utf-8" is neither a .extension nor a MIME type like image/*' },
    { what: 'original spelling in the message', list: 'Foo Bar', message: '--allow: "Foo Bar" is neither a .extension nor a MIME type like image/*' },
  ])('rejects $what', ({ list, message }) => {
    expect(() => parseAllow(list)).toThrow(new Error(message))
  })
})

describe('matchAllow', () => {
  const rules = parseAllow('image/*,.pdf,text/plain,.tar.gz')

  it.each([
    { what: 'type wildcard', file: { name: 'x.bin', type: 'image/png' }, expected: true },
    { what: 'exact type', file: { name: 'x', type: 'text/plain' }, expected: true },
    { what: 'type parameters ignored', file: { name: 'x', type: 'text/plain; charset=utf-8' }, expected: true },
    { what: 'type case-insensitive', file: { name: 'x', type: 'Text/PLAIN' }, expected: true },
    { what: 'type with surrounding spaces', file: { name: 'x', type: ' image/jpeg ' }, expected: true },
    { what: 'other subtype of an exact rule', file: { name: 'x', type: 'text/html' }, expected: false },
    { what: 'other type', file: { name: 'x.exe', type: 'application/octet-stream' }, expected: false },
    { what: 'type without subtype', file: { name: 'x', type: 'image' }, expected: false },
    { what: 'type with empty subtype', file: { name: 'x', type: 'image/' }, expected: false },
    { what: 'malformed type', file: { name: 'x', type: 'image/png/x' }, expected: false },
    { what: 'a type that only starts like an allowed one', file: { name: 'x', type: 'images/png' }, expected: false },
    { what: 'extension', file: { name: 'report.pdf' }, expected: true },
    { what: 'extension case-insensitive', file: { name: 'REPORT.PDF' }, expected: true },
    { what: 'extension wins over a wrong type', file: { name: 'r.pdf', type: 'application/octet-stream' }, expected: true },
    { what: 'compound extension', file: { name: 'x.tar.gz' }, expected: true },
    { what: 'only part of the compound extension', file: { name: 'x.gz' }, expected: false },
    { what: 'extension must follow a dot', file: { name: 'xpdf' }, expected: false },
    { what: 'extension not at the end', file: { name: 'x.pdf.exe' }, expected: false },
    { what: 'a dot file named like the extension', file: { name: '.pdf' }, expected: false },
    { what: 'final segment of a path', file: { name: 'docs/a.pdf' }, expected: true },
    { what: 'final segment of a backslash path', file: { name: 'docs\\a.pdf' }, expected: true },
    { what: 'folder with the extension does not count', file: { name: 'x.pdf/a.exe' }, expected: false },
    { what: 'no type, no matching extension', file: { name: 'a.exe', type: undefined }, expected: false },
    { what: 'empty name', file: { name: '' }, expected: false },
  ])('$what', ({ file, expected }) => {
    expect(matchAllow(rules, file)).toBe(expected)
  })

  it.each([
    { what: 'any declared type', file: { name: 'a.exe', type: 'application/x-msdownload' }, expected: true },
    { what: 'no declared type at all', file: { name: 'a' }, expected: true },
  ])('*/* matches $what', ({ file, expected }) => {
    expect(matchAllow(parseAllow('*/*'), file)).toBe(expected)
  })

  it('a file matching nothing in an extension-only list is refused', () => {
    expect(matchAllow(parseAllow('.jpg,.png'), { name: 'a.gif', type: 'image/gif' })).toBe(false)
  })
})
