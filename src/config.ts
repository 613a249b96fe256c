// Raw command-line strings -> a validated, frozen Config. Pure but for one existence check (--dir's
// U+FFFD): every mistake is a UsageError (exit 2).
import { existsSync } from 'node:fs'
import { isIP } from 'node:net'
import { BEYOND_C0 } from './controls.js'
import { UsageError } from './errors.js'
import { parseAllow, type AllowRule } from './files/allow.js'
import { DEFAULT_MAX_CONNECTIONS, DEFAULT_TIMEOUT_MS } from './limits.js'
import { parseSize } from './size.js'

/** The controls a file name loses (SPEC §4), but a tab: a folder may have one. */
const DIR_CONTROL = new RegExp(`[\\u0000-\\u0008\\u000a-\\u001f${BEYOND_C0}]`)

export interface RawOptions {
  port?: string
  host?: string
  dir?: string
  maxFileSize?: string
  maxFiles?: string
  allow?: string
  overwrite?: boolean
  flat?: boolean
  token?: string
  auth?: string
  tlsCert?: string
  tlsKey?: string
  timeout?: string
  maxConnections?: string
  once?: boolean
  stdout?: boolean
  json?: boolean
  quiet?: boolean
  qr?: boolean
}

export interface Config {
  readonly port: number
  readonly host: string
  /** As the user gave it, for printing stored paths the way they would type them. */
  readonly dir: string
  /** Infinity when unlimited. */
  readonly maxFileSize: number
  readonly maxFiles: number
  readonly allow: readonly AllowRule[] | null
  /** --allow as shown to people (and in the page's `accept`): `image/*, .pdf`, so a long list can wrap. */
  readonly allowText: string | null
  readonly overwrite: boolean
  readonly flat: boolean
  readonly token: string | null
  readonly auth: { readonly user: string; readonly pass: string } | null
  readonly tls: { readonly certFile: string; readonly keyFile: string } | null
  readonly timeoutMs: number
  readonly maxConnections: number
  readonly once: boolean
  readonly stdout: boolean
  readonly json: boolean
  readonly quiet: boolean
  readonly qr: boolean
}

export function parsePort(text: string): number {
  if (!/^[0-9]{1,5}$/.test(text) || Number(text) > 65535) {
    throw new UsageError(`--port: "${text}" is not a port number (0-65535; 0 picks a free one)`)
  }
  return Number(text)
}

function parseCount(flag: string, text: string, min: number): number {
  if (!/^[0-9]+$/.test(text) || Number(text) < min) {
    throw new UsageError(`${flag}: "${text}" is not a whole number of at least ${min}`)
  }
  // A whole number all the same: saying it is not one would send the user looking for a typo.
  if (!Number.isSafeInteger(Number(text))) {
    throw new UsageError(`${flag}: "${text}" is too large (at most ${Number.MAX_SAFE_INTEGER})`)
  }
  return Number(text)
}

function parseSeconds(text: string): number {
  const n = Number(text)
  // Kept in whole milliseconds: 0.0004 would be 0, a timeout that fires at once.
  if (!/^[0-9]+(\.[0-9]+)?$/.test(text) || !(n >= 0.001) || n > 86_400) {
    throw new UsageError(`--timeout: "${text}" is not a number of seconds (at least 0.001, at most 86400)`)
  }
  return Math.round(n * 1000)
}

export function parseAuth(text: string): { user: string; pass: string } {
  const colon = text.indexOf(':')
  if (colon === -1) throw new UsageError('--auth: expected user:password')
  // Either half may be empty (`curl -u :pass` sends an empty user name), but not both: any
  // client would get in by pressing Enter at the browser's prompt.
  if (text.length === 1) throw new UsageError('--auth: the user name and the password are both empty')
  return { user: text.slice(0, colon), pass: text.slice(colon + 1) }
}

function usage<T>(flag: string, fn: () => T): T {
  try {
    return fn()
  } catch (err) {
    if (err instanceof UsageError) throw err
    const msg = (err as Error).message
    throw new UsageError(msg.startsWith(flag) ? msg : `${flag}: ${msg}`)
  }
}

export function parseConfig(raw: RawOptions): Config {
  if (raw.token !== undefined && raw.token === '') throw new UsageError('--token: the secret must not be empty')
  if ((raw.tlsCert === undefined) !== (raw.tlsKey === undefined)) {
    throw new UsageError('--tls-cert and --tls-key go together: give both PEM files')
  }
  // `[::1]` is how an IPv6 address is written in a URL, so people type it that way too.
  const host = (raw.host ?? '0.0.0.0').replace(/^\[([0-9a-fA-F:.]*:[^\]]*)\]$/, '$1')
  if (host.trim() === '') throw new UsageError('--host: the address must not be empty')
  // A URL, a path, a space or brackets around anything but IPv6 are a command line wrong in itself,
  // not a name that failed to resolve. Letters beyond ASCII are not: Node resolves an IDN name.
  if (/[\s/\\?#@[\]"<>\x00-\x1f\x7f]/.test(host)) {
    throw new UsageError(`--host: "${host}" is not an address or host name (such as 192.168.1.10, ::1 or localhost)`)
  }
  // A colon belongs only in an IPv6 address: `127.0.0.1:8080` is a port in the wrong place, not a
  // name to look up (it failed as one, blaming DNS).
  if (host.includes(':') && isIP(host) === 0) {
    throw new UsageError(`--host: "${host}" is not an address or host name; give the port with --port`)
  }
  // `--dir "$UNSET"` means a mistake, not the working folder.
  if (raw.dir === '') throw new UsageError('--dir: the path must not be empty (for the current folder, give .)')
  // Stored paths go to stdout one per line, and the folder to the terminal: a line break or an
  // escape in it would break both (SPEC §2).
  if (raw.dir !== undefined && DIR_CONTROL.test(raw.dir)) {
    throw new UsageError('--dir: the path contains a control character (a line break?); choose another folder')
  }
  // Node reads the command line as UTF-8 and turns bytes that are not into U+FFFD: `caf\xe9`
  // would quietly become a new folder `caf\ufffd` beside the one meant. A folder that really has
  // U+FFFD in its name exists already.
  if (raw.dir?.includes('\ufffd') && !existsSync(raw.dir)) {
    throw new UsageError('--dir: the path is not valid UTF-8 (it has U+FFFD, which is what Node makes of such bytes, and no such folder exists); choose or rename the folder')
  }
  return Object.freeze({
    port: parsePort(raw.port ?? '4000'),
    host,
    dir: raw.dir ?? '.',
    maxFileSize: raw.maxFileSize === undefined ? Infinity : usage('--max-file-size', () => parseSize(raw.maxFileSize!)),
    maxFiles: raw.maxFiles === undefined ? Infinity : parseCount('--max-files', raw.maxFiles, 1),
    allow: raw.allow === undefined ? null : usage('--allow', () => parseAllow(raw.allow!)),
    allowText: raw.allow === undefined ? null : raw.allow.split(',').map((entry) => entry.trim()).join(', '),
    overwrite: raw.overwrite ?? false,
    flat: raw.flat ?? false,
    token: raw.token ?? null,
    auth: raw.auth === undefined ? null : parseAuth(raw.auth),
    tls: raw.tlsCert === undefined ? null : { certFile: raw.tlsCert, keyFile: raw.tlsKey! },
    timeoutMs: raw.timeout === undefined ? DEFAULT_TIMEOUT_MS : parseSeconds(raw.timeout),
    maxConnections:
      raw.maxConnections === undefined ? DEFAULT_MAX_CONNECTIONS : parseCount('--max-connections', raw.maxConnections, 1),
    once: (raw.once ?? false) || (raw.stdout ?? false),
    stdout: raw.stdout ?? false,
    json: raw.json ?? false,
    quiet: raw.quiet ?? false,
    qr: raw.qr ?? true,
  })
}
