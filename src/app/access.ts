// SPEC §5: --token (Bearer header, ?token=, or the cookie the page sets) and --auth (HTTP Basic).
// Checked before any body byte is read, compared in constant time, never logged or echoed.
import { createHash, timingSafeEqual } from 'node:crypto'
import { HttpError } from '../errors.js'
import type { Request } from '../http/connection.js'
import { trimOws } from '../http/head.js'

/**
 * Browsers keep cookies per host, not per port: two receivers on one laptop with one fixed name
 * would overwrite each other's cookie, and the first one's page would then get 401 for its
 * uploads. A name drawn from the token keeps them apart (and a receiver restarted on another port
 * with the same token still knows its cookie). It tells nothing the cookie's value does not.
 * Under TLS the name has the `__Secure-` prefix: a browser keeps a Secure cookie from plain HTTP's
 * reach, so a later plain-HTTP run with the same token could never set its own under one name.
 */
export function tokenCookieName(token: string, secure: boolean): string {
  const name = `upload_recv_${createHash('sha256').update(token, 'utf8').digest('hex').slice(0, 12)}`
  return secure ? `__Secure-${name}` : name
}

export interface AccessConfig {
  token: string | null
  auth: { user: string; pass: string } | null
  /** Set under TLS: the cookie is then Secure. */
  tls: object | null
}

/** Hashing first makes the comparison constant-time whatever the lengths. */
function same(a: string, b: string): boolean {
  const h = (s: string) => createHash('sha256').update(s, 'utf8').digest()
  return timingSafeEqual(h(a), h(b))
}

function queryToken(query: string): string | null {
  for (const pair of query.split('&')) {
    const eq = pair.indexOf('=')
    if (eq !== -1 && pair.slice(0, eq) === 'token') {
      try {
        return decodeURIComponent(pair.slice(eq + 1).replace(/\+/g, ' '))
      } catch {
        return null
      }
    }
  }
  return null
}

function cookieToken(cookie: string | undefined, token: string, secure: boolean): string | null {
  if (!cookie) return null
  const name = tokenCookieName(token, secure)
  for (const part of cookie.split(';')) {
    const eq = part.indexOf('=')
    if (eq !== -1 && trimOws(part.slice(0, eq)) === name) {
      try {
        return decodeURIComponent(trimOws(part.slice(eq + 1)))
      } catch {
        return null
      }
    }
  }
  return null
}

function authorization(req: Request, scheme: string): string | null {
  const value = req.header('authorization')
  if (!value) return null
  const space = value.indexOf(' ')
  if (space === -1 || value.slice(0, space).toLowerCase() !== scheme) return null
  return trimOws(value.slice(space + 1))
}

export interface AccessResult {
  /** The token arrived in the URL: the page answer sets the cookie and drops it from the address bar. */
  fromQuery: boolean
}

/** Throws 401 unless the request carries every credential the server requires. */
export function checkAccess(req: Request, cfg: AccessConfig): AccessResult {
  let fromQuery = false
  if (cfg.auth) {
    const basic = authorization(req, 'basic')
    let ok = false
    if (basic) {
      const decoded = Buffer.from(basic, 'base64').toString('utf8')
      const colon = decoded.indexOf(':')
      // Both halves are always compared, so timing does not tell which one was wrong.
      if (colon !== -1) {
        const userOk = same(decoded.slice(0, colon), cfg.auth.user)
        const passOk = same(decoded.slice(colon + 1), cfg.auth.pass)
        ok = userOk && passOk
      }
    }
    if (!ok) {
      throw new HttpError('UNAUTHORIZED', 'This receiver needs the right user name and password.', {
        headers: { 'WWW-Authenticate': 'Basic realm="upload-recv", charset="UTF-8"' },
      })
    }
  }
  if (cfg.token) {
    const bearer = authorization(req, 'bearer')
    const query = queryToken(req.query)
    // Header bytes are read as latin1: curl sends a UTF-8 token's bytes as they are, fetch sends
    // each character as one byte. Both are the token.
    const utf8Bearer = bearer !== null && /[^\x00-\x7f]/.test(bearer) ? Buffer.from(bearer, 'latin1').toString('utf8') : null
    const candidates = [bearer, utf8Bearer, query, cookieToken(req.header('cookie'), cfg.token, cfg.tls !== null)]
    let ok = false
    for (const c of candidates) if (c !== null && same(c, cfg.token)) ok = true
    if (!ok) {
      // RFC 9110 §11.6.1: a 401 names a scheme. Bearer (RFC 6750) makes no browser prompt for a password.
      throw new HttpError('UNAUTHORIZED', 'This receiver needs its link or QR code: open the address shown where it runs (a script sends Authorization: Bearer <token>).', {
        headers: { 'WWW-Authenticate': 'Bearer realm="upload-recv"' },
      })
    }
    fromQuery = query !== null && same(query, cfg.token)
  }
  return { fromQuery }
}

/** Which credential a 401 of checkAccess asked for: the Basic challenge is the user name and password's. */
export function refusedFor(err: HttpError): 'token' | 'auth' {
  return err.headers['WWW-Authenticate']?.startsWith('Basic') ? 'auth' : 'token'
}

/**
 * `secure` under TLS: cookies are kept per host, not per scheme or port, so without it a browser
 * would also send the token in clear to any plain-HTTP port of this host, even one an attacker on
 * the LAN makes it visit.
 */
export function tokenCookie(token: string, secure: boolean): string {
  return `${tokenCookieName(token, secure)}=${encodeURIComponent(token)}; Path=/; HttpOnly; SameSite=Strict${secure ? '; Secure' : ''}`
}
