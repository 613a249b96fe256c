// GET / : the upload page. A plain form that works without scripting; the full page is issue #5.
import { escapeHtml } from './answers.js'
import type { Config } from '../config.js'

export function uploadPage(config: Config): string {
  const accept = config.allowText ? ` accept="${escapeHtml(config.allowText)}"` : ''
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width,initial-scale=1">
<link rel="icon" href="data:,">
<title>upload-recv</title>
<style>body{font:18px/1.5 system-ui,sans-serif;max-width:40rem;margin:2rem auto;padding:0 1rem}
input,button{font:inherit;margin:.5rem 0;display:block}button{padding:.75rem 1.5rem}</style>
</head><body>
<h1>Send files</h1>
<form method="post" action="/" enctype="multipart/form-data">
<label for="files">Files</label>
<input id="files" type="file" name="file" multiple${accept}>
<button type="submit">Upload</button>
</form>
</body></html>
`
}
