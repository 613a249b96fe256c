// Hostile names against the real CLI (SPEC §4 "Names"): whatever the multipart filename, the PUT URL or
// the folder of a form post, nothing is written outside --dir, every stored name is inside, and no
// temp file is left. Symlinks already inside --dir are never followed.
import { mkdirSync, readFileSync, readdirSync, symlinkSync, writeFileSync, lstatSync, existsSync } from 'node:fs'
import path from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { removeDir, startCli, tmpDir, type Cli } from '../helpers/cli.js'
import { files, isInside, tempFiles, walk } from '../helpers/fs-walk.js'
import { httpRequest, multipartBody, parseResponse, quoteFilename, sha256, type Part } from '../helpers/multipart.js'
import { rawRequest } from '../helpers/raw.js'

type Answer = { name: string; originalName: string; size: number; sha256: string; mimeType: string }

interface Env {
  cli: Cli
  /** The test's own tmp folder: the parent of --dir. */
  parent: string
  dir: string
}

const cleanups: Array<() => Promise<void> | void> = []
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c()
})

async function env(args: string[] = [], setup?: (parent: string, dir: string) => void): Promise<Env> {
  const parent = tmpDir('upload-recv-names-')
  // Registered first, so the folder goes even when the setup or the CLI fails.
  cleanups.push(() => removeDir(parent))
  const dir = path.join(parent, 'in')
  mkdirSync(dir)
  setup?.(parent, dir)
  const cli = await startCli(args, { dir })
  cleanups.push(async () => {
    await cli.stop().catch(() => undefined)
  })
  return { cli, parent, dir }
}

async function send(c: Cli, req: Buffer) {
  const r = await rawRequest(c.port, [req], { ms: 5_000 })
  return parseResponse(r.data)
}

function multipartRequest(target: string, parts: Part[]): Buffer {
  const { body, contentType } = multipartBody(parts)
  return httpRequest('POST', target, { 'Content-Type': contentType, 'Content-Length': String(body.length) }, body)
}

function putRequest(target: string, data: string): Buffer {
  return httpRequest('PUT', target, { 'Content-Length': String(Buffer.byteLength(data)) }, data)
}

/** A stored name is relative, `/`-separated, without `.`/`..`/empty segments, controls or backslashes. */
function expectSafeName(dir: string, name: string): void {
  expect(name).not.toBe('')
  expect(name.startsWith('/')).toBe(false)
  for (const seg of name.split('/')) {
    expect(seg, name).not.toBe('')
    expect(seg, name).not.toBe('.')
    expect(seg, name).not.toBe('..')
    expect(Buffer.byteLength(seg), name).toBeLessThanOrEqual(255)
  }
  expect(name).not.toMatch(/[\\\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069<>:"|?*]/)
  expect(isInside(dir, path.resolve(dir, name)), name).toBe(true)
}

/**
 * The whole test folder holds only --dir and `allowed` fixtures; under --dir, exactly `stored`
 * (plus folders leading to them, plus `extra` fixtures); no temp files anywhere.
 */
function expectNothingOutside(e: Env, stored: Iterable<string>, allowed: string[] = [], extra: string[] = []): void {
  const outside = walk(e.parent)
    .map((x) => x.rel)
    .filter((rel) => rel !== 'in' && !rel.startsWith('in/'))
  expect(outside.sort()).toEqual([...allowed].sort())
  expect(tempFiles(e.parent)).toEqual([])
  const storedFiles = [...stored].sort()
  const onDisk = walk(e.dir).filter((x) => x.kind !== 'dir').map((x) => x.rel)
  expect(onDisk.sort()).toEqual([...storedFiles, ...extra].sort())
}

// ---------------------------------------------------------------------------------------------
// The corpus. Each multipart name is what the server's multipart parser hands over (backslashes
// are escaped on the wire, see quoteFilename); `raw` ones go on the wire byte for byte.

const LONG = `${'x'.repeat(300)}.txt`
const multipartNames: Array<{ name?: string; raw?: string; status?: number }> = [
  { name: '../escape.txt' },
  { name: '../../../../../../../../etc/passwd-x' },
  { name: '..\\..\\win-escape.txt' },
  { raw: '..\\..\\raw-backslash.txt' },
  { name: '/etc/absolute.txt' },
  { name: '//etc/double-slash.txt' },
  { name: 'C:\\Windows\\System32\\drive.txt' },
  { name: '\\\\server\\share\\unc.txt' },
  { name: 'a/../../b.txt' },
  { name: 'a/./b/../../../c.txt' },
  { name: '....//....//dots.txt' },
  { name: '..' },
  { name: '.' },
  { name: '...' },
  { name: './.././../x.txt' },
  { name: '%2e%2e%2fpct.txt' },
  { name: '..%2f..%2fpct2.txt' },
  // Raw control bytes in a part header are dropped (busboy-headers.ts): names are never refused.
  { name: 'nul\u0000byte.txt' },
  { name: 'tab\there.txt' },
  { name: 'CON' },
  { name: 'nul.txt' },
  { name: 'COM1.log' },
  { name: '\u202Egpj.exe' },
  { raw: 'line%0D%0A..%2F..%2Fbreak.txt' },
  { raw: 'quote%22d.txt' },
  { name: '<script>alert(1)</script>.html' },
  { name: 'a:b*c?d|e.txt' },
  { name: 'trailing dots...' },
  { name: 'trailing space   ' },
  { name: LONG },
  { name: `${'🙂'.repeat(100)}.txt` },
  { name: '．．／fullwidth.txt' },
  { name: '..\u2215division-slash.txt' },
  { name: '~/.ssh/authorized_keys' },
  { name: '' },
  { name: '/' },
  { name: '\u0085next-line.txt' },
  { name: 'in/../../in-sibling.txt' },
  { name: '../in/../../in-trick.txt' },
]

const putTargets = [
  '/%2e%2e%2fput1.txt',
  '/%2E%2E/%2E%2E/put2.txt',
  '/..%2fput3.txt',
  '/..%2f..%2f..%2fetc%2fput4.txt',
  '/..%5cput5.txt',
  '/..\\..\\put6.txt',
  '/%00put7.txt',
  '/put8.txt%00.jpg',
  '//etc/put9.txt',
  '/../../put10.txt',
  '/./.././put11.txt',
  '/%252e%252e%252fput12.txt',
  '/..%c0%afput13.txt',
  '/%2e%2e',
  '/sub/%2e%2e/%2e%2e/%2e%2e/put15.txt',
  'http://127.0.0.1/../../absolute-form.txt',
  '/%5c%5cserver%5cshare%5cput17.txt',
  '/C:%5cput18.txt',
  '/%2fetc%2fput19.txt',
  '/.%2e/.%2E/put20.txt',
  '/%e2%80%aeput21.exe',
  '/..%2f/',
  '/in/..%2f..%2fin-put.txt',
]

const folderTargets = ['/..%2f..%2f/', '/%2e%2e/%2e%2e/', '/..%5c..%5c/', '//etc/', '/../../', '/%00/', '/.%2e/sub/', '/..\\..\\/']

describe('hostile names', () => {
  it(`corpus of ${multipartNames.length + putTargets.length + folderTargets.length} names: multipart filename, PUT URL, form folder`, async () => {
    expect(multipartNames.length + putTargets.length + folderTargets.length).toBeGreaterThanOrEqual(30)
    const e = await env()
    const stored = new Map<string, string>() // name -> sha256
    const record = (answer: Answer, data: string) => {
      expectSafeName(e.dir, answer.name)
      expect(answer.sha256).toBe(sha256(data))
      expect(stored.has(answer.name), `${answer.name} reported twice`).toBe(false)
      stored.set(answer.name, answer.sha256)
      expect(readFileSync(path.join(e.dir, answer.name), 'utf8')).toBe(data)
    }

    for (const [i, n] of multipartNames.entries()) {
      const data = `multipart #${i}`
      const part: Part = n.raw !== undefined ? { rawFilename: n.raw, data } : { rawFilename: quoteFilename(n.name!), data }
      const res = await send(e.cli, multipartRequest('/', [part]))
      expect(res.status, `multipart ${JSON.stringify(n)}: ${res.text}`).toBe(n.status ?? 201)
      if (res.status !== 201) continue
      record((res.json() as { files: Answer[] }).files[0]!, data)
    }
    for (const [i, target] of putTargets.entries()) {
      const data = `put #${i}`
      const res = await send(e.cli, putRequest(target, data))
      expect(res.status, `PUT ${target}: ${res.text}`).toBe(201)
      record((res.json() as { files: Answer[] }).files[0]!, data)
    }
    for (const [i, target] of folderTargets.entries()) {
      const data = `folder #${i}`
      const res = await send(e.cli, multipartRequest(target, [{ filename: `folder-${i}.txt`, data }, { filename: '../../../x.txt', data }]))
      expect(res.status, `POST ${target}: ${res.text}`).toBe(201)
      for (const f of (res.json() as { files: Answer[] }).files) record(f, data)
    }

    // Spot checks of how names were made safe.
    const names = [...stored.keys()]
    expect(names).toContain('escape.txt')
    expect(names).toContain('_CON')
    expect(names).toContain('_nul.txt')
    expect(names).toContain('gpj.exe')
    expect(names.some((n) => n.endsWith('.txt') && Buffer.byteLength(n) === 255 && n.startsWith('xxx'))).toBe(true)

    // Every answer names a file that is there, and nothing else is anywhere.
    expectNothingOutside(e, stored.keys())
    for (const [name, hash] of stored) {
      const ev = await e.cli.waitForEvent((x) => x.event === 'stored' && x.name === name)
      expect(ev.sha256).toBe(hash)
      expect(ev.path).toBe(`${e.dir}/${name}`)
    }
    // And the server is still fine.
    const ok = await send(e.cli, putRequest('/still-ok.txt', 'ok'))
    expect(ok.status).toBe(201)
  })
})

describe('symlinks inside --dir are never followed', () => {
  it('a folder whose name merely starts with `..` is an ordinary folder inside --dir', async () => {
    const { cli, dir } = await env()
    const put = await send(cli, putRequest('/..cache/a.txt', 'raw'))
    expect(put.status).toBe(201)
    expect((put.json() as { files: Answer[] }).files[0]!.name).toBe('..cache/a.txt')
    const form = await send(cli, multipartRequest('/', [{ filename: '..x/b.txt', data: 'form' }]))
    expect(form.status).toBe(201)
    expect((form.json() as { files: Answer[] }).files[0]!.name).toBe('..x/b.txt')
    expect(readFileSync(path.join(dir, '..cache', 'a.txt'), 'utf8')).toBe('raw')
    expect(readFileSync(path.join(dir, '..x', 'b.txt'), 'utf8')).toBe('form')
  })

  it('a name too deep for PATH_MAX is stored in the deepest of its folders that fits, not refused', async () => {
    const { cli, dir } = await env()
    const deep = Array.from({ length: 20 }, (_, i) => `d${String(i).padStart(2, '0')}`.padEnd(247, 'x'))
    const check = (answer: Answer, base: string, data: string) => {
      expect(answer.name.split('/').at(-1)).toBe(base)
      const onDisk = path.join(dir, answer.name)
      expect(readFileSync(onDisk, 'utf8')).toBe(data)
      expect(Buffer.byteLength(onDisk)).toBeLessThan(4096)
      const folders = answer.name.split('/').slice(0, -1)
      expect(folders).toEqual(deep.slice(0, folders.length))
      expect(folders.length).toBeGreaterThan(10)
    }
    const put = await send(cli, putRequest('/' + deep.join('/') + '/f.txt', 'raw'))
    expect(put.status).toBe(201)
    check((put.json() as { files: Answer[] }).files[0]!, 'f.txt', 'raw')
    const form = await send(cli, multipartRequest('/', [{ filename: deep.join('/') + '/g.txt', data: 'form' }]))
    expect(form.status).toBe(201)
    check((form.json() as { files: Answer[] }).files[0]!, 'g.txt', 'form')
    expect(tempFiles(dir)).toEqual([])
  })

  it('a folder symlink pointing outside: PUT and multipart through it are 409 CONFLICT', async () => {
    const e = await env([], (parent, dir) => {
      mkdirSync(path.join(parent, 'outside'))
      symlinkSync(path.join(parent, 'outside'), path.join(dir, 'link'))
      mkdirSync(path.join(dir, 'real'))
      symlinkSync(path.join(parent, 'outside'), path.join(dir, 'real', 'deeper-link'))
    })
    const attempts: Array<[string, Buffer]> = [
      ['PUT /link/x.txt', putRequest('/link/x.txt', 'via put')],
      ['PUT /li%6Ek/sub/x.txt', putRequest('/li%6Ek/sub/x.txt', 'via put, encoded')],
      ['PUT /real/deeper-link/x.txt', putRequest('/real/deeper-link/x.txt', 'deeper')],
      ['POST /link/ (folder)', multipartRequest('/link/', [{ filename: 'x.txt', data: 'via folder' }])],
      ['POST / filename link/x.txt', multipartRequest('/', [{ filename: 'link/x.txt', data: 'via filename' }])],
      ['POST / filename link/sub/x.txt', multipartRequest('/', [{ filename: 'link/sub/x.txt', data: 'via filename' }])],
      ['POST /real/ filename deeper-link/x.txt', multipartRequest('/real/', [{ filename: 'deeper-link/x.txt', data: 'x' }])],
    ]
    for (const [label, req] of attempts) {
      const res = await send(e.cli, req)
      expect(res.status, `${label}: ${res.text}`).toBe(409)
      expect(res.json().error.code).toBe('CONFLICT')
      // Said as it is: the folder exists, it is a link.
      expect(res.json().error.message).toMatch(/^"(?:real\/deeper-link|link)" is a symbolic link, which uploads do not follow\.$/)
    }
    expect(readdirSync(path.join(e.parent, 'outside'))).toEqual([])
    expect(lstatSync(path.join(e.dir, 'link')).isSymbolicLink()).toBe(true)
    expectNothingOutside(e, [], ['outside'], ['link', 'real/deeper-link'])
    // The folder beside it still works.
    const ok = await send(e.cli, putRequest('/real/ok.txt', 'fine'))
    expect(ok.status).toBe(201)
    expect(files(e.dir)).toEqual(['real/ok.txt'])
  })

  it('a dangling symlink named like the upload is never followed', async () => {
    const e = await env([], (parent, dir) => {
      mkdirSync(path.join(parent, 'outside'))
      symlinkSync(path.join(parent, 'outside', 'created-put.txt'), path.join(dir, 'x.txt'))
      symlinkSync(path.join(parent, 'outside', 'created-form.txt'), path.join(dir, 'y.txt'))
    })
    const put = await send(e.cli, putRequest('/x.txt', 'put data'))
    const form = await send(e.cli, multipartRequest('/', [{ filename: 'y.txt', data: 'form data' }]))
    for (const [res, base, data] of [[put, 'x', 'put data'], [form, 'y', 'form data']] as const) {
      if (res.status === 201) {
        const f = (res.json() as { files: Answer[] }).files[0]!
        expect(f.name).toBe(`${base} (1).txt`)
        expect(readFileSync(path.join(e.dir, f.name), 'utf8')).toBe(data)
      } else {
        expect(res.status, res.text).toBe(409)
      }
    }
    expect(existsSync(path.join(e.parent, 'outside', 'created-put.txt'))).toBe(false)
    expect(existsSync(path.join(e.parent, 'outside', 'created-form.txt'))).toBe(false)
    expect(readdirSync(path.join(e.parent, 'outside'))).toEqual([])
    expect(lstatSync(path.join(e.dir, 'x.txt')).isSymbolicLink()).toBe(true)
    expect(lstatSync(path.join(e.dir, 'y.txt')).isSymbolicLink()).toBe(true)
    expect(tempFiles(e.parent)).toEqual([])
  })

  it('--overwrite does not write through a symlink (dangling or to an outside file)', async () => {
    const e = await env(['--overwrite'], (parent, dir) => {
      mkdirSync(path.join(parent, 'outside'))
      writeFileSync(path.join(parent, 'outside', 'precious.txt'), 'precious')
      symlinkSync(path.join(parent, 'outside', 'precious.txt'), path.join(dir, 'p.txt'))
      symlinkSync(path.join(parent, 'outside', 'new.txt'), path.join(dir, 'n.txt'))
    })
    for (const [target, data] of [['/p.txt', 'clobber'], ['/n.txt', 'create']]) {
      const res = await send(e.cli, putRequest(target!, data!))
      expect([201, 409], `PUT ${target}: ${res.text}`).toContain(res.status)
      const form = await send(e.cli, multipartRequest('/', [{ filename: target!.slice(1), data: data! }]))
      expect([201, 409], `POST ${target}: ${form.text}`).toContain(form.status)
    }
    expect(readFileSync(path.join(e.parent, 'outside', 'precious.txt'), 'utf8'), 'the outside file is untouched').toBe('precious')
    expect(readdirSync(path.join(e.parent, 'outside')), 'nothing created outside').toEqual(['precious.txt'])
    expect(tempFiles(e.parent), 'no temp files').toEqual([])
    expect(lstatSync(path.join(e.dir, 'n.txt')).isSymbolicLink() || readFileSync(path.join(e.dir, 'n.txt'), 'utf8') === 'create').toBe(true)
  })
})
