// How answers look: JSON for scripts, small HTML pages for browsers (SPEC §3).
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
const HTML_TYPE = 'text/html; charset=utf-8'

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`)
}

function page(title: string, body: string): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1"><link rel="icon" href="data:,"><title>${escapeHtml(title)}</title><style>body{font:16px/1.5 system-ui,sans-serif;max-width:40rem;margin:2rem auto;padding:0 1rem}li{word-break:break-all}</style></head><body>${body}</body></html>`
}

function fileList(files: readonly FileAnswer[]): string {
  if (files.length === 0) return ''
  return `<ul>${files.map((f) => `<li>${escapeHtml(f.name)} (${f.size} bytes)</li>`).join('')}</ul>`
}

export const renderError: ErrorRenderer = (err: HttpError, head: RequestHead | null) =>
  errorBody(err, head ? header(head, 'accept') : undefined, [])

function errorBody(err: HttpError, accept: string | undefined, files: readonly FileAnswer[]) {
  if (prefersHtml(accept)) {
    const stored = files.length > 0 ? `<p>Stored before the error:</p>${fileList(files)}` : ''
    return {
      headers: { 'Content-Type': HTML_TYPE },
      body: page('Upload failed', `<h1>Upload failed</h1><p>${escapeHtml(err.message)}</p>${stored}<p><a href="/">Back</a></p>`),
    }
  }
  const error = { error: { code: err.code, message: err.message }, ...(files.length > 0 ? { files } : {}) }
  return { headers: { 'Content-Type': JSON_TYPE }, body: JSON.stringify(error) + '\n' }
}

export function sendError(req: Request, res: Response, err: HttpError, files: readonly FileAnswer[] = []): void {
  const { headers, body } = errorBody(err, req.header('accept'), files)
  res.send(err.status, { ...err.headers, ...headers }, body)
}

export function sendStored(req: Request, res: Response, files: readonly FileAnswer[]): void {
  if (prefersHtml(req.header('accept'))) {
    const body = page('Uploaded', `<h1>Uploaded ${files.length === 1 ? '1 file' : `${files.length} files`}</h1>${fileList(files)}<p><a href="/">Upload more</a></p>`)
    res.send(201, { 'Content-Type': HTML_TYPE }, body)
    return
  }
  res.send(201, { 'Content-Type': JSON_TYPE }, JSON.stringify({ files }) + '\n')
}
