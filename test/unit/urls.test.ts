// The URLs the banner and `listening` give (SPEC §6): the address bound, a host name as typed.
import { describe, expect, it } from 'vitest'
import { parseConfig } from '../../src/config.js'
import { listenUrls } from '../../src/urls.js'

describe('listenUrls', () => {
  it('an IP spelling gives the address bound; a host name stays as typed (what a certificate names)', () => {
    expect(listenUrls('127.1', '127.0.0.1', 4000, false)).toEqual(['http://127.0.0.1:4000/'])
    expect(listenUrls('0:0:0:0:0:0:0:1', '::1', 4000, false)).toEqual(['http://[::1]:4000/'])
    expect(listenUrls('localhost', '127.0.0.1', 4000, true)).toEqual(['https://localhost:4000/'])
  })

  it('the wildcards, however written, give what 0.0.0.0 or :: give; ::ffff:0.0.0.0 is the IPv4 one', () => {
    const v4 = listenUrls('0.0.0.0', '0.0.0.0', 4000, false)
    expect(listenUrls('0', '0.0.0.0', 4000, false)).toEqual(v4)
    expect(listenUrls('::ffff:0.0.0.0', '::ffff:0.0.0.0', 4000, false)).toEqual(v4)
    expect(v4.every((u) => !u.includes('['))).toBe(true)
    expect(listenUrls('0:0:0:0:0:0:0:0', '::', 4000, false)).toEqual(listenUrls('::', '::', 4000, false))
  })
})

describe('--host in brackets', () => {
  it('[::1], as in a URL, is ::1; brackets around an IPv4 address or a name are a usage error', () => {
    expect(parseConfig({ host: '[::1]' }).host).toBe('::1')
    expect(parseConfig({ host: '[fd00::2]' }).host).toBe('fd00::2')
    expect(() => parseConfig({ host: '[127.0.0.1]' })).toThrow(/--host: "\[127\.0\.0\.1\]" is not an address/)
    expect(parseConfig({ host: '[fe80::1%lo]' }).host).toBe('fe80::1%lo')
  })

  it('--host takes what Node can resolve or bind: an IDN name, a trailing dot, an IPv6 zone, inet_aton shorthand', () => {
    for (const host of ['bücher.test', 'localhost.', 'fe80::1%lo', '127.1']) expect(parseConfig({ host }).host).toBe(host)
  })
})
