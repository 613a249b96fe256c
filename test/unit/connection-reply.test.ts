// The Response a handler gets: sends once, reports `sent`, and keeps its getter on a shared
// prototype. As an object literal with a getter it was a dictionary-mode object whose AccessorPair
// V8 allocates in the old generation, pointing at the request's closures, so every request
// outlived young-generation GCs (issue #7: W2 promoted 4.7 KB per request instead of 0.2). Real
// listener, real socket.
import net from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { renderError } from '../../src/app/answers.js'
import type { Response } from '../../src/http/connection.js'
import { createListener, type Listener } from '../../src/http/listener.js'

const seen: Response[] = []
let listener: Listener

beforeAll(async () => {
  listener = await createListener({
    host: '127.0.0.1',
    port: 0,
    maxConnections: 4,
    handler: async (_req, res) => {
      seen.push(res)
      const before = res.sent
      res.send(200, { 'Content-Type': 'text/plain' }, `sent before: ${before}`)
      // Ignored: one answer per request.
      res.send(500, {}, 'second')
    },
    renderError,
    limits: { maxTargetBytes: 8192, maxHeadBytes: 16384, maxHeaderCount: 100 },
    timeoutMs: 5000,
    keepAliveIdleMs: 5000,
    bodyHighWaterMark: 65536,
  })
})

afterAll(() => listener.abort())

/** Two GETs on one connection; resolves with everything the server sent. */
function twoRequests(): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = net.connect(listener.address.port, '127.0.0.1')
    let got = ''
    s.setEncoding('latin1')
    s.on('data', (d: string) => {
      got += d
      if ((got.match(/sent before: false/g) ?? []).length === 2) {
        s.destroy()
        resolve(got)
      }
    })
    s.on('error', reject)
    s.setTimeout(5000, () => reject(new Error('no answer')))
    s.write('GET /a HTTP/1.1\r\nHost: x\r\n\r\nGET /b HTTP/1.1\r\nHost: x\r\n\r\n')
  })
}

describe('the Response handed to a handler', () => {
  it('answers once per request and reports it as sent', async () => {
    const got = await twoRequests()
    expect(got.match(/HTTP\/1\.1 200 /g)).toHaveLength(2)
    expect(got).not.toContain('second')
    expect(seen).toHaveLength(2)
    for (const res of seen) expect(res.sent).toBe(true)
  })

  it("keeps `sent` on a shared prototype, not on each request's object", () => {
    const [a, b] = seen
    expect(Object.getOwnPropertyDescriptor(a!, 'sent')).toBeUndefined()
    expect(Object.getPrototypeOf(a)).toBe(Object.getPrototypeOf(b))
    expect(Object.getOwnPropertyDescriptor(Object.getPrototypeOf(a), 'sent')?.get).toBeTypeOf('function')
  })
})
