// Uploads that never finish (SPEC §4 "Atomicity"): a client cutting the connection at any point of a
// multipart, Content-Length or chunked body, a client stalling past --timeout, a double Ctrl-C. After
// each, no final file and no temp file remain, and the next upload on a new connection works.
import { randomBytes } from 'node:crypto'
import { existsSync, mkdirSync, renameSync, statSync } from 'node:fs'
import net from 'node:net'
import path from 'node:path'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { removeDir, startCli, tmpDir, withTimeout, type Cli } from '../helpers/cli.js'
import { startFileThread } from '../helpers/file-thread.js'
import { files, pollUntil, sha256File, tempFiles, walk } from '../helpers/fs-walk.js'
import { httpRequest, multipartBody, parseResponse, parseResponses, sha256 } from '../helpers/multipart.js'
import { rawRequest, unreadByServer } from '../helpers/raw.js'

type Kind = 'multipart' | 'put' | 'chunked'
type Cut = 'destroy' | 'reset' | 'half-close'

interface Upload {
  head: Buffer
  body: Buffer
  /** Where the file's own bytes start and end inside `body`. */
  fileStart: number
  fileEnd: number
}

function build(kind: Kind, name: string, data: Buffer): Upload {
  if (kind === 'multipart') {
    const { body, contentType } = multipartBody([{ filename: name, data }])
    const fileStart = body.indexOf(data)
    const head = httpRequest('POST', '/', { 'Content-Type': contentType, 'Content-Length': String(body.length) })
    return { head, body, fileStart, fileEnd: fileStart + data.length }
  }
  if (kind === 'put') {
    return { head: httpRequest('PUT', `/${name}`, { 'Content-Length': String(data.length) }), body: data, fileStart: 0, fileEnd: data.length }
  }
  const pieces: Buffer[] = []
  for (let off = 0; off < data.length; off += 64 * 1024) {
    const chunk = data.subarray(off, off + 64 * 1024)
    pieces.push(Buffer.from(`${chunk.length.toString(16)}\r\n`), chunk, Buffer.from('\r\n'))
  }
  pieces.push(Buffer.from('0\r\n\r\n'))
  const body = Buffer.concat(pieces)
  return { head: httpRequest('PUT', `/${name}`, { 'Transfer-Encoding': 'chunked' }), body, fileStart: 6, fileEnd: body.length - 7 }
}

/** How many body bytes are sent before the cut. */
const POINTS = {
  'headers only': (_u: Upload) => 0,
  'after 1 byte': (_u: Upload) => 1,
  // The part's header and one byte of its data (a parser cannot know the header is over before
  // it sees a byte that is not a delimiter), cut at once: the store is still busy creating its
  // temp file when the body breaks off.
  'after the first file byte': (u: Upload) => u.fileStart + 1,
  'mid-body': (u: Upload) => Math.floor((u.fileStart + u.fileEnd) / 2),
  // The last byte of the file itself is missing (for chunked: only the final CRLF of the last chunk).
  'just before the end': (u: Upload) => (u.fileEnd === u.body.length ? u.body.length - 1 : u.fileEnd - 1),
} as const
type Point = keyof typeof POINTS

function connect(port: number): Promise<net.Socket> {
  return withTimeout(
    new Promise((resolve, reject) => {
      const s = net.connect({ host: '127.0.0.1', port }, () => resolve(s))
      s.on('error', reject)
    }),
    5_000,
    'connect',
  )
}

function write(sock: net.Socket, data: Buffer): Promise<void> {
  return new Promise((resolve, reject) => sock.write(data, (err) => (err ? reject(err) : resolve())))
}

/** Everything the server sends until it closes (bounded). */
function collect(sock: net.Socket, ms: number): Promise<{ data: Buffer; closed: boolean }> {
  const parts: Buffer[] = []
  sock.on('data', (d: Buffer) => parts.push(d))
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve({ data: Buffer.concat(parts), closed: false }), ms)
    sock.on('close', () => {
      clearTimeout(timer)
      resolve({ data: Buffer.concat(parts), closed: true })
    })
    sock.on('error', () => {})
  })
}

/** A complete upload on a fresh connection succeeds and is intact. */
async function expectUploadWorks(c: Cli, name: string): Promise<void> {
  const data = randomBytes(50_000)
  const { body, contentType } = multipartBody([{ filename: name, data }])
  const r = await rawRequest(c.port, [httpRequest('POST', '/', { 'Content-Type': contentType, 'Content-Length': String(body.length) }, body)], { ms: 5_000 })
  const res = parseResponse(r.data)
  expect(res.status, res.text).toBe(201)
  const f = res.json().files[0]
  expect(f.sha256).toBe(sha256(data))
  expect(await sha256File(path.join(c.dir, f.name))).toBe(sha256(data))
}

const cleanups: Array<() => Promise<void> | void> = []
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c()
})

async function cli(args: string[] = []): Promise<Cli> {
  const parent = tmpDir('upload-recv-abort-')
  // Registered first, so the folder goes even when the CLI fails to start.
  cleanups.push(() => removeDir(parent))
  const c = await startCli(args, { dir: path.join(parent, 'in') })
  cleanups.push(async () => {
    await c.stop().catch(() => undefined)
  })
  return c
}

// ---------------------------------------------------------------------------------------------

const KINDS: Kind[] = ['multipart', 'put', 'chunked']
const CUTS: Cut[] = ['destroy', 'reset', 'half-close']
const DATA_SIZE = 1024 * 1024

for (const kind of KINDS) {
  describe(`${kind}: the client cuts the connection`, () => {
    // One server per body kind; every case uses its own file name and is checked on its own.
    let c: Cli | undefined
    let parent = ''
    beforeAll(async () => {
      parent = tmpDir('upload-recv-abort-')
      c = await startCli([], { dir: path.join(parent, 'in') })
    })
    afterAll(async () => {
      await c?.stop().catch(() => undefined)
      if (parent) removeDir(parent)
    })

    const points = (Object.keys(POINTS) as Point[]).filter((p) => p !== 'after the first file byte' || kind !== 'put')
    const cases = points.flatMap((point) => CUTS.map((cut) => ({ point, cut })))
    it.each(cases)('$point, $cut', async ({ point, cut }) => {
      if (!c) throw new Error('the CLI did not start')
      const cli = c
      const name = `cut-${point.replace(/ /g, '-')}-${cut}.bin`
      const upload = build(kind, name, randomBytes(DATA_SIZE))
      const sent = POINTS[point](upload)
      // Has the server started storing the file by the cut? (For multipart only once the part's header is in.)
      const fileStarted = kind !== 'multipart' || sent > upload.fileStart
      // Wait for the temp file before cutting, except after the first file byte: that cut is meant
      // to land while the store is still creating it.
      const waitForTemp = fileStarted && point !== 'after the first file byte'
      const failedBefore = cli.events.filter((e) => e.event === 'failed').length

      const sock = await connect(cli.port)
      const reply = collect(sock, 5_000)
      await write(sock, upload.head)
      if (sent > 0) await write(sock, upload.body.subarray(0, sent))
      if (waitForTemp) {
        // Cut while the upload is really in progress: its temp file exists (and holds bytes mid-body).
        await pollUntil(() => tempFiles(cli.dir).length === 1, 5_000, 'temp file appears')
        if (point === 'mid-body') await pollUntil(() => walk(cli.dir).some((e) => e.rel.endsWith('.part') && e.size > 0), 5_000, 'temp file fills')
      }
      // A reset discards bytes the server has not read yet (and, before the accept, the client's
      // address with them): cut only once the kernel holds nothing more for it.
      if (fileStarted && !waitForTemp && cut === 'reset') {
        await pollUntil(() => unreadByServer(cli.port, sock.localPort!) === 0, 5_000, 'the server read what was sent')
      }
      // Nothing appears under the final name before the upload is complete.
      expect(existsSync(path.join(cli.dir, name))).toBe(false)
      if (cut === 'destroy') sock.destroy()
      else if (cut === 'reset') sock.resetAndDestroy()
      else sock.end()

      if (cut === 'half-close') {
        // The server still answers a half-closed client: the body is shorter than announced.
        const { data, closed } = await reply
        expect(closed).toBe(true)
        const res = parseResponses(data)
        expect(res.map((r) => r.status)).toEqual([400])
        expect(res[0]!.json().error.code).toBe('BODY_INCOMPLETE')
        // A chunked body announced no length to fall short of.
        expect(res[0]!.json().error.message).toBe(
          kind === 'chunked' ? 'The chunked request body ended before its last chunk.' : 'The request body is shorter than announced.',
        )
      }
      if (fileStarted) {
        const failed = await cli.waitForEvent((e) => e.event === 'failed' && cli.events.filter((x) => x.event === 'failed').indexOf(e) >= failedBefore, 5_000)
        expect(failed).toMatchObject({ client: '127.0.0.1', name, code: 'BODY_INCOMPLETE' })
      }
      await pollUntil(() => tempFiles(cli.dir).length === 0, 5_000, 'temp file removed')
      await expectUploadWorks(cli, `after-${name}`)
      expect(existsSync(path.join(cli.dir, name))).toBe(false)
      expect(tempFiles(cli.dir)).toEqual([])
      expect(files(cli.dir).filter((f) => !f.startsWith('after-'))).toEqual([])
      sock.destroy()
    })
  })
}

describe('multipart: each file stands alone', () => {
  it('a cut in the second file keeps the complete first one, and leaves nothing of the second', async () => {
    const c = await cli()
    const first = randomBytes(200_000)
    const second = randomBytes(DATA_SIZE)
    const { body, contentType } = multipartBody([
      { filename: 'complete.bin', data: first },
      { filename: 'broken.bin', data: second },
    ])
    const cutAt = body.indexOf(second) + second.length / 2
    const sock = await connect(c.port)
    const reply = collect(sock, 5_000)
    await write(sock, httpRequest('POST', '/', { 'Content-Type': contentType, 'Content-Length': String(body.length) }))
    await write(sock, body.subarray(0, cutAt))
    await pollUntil(() => files(c.dir).includes('complete.bin') && tempFiles(c.dir).length === 1, 5_000, 'first stored, second in progress')
    sock.end()
    const res = parseResponse((await reply).data)
    expect(res.status).toBe(400)
    expect(res.json().error.code).toBe('BODY_INCOMPLETE')
    expect(res.json().files).toEqual([expect.objectContaining({ name: 'complete.bin', sha256: sha256(first), size: first.length })])
    await c.waitForEvent((e) => e.event === 'failed' && e.name === 'broken.bin')
    expect(files(c.dir)).toEqual(['complete.bin'])
    expect(await sha256File(path.join(c.dir, 'complete.bin'))).toBe(sha256(first))
    expect(tempFiles(c.dir)).toEqual([])
    await expectUploadWorks(c, 'next.bin')
  })
})

describe('the folder renamed while its upload runs', () => {
  it('the upload fails and its temp file goes too, from where the folder now is', async () => {
    const c = await cli()
    const data = randomBytes(300_000)
    const sock = await connect(c.port)
    const reply = collect(sock, 10_000)
    await write(sock, httpRequest('PUT', '/sub/dir/x.bin', { 'Content-Length': String(data.length) }))
    await write(sock, data.subarray(0, 100_000))
    await pollUntil(() => tempFiles(c.dir).length === 1, 5_000, 'the temp file appears')
    // Someone renames the folder (and so the temp file in it) away.
    renameSync(path.join(c.dir, 'sub', 'dir'), path.join(c.dir, 'sub', 'dir.away'))
    await write(sock, data.subarray(100_000))
    const res = parseResponse((await reply).data)
    expect(res.status).toBeGreaterThanOrEqual(400)
    await pollUntil(() => tempFiles(c.dir).length === 0, 5_000, 'no temp file left anywhere under --dir', 25)
    expect(walk(c.dir).filter((e) => e.kind === 'file')).toEqual([])
    await expectUploadWorks(c, 'next.bin')
  })
})

// Past 8 MiB a file is written and hashed by a second thread (file-thread.ts), once two files have
// been that large at once: a failed file must wait for that thread to let go of the descriptor
// before it is closed.
describe('files past the file thread threshold (8 MiB)', () => {
  const BIG = 12 * 1024 * 1024

  it('cut after 10 MiB: BODY_INCOMPLETE, the temp file goes, the next upload works', async () => {
    const c = await cli()
    await startFileThread(c)
    const upload = build('multipart', 'big-cut.bin', randomBytes(BIG))
    const sock = await connect(c.port)
    const reply = collect(sock, 10_000)
    await write(sock, upload.head)
    await write(sock, upload.body.subarray(0, upload.fileStart + 10 * 1024 * 1024))
    await pollUntil(() => walk(c.dir).some((e) => e.rel.endsWith('.part') && e.size > 9 * 1024 * 1024), 10_000, 'temp file past 9 MiB')
    sock.destroy()
    await reply
    const failed = await c.waitForEvent((e) => e.event === 'failed', 5_000)
    expect(failed).toMatchObject({ name: 'big-cut.bin', code: 'BODY_INCOMPLETE' })
    await pollUntil(() => tempFiles(c.dir).length === 0, 5_000, 'temp file removed')
    await expectUploadWorks(c, 'after-big-cut.bin')
    expect(files(c.dir)).toEqual(['after-big-cut.bin'])
  })

  it('--max-file-size 10MiB with 12 MiB: 413, no leftovers, the server goes on', async () => {
    const c = await cli(['--max-file-size', '10MiB'])
    await startFileThread(c)
    const data = randomBytes(BIG)
    const { body, contentType } = multipartBody([{ filename: 'over.bin', data }])
    const r = await rawRequest(c.port, [httpRequest('POST', '/', { 'Content-Type': contentType, 'Content-Length': String(body.length) }, body)], { ms: 10_000 })
    const res = parseResponse(r.data)
    expect(res.status, res.text).toBe(413)
    expect(res.json().error.code).toBe('FILE_TOO_LARGE')
    await pollUntil(() => tempFiles(c.dir).length === 0, 5_000, 'temp file removed')
    expect(files(c.dir)).toEqual([])
    await expectUploadWorks(c, 'after-over.bin')
  })

  it('four at once, each intact: the answer, the event and the bytes on disk agree', async () => {
    const c = await cli()
    const datas = Array.from({ length: 4 }, (_, i) => randomBytes(BIG + i * 4099))
    const answers = await Promise.all(
      datas.map(async (data, i) => {
        const { body, contentType } = multipartBody([{ filename: `big-${i}.bin`, data }])
        const head = httpRequest('POST', '/', { 'Content-Type': contentType, 'Content-Length': String(body.length) }, body)
        const res = parseResponse((await rawRequest(c.port, [head], { ms: 20_000 })).data)
        expect(res.status, res.text).toBe(201)
        return res.json().files[0] as { name: string; size: number; sha256: string }
      }),
    )
    for (const [i, f] of answers.entries()) {
      expect(f).toMatchObject({ name: `big-${i}.bin`, size: datas[i]!.length, sha256: sha256(datas[i]!) })
      expect(await sha256File(path.join(c.dir, f.name))).toBe(f.sha256)
      const stored = await c.waitForEvent((e) => e.event === 'stored' && e.name === f.name, 5_000)
      expect(stored.sha256).toBe(f.sha256)
    }
    expect(tempFiles(c.dir)).toEqual([])
  })
})

describe('a stalled client with --timeout 1', () => {
  for (const kind of KINDS) {
    it(`${kind}, stalled mid-body: 408, no leftovers`, async () => {
      const c = await cli(['--timeout', '1'])
      const name = `stalled-${kind}.bin`
      const upload = build(kind, name, randomBytes(DATA_SIZE))
      const started = Date.now()
      const sock = await connect(c.port)
      const reply = collect(sock, 8_000)
      await write(sock, upload.head)
      await write(sock, upload.body.subarray(0, POINTS['mid-body'](upload)))
      const { data, closed } = await reply
      const elapsed = Date.now() - started
      expect(closed, 'the server dropped the connection').toBe(true)
      expect(elapsed).toBeGreaterThanOrEqual(900)
      // The client is still reading: the answer can be sent, so it is (SPEC §3).
      const res = parseResponses(data)
      expect(res.map((r) => r.status)).toEqual([408])
      expect(res[0]!.json().error.code).toBe('TIMEOUT')
      const failed = await c.waitForEvent((e) => e.event === 'failed' && e.name === name)
      expect(failed.code).toBe('TIMEOUT')
      expect(tempFiles(c.dir)).toEqual([])
      expect(files(c.dir)).toEqual([])
      await expectUploadWorks(c, 'after-stall.bin')
    })
  }

  it('stalled in the middle of the request head: 408 and closed', async () => {
    const c = await cli(['--timeout', '1'])
    const r = await rawRequest(c.port, ['PUT /head-stall.bin HTTP/1.1\r\nHost: x\r\nContent-Le'], { ms: 6_000 })
    expect(r.closed).toBe(true)
    expect(parseResponses(r.data).map((x) => x.status)).toEqual([408])
    expect(walk(c.dir)).toEqual([])
    await expectUploadWorks(c, 'after-head-stall.bin')
  })

  it('stalled after the head, before any body byte (PUT): 408, no leftovers', async () => {
    const c = await cli(['--timeout', '1'])
    const upload = build('put', 'no-body.bin', randomBytes(1000))
    const r = await rawRequest(c.port, [upload.head], { ms: 6_000 })
    expect(r.closed).toBe(true)
    expect(parseResponses(r.data).map((x) => x.status)).toEqual([408])
    await c.waitForEvent((e) => e.event === 'failed' && e.name === 'no-body.bin')
    expect(tempFiles(c.dir)).toEqual([])
    expect(files(c.dir)).toEqual([])
    await expectUploadWorks(c, 'after-no-body.bin')
  })
})

describe('Ctrl-C twice during an upload', () => {
  it('aborts it, removes its temp file and exits 130', async () => {
    const c = await cli()
    const upload = build('put', 'interrupted.bin', randomBytes(DATA_SIZE))
    const sock = await connect(c.port)
    const reply = collect(sock, 8_000)
    await write(sock, upload.head)
    await write(sock, upload.body.subarray(0, DATA_SIZE / 2))
    await pollUntil(() => tempFiles(c.dir).length === 1, 5_000, 'temp file appears')
    c.proc.kill('SIGINT')
    await new Promise((r) => setTimeout(r, 200))
    expect(c.proc.exitCode, 'the first Ctrl-C waits for the upload').toBeNull()
    c.proc.kill('SIGINT')
    expect(await withTimeout(c.exited, 5_000, 'exit after second Ctrl-C')).toBe(130)
    await reply
    expect(tempFiles(c.dir)).toEqual([])
    expect(files(c.dir)).toEqual([])
    expect(statSync(c.dir).isDirectory()).toBe(true)
  })
})

describe('folders a failed upload made', () => {
  const tree = (c: Cli) => walk(c.dir).map((e) => e.rel)
  // Chunked: no announced length to refuse it by, so it fails once its folders are made.
  const chunked = (body: string) => Buffer.from(`${body.length.toString(16)}\r\n${body}\r\n0\r\n\r\n`)

  it('are removed with it (cut short, or over --max-file-size), all the way up to the first one it made', async () => {
    const c = await cli(['--max-file-size', '5'])
    mkdirSync(path.join(c.dir, 'kept'))
    // Over the limit: a small file refused whole.
    const over = await rawRequest(c.port, [httpRequest('PUT', '/kept/a/b/over.txt', { 'Transfer-Encoding': 'chunked' }, chunked('0123456789'))], { ms: 5_000 })
    expect(parseResponses(over.data).map((r) => r.status)).toEqual([413])
    // Cut short mid-body: the temp file was open in the deepest folder.
    const sock = await connect(c.port)
    const reply = collect(sock, 5_000)
    await write(sock, httpRequest('PUT', '/new/x/y/cut.bin', { 'Content-Length': '4' }, Buffer.from('ab')))
    await pollUntil(() => tree(c).includes('new/x/y'), 5_000, 'its folders made')
    sock.destroy()
    await reply
    await c.waitForEvent((e) => e.event === 'failed' && e.name === 'new/x/y/cut.bin')
    await pollUntil(() => !tree(c).includes('new'), 5_000, 'its folders removed')
    // A folder that was there before stays.
    expect(tree(c)).toEqual(['kept'])
  })

  it('stay while another upload is in them or below them, and hold its file afterwards', async () => {
    const c = await cli(['--max-file-size', '5'])
    const held = await connect(c.port)
    const heldReply = collect(held, 10_000)
    await write(held, httpRequest('PUT', '/shared/deep/held.txt', { 'Content-Length': '4' }, Buffer.from('ab')))
    await pollUntil(() => tree(c).includes('shared/deep'), 5_000, 'the held upload\'s folders')
    const over = await rawRequest(c.port, [httpRequest('PUT', '/shared/over.txt', { 'Transfer-Encoding': 'chunked' }, chunked('0123456789'))], { ms: 5_000 })
    expect(parseResponses(over.data).map((r) => r.status)).toEqual([413])
    expect(tree(c)).toContain('shared/deep')
    await write(held, Buffer.from('cd'))
    const { data } = await heldReply
    expect(parseResponses(data)[0]!.status).toBe(201)
    expect(tree(c).filter((e) => !e.includes('.upload-recv-'))).toEqual(['shared', 'shared/deep', 'shared/deep/held.txt'])
  })

  it('never from under a racing upload: 40 at once into one new folder, every other one over the limit, each good one stored', async () => {
    const c = await cli(['--max-file-size', '5'])
    for (let round = 0; round < 3; round++) {
      const results = await Promise.all(
        Array.from({ length: 40 }, (_, i) => {
          return rawRequest(c.port, [httpRequest('PUT', `/race${round}/sub/f${i}.txt`, { 'Transfer-Encoding': 'chunked' }, chunked(i % 2 === 0 ? 'ok' : '0123456789'))], { ms: 10_000 })
        }),
      )
      const statuses = results.map((r) => parseResponses(r.data)[0]?.status)
      expect(statuses).toEqual(Array.from({ length: 40 }, (_, i) => (i % 2 === 0 ? 201 : 413)))
      expect(tree(c).filter((e) => e.startsWith(`race${round}/sub/`)).length).toBe(20)
    }
  })
})
