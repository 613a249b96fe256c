// How answers look: JSON for scripts, small HTML pages for browsers (SPEC §3).
import { createHash } from 'node:crypto'
import type { ErrorRenderer, Request, Response } from '../http/connection.js'
import type { HttpError } from '../errors.js'
import type { RequestHead } from '../http/head.js'
import { header } from '../http/head.js'
import { prefersHtml } from './negotiate.js'

export interface FileAnswer {
  name: string
  originalName: string
  size: number
  sha256: string
  mimeType: string
}

const JSON_TYPE = 'application/json; charset=utf-8'

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`)
}

const ANSWER_STYLE = ':root{color-scheme:light dark}body{font:1.0625rem/1.5 system-ui,sans-serif;max-width:40rem;margin:0 auto;padding:1.5rem 1rem}h1{font-size:1.6rem;line-height:1.25}p,li{overflow-wrap:anywhere}a{display:inline-block;padding:.5rem 0;font-weight:600}'

function page(title: string, body: string): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1"><link rel="icon" href="data:,"><title>${escapeHtml(title)}</title><meta name="color-scheme" content="light dark"><style>${ANSWER_STYLE}</style></head><body>${body}</body></html>`
}

/**
 * The answer pages show names a client chose. They are escaped; as with the upload page, a strict
 * policy is the second line: no script at all, only this one style.
 */
const HTML_HEADERS = {
  'Content-Type': 'text/html; charset=utf-8',
  'Content-Security-Policy': `default-src 'none'; style-src 'sha256-${createHash('sha256').update(ANSWER_STYLE).digest('base64')}'; img-src data:; base-uri 'none'; form-action 'none'`,
  'X-Content-Type-Options': 'nosniff',
  'Cache-Control': 'no-store',
}

function fileList(files: readonly FileAnswer[]): string {
  if (files.length === 0) return ''
  return `<ul>${files.map((f) => `<li>${escapeHtml(f.name)} (${f.size.toLocaleString('en-US')} byte${f.size === 1 ? '' : 's'}${renamedFrom(f)})</li>`).join('')}</ul>`
}

/** `, renamed from a.txt` when the stored name is not the one sent (a collision, an unsafe character); folders aside. */
function renamedFrom(f: FileAnswer): string {
  const last = (p: string) => p.slice(Math.max(p.lastIndexOf('/'), p.lastIndexOf('\\')) + 1)
  const sent = last(f.originalName).normalize('NFC')
  return sent === '' || sent === last(f.name) ? '' : `, renamed from ${escapeHtml(sent)}`
}

/** Instead of a link back, once --once has its upload: the receiver is gone. */
const STOPPED = '<p>This receiver took one upload and has stopped.</p>'

/** The body is JSON or HTML by the request's Accept: a cache must not hand one to the other (RFC 9110 §12.5.5). */
const NEGOTIATED = { Vary: 'Accept' }

export const renderError: ErrorRenderer = (err: HttpError, head: RequestHead | null) =>
  errorBody(err, head ? header(head, 'accept') : undefined, [], null, true, head !== null && !isUpload(head.method))

/** Methods that send files: an error to any other request (a 405, a 414 on a GET) was no upload. */
const UPLOADS = new Set(['POST', 'PUT'])
export const isUpload = (method: string): boolean => UPLOADS.has(method)

/**
 * `about`: the file of a form the failure is about; a person needs to know which one, and that the
 * rest were not kept. `more`: false once the receiver has stopped (--once stored some of the form).
 */
function errorBody(err: HttpError, accept: string | undefined, files: readonly FileAnswer[], about: string | null = null, more = true, notUpload = false) {
  if (prefersHtml(accept)) {
    const stored = files.length > 0 ? `<p>Stored:</p>${fileList(files)}` : ''
    // Not where sending again cannot help: a full disk, a receiver that is stopping or busy.
    const again = more && err.status !== 507 && err.status !== 503 ? '; send those again' : ''
    const rest = about !== null ? `<p>Any file after it in the form was not stored either${again}.</p>` : ''
    const message = about !== null ? `<strong>${escapeHtml(about)}</strong>: ${escapeHtml(err.message)}` : escapeHtml(err.message)
    // A 401 also answers the page itself (no upload was tried), and its "Back" would only come here again.
    const title = err.status === 401 ? 'Access needed' : err.status === 404 ? 'Not found' : notUpload ? 'Request failed' : 'Upload failed'
    const back = !more ? STOPPED : err.status === 401 ? '' : '<p><a href="/">Back</a></p>'
    return {
      headers: { ...HTML_HEADERS, ...NEGOTIATED },
      body: page(title, `<h1>${title}</h1><p>${message}</p>${stored}${rest}${back}`),
    }
  }
  const error = { error: { code: err.code, message: err.message }, ...(files.length > 0 ? { files } : {}) }
  return { headers: { 'Content-Type': JSON_TYPE, ...NEGOTIATED }, body: JSON.stringify(error) + '\n' }
}

export function sendError(
  req: Request,
  res: Response,
  err: HttpError,
  files: readonly FileAnswer[] = [],
  about: string | null = null,
  more = true,
): void {
  const { headers, body } = errorBody(err, req.header('accept'), files, about, more, !isUpload(req.method))
  res.send(err.status, { ...err.headers, ...headers }, body)
}

/** `more`: whether the receiver takes further uploads (not under --once), so a link back leads somewhere. */
export function sendStored(req: Request, res: Response, files: readonly FileAnswer[], more: boolean): void {
  if (prefersHtml(req.header('accept'))) {
    const next = more ? '<p><a href="/">Upload more</a></p>' : STOPPED
    const body = page('Uploaded', `<h1>Uploaded ${files.length === 1 ? '1 file' : `${files.length} files`}</h1>${fileList(files)}${next}`)
    res.send(201, { ...HTML_HEADERS, ...NEGOTIATED }, body)
    return
  }
  res.send(201, { 'Content-Type': JSON_TYPE, ...NEGOTIATED }, JSON.stringify({ files }) + '\n')
}
