// What a parsed head means for the connection: how the body is delimited (RFC 9112 §6.3),
// whether the connection persists (§9.3), and what the client expects (RFC 9110 §10.1.1).
// Every ambiguity that could let two parsers disagree on where a request ends is rejected.
import { HttpError } from '../errors.js'
import { type RequestHead, headerTokens, headerValues, trimOws } from './head.js'
import { isValidHost } from './host.js'

export type Framing = { kind: 'none' } | { kind: 'length'; length: number } | { kind: 'chunked' }

export interface Semantics {
  framing: Framing
  keepAlive: boolean
  expectContinue: boolean
}

const DIGITS = /^[0-9]+$/
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/

export function interpretHead(head: RequestHead): Semantics {
  checkHost(head)
  const framing = bodyFraming(head)
  const connection = headerTokens(head, 'connection')
  const keepAlive =
    !connection.includes('close') && (head.versionMinor === 1 || connection.includes('keep-alive'))
  return { framing, keepAlive, expectContinue: expectsContinue(head) }
}

function checkHost(head: RequestHead): void {
  const hosts = headerValues(head, 'host')
  if (head.versionMinor === 1 && hosts.length !== 1) {
    throw new HttpError('BAD_REQUEST', hosts.length === 0 ? 'Missing Host header.' : 'Repeated Host header.')
  }
  if (hosts.length > 1 || (hosts.length === 1 && !isValidHost(hosts[0]!))) {
    throw new HttpError('BAD_REQUEST', 'Invalid Host header.')
  }
}

export function bodyFraming(head: RequestHead): Framing {
  const te = headerValues(head, 'transfer-encoding')
  const cl = headerValues(head, 'content-length')
  if (te.length > 0) {
    // RFC 9112 §6.1: TE in a 1.0 message, or TE with CL, is how requests get smuggled.
    if (cl.length > 0) throw new HttpError('BAD_REQUEST', 'Both Transfer-Encoding and Content-Length.')
    if (head.versionMinor === 0) throw new HttpError('BAD_REQUEST', 'Transfer-Encoding in an HTTP/1.0 request.')
    const codings = te.join(',').split(',').map(trimOws)
    for (const c of codings) {
      // Also catches `chunked;q=1` and empty members: the chunked coding has no parameters (§7.1).
      if (!TOKEN.test(c)) throw new HttpError('BAD_REQUEST', 'Malformed Transfer-Encoding.')
    }
    const lower = codings.map((c) => c.toLowerCase())
    if (lower[lower.length - 1] !== 'chunked' || lower.indexOf('chunked') !== lower.length - 1) {
      throw new HttpError('BAD_REQUEST', 'Transfer-Encoding must end in a single chunked.')
    }
    if (lower.length > 1) {
      throw new HttpError('NOT_IMPLEMENTED', `Transfer coding ${lower[0]} is not supported.`)
    }
    return { kind: 'chunked' }
  }
  if (cl.length === 1 && cl[0]!.length <= 15 && DIGITS.test(cl[0]!)) {
    // The common case, one plain number: the general path below gives the same answer.
    const length = Number(cl[0])
    return length === 0 ? { kind: 'none' } : { kind: 'length', length }
  }
  if (cl.length > 0) {
    const members = cl.join(',').split(',').map(trimOws)
    if (!members.every((m) => DIGITS.test(m))) throw new HttpError('BAD_REQUEST', 'Malformed Content-Length.')
    // `003` is 3; `42, 42` is one length (§6.3 rule 5), different ones are a smuggling attempt.
    const values = new Set(members.map((m) => m.replace(/^0+(?=.)/, '')))
    if (values.size !== 1) throw new HttpError('BAD_REQUEST', 'Conflicting Content-Length values.')
    const digits = [...values][0]!
    const length = Number(digits)
    // Up to 2^53 - 1 (16 digits at most); anything past it parses to 2^53 or more, never "safe".
    if (digits.length > 16 || !Number.isSafeInteger(length)) {
      throw new HttpError('BAD_REQUEST', 'Content-Length is too large.')
    }
    return length === 0 ? { kind: 'none' } : { kind: 'length', length }
  }
  return { kind: 'none' }
}

function expectsContinue(head: RequestHead): boolean {
  const expect = headerTokens(head, 'expect')
  // RFC 9110 §10.1.1: a 1.0 client's Expect is ignored.
  if (expect.length === 0 || head.versionMinor === 0) return false
  if (expect.length === 1 && expect[0] === '100-continue') return true
  throw new HttpError('EXPECTATION_FAILED', 'Only Expect: 100-continue is supported.')
}

/** True when the request declared a body at all (even an empty one). */
export function declaresBody(head: RequestHead): boolean {
  return headerValues(head, 'transfer-encoding').length > 0 || headerValues(head, 'content-length').length > 0
}
