// parseConfig / parsePort / parseAuth: raw command-line strings -> Config, every mistake a UsageError.
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { parseAuth, parseConfig, parsePort, type RawOptions } from '../../src/config.js'
import { UsageError } from '../../src/errors.js'
import { DEFAULT_MAX_CONNECTIONS, DEFAULT_TIMEOUT_MS } from '../../src/limits.js'

/** Runs `fn` and returns the UsageError it throws (fails the test if it throws anything else or nothing). */
function usageError(fn: () => unknown): UsageError {
  let caught: unknown
  try {
    fn()
  } catch (err) {
    caught = err
  }
  expect(caught, 'expected a UsageError').toBeInstanceOf(UsageError)
  const err = caught as UsageError
  // SPEC §1: one clear line.
  expect(err.message).not.toMatch(/\n/)
  expect(err.message.length).toBeGreaterThan(0)
  return err
}

describe('parseConfig defaults (SPEC §1)', () => {
  it('an empty command line gives the documented defaults', () => {
    const c = parseConfig({})
    expect(c).toEqual({
      port: 4000,
      host: '0.0.0.0',
      dir: '.',
      maxFileSize: Infinity,
      maxFiles: Infinity,
      allow: null,
      allowText: null,
      overwrite: false,
      flat: false,
      token: null,
      auth: null,
      tls: null,
      timeoutMs: 60_000,
      maxConnections: 256,
      once: false,
      stdout: false,
      json: false,
      quiet: false,
      qr: true,
    })
    expect(DEFAULT_TIMEOUT_MS).toBe(60_000)
    expect(DEFAULT_MAX_CONNECTIONS).toBe(256)
  })

  it('returns a frozen object', () => {
    expect(Object.isFrozen(parseConfig({}))).toBe(true)
  })

  it('passes simple values through', () => {
    const c = parseConfig({
      host: '::1',
      dir: 'in/sub',
      overwrite: true,
      flat: true,
      json: true,
      quiet: true,
      qr: false,
      once: true,
      tlsCert: 'c.pem',
      tlsKey: 'k.pem',
      token: 's3cret',
      allow: 'image/*,.PDF',
    })
    expect(c.host).toBe('::1')
    expect(c.dir).toBe('in/sub')
    expect(c.overwrite).toBe(true)
    expect(c.flat).toBe(true)
    expect(c.json).toBe(true)
    expect(c.quiet).toBe(true)
    expect(c.qr).toBe(false)
    expect(c.once).toBe(true)
    expect(c.tls).toEqual({ certFile: 'c.pem', keyFile: 'k.pem' })
    expect(c.token).toBe('s3cret')
    expect(c.allowText).toBe('image/*, .PDF')
    expect(c.allow).toEqual([
      { kind: 'type', type: 'image', subtype: '*' },
      { kind: 'ext', ext: '.pdf' },
    ])
  })
})

describe('parsePort', () => {
  it.each([
    ['0', 0],
    ['1', 1],
    ['80', 80],
    ['4000', 4000],
    ['65535', 65535],
    ['08080', 8080],
  ])('%j -> %d', (text, port) => {
    expect(parsePort(text)).toBe(port)
  })

  it.each(['65536', '70000', '-1', '1e3', 'abc', '', ' 80', '80 ', '0x50', '4000.0', '+80', '123456'])(
    '%j is a usage error',
    (text) => {
      const err = usageError(() => parsePort(text))
      expect(err.message).toContain('--port')
    },
  )

  it('parseConfig uses it for --port', () => {
    expect(parseConfig({ port: '0' }).port).toBe(0)
    expect(parseConfig({ port: '65535' }).port).toBe(65535)
    usageError(() => parseConfig({ port: '65536' }))
    usageError(() => parseConfig({ port: '1e3' }))
  })
})

describe('--max-file-size', () => {
  it.each([
    ['123', 123],
    ['0', 0],
    ['10kB', 10_000],
    ['10KiB', 10_240],
    ['5MB', 5_000_000],
    ['5mb', 5_000_000],
    ['5MiB', 5 * 1024 * 1024],
    ['1.5GiB', 1_610_612_736],
    ['1.5gib', 1_610_612_736],
    ['2GB', 2_000_000_000],
  ])('%j -> %d bytes', (text, bytes) => {
    expect(parseConfig({ maxFileSize: text }).maxFileSize).toBe(bytes)
  })

  it.each(['12XB', 'abc', '', '-5', '5 M B', 'MB', '1.5.5MB', '10kbit', '1e3', '0x10'])(
    '%j is a usage error naming the flag',
    (text) => {
      const err = usageError(() => parseConfig({ maxFileSize: text }))
      expect(err.message).toContain('--max-file-size')
    },
  )
})

describe('--dir', () => {
  it.each(['in\nx', 'in\rx', 'a\u001b[31m', 'nul\u0000', 'in\u009b2Jx', 'nel\u0085', 'ls\u2028x', 'rlo\u202ex', 'del\u007f'])('%j (a control character) is a usage error', (dir) => {
    expect(usageError(() => parseConfig({ dir })).message).toMatch(/^--dir: the path contains a control character/)
  })

  it('a path Node read as invalid UTF-8 (U+FFFD in it) is a usage error, not a new folder beside the one meant', () => {
    expect(usageError(() => parseConfig({ dir: 'caf\ufffd' })).message).toMatch(/^--dir: the path is not valid UTF-8/)
  })

  it('a folder that really has U+FFFD in its name (it exists) is taken', () => {
    const dir = path.join(mkdtempSync(path.join(os.tmpdir(), 'upload-recv-config-')), 'caf\ufffd')
    mkdirSync(dir)
    try {
      expect(parseConfig({ dir }).dir).toBe(dir)
    } finally {
      rmSync(path.dirname(dir), { recursive: true, force: true })
    }
  })

  it('any other name is passed through (made and checked at start-up)', () => {
    expect(parseConfig({ dir: 'in 2/é/😀' }).dir).toBe('in 2/é/😀')
    expect(parseConfig({ dir: 'a\tb' }).dir).toBe('a\tb')
  })
})

describe('--max-files', () => {
  it.each([
    ['1', 1],
    ['7', 7],
    ['1000', 1000],
  ])('%j -> %d', (text, n) => {
    expect(parseConfig({ maxFiles: text }).maxFiles).toBe(n)
  })

  it.each(['0', '-1', '1.5', 'abc', '', '1e3', '99999999999999999999'])('%j is a usage error', (text) => {
    const err = usageError(() => parseConfig({ maxFiles: text }))
    expect(err.message).toContain('--max-files')
  })

  it('a whole number too large to count with is called too large, not a non-number', () => {
    expect(usageError(() => parseConfig({ maxFiles: '99999999999999999999' })).message).toBe(
      '--max-files: "99999999999999999999" is too large (at most 9007199254740991)',
    )
    expect(usageError(() => parseConfig({ maxConnections: '9007199254740992' })).message).toMatch(/^--max-connections: .* is too large/)
  })
})

describe('--max-connections', () => {
  it('accepts a positive whole number', () => {
    expect(parseConfig({ maxConnections: '2' }).maxConnections).toBe(2)
    expect(parseConfig({ maxConnections: '1' }).maxConnections).toBe(1)
  })

  it.each(['0', '-3', 'x', '2.5'])('%j is a usage error', (text) => {
    const err = usageError(() => parseConfig({ maxConnections: text }))
    expect(err.message).toContain('--max-connections')
  })
})

describe('--timeout', () => {
  it.each([
    ['1', 1000],
    ['60', 60_000],
    ['0.5', 500],
    ['2.25', 2250],
    ['86400', 86_400_000],
  ])('%j seconds -> %d ms', (text, ms) => {
    expect(parseConfig({ timeout: text }).timeoutMs).toBe(ms)
  })

  it.each(['0', '-1', 'abc', '', '1e3', '86401', '.5', '5s', 'Infinity', 'NaN'])('%j is a usage error', (text) => {
    const err = usageError(() => parseConfig({ timeout: text }))
    expect(err.message).toContain('--timeout')
  })
})

describe('--allow', () => {
  it('is shown as a list that can wrap: one space after each comma, whatever was typed', () => {
    expect(parseConfig({ allow: 'image/*,video/*, .pdf ,.zip' }).allowText).toBe('image/*, video/*, .pdf, .zip')
  })

  it.each(['foo', '', 'image/', '*/png', ',.pdf'])('%j is a usage error naming the flag', (text) => {
    const err = usageError(() => parseConfig({ allow: text }))
    expect(err.message).toContain('--allow')
  })
})

describe('parseAuth', () => {
  it.each([
    ['user:pass', { user: 'user', pass: 'pass' }],
    ['user:pa:ss', { user: 'user', pass: 'pa:ss' }],
    ['user:', { user: 'user', pass: '' }],
    ['u:p@ss w0rd', { user: 'u', pass: 'p@ss w0rd' }],
    [':pass', { user: '', pass: 'pass' }],
  ])('%j -> %j', (text, expected) => {
    expect(parseAuth(text)).toEqual(expected)
  })

  it.each(['user', '', ':'])('%j is a usage error', (text) => {
    const err = usageError(() => parseAuth(text))
    expect(err.message).toContain('--auth')
  })

  it('parseConfig uses it for --auth', () => {
    expect(parseConfig({ auth: 'a:b:c' }).auth).toEqual({ user: 'a', pass: 'b:c' })
    usageError(() => parseConfig({ auth: 'nocolon' }))
  })
})

describe('combinations', () => {
  it('--stdout implies --once', () => {
    const c = parseConfig({ stdout: true })
    expect(c.stdout).toBe(true)
    expect(c.once).toBe(true)
  })

  it('--once alone does not imply --stdout', () => {
    const c = parseConfig({ once: true })
    expect(c.once).toBe(true)
    expect(c.stdout).toBe(false)
  })

  it.each<[string, RawOptions]>([
    ['--tls-cert without --tls-key', { tlsCert: 'c.pem' }],
    ['--tls-key without --tls-cert', { tlsKey: 'k.pem' }],
    ['an empty --token', { token: '' }],
    ['an empty --host', { host: '' }],
    ['a blank --host', { host: '   ' }],
    ['a URL as --host', { host: 'http://x' }],
    ['a --host with a space', { host: 'my host' }],
    ['a --host with a path', { host: '10.0.0.1/24' }],
    // `--dir "$UNSET"`: files would land in the working folder.
    ['an empty --dir', { dir: '' }],
  ])('%s is a usage error', (_what, raw) => {
    usageError(() => parseConfig(raw))
  })
})
