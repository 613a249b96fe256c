// A full disk (SPEC §3: 507 on ENOSPC / EDQUOT; §4: a failed upload leaves nothing behind). Needs a
// small file system of its own: a 2 MiB tmpfs, which only root can mount. Also the receiving
// folder taken away while the receiver runs, which needs no root.
import { execFileSync, spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { closeSync, mkdirSync, openSync, readFileSync, realpathSync, statfsSync, writeFileSync } from 'node:fs'
import net from 'node:net'
import path from 'node:path'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { BIN, removeDir, startCli, tmpDir, withTimeout, type Cli } from '../helpers/cli.js'
import { startFileThread } from '../helpers/file-thread.js'
import { files, pollUntil, sha256File, tempFiles } from '../helpers/fs-walk.js'
import { curl, sha256 } from '../helpers/multipart.js'

const TMPFS_SIZE = 2 * 1024 * 1024
const BIG = 5 * 1024 * 1024

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer()
    srv.once('error', reject)
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo
      srv.close(() => resolve(port))
    })
  })
}

function mountTmpfs(mountPoint: string, size = TMPFS_SIZE): void {
  execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size},mode=0755`, 'tmpfs', mountPoint], { stdio: 'pipe', timeout: 10_000 })
}

function resize(mountPoint: string, size: number): void {
  execFileSync('mount', ['-o', `remount,size=${size}`, mountPoint], { stdio: 'pipe', timeout: 10_000 })
}

function unmount(mountPoint: string): void {
  try {
    execFileSync('umount', [mountPoint], { stdio: 'pipe', timeout: 10_000 })
  } catch {
    execFileSync('umount', ['-l', mountPoint], { stdio: 'pipe', timeout: 10_000 })
  }
}

/**
 * Why this machine can't run the test, or null. Probes with a mount that is undone at once, so
 * nothing stays mounted even if the suite is filtered out (then its hooks never run).
 */
function whyNot(): string | null {
  if (process.platform !== 'linux') return 'not Linux'
  if (process.getuid?.() !== 0) return 'not running as root, and mount -t tmpfs needs it'
  const probe = tmpDir('upload-recv-mount-probe-')
  try {
    mountTmpfs(probe)
    unmount(probe)
    return null
  } catch (err) {
    return `mount -t tmpfs failed: ${String((err as { stderr?: Buffer }).stderr ?? err).trim()}`
  } finally {
    removeDir(probe)
  }
}

const skipReason = whyNot()

describe(skipReason ? `disk full (skipped: ${skipReason})` : 'disk full: a 2 MiB tmpfs as --dir', () => {
  let c: Cli | undefined
  let src = ''
  let big = ''
  let parent = ''
  let mountPoint = ''
  let isMounted = false
  beforeAll(() => {
    if (skipReason !== null) return
    src = tmpDir('upload-recv-diskfull-src-')
    big = path.join(src, 'five-mib.bin')
    writeFileSync(big, randomBytes(BIG))
    parent = tmpDir('upload-recv-diskfull-')
    mountPoint = path.join(parent, 'small')
    mkdirSync(mountPoint)
    mountTmpfs(mountPoint)
    isMounted = true
  })
  afterAll(() => {
    if (src) removeDir(src)
    // unmount() throws if even a lazy umount fails: then the folder is left alone, never removed
    // recursively through a mount point that is still mounted.
    if (isMounted) unmount(mountPoint)
    if (parent) removeDir(parent)
  })
  afterEach(async () => {
    await c?.stop().catch(() => undefined)
    c = undefined
  })

  const dir = () => mountPoint
  const freeBytes = () => {
    const s = statfsSync(dir())
    return s.bavail * s.bsize
  }

  async function expectFullAndClean(cli: Cli, r: Awaited<ReturnType<typeof curl>>, name: string) {
    expect(r.info.http_code, r.body).toBe(507)
    expect(r.json().error.code).toBe('INSUFFICIENT_STORAGE')
    const failed = await cli.waitForEvent((e) => e.event === 'failed' && e.name === name)
    expect(failed.code).toBe('INSUFFICIENT_STORAGE')
    expect(files(dir())).toEqual([])
    expect(tempFiles(dir())).toEqual([])
    // The space came back: the partial temp file really is gone, not just unlinked while open.
    expect(freeBytes()).toBeGreaterThan(TMPFS_SIZE - 64 * 1024)
  }

  async function expectSmallUploadWorks(cli: Cli, how: '-T' | '-F', name: string) {
    const data = randomBytes(100_000)
    writeFileSync(path.join(src, name), data)
    const ok = await curl(how === '-T' ? ['-T', path.join(src, name), `${cli.url}/`] : ['-F', `file=@${path.join(src, name)}`, `${cli.url}/`])
    expect(ok.info.http_code, ok.body).toBe(201)
    expect(await sha256File(path.join(dir(), name))).toBe(sha256(data))
  }

  it.skipIf(skipReason !== null)('5 MiB via curl -T: 507, no leftovers, then a small upload works', async () => {
    const cli = (c = await startCli([], { dir: dir() }))
    const r = await curl(['-T', big, `${cli.url}/`])
    await expectFullAndClean(cli, r, 'five-mib.bin')
    await expectSmallUploadWorks(cli, '-T', 'small-put.bin')
    removeDir(path.join(dir(), 'small-put.bin'))
  })

  it.skipIf(skipReason !== null)('a browser form on a full disk: the 507 page does not ask to send the files again', async () => {
    const cli = (c = await startCli([], { dir: dir() }))
    const r = await curl(['-H', 'Accept: text/html', '-F', `file=@${big}`, `${cli.url}/`])
    expect(r.info.http_code).toBe(507)
    expect(r.body).toContain('The disk is full.')
    expect(r.body).toContain('Any file after it in the form was not stored either.')
    expect(r.body).not.toContain('send those again')
    expect(tempFiles(dir())).toEqual([])
  })

  it.skipIf(skipReason !== null)('5 MiB via curl -F: 507, no leftovers, then a small upload works', async () => {
    const cli = (c = await startCli([], { dir: dir() }))
    const r = await curl(['-F', `file=@${big}`, `${cli.url}/`])
    await expectFullAndClean(cli, r, 'five-mib.bin')
    await expectSmallUploadWorks(cli, '-F', 'small-form.bin')
    removeDir(path.join(dir(), 'small-form.bin'))
  })

  it.skipIf(skipReason !== null)('a small file (the synchronous path) on a full disk: 507, no leftovers', async () => {
    const cli = (c = await startCli([], { dir: dir() }))
    // Fill the file system from outside the server, leaving less than the upload needs.
    const fillerInside = path.join(dir(), 'zz-filler')
    writeFileSync(fillerInside, Buffer.alloc(Math.max(0, freeBytes() - 8 * 1024)))
    try {
      const name = 'small-full.bin'
      writeFileSync(path.join(src, name), randomBytes(40_000))
      for (const how of ['-T', '-F'] as const) {
        const r = await curl(how === '-T' ? ['-T', path.join(src, name), `${cli.url}/`] : ['-F', `file=@${path.join(src, name)}`, `${cli.url}/`])
        expect(r.info.http_code, r.body).toBe(507)
        expect(r.json().error.code).toBe('INSUFFICIENT_STORAGE')
        expect(files(dir())).toEqual(['zz-filler'])
        expect(tempFiles(dir())).toEqual([])
      }
    } finally {
      removeDir(fillerInside)
    }
  })
  it.skipIf(skipReason !== null)('--json >> a file on it: a `closed` line the full disk cannot take is exit 1 with a line on stderr, not a silent exit 0', async () => {
    // The `listening` line fills the last block exactly; the `closed` line then meets ENOSPC.
    const port = await freePort()
    const served = realpathSync(tmpDir('upload-recv-closed-line-'))
    const line = `${JSON.stringify({ event: 'listening', port, urls: [`http://127.0.0.1:${port}/`], dir: served })}\n`
    const out = path.join(dir(), 'events.jsonl')
    const block = statfsSync(dir()).bsize
    writeFileSync(out, Buffer.alloc(block - line.length, 0x20))
    const filler = path.join(dir(), 'zz-filler')
    writeFileSync(filler, Buffer.alloc(freeBytes()))
    const fd = openSync(out, 'a')
    let proc: ReturnType<typeof spawn> | null = null
    try {
      proc = spawn(process.execPath, [BIN, '--port', String(port), '--host', '127.0.0.1', '--json', '--quiet', '--dir', served], {
        stdio: ['ignore', fd, 'pipe'],
      })
      let stderr = ''
      proc.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d))
      const exited = new Promise<number | null>((r) => proc!.on('exit', (code) => r(code)))
      await pollUntil(() => readFileSync(out, 'utf8').includes('"listening"'), 5_000, 'listening', 20)
      expect(readFileSync(out, 'utf8').endsWith(line)).toBe(true)
      proc.kill('SIGTERM')
      expect(await withTimeout(exited, 5_000, 'exit')).toBe(1)
      expect(stderr).toBe('upload-recv: cannot write to standard output (ENOSPC); its last lines are lost.\n')
    } finally {
      // Only if the test failed before the receiver exited: it must not outlive the test.
      if (proc !== null && proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL')
      closeSync(fd)
      removeDir(filler)
      removeDir(out)
      removeDir(served)
    }
  })
})

// Past 8 MiB a file is written by the file thread (src/files/file-thread.ts): its ENOSPC arrives
// after the chunk was handed over, and must still become a 507 with nothing left behind.
describe(skipReason ? `disk full past 8 MiB (skipped: ${skipReason})` : 'disk full past 8 MiB: a 10 MiB tmpfs as --dir', () => {
  const SIZE = 10 * 1024 * 1024
  let c: Cli | undefined
  let parent = ''
  let mountPoint = ''
  let isMounted = false
  let big = ''
  beforeAll(() => {
    if (skipReason !== null) return
    parent = tmpDir('upload-recv-diskfull-big-')
    big = path.join(parent, 'fourteen-mib.bin')
    writeFileSync(big, randomBytes(14 * 1024 * 1024))
    mountPoint = path.join(parent, 'small')
    mkdirSync(mountPoint)
    mountTmpfs(mountPoint, SIZE)
    isMounted = true
  })
  afterAll(() => {
    if (isMounted) unmount(mountPoint)
    if (parent) removeDir(parent)
  })
  afterEach(async () => {
    await c?.stop().catch(() => undefined)
    c = undefined
  })

  for (const how of ['-T', '-F'] as const) {
    it.skipIf(skipReason !== null)(`14 MiB via curl ${how}: 507, no leftovers, the space comes back`, async () => {
      // Two files past 8 MiB at once start the file thread, so the next one is handed to it at
      // 8 MiB: they need room for both, then the file system shrinks back to 10 MiB.
      resize(mountPoint, 3 * SIZE)
      const cli = (c = await startCli([], { dir: mountPoint }))
      await startFileThread(cli)
      resize(mountPoint, SIZE)
      const r = await curl(how === '-T' ? ['-T', big, `${cli.url}/`] : ['-F', `file=@${big}`, `${cli.url}/`])
      expect(r.info.http_code, r.body).toBe(507)
      expect(r.json().error.code).toBe('INSUFFICIENT_STORAGE')
      const failed = await cli.waitForEvent((e) => e.event === 'failed' && e.name === 'fourteen-mib.bin')
      expect(failed.code).toBe('INSUFFICIENT_STORAGE')
      expect(files(mountPoint)).toEqual([])
      expect(tempFiles(mountPoint)).toEqual([])
      const st = statfsSync(mountPoint)
      expect(st.bavail * st.bsize).toBeGreaterThan(SIZE - 64 * 1024)
    })
  }
})

describe('the receiving folder removed while the receiver runs', () => {
  let c: Cli | undefined
  let src = ''
  afterEach(async () => {
    await c?.stop().catch(() => undefined)
    c = undefined
    if (src) removeDir(src)
  })

  it('a 500 that says the folder is gone, to the uploader and on stderr; the receiver stays up', async () => {
    src = tmpDir('upload-recv-gone-')
    const file = path.join(src, 'a.txt')
    writeFileSync(file, 'hello\n')
    const cli = (c = await startCli([], { json: false }))
    removeDir(cli.dir)
    const r = await curl(['-T', file, `${cli.url}/`, '-H', 'Accept: application/json'])
    expect(r.info.http_code, r.body).toBe(500)
    expect(r.json().error.message).toMatch(/folder the receiver was storing into is gone/)
    await pollUntil(() => /folder the receiver was storing into is gone/.test(cli.stderr()), 5_000, 'the failure on stderr', 20)
    // Put back, it takes files again: nothing was cached from before.
    mkdirSync(cli.dir)
    const again = await curl(['-T', file, `${cli.url}/`])
    expect(again.info.http_code, again.body).toBe(201)
    expect(readFileSync(path.join(cli.dir, 'a.txt'), 'utf8')).toBe('hello\n')
  })
})
