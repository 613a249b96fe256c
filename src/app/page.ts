// GET / : the upload page (SPEC §3, issue #5). One self-contained document: inline CSS and
// script, allowed by their hashes in a strict Content-Security-Policy, no external fetches.
// The server's limits travel in a JSON data block the script reads; without scripting the
// same page is a plain multipart form whose post gets the server's HTML result page.
import { createHash } from 'node:crypto'
import type { Config } from '../config.js'
import { UNSAFE } from '../files/sanitize.js'
import { limitText } from '../size.js'
import { escapeHtml } from './answers.js'
import { CLIENT } from './page/client.js'
import { STYLE } from './page/style.js'

export interface UploadPage {
  html: string
  /** The Content-Security-Policy header that goes with `html`. */
  csp: string
}

/** The script as sent: indentation and whole-line comments dropped (it has no multi-line strings). */
const SCRIPT = CLIENT.split('\n')
  .map((line) => line.trim())
  .filter((line) => line !== '' && !line.startsWith('//'))
  .join('\n')

const hash = (text: string) => `'sha256-${createHash('sha256').update(text, 'utf8').digest('base64')}'`

/**
 * Nothing but the hashed style and script run; XHR only to this origin; the form only posts here.
 * Trusted Types with no policy: the script never hands a string to an HTML or script sink.
 */
const PAGE_CSP = [
  "default-src 'none'",
  `script-src ${hash(SCRIPT)}`,
  `style-src ${hash(STYLE)}`,
  'img-src data:',
  "connect-src 'self'",
  "form-action 'self'",
  "base-uri 'none'",
  "frame-ancestors 'none'",
  "require-trusted-types-for 'script'",
  "trusted-types 'none'",
].join('; ')

const icon = (paths: string) =>
  `<svg viewBox="0 0 24 24" aria-hidden="true" focusable="false">${paths}</svg>`
const UP = icon('<path d="M12 15V4m0 0L7.5 8.5M12 4l4.5 4.5M4 15v3.5A1.5 1.5 0 0 0 5.5 20h13a1.5 1.5 0 0 0 1.5-1.5V15"/>')
const PHOTO = icon('<rect x="3" y="4" width="18" height="16" rx="3"/><circle cx="9" cy="10" r="2"/><path d="m21 16-5-5-9 9"/>')
const FILE = icon('<path d="M14 3H7a2 2 0 0 0-2 2v14a2 2 0 0 0 2 2h10a2 2 0 0 0 2-2V8z"/><path d="M14 3v5h5"/>')
const FOLDER = icon('<path d="M3 7a2 2 0 0 1 2-2h4l2 2h8a2 2 0 0 1 2 2v8a2 2 0 0 1-2 2H5a2 2 0 0 1-2-2z"/>')
const FAVICON =
  "data:image/svg+xml,%3Csvg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 32 32'%3E%3Crect width='32' height='32' rx='8' fill='%231d5bd0'/%3E%3Cpath d='M16 23V9m0 0-6 6m6-6 6 6' stroke='%23fff' stroke-width='3' fill='none' stroke-linecap='round' stroke-linejoin='round'/%3E%3C/svg%3E"

/** The data block the script reads; `<` escaped so no value can end the element. */
function configBlock(config: Config): string {
  const finite = Number.isFinite(config.maxFileSize)
  const data = {
    maxFileSize: finite ? config.maxFileSize : null,
    maxFileSizeText: finite ? limitText(config.maxFileSize) : null,
    maxFiles: Number.isFinite(config.maxFiles) ? config.maxFiles : null,
    maxConnections: config.maxConnections,
    allow: config.allowText,
    // What the receiver removes from a name before judging its extension (SPEC §4), so the page
    // refuses exactly what the receiver would.
    unsafe: config.allowText ? UNSAFE.source : null,
    flat: config.flat,
    once: config.once,
  }
  return JSON.stringify(data).replace(/</g, '\\u003c')
}

function limitsLine(config: Config): string {
  const parts = [
    config.allowText ? `Accepted: ${config.allowText}` : 'Any kind of file',
    Number.isFinite(config.maxFileSize) ? `up to ${limitText(config.maxFileSize)} each` : 'any size',
  ]
  if (Number.isFinite(config.maxFiles)) parts.push(config.maxFiles === 1 ? 'one file at a time' : `${config.maxFiles} files at a time`)
  if (config.flat) parts.push('folders are not kept')
  // --once (and --stdout): the page sends one file per request, so one file is all it can send.
  if (config.once) parts.push('one upload, then the receiver stops')
  return escapeHtml(parts.join(' · '))
}

export function uploadPage(config: Config): UploadPage {
  // With no --allow, phones get a photo-and-video picker first (Android's photo picker, iOS's library).
  const media = config.allowText === null
  const accept = config.allowText ? ` accept="${escapeHtml(config.allowText)}"` : ''
  // Under --max-files 1 (one file per request) or --once (one request), the pickers take one:
  // the plain form cannot then be refused for a second file, nor the page send one too many.
  const multiple = config.maxFiles === 1 || config.once ? '' : ' multiple'
  const html = `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width,initial-scale=1,viewport-fit=cover">
<meta name="color-scheme" content="light dark">
<meta name="theme-color" content="#f3f5f8" media="(prefers-color-scheme: light)">
<meta name="theme-color" content="#0d0f13" media="(prefers-color-scheme: dark)">
<meta name="referrer" content="no-referrer">
<link rel="icon" href="${FAVICON}">
<title>Send files</title>
<style>${STYLE}</style>
</head><body>
<main>
<h1>Send files</h1>
<p class="lim">${limitsLine(config)}</p>
<form id="form" method="post" action="/" enctype="multipart/form-data"${media ? ' class="m"' : ''}>
<div class="pick">
${
  media
    ? `<input class="js touch" id="media" type="file"${multiple} accept="image/*,video/*">
<label class="btn big js touch" for="media">${PHOTO}<span>Photos &amp; videos</span></label>
`
    : ''
}<p class="nojs">Choose the files to send, then press Upload.</p>
<input id="files" type="file" name="file"${multiple}${accept} required aria-label="Files to send">
<label class="btn big js" for="files">${media ? `<span class="touch">${FILE}</span><span class="desk">${UP}</span>` : UP}<span class="desk">Choose files</span><span class="touch">${media ? 'Other files' : 'Choose files'}</span><span class="sub desk">or drop files and folders anywhere on this page</span></label>
${
  // A folder is many files, each its own request: --once takes one.
  config.once
    ? ''
    : `<input class="js desk" id="folder" type="file" multiple webkitdirectory>
<label class="btn sec js desk" for="folder">${FOLDER}<span>Choose a folder</span></label>
`
}<button class="go nojs" type="submit">Upload</button>
</div>
</form>
<p id="alert" class="alert" role="alert" hidden></p>
<section id="queue" aria-labelledby="qh" hidden>
<div class="sum"><h2 id="qh">Uploads</h2><span><button type="button" class="lnk" id="retry" hidden>Retry all</button> <button type="button" class="lnk" id="clear" hidden>Clear finished</button></span></div>
<p id="sum"></p>
<div class="bar all"><i id="allbar"></i></div>
<ul id="list"></ul>
</section>
<div id="live" class="vh" aria-live="polite"></div>
</main>
<div id="drop" hidden><p>Drop to send</p></div>
<script type="application/json" id="config">${configBlock(config)}</script>
<script>${SCRIPT}</script>
</body></html>
`
  return { html, csp: PAGE_CSP }
}
