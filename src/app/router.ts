// SPEC §3: which request gets which answer.
import { HttpError } from '../errors.js'
import { percentDecodePath, sanitizePath } from '../files/sanitize.js'
import type { Handler, Request, Response } from '../http/connection.js'
import { checkAccess, refusedFor, tokenCookie, type AccessResult } from './access.js'
import { isUpload, sendError } from './answers.js'
import type { AppContext } from './context.js'
import { uploadPage } from './page.js'
import { receiveRaw } from './upload-raw.js'
import { isMultipart, receiveMultipart } from './upload-multipart.js'

const ALLOW = 'GET, HEAD, POST, PUT, OPTIONS'

export function createApp(ctx: AppContext): Handler {
  const { html, csp } = uploadPage(ctx.config)
  const page = Buffer.from(html)
  // Opened with ?token= and no scripting: nothing takes the secret out of the address bar, so the
  // page moves itself to / (a navigation of its own, which carries the SameSite=Strict cookie).
  const pageFromLink = Buffer.from(html.replace('<head>', '<head><noscript><meta http-equiv="refresh" content="0;url=/"></noscript>'))
  const pageHeaders = {
    'Content-Type': 'text/html; charset=utf-8',
    'Cache-Control': 'no-store',
    // Hashes of the page's one style and one script; see page.ts.
    'Content-Security-Policy': csp,
    'X-Content-Type-Options': 'nosniff',
    'Referrer-Policy': 'no-referrer',
  }

  return async (req: Request, res: Response) => {
    try {
      await route(req, res)
    } catch (err) {
      if (!(err instanceof HttpError) || res.sent) throw err
      // A failed upload's line goes out before its answer, without waiting for a lagging reader:
      // only stored files hold an answer back (a 401 or 411 has nothing to wait for).
      if (isUpload(req.method)) void ctx.outputSettled()
      sendError(req, res, err)
    }
  }

  async function route(req: Request, res: Response): Promise<void> {
    const { method, path } = req
    let access: AccessResult
    try {
      access = checkAccess(req, ctx.config)
    } catch (err) {
      // Its one failure is a 401. Otherwise a phone that lost its token just sees "401" while the
      // terminal says nothing.
      if (path !== '/favicon.ico' && err instanceof HttpError) ctx.onUnauthorized(req.remoteAddress, refusedFor(err))
      throw err
    }
    if (method === 'OPTIONS') return res.send(204, { Allow: ALLOW })
    if (method === 'GET' || method === 'HEAD') {
      if (path === '/') {
        if (access.fromQuery && ctx.config.token) {
          // The page itself, not a 303: a SameSite=Strict cookie set by a redirect is not sent on
          // the redirected request when the link was clicked on another site. The page's script
          // takes the token out of the address bar (history.replaceState).
          return res.send(200, { ...pageHeaders, 'Set-Cookie': tokenCookie(ctx.config.token, ctx.config.tls !== null) }, pageFromLink)
        }
        return res.send(200, pageHeaders, page)
      }
      // Browsers ask for it on their own; answering 204 keeps logs quiet and has no side effect.
      if (path === '/favicon.ico') return res.send(204, { 'Cache-Control': 'max-age=86400' })
      throw new HttpError('NOT_FOUND', 'Nothing here: upload with POST or PUT.')
    }
    if (isUpload(method)) {
      if (!req.declaresBody) throw new HttpError('LENGTH_REQUIRED', 'Send a Content-Length or a chunked body.')
      if (method === 'POST' && isMultipart(req.header('content-type'))) {
        return receiveMultipart(ctx, req, res, folderOf(path, ctx.config.flat))
      }
      return receiveRaw(ctx, req, res)
    }
    // Methods are case-sensitive (RFC 9110 §9.1): `put` is not PUT, and saying so saves a puzzle.
    const upper = method.toUpperCase()
    const hint = upper !== method && ALLOW.split(', ').includes(upper) ? ` (methods are case-sensitive: ${upper})` : ''
    throw new HttpError('METHOD_NOT_ALLOWED', `${method} is not supported here${hint}.`, { headers: { Allow: ALLOW } })
  }
}

/** `POST /sub/dir/` puts the form's files in `sub/dir`. A trailing name is kept, so `/x` is a folder too. */
function folderOf(path: string, flat: boolean): string[] {
  if (flat || path === '/') return []
  // A placeholder last segment survives sanitising, so everything before it is the folder.
  return sanitizePath(percentDecodePath(path) + '/x').slice(0, -1)
}
