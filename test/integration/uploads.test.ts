// Uploads against the real CLI: curl (-F, -T, --data-binary, chunked, Expect: 100-continue), fetch with
// FormData, raw sockets; names, folders, collisions and every upload-shaping flag (SPEC §1, §3, §4, §6).
import { execFileSync } from 'node:child_process'
import { createHash, randomBytes } from 'node:crypto'
import { existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { removeDir, startCli, tmpDir, withTimeout, type Cli } from '../helpers/cli.js'
import { files, pollUntil, sha256File, tempFiles } from '../helpers/fs-walk.js'
import { heldPut, rawRequest } from '../helpers/raw.js'
import {
  curl,
  httpRequest,
  multipartBody,
  parseResponse,
  sha256,
  writeRandomFile,
  type Part,
} from '../helpers/multipart.js'

const EMPTY_SHA = sha256('')

// ---------------------------------------------------------------------------------------------
// Fixtures: every CLI started by a test is stopped and its folder removed after that test.

const cleanups: Array<() => Promise<void> | void> = []
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c()
})

async function cli(args: string[] = [], opts: { json?: boolean; relativeDir?: string } = {}): Promise<Cli> {
  const parent = tmpDir('upload-recv-uploads-')
  // Registered first, so the folder goes even when the CLI fails to start.
  cleanups.push(() => removeDir(parent))
  const dir = opts.relativeDir ?? path.join(parent, 'in')
  const c = await startCli(args, { dir, json: opts.json ?? true, cwd: opts.relativeDir ? parent : undefined })
  cleanups.push(async () => {
    await c.stop().catch(() => undefined)
  })
  return opts.relativeDir ? { ...c, dir: path.join(parent, opts.relativeDir) } : c
}

let src: string
beforeAll(() => {
  src = tmpDir('upload-recv-src-')
})
afterAll(() => removeDir(src))

/** Writes a payload file under the source folder and returns its path. */
function payload(name: string, data: Buffer | string): string {
  const file = path.join(src, name)
  mkdirSync(path.dirname(file), { recursive: true })
  writeFileSync(file, data)
  return file
}

/** Binary data full of what a multipart parser could mistake for a delimiter (but never is one). */
function trickyBinary(boundaryLike: string): Buffer {
  return Buffer.concat([
    randomBytes(700),
    Buffer.from('\r\n--'),
    randomBytes(50),
    Buffer.from(`\r\n--${boundaryLike.slice(0, -1)}`),
    Buffer.from(`x--${boundaryLike}--\r\n`),
    Buffer.from('\r\n\r\nContent-Disposition: form-data; name="file"; filename="evil.txt"\r\n\r\n'),
    Buffer.from('\r\n-'),
    randomBytes(300),
    Buffer.from([0, 0xff, 0x0d, 0x0a, 0x2d]),
    Buffer.from('\r\n--'),
  ])
}

interface Expected {
  name: string
  originalName: string
  mimeType: string
  data: Buffer | string
}

type Answer = { name: string; originalName: string; size: number; sha256: string; mimeType: string }

/** The answer entry, the bytes on disk and the --json `stored` event all describe `exp`. */
async function expectStored(c: Cli, answer: Answer | undefined, exp: Expected): Promise<void> {
  const data = Buffer.isBuffer(exp.data) ? exp.data : Buffer.from(exp.data)
  const hash = sha256(data)
  expect(answer).toEqual({ name: exp.name, originalName: exp.originalName, size: data.length, sha256: hash, mimeType: exp.mimeType })
  expect(await sha256File(path.join(c.dir, ...exp.name.split('/')))).toBe(hash)
  const ev = await c.waitForEvent((e) => e.event === 'stored' && e.name === exp.name && e.sha256 === hash)
  // Exactly SPEC §6's fields: a consumer comparing whole events must not meet extra ones.
  expect(ev).toEqual({
    event: 'stored',
    client: '127.0.0.1',
    name: exp.name,
    originalName: exp.originalName,
    path: `${c.dir}/${exp.name}`,
    size: data.length,
    sha256: hash,
    ms: expect.any(Number),
  })
  expect(ev.ms as number).toBeGreaterThanOrEqual(0)
}

/** A copy backed by a plain ArrayBuffer, as the DOM typings of Blob and fetch want. */
function bytes(b: Buffer): Uint8Array<ArrayBuffer> {
  return new Uint8Array(b)
}

async function rawUpload(c: Cli, req: Buffer) {
  const r = await rawRequest(c.port, [req], { ms: 10_000 })
  return parseResponse(r.data)
}

function noTemps(c: Cli): void {
  expect(tempFiles(c.dir)).toEqual([])
}

// ---------------------------------------------------------------------------------------------

describe('curl -F (multipart)', () => {
  it('stores one file', async () => {
    const c = await cli()
    const file = payload('hello.txt', 'hello, world\n')
    const r = await curl(['-F', `file=@${file}`, `${c.url}/`])
    expect(r.info.http_code).toBe(201)
    expect(r.info.content_type).toMatch(/^application\/json/)
    const body = r.json()
    expect(body.files).toHaveLength(1)
    await expectStored(c, body.files[0], { name: 'hello.txt', originalName: 'hello.txt', mimeType: 'text/plain', data: 'hello, world\n' })
    expect(files(c.dir)).toEqual(['hello.txt'])
  })

  it('stores several files, an empty one and a binary one with boundary look-alikes, in order', async () => {
    const c = await cli()
    // curl's boundaries are 24 dashes and 16 hex digits (lib/mime.c).
    const tricky = trickyBinary(`------------------------${'0123456789abcdef'}`)
    const parts = [
      { name: 'one.txt', data: Buffer.from('first\n'), mimeType: 'text/plain' },
      { name: 'tricky.bin', data: tricky, mimeType: 'application/octet-stream' },
      { name: 'empty.dat', data: Buffer.alloc(0), mimeType: 'application/octet-stream' },
      { name: 'three.txt', data: Buffer.from('--\r\n--\r\n'), mimeType: 'text/plain' },
    ]
    const args = parts.flatMap((p) => ['-F', `file=@${payload(`multi/${p.name}`, p.data)}`])
    const r = await curl([...args, `${c.url}/`])
    expect(r.info.http_code).toBe(201)
    const body = r.json()
    expect(body.files.map((f: Answer) => f.name)).toEqual(parts.map((p) => p.name))
    for (const [i, p] of parts.entries()) {
      await expectStored(c, body.files[i], { name: p.name, originalName: p.name, mimeType: p.mimeType, data: p.data })
    }
    expect(body.files[2].sha256).toBe(EMPTY_SHA)
    expect(files(c.dir)).toEqual(parts.map((p) => p.name).sort())
  })

  it('puts the files of POST /sub/dir/ under sub/dir', async () => {
    const c = await cli()
    const file = payload('sd.txt', 'in a folder')
    const r = await curl(['-F', `file=@${file}`, `${c.url}/sub/dir/`])
    expect(r.info.http_code).toBe(201)
    await expectStored(c, r.json().files[0], { name: 'sub/dir/sd.txt', originalName: 'sd.txt', mimeType: 'text/plain', data: 'in a folder' })
  })
})

describe('curl -T (PUT)', () => {
  it('a dual-stack bind (--host ::) names an IPv4 client as plain IPv4 in --json, as on the terminal', async (ctx) => {
    // Skipped only where :: cannot be bound at all (containers without IPv6); any other failure to start fails.
    const v6 = await new Promise<boolean>((resolve) => {
      const probe = net.createServer()
      probe.once('error', () => resolve(false))
      probe.listen(0, '::', () => probe.close(() => resolve(true)))
    })
    if (!v6) return ctx.skip('no IPv6 on this machine')
    const c: Cli = await cli(['--host', '::'])
    const r = await curl(['-T', payload('v4.txt', 'four'), `${c.url}/`])
    expect(r.info.http_code).toBe(201)
    const ev = await c.waitForEvent((e) => e.event === 'stored' && e.name === 'v4.txt')
    expect(ev.client).toBe('127.0.0.1')
  })

  it('stores a file under its own name, also an empty one', async () => {
    const c = await cli()
    const data = randomBytes(100_000)
    const r = await curl(['-T', payload('put.bin', data), `${c.url}/`])
    expect(r.info.http_code).toBe(201)
    await expectStored(c, r.json().files[0], { name: 'put.bin', originalName: 'put.bin', mimeType: 'application/octet-stream', data })

    const e = await curl(['-T', payload('empty-put.bin', ''), `${c.url}/`])
    expect(e.info.http_code).toBe(201)
    await expectStored(c, e.json().files[0], { name: 'empty-put.bin', originalName: 'empty-put.bin', mimeType: 'application/octet-stream', data: '' })
    expect(statSync(path.join(c.dir, 'empty-put.bin')).size).toBe(0)
  })

  it('PUT /sub/dir/ puts the file under sub/dir', async () => {
    const c = await cli()
    const r = await curl(['-T', payload('deep.txt', 'deep'), `${c.url}/sub/dir/`])
    expect(r.info.http_code).toBe(201)
    await expectStored(c, r.json().files[0], { name: 'sub/dir/deep.txt', originalName: 'deep.txt', mimeType: 'application/octet-stream', data: 'deep' })
  })

  it('curl -T - (a stream of unknown length, sent chunked)', async () => {
    const c = await cli()
    const data = randomBytes(300_000)
    const r = await curl(['-T', '-', `${c.url}/from-stdin.bin`], { input: data })
    expect(r.info.http_code).toBe(201)
    await expectStored(c, r.json().files[0], { name: 'from-stdin.bin', originalName: 'from-stdin.bin', mimeType: 'application/octet-stream', data })
  })
})

describe('POST with a raw body', () => {
  it('curl --data-binary @file stores the body under the URL path, or a generated name', async () => {
    const c = await cli()
    const data = trickyBinary('whatever')
    const file = payload('raw.bin', data)
    const r = await curl(['--data-binary', `@${file}`, `${c.url}/posted.bin`])
    expect(r.info.http_code).toBe(201)
    // curl's default type for --data-binary; the raw body keeps the request's type.
    await expectStored(c, r.json().files[0], { name: 'posted.bin', originalName: 'posted.bin', mimeType: 'application/x-www-form-urlencoded', data })

    const g = await curl(['--data-binary', `@${file}`, '-H', 'Content-Type: application/octet-stream', `${c.url}/`])
    expect(g.info.http_code).toBe(201)
    const name = g.json().files[0].name as string
    expect(name).toMatch(/^upload-\d{8}T\d{6}Z$/)
    await expectStored(c, g.json().files[0], { name, originalName: '', mimeType: 'application/octet-stream', data })
  })

  it('Transfer-Encoding: chunked (curl -H), POST and PUT', async () => {
    const c = await cli()
    const data = randomBytes(777_777)
    const file = payload('chunked.bin', data)
    const r = await curl(['-H', 'Transfer-Encoding: chunked', '-H', 'Content-Type: application/octet-stream', '--data-binary', `@${file}`, `${c.url}/chunked.bin`])
    expect(r.info.http_code).toBe(201)
    await expectStored(c, r.json().files[0], { name: 'chunked.bin', originalName: 'chunked.bin', mimeType: 'application/octet-stream', data })

    const p = await curl(['-H', 'Transfer-Encoding: chunked', '-T', file, `${c.url}/put-chunked.bin`])
    expect(p.info.http_code).toBe(201)
    await expectStored(c, p.json().files[0], { name: 'put-chunked.bin', originalName: 'put-chunked.bin', mimeType: 'application/octet-stream', data })
  })
})

describe('Expect: 100-continue', () => {
  // curl waits up to 1 s (--expect100-timeout) for `100 Continue` before sending anyway; answering
  // promptly is what keeps a >1 MiB upload well under that. Not a speed test: a missing 100 costs 1 s.
  it('curl -T and -F with a >1 MiB file get 100 Continue at once', async () => {
    const c = await cli()
    const data = randomBytes(1536 * 1024)
    const file = payload('big-expect.bin', data)
    for (const args of [['-T', file, `${c.url}/`], ['-F', `file=@${file};filename=expect-form.bin`, `${c.url}/`]]) {
      const r = await curl(['-v', ...args])
      expect(r.stderr).toMatch(/^> Expect: 100-continue/m)
      expect(r.stderr).toMatch(/^< HTTP\/1\.1 100 Continue/m)
      expect(r.info.http_code).toBe(201)
      expect(r.info.size_upload).toBeGreaterThanOrEqual(data.length)
      expect(r.info.time_total).toBeLessThan(0.9)
      const f = r.json().files[0] as Answer
      await expectStored(c, f, { name: f.name, originalName: f.originalName, mimeType: 'application/octet-stream', data })
    }
    expect(files(c.dir)).toEqual(['big-expect.bin', 'expect-form.bin'])
  })
})

describe('fetch with FormData and Blob', () => {
  it('stores several files with their types', async () => {
    const c = await cli()
    const a = Buffer.from('alpha\n')
    const b = trickyBinary('----formdata-undici-0')
    const d = randomBytes(65_537)
    const form = new FormData()
    form.append('note', 'a text field, ignored')
    form.append('file', new Blob([bytes(a)], { type: 'text/plain' }), 'alpha.txt')
    form.append('file', new Blob([bytes(b)]), 'tricky.bin')
    form.append('other', new Blob([bytes(d)], { type: 'image/png' }), 'pic.png')
    const res = await withTimeout(fetch(`${c.url}/`, { method: 'POST', body: form }), 10_000, 'fetch')
    expect(res.status).toBe(201)
    const body = (await res.json()) as { files: Answer[] }
    expect(body.files).toHaveLength(3)
    await expectStored(c, body.files[0], { name: 'alpha.txt', originalName: 'alpha.txt', mimeType: 'text/plain', data: a })
    await expectStored(c, body.files[1], { name: 'tricky.bin', originalName: 'tricky.bin', mimeType: 'application/octet-stream', data: b })
    await expectStored(c, body.files[2], { name: 'pic.png', originalName: 'pic.png', mimeType: 'image/png', data: d })
    expect(files(c.dir)).toEqual(['alpha.txt', 'pic.png', 'tricky.bin'])
  })
})

describe('raw socket multipart', () => {
  it('stores a handmade body whose data imitates its own boundary', async () => {
    const c = await cli()
    const boundary = 'XyZZy-handmade-boundary-42'
    const tricky = trickyBinary(boundary)
    const { body, contentType } = multipartBody(
      [
        { field: 'comment', data: 'not a file' },
        { filename: 'hand.bin', contentType: 'application/x-thing', data: tricky },
        // Not at the very start: right after the part's blank line it would be a real delimiter.
        { filename: 'second.txt', contentType: 'text/plain', data: `see --${boundary}--\r\n` },
      ],
      boundary,
    )
    const res = await rawUpload(c, httpRequest('POST', '/', { 'Content-Type': contentType, 'Content-Length': String(body.length) }, body))
    expect(res.status).toBe(201)
    expect(res.headers['content-type']).toMatch(/^application\/json/)
    const answer = res.json() as { files: Answer[] }
    await expectStored(c, answer.files[0], { name: 'hand.bin', originalName: 'hand.bin', mimeType: 'application/x-thing', data: tricky })
    await expectStored(c, answer.files[1], { name: 'second.txt', originalName: 'second.txt', mimeType: 'text/plain', data: `see --${boundary}--\r\n` })
    expect(files(c.dir)).toEqual(['hand.bin', 'second.txt'])
  })

  it('skips an empty file input (filename="" and no bytes), as a browser sends when nothing was picked', async () => {
    const c = await cli()
    const { body, contentType } = multipartBody([
      { field: 'nothing', filename: '', data: '' },
      { filename: 'picked.txt', contentType: 'text/plain', data: 'picked' },
      { field: 'nothing2', filename: '', data: '' },
    ])
    const res = await rawUpload(c, httpRequest('POST', '/', { 'Content-Type': contentType, 'Content-Length': String(body.length) }, body))
    expect(res.status).toBe(201)
    const answer = res.json() as { files: Answer[] }
    expect(answer.files).toHaveLength(1)
    await expectStored(c, answer.files[0], { name: 'picked.txt', originalName: 'picked.txt', mimeType: 'text/plain', data: 'picked' })
    expect(files(c.dir)).toEqual(['picked.txt'])

    // Nothing picked at all: no file in the request.
    const only = multipartBody([{ filename: '', data: '' }])
    const none = await rawUpload(c, httpRequest('POST', '/', { 'Content-Type': only.contentType, 'Content-Length': String(only.body.length) }, only.body))
    expect(none.status).toBe(400)
    expect(none.json().error.code).toBe('NO_FILE')
    expect(files(c.dir)).toEqual(['picked.txt'])
  })

  it('80,000 empty file inputs before a file: skipped as they end, not held to the end of the form (memory stays bounded)', async () => {
    const c = await cli()
    const hwm = () => Number(/VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${c.proc.pid}/status`, 'utf8'))![1]) / 1024
    const before = hwm()
    const empty = '--XyZ\r\nContent-Disposition: form-data; name="f"; filename=""\r\n\r\n\r\n'
    const last = '--XyZ\r\nContent-Disposition: form-data; name="f"; filename="after.txt"\r\n\r\nlast\r\n--XyZ--\r\n'
    const body = Buffer.from(empty.repeat(80_000) + last)
    // ~5 s here: a slower machine gets room.
    const sent = await rawRequest(c.port, [httpRequest('POST', '/', { 'Content-Type': 'multipart/form-data; boundary=XyZ', 'Content-Length': String(body.length) }, body)], { ms: 40_000 })
    const res = parseResponse(sent.data)
    expect(res.status).toBe(201)
    expect((res.json() as { files: Answer[] }).files.map((f) => f.name)).toEqual(['after.txt'])
    // Held to the end, each skipped part cost ~2.3 KB (+180 MiB here); now the garbage collector's
    // own slack (+40-45 MiB).
    expect(hwm() - before).toBeLessThan(100)
  })

  it('an empty name with bytes is stored under a generated name, with its declared type (SPEC §4)', async () => {
    const c = await cli()
    const { body, contentType } = multipartBody([{ rawFilename: '', contentType: 'text/plain', data: 'no name' }])
    const res = await rawUpload(c, httpRequest('POST', '/', { 'Content-Type': contentType, 'Content-Length': String(body.length) }, body))
    expect(res.status).toBe(201)
    const [answer] = (res.json() as { files: Answer[] }).files
    expect(answer?.name).toMatch(/^upload-\d{8}T\d{6}Z$/)
    await expectStored(c, answer, { name: answer!.name, originalName: '', mimeType: 'text/plain', data: 'no name' })
  })

  it('raw control bytes in a file name (browsers escape only ", CR and LF) are dropped, not refused', async () => {
    const c = await cli()
    const data = Buffer.from('\x00\x01 the bytes right after the header are the file\x7f', 'latin1')
    const { body, contentType } = multipartBody([
      { rawFilename: Buffer.from('a\x01b\x1bc\x7f.txt', 'latin1'), contentType: 'text/plain', data },
    ])
    const res = await rawUpload(c, httpRequest('POST', '/', { 'Content-Type': contentType, 'Content-Length': String(body.length) }, body))
    expect(res.status).toBe(201)
    await expectStored(c, (res.json() as { files: Answer[] }).files[0], { name: 'abc.txt', originalName: 'abc.txt', mimeType: 'text/plain', data })
  })

  it('a filename*= name is percent-decoded once: browsers\' %22 escapes belong to filename=', async () => {
    const c = await cli()
    const { body, contentType } = multipartBody([
      { disposition: `form-data; name="file"; filename*=UTF-8''100%2522%20sure%C3%A9.txt`, contentType: 'text/plain', data: '1' },
    ])
    const res = await rawUpload(c, httpRequest('POST', '/', { 'Content-Type': contentType, 'Content-Length': String(body.length) }, body))
    expect(res.status).toBe(201)
    const name = '100%22 sureé.txt'
    await expectStored(c, (res.json() as { files: Answer[] }).files[0], { name, originalName: name, mimeType: 'text/plain', data: '1' })
  })

  it('a multipart request with no file part is 400 NO_FILE', async () => {
    const c = await cli()
    const r = await curl(['-F', 'just=a field', `${c.url}/`])
    expect(r.info.http_code).toBe(400)
    expect(r.json().error.code).toBe('NO_FILE')
    expect(files(c.dir)).toEqual([])
  })
})

describe('a 200 MiB file', () => {
  const SIZE = 200 * 1024 * 1024
  let big: string
  let bigSha: string
  beforeAll(async () => {
    big = path.join(os.tmpdir(), `upload-recv-200MiB-${process.pid}-${randomBytes(4).toString('hex')}.bin`)
    bigSha = await writeRandomFile(big, SIZE)
  }, 60_000)
  afterAll(() => rmSync(big, { force: true }))

  async function check(c: Cli, r: Awaited<ReturnType<typeof curl>>, name: string, mimeType: string) {
    expect(r.info.http_code).toBe(201)
    const f = r.json().files[0] as Answer
    expect(f).toEqual({ name, originalName: name, size: SIZE, sha256: bigSha, mimeType })
    expect(statSync(path.join(c.dir, name)).size).toBe(SIZE)
    expect(await sha256File(path.join(c.dir, name))).toBe(bigSha)
    const ev = await c.waitForEvent((e) => e.event === 'stored' && e.name === name)
    expect(ev).toMatchObject({ path: `${c.dir}/${name}`, size: SIZE, sha256: bigSha })
    noTemps(c)
  }

  it('curl -T', async () => {
    const c = await cli()
    const r = await curl(['-T', big, `${c.url}/big-put.bin`], { timeoutMs: 60_000 })
    await check(c, r, 'big-put.bin', 'application/octet-stream')
  }, 90_000)

  it('curl -F', async () => {
    const c = await cli()
    const r = await curl(['-F', `file=@${big};filename=big-form.bin`, `${c.url}/`], { timeoutMs: 60_000 })
    await check(c, r, 'big-form.bin', 'application/octet-stream')
  }, 90_000)
})

describe('names', () => {
  const nfd = 'cafe\u0301 cre\u0300me.txt'
  const nfc = nfd.normalize('NFC')
  const names = [
    { sent: '📷 holiday 🏖️.jpg', stored: '📷 holiday 🏖️.jpg' },
    { sent: '写真と書類.png', stored: '写真と書類.png' },
    { sent: nfd, stored: nfc },
  ]

  it('keeps UTF-8 names (emoji, CJK) and stores decomposed accents as NFC: multipart', async () => {
    expect(nfc).not.toBe(nfd)
    const c = await cli()
    for (const [i, n] of names.entries()) {
      const data = `utf8 ${i}`
      const r = await curl(['-F', `file=@${payload(`u${i}.bin`, data)};filename=${n.sent};type=application/octet-stream`, `${c.url}/`])
      expect(r.info.http_code).toBe(201)
      await expectStored(c, r.json().files[0], { name: n.stored, originalName: n.sent, mimeType: 'application/octet-stream', data })
    }
    expect(readdirSync(c.dir).sort()).toEqual(names.map((n) => n.stored).sort())
  })

  it('keeps UTF-8 names and stores NFC: PUT with a percent-encoded URL, and fetch FormData', async () => {
    const c = await cli()
    for (const [i, n] of names.entries()) {
      const data = `put ${i}`
      const r = await curl(['-T', payload(`p${i}.bin`, data), `${c.url}/put/${encodeURIComponent(n.sent)}`])
      expect(r.info.http_code).toBe(201)
      await expectStored(c, r.json().files[0], { name: `put/${n.stored}`, originalName: n.sent, mimeType: 'application/octet-stream', data })
    }
    const form = new FormData()
    for (const n of names) form.append('file', new Blob([n.sent]), n.sent)
    const res = await fetch(`${c.url}/form/`, { method: 'POST', body: form })
    expect(res.status).toBe(201)
    const body = (await res.json()) as { files: Answer[] }
    for (const [i, n] of names.entries()) {
      await expectStored(c, body.files[i], { name: `form/${n.stored}`, originalName: n.sent, mimeType: 'application/octet-stream', data: n.sent })
    }
    expect(readdirSync(path.join(c.dir, 'put')).sort()).toEqual(names.map((n) => n.stored).sort())
    expect(readdirSync(path.join(c.dir, 'form')).sort()).toEqual(names.map((n) => n.stored).sort())
  })
})

describe('folder uploads (webkitdirectory-style names)', () => {
  const parts: Part[] = [
    { filename: 'folder/a.txt', contentType: 'text/plain', data: 'a' },
    { filename: 'folder/sub/b.txt', contentType: 'text/plain', data: 'b' },
    { filename: 'folder/sub/deeper/c.bin', data: 'c' },
  ]

  async function send(c: Cli, target: string) {
    const { body, contentType } = multipartBody(parts)
    return rawUpload(c, httpRequest('POST', target, { 'Content-Type': contentType, 'Content-Length': String(body.length) }, body))
  }

  it('keeps the relative folders', async () => {
    const c = await cli()
    const res = await send(c, '/')
    expect(res.status).toBe(201)
    const answer = res.json() as { files: Answer[] }
    for (const [i, p] of parts.entries()) {
      await expectStored(c, answer.files[i], { name: p.filename!, originalName: p.filename!, mimeType: p.contentType ?? 'application/octet-stream', data: p.data })
    }
    expect(files(c.dir)).toEqual(['folder/a.txt', 'folder/sub/b.txt', 'folder/sub/deeper/c.bin'])
  })

  it('under POST /sub/dir/ the folders go below sub/dir', async () => {
    const c = await cli()
    const res = await send(c, '/sub/dir/')
    expect(res.status).toBe(201)
    expect(files(c.dir)).toEqual(['sub/dir/folder/a.txt', 'sub/dir/folder/sub/b.txt', 'sub/dir/folder/sub/deeper/c.bin'])
    const answer = res.json() as { files: Answer[] }
    expect(answer.files.map((f) => f.name)).toEqual(['sub/dir/folder/a.txt', 'sub/dir/folder/sub/b.txt', 'sub/dir/folder/sub/deeper/c.bin'])
    await expectStored(c, answer.files[1], { name: 'sub/dir/folder/sub/b.txt', originalName: 'folder/sub/b.txt', mimeType: 'text/plain', data: 'b' })
  })

  it('--flat keeps the base names only', async () => {
    const c = await cli(['--flat'])
    const res = await send(c, '/')
    expect(res.status).toBe(201)
    const answer = res.json() as { files: Answer[] }
    expect(answer.files.map((f) => f.name)).toEqual(['a.txt', 'b.txt', 'c.bin'])
    await expectStored(c, answer.files[0], { name: 'a.txt', originalName: 'folder/a.txt', mimeType: 'text/plain', data: 'a' })
    await expectStored(c, answer.files[2], { name: 'c.bin', originalName: 'folder/sub/deeper/c.bin', mimeType: 'application/octet-stream', data: 'c' })
    expect(files(c.dir)).toEqual(['a.txt', 'b.txt', 'c.bin'])
    expect(readdirSync(c.dir).sort()).toEqual(['a.txt', 'b.txt', 'c.bin'])
  })
})

describe('collisions', () => {
  it('the same name twice gives a (1).txt; both files intact', async () => {
    const c = await cli()
    const r1 = await curl(['-F', `file=@${payload('c1/a.txt', 'first')}`, `${c.url}/`])
    const r2 = await curl(['-T', payload('c2/a.txt', 'second'), `${c.url}/`])
    const r3 = await curl(['-F', `file=@${payload('c3/a.txt', 'third')}`, `${c.url}/`])
    await expectStored(c, r1.json().files[0], { name: 'a.txt', originalName: 'a.txt', mimeType: 'text/plain', data: 'first' })
    await expectStored(c, r2.json().files[0], { name: 'a (1).txt', originalName: 'a.txt', mimeType: 'application/octet-stream', data: 'second' })
    await expectStored(c, r3.json().files[0], { name: 'a (2).txt', originalName: 'a.txt', mimeType: 'text/plain', data: 'third' })
    expect(files(c.dir)).toEqual(['a (1).txt', 'a (2).txt', 'a.txt'])
  })

  it('--overwrite replaces the file', async () => {
    const c = await cli(['--overwrite'])
    const r1 = await curl(['-T', payload('o1/a.txt', 'old content'), `${c.url}/`])
    expect(r1.info.http_code).toBe(201)
    const r2 = await curl(['-F', `file=@${payload('o2/a.txt', 'new')}`, `${c.url}/`])
    expect(r2.info.http_code).toBe(201)
    await expectStored(c, r2.json().files[0], { name: 'a.txt', originalName: 'a.txt', mimeType: 'text/plain', data: 'new' })
    expect(readFileSync(path.join(c.dir, 'a.txt'), 'utf8')).toBe('new')
    expect(files(c.dir)).toEqual(['a.txt'])
  })

  it('--overwrite never replaces a file whose name the server made up (no name given): each nameless upload is kept', async () => {
    const c = await cli(['--overwrite'])
    const big = randomBytes(300_000)
    const sent = [Buffer.from('one'), Buffer.from('two'), big]
    // Raw POSTs to / and to a folder: named upload-<UTC second>, so these share a name.
    const answers = []
    for (const data of sent) answers.push(await fetch(`${c.url}/`, { method: 'POST', body: bytes(data) }))
    answers.push(await fetch(`${c.url}/docs/`, { method: 'PUT', body: 'three' }))
    answers.push(await fetch(`${c.url}/docs/`, { method: 'PUT', body: 'four' }))
    // One multipart request of two parts without a file name (stored, as SPEC §4 says).
    const mp = multipartBody([{ filename: '', data: 'five' }, { filename: '', data: big.subarray(7) }])
    answers.push(await fetch(`${c.url}/`, { method: 'POST', body: bytes(mp.body), headers: { 'Content-Type': mp.contentType } }))
    const stored: Array<{ name: string; sha256: string }> = []
    for (const a of answers) {
      expect(a.status).toBe(201)
      stored.push(...((await a.json()) as { files: Array<{ name: string; sha256: string }> }).files)
    }
    expect(stored).toHaveLength(7)
    expect(new Set(stored.map((f) => f.name)).size).toBe(7)
    for (const f of stored) expect(await sha256File(path.join(c.dir, ...f.name.split('/')))).toBe(f.sha256)
    expect(files(c.dir)).toHaveLength(7)
    noTemps(c)
  })

  it('--overwrite onto a folder or a symlink of that name: not replaced, the upload takes the next free name (small and streamed)', async () => {
    const c = await cli(['--overwrite'])
    mkdirSync(path.join(c.dir, 'photos'))
    writeFileSync(path.join(c.dir, 'real.txt'), 'real')
    symlinkSync('real.txt', path.join(c.dir, 'link.txt'))
    const big = randomBytes(300_000)
    const r1 = await curl(['-T', payload('ow/photos', 'small'), `${c.url}/`])
    expect(r1.info.http_code).toBe(201)
    await expectStored(c, r1.json().files[0], { name: 'photos (1)', originalName: 'photos', mimeType: 'application/octet-stream', data: 'small' })
    const r2 = await curl(['-F', `file=@${payload('ow2/photos', big)}`, `${c.url}/`])
    expect(r2.info.http_code).toBe(201)
    await expectStored(c, r2.json().files[0], { name: 'photos (2)', originalName: 'photos', mimeType: 'application/octet-stream', data: big })
    const r3 = await curl(['-T', payload('ow3/link.txt', 'via link'), `${c.url}/`])
    expect(r3.info.http_code).toBe(201)
    expect(r3.json().files[0].name).toBe('link (1).txt')
    expect(lstatSync(path.join(c.dir, 'link.txt')).isSymbolicLink()).toBe(true)
    expect(readFileSync(path.join(c.dir, 'real.txt'), 'utf8')).toBe('real')
    expect(statSync(path.join(c.dir, 'photos')).isDirectory()).toBe(true)
    expect(tempFiles(c.dir)).toEqual([])
  })

  it('HTML answers (a browser form post, an error) carry a strict CSP whose one style hash matches, nosniff and no-store', async () => {
    const c = await cli(['--max-file-size', '5'])
    const form = new FormData()
    form.append('file', new Blob(['hi']), '<b>x</b>.txt')
    const ok = await fetch(`${c.url}/`, { method: 'POST', body: form, headers: { Accept: 'text/html' } })
    const bad = await fetch(`${c.url}/big.txt`, { method: 'PUT', body: 'too large', headers: { Accept: 'text/html' } })
    for (const [r, status] of [[ok, 201], [bad, 413]] as const) {
      expect(r.status).toBe(status)
      const html = await r.text()
      const csp = r.headers.get('content-security-policy') ?? ''
      expect(csp).toMatch(/^default-src 'none'; /)
      const style = /<style>([^<]*)<\/style>/.exec(html)![1]!
      expect(csp).toContain(`'sha256-${createHash('sha256').update(style).digest('base64')}'`)
      expect(r.headers.get('x-content-type-options')).toBe('nosniff')
      expect(r.headers.get('cache-control')).toBe('no-store')
      expect(html).not.toContain('<b>x</b>')
    }
  })

  it('a raw body with an empty Content-Type has no type: application/octet-stream, as with none', async () => {
    const c = await cli(['--allow', 'application/octet-stream'])
    const r = await curl(['-T', payload('ct/empty-ct.bin', 'x'), '-H', 'Content-Type;', `${c.url}/`])
    expect(r.info.http_code).toBe(201)
    await expectStored(c, r.json().files[0], { name: 'empty-ct.bin', originalName: 'empty-ct.bin', mimeType: 'application/octet-stream', data: 'x' })
  })

  it('out of file descriptors (ulimit -n): 503 UNAVAILABLE saying so, not a 500 "internal error"; no temp file left', async (ctx) => {
    let prlimit = true
    try {
      execFileSync('prlimit', ['--version'], { stdio: 'ignore' })
    } catch {
      prlimit = false
    }
    if (!prlimit) return ctx.skip()
    const c = await cli()
    const fds = () => readdirSync(`/proc/${c.proc.pid}/fd`).length
    const limit = fds() + 8
    execFileSync('prlimit', [`--pid=${c.proc.pid}`, `--nofile=${limit}:${limit}`])
    // Whether the table fills at an accept or at a temp file would depend on how many descriptors
    // the server happens to hold (an upload takes two). So fill it with idle connections until one
    // is turned away at accept (libuv accepts and closes it), free exactly one, and then the
    // upload's socket takes that one and its temp file finds none.
    const idle: net.Socket[] = []
    const socks: net.Socket[] = []
    try {
      let turnedAway = false
      for (let i = 0; i < 40 && !turnedAway; i++) {
        const s = net.connect(c.port, '127.0.0.1')
        s.on('error', () => {})
        idle.push(s)
        turnedAway = await new Promise<boolean>((resolve) => {
          s.once('close', () => resolve(true))
          setTimeout(() => resolve(false), 150)
        })
      }
      expect(turnedAway).toBe(true)
      // On a busy machine an earlier one may have been turned away later than 150 ms: the one
      // freed must be one the server still holds.
      await new Promise((r) => setTimeout(r, 300))
      const open = idle.filter((s) => !s.closed)
      expect(open.length).toBeGreaterThan(0)
      const full = fds()
      open[0]!.destroy()
      await pollUntil(() => fds() < full, 5_000, 'the server closing one idle connection')

      const answers: Promise<string>[] = []
      for (let i = 0; i < 2; i++) {
        const s = net.connect(c.port, '127.0.0.1')
        socks.push(s)
        answers.push(
          new Promise((resolve) => {
            let got = ''
            s.on('data', (d: Buffer) => (got += d.toString('latin1')))
            s.on('error', () => {})
            s.on('close', () => resolve(got))
          }),
        )
        s.write(`PUT /held${i}.bin HTTP/1.1\r\nHost: x\r\nContent-Length: 10000000\r\n\r\n${'x'.repeat(100_000)}`)
        if (i === 0) await pollUntil(() => c.events.some((e) => e.event === 'failed'), 5_000, 'a failed event')
      }
      const refused = c.events.filter((e) => e.event === 'failed')
      expect(refused[0]).toMatchObject({ code: 'UNAVAILABLE', message: expect.stringContaining('too many files open') })
      expect(c.events.some((e) => e.code === 'INTERNAL')).toBe(false)
      const got = await withTimeout(Promise.all(answers), 5_000, 'connections closed')
      expect(got[0]).toMatch(/^HTTP\/1\.1 503 /)
      expect(got.some((a) => a.startsWith('HTTP/1.1 500 '))).toBe(false)
    } finally {
      for (const s of [...idle, ...socks]) s.destroy()
    }
    await pollUntil(() => tempFiles(c.dir).length === 0, 5_000, 'temp files gone')
  })

  it('one name uploaded again and again (iOS calls every camera photo image.jpg): numbered on from the last number given, not from 1 each time', async () => {
    const c = await cli()
    const names: string[] = []
    for (let i = 0; i < 40; i++) {
      const r = await fetch(`${c.url}/image.jpg`, { method: 'PUT', body: `photo ${i}` })
      expect(r.status).toBe(201)
      names.push(((await r.json()) as { files: Array<{ name: string }> }).files[0]!.name)
    }
    expect(names).toEqual(['image.jpg', ...Array.from({ length: 39 }, (_, i) => `image (${i + 1}).jpg`)])
    // A number freed meanwhile is not gone back to: the search starts after the last one given,
    // which is what keeps the thousandth upload of a name as cheap as the second.
    rmSync(path.join(c.dir, 'image (3).jpg'))
    const next = await fetch(`${c.url}/image.jpg`, { method: 'PUT', body: 'photo 40' })
    expect(((await next.json()) as { files: Array<{ name: string }> }).files[0]!.name).toBe('image (40).jpg')
    // The name itself, once free, is taken first.
    rmSync(path.join(c.dir, 'image.jpg'))
    const first = await fetch(`${c.url}/image.jpg`, { method: 'PUT', body: 'photo 41' })
    expect(((await first.json()) as { files: Array<{ name: string }> }).files[0]!.name).toBe('image.jpg')
  })

  it('20 concurrent uploads of one name (PUT and multipart) give 20 distinct, intact files', async () => {
    const c = await cli()
    const bodies = Array.from({ length: 20 }, (_, i) => randomBytes(200_000 + i * 1000))
    const sent = new Set(bodies.map((b) => sha256(b)))
    expect(sent.size).toBe(20)
    const results = await withTimeout(
      Promise.all(
        bodies.map(async (b, i) => {
          let res: Response
          if (i % 2 === 0) {
            res = await fetch(`${c.url}/same.bin`, { method: 'PUT', body: bytes(b) })
          } else {
            const form = new FormData()
            form.append('file', new Blob([bytes(b)]), 'same.bin')
            res = await fetch(`${c.url}/`, { method: 'POST', body: form })
          }
          expect(res.status).toBe(201)
          return ((await res.json()) as { files: Answer[] }).files[0]!
        }),
      ),
      30_000,
      '20 concurrent uploads',
    )
    const names = results.map((r) => r.name)
    expect(new Set(names).size).toBe(20)
    for (const n of names) expect(n).toMatch(/^same( \(\d+\))?\.bin$/)
    for (const [i, r] of results.entries()) expect(r.sha256).toBe(sha256(bodies[i]!))
    const onDisk = files(c.dir)
    expect(onDisk.sort()).toEqual([...names].sort())
    const hashes = await Promise.all(onDisk.map((f) => sha256File(path.join(c.dir, f))))
    expect(new Set(hashes)).toEqual(sent)
    noTemps(c)
  })
})

describe('limits and filters', () => {
  it('--max-file-size: -T over the limit is refused before the body (Expect: 100-continue gets the 413 right away)', async () => {
    const c = await cli(['--max-file-size', '100kB'])
    const file = payload('too-big.bin', randomBytes(2 * 1024 * 1024))
    const r = await curl(['-v', '-H', 'Expect: 100-continue', '-T', file, `${c.url}/`])
    expect(r.info.http_code).toBe(413)
    expect(r.json().error.code).toBe('FILE_TOO_LARGE')
    expect(r.stderr).not.toMatch(/^< HTTP\/1\.1 100/m)
    expect(r.info.size_upload).toBe(0)
    expect(files(c.dir)).toEqual([])
    noTemps(c)
    // Exactly at the limit is fine; the server is still up.
    const ok = await curl(['-T', payload('just-right.bin', randomBytes(100_000)), `${c.url}/`])
    expect(ok.info.http_code).toBe(201)
    expect(files(c.dir)).toEqual(['just-right.bin'])
  })

  it('--max-file-size × --max-files: a multipart body announced over it is refused before it is sent', async () => {
    const c = await cli(['--max-file-size', '100kB', '--max-files', '1'])
    const file = payload('form-announced-too-big.bin', randomBytes(2 * 1024 * 1024))
    const r = await curl(['-v', '-H', 'Expect: 100-continue', '-F', `file=@${file}`, `${c.url}/`])
    expect(r.info.http_code).toBe(413)
    expect(r.json().error.code).toBe('FILE_TOO_LARGE')
    expect(r.stderr).not.toMatch(/^< HTTP\/1\.1 100/m)
    expect(r.info.size_upload).toBe(0)
    expect(files(c.dir)).toEqual([])
    noTemps(c)
    // Refused before its first part: still a failed upload, for --json and the terminal alike.
    const failed = await c.waitForEvent((e) => e.event === 'failed')
    expect(failed).toMatchObject({ client: '127.0.0.1', name: '(form)', code: 'FILE_TOO_LARGE' })
  })

  it('--max-file-size: -F over the limit is 413, leaves no file and no temp file, keeps the server up', async () => {
    const c = await cli(['--max-file-size', '100kB'])
    const r = await curl(['-F', `file=@${payload('form-too-big.bin', randomBytes(150_000))}`, `${c.url}/`])
    expect(r.info.http_code).toBe(413)
    expect(r.json().error.code).toBe('FILE_TOO_LARGE')
    const failed = await c.waitForEvent((e) => e.event === 'failed')
    expect(failed).toMatchObject({ client: '127.0.0.1', name: 'form-too-big.bin', code: 'FILE_TOO_LARGE' })
    expect(files(c.dir)).toEqual([])
    noTemps(c)
    const exact = await curl(['-F', `file=@${payload('form-exact.bin', randomBytes(100_000))}`, `${c.url}/`])
    expect(exact.info.http_code).toBe(201)
    expect(files(c.dir)).toEqual(['form-exact.bin'])
  })

  it('--max-files 2 with 3 files: 413 TOO_MANY_FILES, the first two kept and listed', async () => {
    const c = await cli(['--max-files', '2'])
    const args = ['f1.txt', 'f2.txt', 'f3.txt'].flatMap((n) => ['-F', `file=@${payload(`mf/${n}`, `content of ${n}`)}`])
    const r = await curl([...args, `${c.url}/`])
    expect(r.info.http_code).toBe(413)
    const body = r.json()
    expect(body.error.code).toBe('TOO_MANY_FILES')
    expect(body.files).toHaveLength(2)
    await expectStored(c, body.files[0], { name: 'f1.txt', originalName: 'f1.txt', mimeType: 'text/plain', data: 'content of f1.txt' })
    await expectStored(c, body.files[1], { name: 'f2.txt', originalName: 'f2.txt', mimeType: 'text/plain', data: 'content of f2.txt' })
    expect(files(c.dir)).toEqual(['f1.txt', 'f2.txt'])
    noTemps(c)
    // The refused third file has its failed event (and ✖ line), like any file that fails.
    const ev = await c.waitForEvent((e) => e.event === 'failed')
    expect(ev).toMatchObject({ client: '127.0.0.1', name: 'f3.txt', code: 'TOO_MANY_FILES' })
    // In the form's order: the two stored, then the one refused.
    expect(c.events.slice(1).map((e) => `${e.event} ${e.name}`)).toEqual(['stored f1.txt', 'stored f2.txt', 'failed f3.txt'])
  })

  it('a file part with an unquoted name holding a space or UTF-8 (as scripts send it) is stored, not dropped', async () => {
    const c = await cli()
    const { body, contentType } = multipartBody([
      { disposition: 'form-data; name="a"; filename=Fotoğraf 1.jpg', contentType: 'image/jpeg', data: 'one' },
      { disposition: 'form-data; name="b"; filename = "two.txt"', contentType: 'text/plain', data: 'two' },
    ])
    const res = await rawUpload(c, httpRequest('POST', '/', { 'Content-Type': contentType, 'Content-Length': String(body.length) }, body))
    expect(res.status).toBe(201)
    expect(files(c.dir)).toEqual(['Fotoğraf 1.jpg', 'two.txt'])
  })

  it('--json events carry exactly the fields SPEC §6 lists, of the right types', async () => {
    const c = await cli(['--max-file-size', '4'])
    expect((await fetch(`${c.url}/ok.txt`, { method: 'PUT', body: 'abc' })).status).toBe(201)
    expect((await fetch(`${c.url}/big.txt`, { method: 'PUT', body: 'abcdefgh' })).status).toBe(413)
    await c.waitForEvent((e) => e.event === 'failed')
    expect(await c.stop()).toBe(0)
    expect(c.events).toEqual([
      { event: 'listening', port: expect.any(Number), urls: [`${c.url}/`], dir: c.dir },
      {
        event: 'stored',
        client: '127.0.0.1',
        name: 'ok.txt',
        originalName: 'ok.txt',
        path: `${c.dir}/ok.txt`,
        size: 3,
        sha256: sha256(Buffer.from('abc')),
        ms: expect.any(Number),
      },
      { event: 'failed', client: '127.0.0.1', name: 'big.txt', code: 'FILE_TOO_LARGE', message: expect.any(String) },
      { event: 'closed', files: 1, bytes: 3 },
    ])
  })

  it('--max-files 1: a browser\'s empty file input (no name, no bytes) is no file, so the one picked is stored', async () => {
    const c = await cli(['--max-files', '1'])
    const { body, contentType } = multipartBody([
      { field: 'nothing', rawFilename: '', data: '' },
      { filename: 'picked.txt', contentType: 'text/plain', data: 'picked' },
    ])
    const res = await rawUpload(c, httpRequest('POST', '/', { 'Content-Type': contentType, 'Content-Length': String(body.length) }, body))
    expect(res.status).toBe(201)
    await expectStored(c, (res.json() as { files: Answer[] }).files[0], { name: 'picked.txt', originalName: 'picked.txt', mimeType: 'text/plain', data: 'picked' })
    expect(c.events.some((e) => e.event === 'failed')).toBe(false)
  })

  it('part-like text after the close delimiter is ignored: answered at once, no part started, no temp file', async () => {
    const c = await cli(['--timeout', '30'])
    const cd = (name: string) => `Content-Disposition: form-data; name="f"; filename="${name}"\r\n\r\n`
    const post = (body: string) =>
      httpRequest('POST', '/', { 'Content-Type': 'multipart/form-data; boundary=B', 'Content-Length': String(Buffer.byteLength(body)) }, body)
    // busboy went on through the rest of the read and started a part it never ended: no answer, ever.
    const started = Date.now()
    const epilogue = await rawUpload(c, post(`--B\r\n${cd('one.txt')}hello\r\n--B--\r\n--B\r\n${cd('e1.txt')}x\r\n--B\r\n${cd('e2.bin')}${'y'.repeat(100)}`))
    expect(epilogue.status).toBe(201)
    expect((epilogue.json() as { files: Answer[] }).files.map((f) => f.name)).toEqual(['one.txt'])
    const closeFirst = await rawUpload(c, post(`--B--\r\n--B\r\n${cd('f1.txt')}v\r\n--B\r\n${cd('f2.bin')}${'y'.repeat(200_000)}\r\n--B--\r\n`))
    expect(closeFirst.status).toBe(400)
    expect(closeFirst.json().error.code).toBe('NO_FILE')
    expect(Date.now() - started).toBeLessThan(5_000)
    expect(files(c.dir)).toEqual(['one.txt'])
    noTemps(c)
  })

  it('--max-files 1: an empty file input after the one file picked is still no file (201, no failed event)', async () => {
    const c = await cli(['--max-files', '1'])
    const { body, contentType } = multipartBody([
      { filename: 'picked.txt', contentType: 'text/plain', data: 'picked' },
      { field: 'nothing', rawFilename: '', data: '' },
    ])
    const res = await rawUpload(c, httpRequest('POST', '/', { 'Content-Type': contentType, 'Content-Length': String(body.length) }, body))
    expect(res.status).toBe(201)
    await expectStored(c, (res.json() as { files: Answer[] }).files[0], { name: 'picked.txt', originalName: 'picked.txt', mimeType: 'text/plain', data: 'picked' })
    expect(c.events.some((e) => e.event === 'failed')).toBe(false)
  })

  it('--max-files 1: a nameless part with bytes after the one file is a second file, refused (413)', async () => {
    const c = await cli(['--max-files', '1'])
    const { body, contentType } = multipartBody([
      { filename: 'picked.txt', contentType: 'text/plain', data: 'picked' },
      { rawFilename: '', contentType: 'text/plain', data: 'xyz' },
    ])
    const res = await rawUpload(c, httpRequest('POST', '/', { 'Content-Type': contentType, 'Content-Length': String(body.length) }, body))
    expect(res.status).toBe(413)
    const answer = res.json() as { error: { code: string }; files: Answer[] }
    expect(answer.error.code).toBe('TOO_MANY_FILES')
    expect(answer.files.map((f) => f.name)).toEqual(['picked.txt'])
    await c.waitForEvent((e) => e.event === 'failed' && e.code === 'TOO_MANY_FILES')
    expect(files(c.dir)).toEqual(['picked.txt'])
  })

  it('--max-files 1: a nameless part with bytes is the one file; the named one after it is refused, whatever its size', async () => {
    for (const size of [10, 70_000]) {
      const c = await cli(['--max-files', '1'])
      const { body, contentType } = multipartBody([
        { rawFilename: '', contentType: 'text/plain', data: 'xyz' },
        { filename: 'a.bin', data: Buffer.alloc(size, 7) },
      ])
      const res = await rawUpload(c, httpRequest('POST', '/', { 'Content-Type': contentType, 'Content-Length': String(body.length) }, body))
      expect(res.status, `a.bin of ${size} B`).toBe(413)
      const answer = res.json() as { error: { code: string }; files: Answer[] }
      expect(answer.error.code).toBe('TOO_MANY_FILES')
      expect(answer.files.map((f) => f.size)).toEqual([3])
      await c.waitForEvent((e) => e.event === 'failed' && e.name === 'a.bin' && e.code === 'TOO_MANY_FILES')
      expect(c.events.filter((e) => e.event === 'failed')).toHaveLength(1)
    }
  })

  it('the first failing part ends a multipart request, however the bytes are cut: later parts are not stored, the answer names that failure', async () => {
    const c = await cli(['--max-file-size', '10', '--max-files', '2', '--allow', '.txt'])
    const send = (parts: Part[]) => {
      const { body, contentType } = multipartBody(parts)
      // One write: every part is in the server's first read.
      return rawUpload(c, httpRequest('POST', '/', { 'Content-Type': contentType, 'Content-Length': String(body.length) }, body))
    }
    // Too large, then a good one, then one over --max-files: FILE_TOO_LARGE (not TOO_MANY_FILES), nothing stored.
    const first = await send([
      { filename: 'big.txt', data: '0123456789A' },
      { filename: 'ok.txt', data: '0123456789' },
      { filename: 'third.txt', data: 'abc' },
    ])
    expect(first.status).toBe(413)
    expect(first.json().error.code).toBe('FILE_TOO_LARGE')
    expect(first.json().files ?? []).toEqual([])
    await c.waitForEvent((e) => e.event === 'failed' && e.name === 'big.txt' && e.code === 'FILE_TOO_LARGE')
    expect(files(c.dir)).toEqual([])

    // A good one, a refused type, a good one: TYPE_NOT_ALLOWED, only the first stored.
    const second = await send([
      { filename: 'a.txt', data: 'a' },
      { filename: 'z.zip', data: 'z' },
      { filename: 'k.txt', data: 'k' },
    ])
    expect(second.status).toBe(415)
    const answer = second.json() as { error: { code: string }; files: Answer[] }
    expect(answer.error.code).toBe('TYPE_NOT_ALLOWED')
    await expectStored(c, answer.files[0], { name: 'a.txt', originalName: 'a.txt', mimeType: 'application/octet-stream', data: 'a' })
    expect(answer.files).toHaveLength(1)
    expect(files(c.dir)).toEqual(['a.txt'])
    noTemps(c)
  })

  it('a multipart body that ends inside a part: the answer and the failed event both say MULTIPART_MALFORMED', async () => {
    const c = await cli()
    const body = Buffer.from('--XX\r\nContent-Disposition: form-data; name="f"; filename="cut.txt"\r\n\r\nhello, and then nothing')
    const res = await rawUpload(c, httpRequest('POST', '/', { 'Content-Type': 'multipart/form-data; boundary=XX', 'Content-Length': String(body.length) }, body))
    expect(res.status).toBe(400)
    expect(res.json().error).toEqual({ code: 'MULTIPART_MALFORMED', message: 'Malformed multipart body: it ended before its closing boundary.' })
    const ev = await c.waitForEvent((e) => e.event === 'failed' && e.name === 'cut.txt')
    expect(ev).toMatchObject({ code: 'MULTIPART_MALFORMED' })
    expect(files(c.dir)).toEqual([])
    noTemps(c)
  })

  it('a boundary of 70 characters is taken, one of 71 (and quoted ones of thousands) is MULTIPART_MALFORMED (RFC 2046)', async () => {
    const c = await cli()
    const post = (boundary: string, quoted = false) => {
      const { body } = multipartBody([{ filename: `b${boundary.length}.txt`, data: 'x' }], boundary)
      const type = `multipart/form-data; boundary=${quoted ? `"${boundary}"` : boundary}`
      return rawUpload(c, httpRequest('POST', '/', { 'Content-Type': type, 'Content-Length': String(body.length) }, body))
    }
    expect((await post('b'.repeat(70))).status).toBe(201)
    const long = await post('b'.repeat(71))
    expect(long.status).toBe(400)
    expect(long.json().error.message).toContain('boundary is longer than 70 characters')
    expect((await post('a b'.repeat(1500), true)).status).toBe(400)
    const none = await rawUpload(c, httpRequest('POST', '/', { 'Content-Type': 'multipart/form-data', 'Content-Length': '2' }, Buffer.from('xx')))
    expect(none.json().error.message).toBe('Malformed multipart request: its Content-Type names no boundary.')
    expect(files(c.dir)).toEqual(['b70.txt'])
    noTemps(c)
  })

  it('--allow image/*,.pdf: a .txt sent as text/plain is 415, a .pdf and an image are stored', async () => {
    const c = await cli(['--allow', 'image/*,.pdf'])
    const txt = await curl(['-F', `file=@${payload('al/notes.txt', 'plain text')};type=text/plain`, `${c.url}/`])
    expect(txt.info.http_code).toBe(415)
    expect(txt.json().error.code).toBe('TYPE_NOT_ALLOWED')
    const putTxt = await curl(['-T', payload('al/put-notes.txt', 'plain text'), '-H', 'Content-Type: text/plain', `${c.url}/`])
    expect(putTxt.info.http_code).toBe(415)
    expect(files(c.dir)).toEqual([])
    noTemps(c)

    const pdf = await curl(['-F', `file=@${payload('al/doc.pdf', '%PDF-1.4 fake')};type=application/octet-stream`, `${c.url}/`])
    expect(pdf.info.http_code).toBe(201)
    await expectStored(c, pdf.json().files[0], { name: 'doc.pdf', originalName: 'doc.pdf', mimeType: 'application/octet-stream', data: '%PDF-1.4 fake' })
    const img = await curl(['-F', `file=@${payload('al/pic.bin', 'not really png')};type=image/png`, `${c.url}/`])
    expect(img.info.http_code).toBe(201)
    const putPdf = await curl(['-T', payload('al/PUT.PDF', 'upper'), `${c.url}/`])
    expect(putPdf.info.http_code).toBe(201)
    expect(files(c.dir)).toEqual(['PUT.PDF', 'doc.pdf', 'pic.bin'])
  })
})

describe('answers and modes', () => {
  it('Accept: text/html gets an HTML result page, sizes written as people read them', async () => {
    const c = await cli()
    const big = payload('html/big.bin', 'x'.repeat(1_234_567))
    const r = await curl(['-H', 'Accept: text/html,application/xhtml+xml,*/*;q=0.8', '-F', `file=@${payload('html/page.txt', 'for a browser')}`, '-F', `more=@${big}`, `${c.url}/`])
    expect(r.info.http_code).toBe(201)
    expect(r.info.content_type).toMatch(/^text\/html/)
    expect(r.body).toMatch(/^<!doctype html>/i)
    expect(r.body).toContain('<li>page.txt (13 bytes)</li>')
    expect(r.body).toContain('<li>big.bin (1,234,567 bytes)</li>')
    expect(readFileSync(path.join(c.dir, 'page.txt'), 'utf8')).toBe('for a browser')
  })

  it('answers whose body Accept chooses (JSON or HTML) say Vary: Accept, so no cache hands one to the other', async () => {
    const c = await cli()
    for (const accept of ['text/html', 'application/json']) {
      const stored = await fetch(`${c.url}/v-${accept.replace('/', '-')}.txt`, { method: 'PUT', body: 'x', headers: { Accept: accept } })
      expect(stored.status).toBe(201)
      expect(stored.headers.get('vary')).toBe('Accept')
      const missing = await fetch(`${c.url}/nope`, { headers: { Accept: accept } })
      expect(missing.status).toBe(404)
      expect(missing.headers.get('vary')).toBe('Accept')
    }
  })

  it('--once exits 0 after the first request that stored a file', async () => {
    const c = await cli(['--once'])
    // A request that stores nothing does not count.
    const page = await curl([`${c.url}/`])
    expect(page.info.http_code).toBe(200)
    const none = await curl(['-F', 'x=y', `${c.url}/`])
    expect(none.info.http_code).toBe(400)
    expect(c.proc.exitCode).toBeNull()
    const r = await curl(['-F', `file=@${payload('once/a.txt', 'once')}`, '-F', `file=@${payload('once/b.txt', 'twice')}`, `${c.url}/`])
    expect(r.info.http_code).toBe(201)
    expect(await withTimeout(c.exited, 10_000, '--once exit')).toBe(0)
    expect(files(c.dir)).toEqual(['a.txt', 'b.txt'])
    expect(c.events[c.events.length - 1]).toEqual({ event: 'closed', files: 2, bytes: 9 })
  })

  it('--once: the answer that ends the run says Connection: close, so a client does not reuse the connection', async () => {
    const c = await cli(['--once'])
    const r = await curl(['-v', '-T', payload('once/c.txt', 'one'), `${c.url}/`, '--next', '-T', payload('once/d.txt', 'two'), `${c.url}/`])
    expect(r.stderr).toMatch(/^< HTTP\/1\.1 201[^]*^< Connection: close/im)
    expect(r.stderr).not.toMatch(/reset by peer/i)
    expect(await withTimeout(c.exited, 10_000, '--once exit')).toBe(0)
    expect(files(c.dir)).toEqual(['c.txt'])
  })

  it('--once: a browser form post\'s result page does not link back to a receiver that has stopped', async () => {
    const c = await cli(['--once'])
    const form = new FormData()
    form.append('file', new Blob(['once']), 'form.txt')
    const r = await fetch(`${c.url}/`, { method: 'POST', body: form, headers: { Accept: 'text/html' } })
    expect(r.status).toBe(201)
    const html = await r.text()
    expect(html).toContain('form.txt')
    expect(html).not.toContain('Upload more')
    expect(html).toContain('This receiver took one upload and has stopped.')
    expect(await withTimeout(c.exited, 10_000, '--once exit')).toBe(0)
  })

  it('--stdout writes the first file to standard output, nothing to --dir, and exits 0', async () => {
    const c = await cli(['--stdout'], { json: false })
    const chunks: Buffer[] = []
    c.proc.stdout!.on('data', (d: Buffer) => chunks.push(d))
    const data = trickyBinary('stdout')
    const r = await curl(['-T', payload('to-stdout.bin', data), `${c.url}/`])
    expect(r.info.http_code).toBe(201)
    expect(r.json().files[0]).toMatchObject({ size: data.length, sha256: sha256(data) })
    expect(await withTimeout(c.exited, 10_000, '--stdout exit')).toBe(0)
    expect(Buffer.concat(chunks).equals(data)).toBe(true)
    expect(walkable(c.dir)).toEqual([])
  })

  it('--stdout with a multipart form of two files writes only the first one', async () => {
    const c = await cli(['--stdout'], { json: false })
    const chunks: Buffer[] = []
    c.proc.stdout!.on('data', (d: Buffer) => chunks.push(d))
    const first = randomBytes(300_000)
    const r = await curl(['-F', `file=@${payload('so/first.bin', first)}`, '-F', `file=@${payload('so/second.bin', 'second')}`, `${c.url}/`])
    expect(r.info.http_code).toBe(201)
    expect(await withTimeout(c.exited, 10_000, '--stdout exit')).toBe(0)
    expect(sha256(Buffer.concat(chunks))).toBe(sha256(first))
    expect(walkable(c.dir)).toEqual([])
    // The dropped file is not announced: a start line with no end line would stay on the terminal.
    expect(c.stderr()).not.toContain('second.bin')
  })

  it('--once: a form that stored a file and then failed answers a browser without a "Back" to the stopped receiver', async () => {
    const c = await cli(['--once', '--allow', '.txt'])
    const form = new FormData()
    form.append('a', new Blob(['kept']), 'kept.txt')
    form.append('b', new Blob(['no']), 'refused.bin')
    const r = await fetch(`${c.url}/`, { method: 'POST', body: form, headers: { Accept: 'text/html' } })
    expect(r.status).toBe(415)
    const html = await r.text()
    expect(html).toContain('kept.txt')
    expect(html).not.toContain('href="/"')
    expect(html).not.toContain('send those again')
    expect(html).toContain('This receiver took one upload and has stopped.')
    expect(await withTimeout(c.exited, 10_000, '--once exit')).toBe(0)
  })

  it.each([
    ['--allow .txt', ['--allow', '.txt']],
    ['--max-files 1', ['--max-files', '1']],
    ['--max-file-size 100', ['--max-file-size', '100']],
  ])('--stdout with %s: a file after the one taken is dropped unchecked, so it cannot fail the upload', async (_label, flags) => {
    const c = await cli(['--stdout', ...flags], { json: false })
    const chunks: Buffer[] = []
    c.proc.stdout!.on('data', (d: Buffer) => chunks.push(d))
    const r = await curl(['-F', `f=@${payload('so2/a.txt', 'first\n')}`, '-F', `g=@${payload('so2/big.bin', Buffer.alloc(300_000, 2))}`, `${c.url}/`])
    expect(r.info.http_code, r.body).toBe(201)
    expect(r.json().files.map((f: { originalName: string }) => f.originalName)).toEqual(['a.txt'])
    expect(await withTimeout(c.exited, 10_000, '--stdout exit')).toBe(0)
    expect(Buffer.concat(chunks).toString()).toBe('first\n')
    expect(c.stderr()).not.toContain('big.bin')
  })

  it('--stdout: a form without a file is 400 NO_FILE, and a file refused before its first byte went out leaves stdout to the next upload', async () => {
    const c = await cli(['--stdout', '--max-file-size', '10'], { json: false })
    const chunks: Buffer[] = []
    c.proc.stdout!.on('data', (d: Buffer) => chunks.push(d))
    const noFile = await curl(['-F', 'x=y', `${c.url}/`])
    expect(noFile.info.http_code).toBe(400)
    expect(noFile.json().error.code).toBe('NO_FILE')
    // Over the limit in its first chunk: multipart, then chunked (no length to refuse it by).
    const big = payload('so/big.bin', Buffer.alloc(100, 1))
    expect((await curl(['-F', `f=@${big}`, `${c.url}/`])).info.http_code).toBe(413)
    expect((await curl(['-H', 'Transfer-Encoding: chunked', '-T', big, `${c.url}/big.bin`])).info.http_code).toBe(413)
    const r = await curl(['-F', `f=@${payload('so/ok.txt', 'fits\n')}`, `${c.url}/`])
    expect(r.info.http_code).toBe(201)
    expect(await withTimeout(c.exited, 10_000, '--stdout exit')).toBe(0)
    expect(Buffer.concat(chunks).toString()).toBe('fits\n')
    expect(c.stderr()).not.toContain('incomplete')
  })

  it('--stdout: a file over the limit after its first bytes went out: stderr says which, how much went out and why; exit 1', async () => {
    const c = await cli(['--stdout', '--max-file-size', '100kB'], { json: false })
    c.proc.stdout!.resume()
    const big = payload('so/over.bin', Buffer.alloc(1_000_000, 1))
    // Chunked: no length to refuse it by, so the first 100 kB go out before the limit is seen.
    expect((await curl(['-H', 'Transfer-Encoding: chunked', '-T', big, `${c.url}/over.bin`])).info.http_code).toBe(413)
    expect(await withTimeout(c.exited, 10_000, '--stdout exit')).toBe(1)
    expect(c.stderr()).toMatch(
      /^upload-recv: --stdout: over\.bin failed after [\d.]+ kB went out \(the file is larger than the limit of 100 kB\); standard output is incomplete\.$/m,
    )
  })

  it('--stdout neither makes nor needs --dir: the banner says where the bytes go', async () => {
    const parent = tmpDir('upload-recv-stdout-')
    cleanups.push(() => removeDir(parent))
    const dir = path.join(parent, 'not', 'made')
    const c = await startCli(['--stdout'], { dir, json: false })
    cleanups.push(async () => {
      await c.stop().catch(() => undefined)
    })
    expect(c.stderr()).toContain('receiving into standard output')
    const res = await fetch(`${c.url}/a.txt`, { method: 'PUT', body: 'hello' })
    expect(res.status).toBe(201)
    expect(await withTimeout(c.exited, 10_000, '--stdout exit')).toBe(0)
    expect(existsSync(path.join(parent, 'not'))).toBe(false)
  })

  it('--stdout: another request while the first file streams out is 503, not a 201 for a file thrown away', async () => {
    const c = await cli(['--stdout'], { json: false })
    const chunks: Buffer[] = []
    c.proc.stdout!.on('data', (d: Buffer) => chunks.push(d))
    const first = randomBytes(200_000)
    const finish = await heldPut(c, 'first.bin', first, 1000)
    await pollUntil(() => c.stderr().includes('first.bin'), 5_000, 'the first upload started')
    const second = await curl(['-T', payload('so/second.txt', 'second'), `${c.url}/`])
    expect(second.info.http_code).toBe(503)
    expect(second.json().error.code).toBe('UNAVAILABLE')
    await pollUntil(() => /✖.*second\.txt.*UNAVAILABLE/.test(c.stderr()), 5_000, 'the refused upload\'s line')
    expect(await finish()).toBe(201)
    expect(await withTimeout(c.exited, 10_000, '--stdout exit')).toBe(0)
    expect(sha256(Buffer.concat(chunks))).toBe(sha256(first))
    expect(walkable(c.dir)).toEqual([])
  })

  it('--json: a name holding U+2028, NEL, C1 or a bidi control keeps its event on one line, and parses back to the name sent', async () => {
    const c = await cli()
    const sent = 'a\u2028b\u0085c\u009bd\u202ee\u200ff.txt'
    const { body, contentType } = multipartBody([{ filename: sent, contentType: 'text/plain', data: 'x' }])
    const res = await rawUpload(c, httpRequest('POST', '/', { 'Content-Type': contentType, 'Content-Length': String(body.length) }, body))
    expect(res.status).toBe(201)
    await c.waitForEvent((e) => e.event === 'stored')
    expect(await c.stop()).toBe(0)
    // Split as Python's splitlines() does: every event is still one line of JSON.
    const lines = c.stdout().split(/\r\n|[\n\r\v\f\x1c-\x1e\x85\u2028\u2029]/).filter(Boolean)
    expect(lines.map((l) => (JSON.parse(l) as { event: string }).event)).toEqual(['listening', 'stored', 'closed'])
    expect(c.stdout()).not.toMatch(/[\u0080-\u009f\u200f\u2028\u2029\u202e]/)
    expect((JSON.parse(lines[1]!) as { originalName: string }).originalName).toBe(sent)
  })

  it('stdout: a stored name starting with a dash is printed as ./-name, never as something a command takes for an option', async () => {
    const c = await cli([], { json: false, relativeDir: '.' })
    const r = await curl(['-T', payload('dash/x.txt', 'x'), `${c.url}/-rf%20x.txt`])
    expect(r.info.http_code).toBe(201)
    expect(await c.stop()).toBe(0)
    expect(c.stdout()).toBe('./-rf x.txt\n')
    expect(files(c.dir)).toContain('-rf x.txt')
  })

  it('stdout: a stored name starting with a space is printed as ./ name: `while read -r p` (default IFS) would strip the space', async () => {
    const c = await cli([], { json: false, relativeDir: '.' })
    const r = await curl(['-T', payload('space/x.txt', 'x'), `${c.url}/%20lead.txt`])
    expect(r.info.http_code).toBe(201)
    expect(await c.stop()).toBe(0)
    expect(c.stdout()).toBe('./ lead.txt\n')
    expect(files(c.dir)).toContain(' lead.txt')
  })

  it('stdout: a --dir starting with a tab is printed as ./<tab>dir: `while read -r p` would strip the tab', async () => {
    const c = await cli([], { json: false, relativeDir: '\tin' })
    const r = await curl(['-T', payload('tab/x.txt', 'x'), `${c.url}/a.txt`])
    expect(r.info.http_code).toBe(201)
    expect(await c.stop()).toBe(0)
    expect(c.stdout()).toBe('./\tin/a.txt\n')
  })

  it('stdout: a stored name starting with ~ is printed as ./~name: a shell reads ~root as root\'s home folder', async () => {
    const c = await cli([], { json: false, relativeDir: '.' })
    const r = await curl(['-T', payload('tilde/x.txt', 'x'), `${c.url}/~root`])
    expect(r.info.http_code).toBe(201)
    expect(await c.stop()).toBe(0)
    expect(c.stdout()).toBe('./~root\n')
    expect(files(c.dir)).toContain('~root')
  })

  it('without --json, stdout has one stored path per line, as --dir was given', async () => {
    const c = await cli([], { json: false, relativeDir: 'in' })
    const r1 = await curl(['-T', payload('plain/one.txt', '1'), `${c.url}/`])
    const r2 = await curl(['-F', `file=@${payload('plain/two.txt', '2')}`, '-F', `file=@${payload('plain2/one.txt', '3')}`, `${c.url}/sub/`])
    expect(r1.info.http_code).toBe(201)
    expect(r2.info.http_code).toBe(201)
    expect(await c.stop()).toBe(0)
    const lines = c.stdout().split('\n')
    expect(lines.pop()).toBe('')
    expect(lines.sort()).toEqual(['in/one.txt', 'in/sub/one.txt', 'in/sub/two.txt'])
    expect(files(c.dir)).toEqual(['one.txt', 'sub/one.txt', 'sub/two.txt'])
  })
})

/** Entries under `dir` (the folder itself may or may not exist). */
function walkable(dir: string): string[] {
  try {
    return readdirSync(dir, { recursive: true }) as string[]
  } catch {
    return []
  }
}
