// Building upload requests by hand (multipart bodies, raw HTTP bytes), reading raw answers, running
// curl, and making large random files without holding them in memory.
import { execFile } from 'node:child_process'
import { createHash, randomBytes, randomFillSync } from 'node:crypto'
import { createWriteStream } from 'node:fs'
import { once } from 'node:events'

export function sha256(data: Buffer | string): string {
  return createHash('sha256').update(data).digest('hex')
}

export interface Part {
  /** The form field name. */
  field?: string
  /** The file name, as the client means it. Omit for a non-file field. */
  filename?: string
  /**
   * The exact bytes between the quotes of `filename="…"`, for names a browser would not produce.
   * Wins over `filename`.
   */
  rawFilename?: Buffer | string
  /** The whole Content-Disposition value (`form-data; name="f"; filename*=…`); wins over the above. */
  disposition?: string
  contentType?: string
  data: Buffer | string
}

/**
 * What a browser puts between the quotes (WHATWG HTML "multipart/form-data encoding algorithm"):
 * `"`, CR and LF as %22, %0D, %0A. Backslashes are doubled so busboy's quoted-string parser (which
 * treats `\` as an escape) hands the server the name as meant.
 */
export function quoteFilename(name: string): string {
  return name.replace(/\\/g, '\\\\').replace(/"/g, '%22').replace(/\r/g, '%0D').replace(/\n/g, '%0A')
}

export function randomBoundary(): string {
  return `----uploadRecvTest${randomBytes(12).toString('hex')}`
}

export interface Multipart {
  body: Buffer
  boundary: string
  contentType: string
}

export function multipartBody(parts: readonly Part[], boundary = randomBoundary()): Multipart {
  const chunks: Buffer[] = []
  for (const p of parts) {
    const field = p.field ?? 'file'
    const disposition = `Content-Disposition: form-data; name="${field}"`
    const head = [Buffer.from(`--${boundary}\r\n`)]
    if (p.disposition !== undefined) {
      head.push(Buffer.from(`Content-Disposition: ${p.disposition}\r\n`))
    } else if (p.rawFilename !== undefined || p.filename !== undefined) {
      const raw = p.rawFilename ?? quoteFilename(p.filename!)
      head.push(Buffer.from(`${disposition}; filename="`), Buffer.from(raw), Buffer.from('"\r\n'))
    } else {
      head.push(Buffer.from(`${disposition}\r\n`))
    }
    const type = p.contentType ?? (p.filename !== undefined || p.rawFilename !== undefined ? 'application/octet-stream' : undefined)
    if (type) head.push(Buffer.from(`Content-Type: ${type}\r\n`))
    head.push(Buffer.from('\r\n'))
    chunks.push(...head, Buffer.isBuffer(p.data) ? p.data : Buffer.from(p.data), Buffer.from('\r\n'))
  }
  chunks.push(Buffer.from(`--${boundary}--\r\n`))
  return { body: Buffer.concat(chunks), boundary, contentType: `multipart/form-data; boundary=${boundary}` }
}

/** A complete HTTP/1.1 request as bytes. `Host` and `Connection: close` are added unless given. */
export function httpRequest(
  method: string,
  target: string,
  headers: Record<string, string>,
  body: Buffer | string = Buffer.alloc(0),
): Buffer {
  const all: Record<string, string> = { Host: '127.0.0.1', Connection: 'close', ...headers }
  const lines = [`${method} ${target} HTTP/1.1`, ...Object.entries(all).map(([k, v]) => `${k}: ${v}`), '', '']
  return Buffer.concat([Buffer.from(lines.join('\r\n'), 'latin1'), Buffer.isBuffer(body) ? body : Buffer.from(body)])
}

export interface ParsedResponse {
  status: number
  headers: Record<string, string>
  body: Buffer
  text: string
  json(): any
}

/** Every final response in raw reply bytes, in order (interim `1xx` answers are skipped). */
export function parseResponses(data: Buffer): ParsedResponse[] {
  const out: ParsedResponse[] = []
  let pos = 0
  while (pos < data.length) {
    const end = data.indexOf('\r\n\r\n', pos, 'latin1')
    if (end === -1) break
    const lines = data.toString('latin1', pos, end).split('\r\n')
    const m = /^HTTP\/1\.[01] (\d{3})/.exec(lines[0] ?? '')
    if (!m) throw new Error(`not an HTTP response: ${JSON.stringify(lines[0])}`)
    const status = Number(m[1])
    const headers: Record<string, string> = {}
    for (const l of lines.slice(1)) {
      const c = l.indexOf(':')
      headers[l.slice(0, c).trim().toLowerCase()] = l.slice(c + 1).trim()
    }
    pos = end + 4
    if (status >= 100 && status < 200) continue
    const len = Number(headers['content-length'] ?? 0)
    const body = data.subarray(pos, pos + len)
    pos += len
    const text = body.toString('utf8')
    out.push({ status, headers, body, text, json: () => JSON.parse(text) })
  }
  return out
}

/** The only final response in a raw reply; throws if there is not exactly one. */
export function parseResponse(data: Buffer): ParsedResponse {
  const all = parseResponses(data)
  if (all.length !== 1) throw new Error(`expected one response, got ${all.length}: ${data.toString('latin1').slice(0, 500)}`)
  return all[0]!
}

export interface CurlResult {
  exitCode: number
  /** The response body (what curl wrote to stdout). */
  body: string
  stderr: string
  /** curl's `-w '%{json}'` write-out: http_code, time_total, size_upload, … */
  info: { http_code: number; time_total: number; size_upload: number; content_type: string | null; [k: string]: unknown }
  json(): any
}

const MARK = '\n@@CURL-WRITE-OUT@@'

/** Runs `curl -sS <args>` with a bounded run time; never rejects on an HTTP status. */
export function curl(args: string[], opts: { timeoutMs?: number; input?: Buffer } = {}): Promise<CurlResult> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      'curl',
      ['-sS', '--max-time', String(Math.ceil((opts.timeoutMs ?? 20_000) / 1000)), '-w', `${MARK}%{json}`, ...args],
      { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, timeout: (opts.timeoutMs ?? 20_000) + 5_000 },
      (err, stdout, stderr) => {
        const at = stdout.lastIndexOf(MARK)
        if (at === -1) {
          reject(new Error(`curl produced no write-out (${err?.message ?? 'no error'}); stderr: ${stderr}`))
          return
        }
        const body = stdout.slice(0, at)
        const info = JSON.parse(stdout.slice(at + MARK.length)) as CurlResult['info']
        const exitCode = err ? (typeof err.code === 'number' ? err.code : -1) : 0
        resolve({ exitCode, body, stderr, info, json: () => JSON.parse(body) })
      },
    )
    if (opts.input) child.stdin!.end(opts.input)
    else child.stdin?.end()
  })
}

/**
 * Writes `size` random bytes to `file` in 1 MiB chunks (never more in memory) and returns their
 * SHA-256. Only the first 1 MiB is drawn from the CSPRNG; later chunks are that block with a
 * varying counter stamped in, which is random enough for transfer tests and much cheaper.
 */
export async function writeRandomFile(file: string, size: number): Promise<string> {
  const hash = createHash('sha256')
  const out = createWriteStream(file)
  const block = randomFillSync(Buffer.alloc(1024 * 1024))
  let written = 0
  let n = 0
  while (written < size) {
    const chunk = Buffer.from(block.subarray(0, Math.min(block.length, size - written)))
    // Stamp the chunk index every 4 KiB so no two chunks are equal.
    for (let off = 0; off + 8 <= chunk.length; off += 4096) chunk.writeUInt32LE((n * 256 + off / 4096) >>> 0, off)
    n++
    hash.update(chunk)
    written += chunk.length
    if (!out.write(chunk)) await once(out, 'drain')
  }
  out.end()
  await once(out, 'finish')
  return hash.digest('hex')
}
