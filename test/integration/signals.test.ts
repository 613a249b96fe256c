// Lifecycle (SPEC §7): the first Ctrl-C lets running uploads finish, the second aborts them (130),
// an idle server stops at once; --quiet; and the startup failures people hit, each one clear line.
import { execFileSync, spawn } from 'node:child_process'
import { createHash, randomBytes } from 'node:crypto'
import { closeSync, constants, existsSync, openSync, readFileSync, readdirSync, writeFileSync, writeSync } from 'node:fs'
import net from 'node:net'
import path from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { makeTestCert } from '../helpers/cert.js'
import { BIN, removeDir, startCli, tmpDir, withTimeout, type Cli } from '../helpers/cli.js'
import { sleep, until } from '../helpers/fs-walk.js'

const dirs: string[] = []
const clis: Cli[] = []
const servers: net.Server[] = []
afterAll(async () => {
  for (const c of clis) if (c.proc.exitCode === null && c.proc.signalCode === null) c.proc.kill('SIGKILL')
  for (const s of servers) await new Promise<void>((r) => s.close(() => r()))
  for (const d of dirs) removeDir(d)
})
function scratch(): string {
  const d = tmpDir('upload-recv-sig-')
  dirs.push(d)
  return d
}
async function cli(args: string[] = [], opts: { json?: boolean } = {}): Promise<Cli> {
  const c = await startCli(args, { dir: path.join(scratch(), 'in'), ...opts })
  clis.push(c)
  return c
}

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex')

/** Every file under `dir`, relative, temp files included. */
function allFiles(dir: string): string[] {
  if (!existsSync(dir)) return []
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => path.relative(dir, path.join(e.parentPath, e.name)))
}
const temps = (dir: string) => allFiles(dir).filter((f) => /(^|\/)\.upload-recv-.*\.part$/.test(f))

/** A raw PUT whose body the test feeds by hand, so an upload is reliably "in flight". */
async function slowPut(port: number, name: string, data: Buffer) {
  const sock = net.connect({ host: '127.0.0.1', port })
  sock.on('error', () => {})
  await withTimeout(new Promise((r) => sock.once('connect', r)), 5_000, 'connect')
  let reply = ''
  let closed = false
  sock.on('data', (d: Buffer) => (reply += d.toString('latin1')))
  sock.on('close', () => (closed = true))
  sock.write(`PUT /${name} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: ${data.length}\r\n\r\n`)
  return {
    sock,
    reply: () => reply,
    closed: () => closed,
    async send(from: number, to: number, gapMs = 5) {
      for (let off = from; off < to; off += 8192) {
        if (sock.destroyed) return
        sock.write(data.subarray(off, Math.min(to, off + 8192)))
        await sleep(gapMs)
      }
    },
  }
}

async function refused(port: number): Promise<boolean> {
  return withTimeout(
    new Promise<boolean>((resolve) => {
      const s = net.connect({ host: '127.0.0.1', port })
      s.on('connect', () => {
        s.destroy()
        resolve(false)
      })
      s.on('error', (e: NodeJS.ErrnoException) => resolve(e.code === 'ECONNREFUSED'))
    }),
    3_000,
    'connect attempt',
  )
}

/** Whether a thread of the process waits to open a FIFO (its `wchan`). */
function waitsOnFifo(pid: number): boolean {
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      if (readFileSync(`/proc/${pid}/task/${tid}/wchan`, 'utf8').includes('wait_for_partner')) return true
    } catch {
      // the thread is gone
    }
  }
  return false
}

describe('signals', () => {
  it('a signal while the program is still starting is a graceful stop too: exit 0, `listening` then `closed`', async () => {
    const root = scratch()
    const cert = await makeTestCert(root)
    // The certificate is read from a FIFO: start-up waits there, provably before the port opens.
    const fifo = path.join(root, 'cert-fifo.pem')
    execFileSync('mkfifo', [fifo])
    const args = ['--port', '0', '--host', '127.0.0.1', '--json', '--dir', path.join(root, 'in'), '--tls-cert', fifo, '--tls-key', cert.keyFile]
    const proc = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    proc.stdout.setEncoding('utf8').on('data', (d: string) => (out += d))
    const exited = new Promise<number | string | null>((r) => proc.on('exit', (code, sig) => r(code ?? sig)))
    try {
      await until(() => waitsOnFifo(proc.pid!), 10_000, 'start-up reading the certificate')
      proc.kill('SIGTERM')
      await sleep(100)
      // Non-blocking: a process the signal killed has no reader there (ENXIO), and a blocking
      // open would hang the test.
      const fd = openSync(fifo, constants.O_WRONLY | constants.O_NONBLOCK)
      writeSync(fd, cert.cert)
      closeSync(fd)
      expect(await withTimeout(exited, 10_000, 'exit')).toBe(0)
      expect(out.trim().split('\n').map((l) => (JSON.parse(l) as { event: string }).event)).toEqual(['listening', 'closed'])
    } finally {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL')
    }
  })

  it('a second signal while start-up is stuck ends the process at once (130 in a shell, for Ctrl-C)', async () => {
    const root = scratch()
    const cert = await makeTestCert(root)
    const fifo = path.join(root, 'cert-fifo.pem')
    execFileSync('mkfifo', [fifo])
    const args = ['--port', '0', '--host', '127.0.0.1', '--json', '--dir', path.join(root, 'in'), '--tls-cert', fifo, '--tls-key', cert.keyFile]
    const proc = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
    const exited = new Promise<number | string | null>((r) => proc.on('exit', (code, sig) => r(code ?? sig)))
    try {
      await until(() => waitsOnFifo(proc.pid!), 10_000, 'start-up reading the certificate')
      proc.kill('SIGINT')
      await sleep(100)
      expect(proc.exitCode).toBeNull()
      proc.kill('SIGINT')
      // By the signal itself: exit() would wait for the thread stuck reading the FIFO.
      expect(await withTimeout(exited, 10_000, 'exit')).toBe('SIGINT')
    } finally {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL')
    }
  })

  it('a single SIGTERM while start-up stays stuck ends the process after a short grace (timeout, docker stop send one)', async () => {
    const root = scratch()
    const cert = await makeTestCert(root)
    const fifo = path.join(root, 'cert-fifo.pem')
    execFileSync('mkfifo', [fifo])
    const args = ['--port', '0', '--host', '127.0.0.1', '--json', '--dir', path.join(root, 'in'), '--tls-cert', fifo, '--tls-key', cert.keyFile]
    const proc = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
    const exited = new Promise<number | string | null>((r) => proc.on('exit', (code, sig) => r(code ?? sig)))
    try {
      await until(() => waitsOnFifo(proc.pid!), 10_000, 'start-up reading the certificate')
      const sent = Date.now()
      proc.kill('SIGTERM')
      // Held at first: a start-up that finishes in time makes it a graceful stop (the test above).
      await sleep(500)
      expect(proc.exitCode).toBeNull()
      expect(await withTimeout(exited, 15_000, 'exit')).toBe('SIGTERM')
      expect(Date.now() - sent).toBeGreaterThanOrEqual(5_500)
    } finally {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL')
    }
  })

  it('a hang-up during a slow start-up stays held however long it takes, then stops it gracefully (exit 0)', async () => {
    const root = scratch()
    const cert = await makeTestCert(root)
    const fifo = path.join(root, 'cert-fifo.pem')
    execFileSync('mkfifo', [fifo])
    const args = ['--port', '0', '--host', '127.0.0.1', '--json', '--dir', path.join(root, 'in'), '--tls-cert', fifo, '--tls-key', cert.keyFile]
    const proc = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    proc.stdout.setEncoding('utf8').on('data', (d: string) => (out += d))
    const exited = new Promise<number | string | null>((r) => proc.on('exit', (code, sig) => r(code ?? sig)))
    try {
      await until(() => waitsOnFifo(proc.pid!), 10_000, 'start-up reading the certificate')
      proc.kill('SIGHUP')
      // Past the grace after which a held SIGTERM ends a stuck start-up by itself.
      await sleep(6_500)
      expect(proc.exitCode).toBeNull()
      const fd = openSync(fifo, constants.O_WRONLY | constants.O_NONBLOCK)
      writeSync(fd, cert.cert)
      closeSync(fd)
      expect(await withTimeout(exited, 10_000, 'exit')).toBe(0)
      expect(out.trim().split('\n').map((l) => (JSON.parse(l) as { event: string }).event)).toEqual(['listening', 'closed'])
    } finally {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL')
    }
  })

  it('first Ctrl-C: says 1 upload is running, refuses new connections, the upload finishes intact (201), exit 0, `closed` last', async () => {
    const c = await cli()
    const data = randomBytes(256 * 1024)
    const up = await slowPut(c.port, 'keep.bin', data)
    await up.send(0, 64 * 1024)
    await until(() => c.stderr().includes('↑ 127.0.0.1  keep.bin  262.14 kB'), 5_000, 'start line', c.stderr)

    c.proc.kill('SIGINT')
    await until(() => /Ctrl-C: .*waiting for 1 upload to finish/.test(c.stderr()), 5_000, 'the Ctrl-C notice', c.stderr)
    expect(c.stderr()).toContain('Press Ctrl-C again to abort it.')
    expect(await refused(c.port)).toBe(true)
    expect(c.proc.exitCode).toBeNull()

    await up.send(64 * 1024, data.length)
    await until(() => /\r\n\r\n\{.*\}/s.test(up.reply()), 5_000, 'the answer', up.reply)
    expect(up.reply()).toMatch(/^HTTP\/1\.1 201 /)
    const body = JSON.parse(up.reply().slice(up.reply().indexOf('\r\n\r\n') + 4)) as { files: Array<{ name: string; sha256: string }> }
    expect(body.files[0]).toMatchObject({ name: 'keep.bin', sha256: sha(data) })
    up.sock.destroy()

    expect(await withTimeout(c.exited, 5_000, 'exit after the upload')).toBe(0)
    expect(sha(readFileSync(path.join(c.dir, 'keep.bin')))).toBe(sha(data))
    expect(temps(c.dir)).toEqual([])
    expect(c.events.map((e) => e.event)).toEqual(['listening', 'stored', 'closed'])
    expect(c.events.at(-1)).toEqual({ event: 'closed', files: 1, bytes: data.length })
    expect(c.stderr()).toMatch(/✔ 127\.0\.0\.1 {2}keep\.bin → .*keep\.bin {2}262\.14 kB/)
    expect(c.stderr()).toMatch(/Done: 1 file, 262\.14 kB from 1 client in .*\.\n$/)
  })

  it('second Ctrl-C during an upload: aborts it, exit 130, no temp file and no final file left', async () => {
    const c = await cli()
    const data = randomBytes(512 * 1024)
    const up = await slowPut(c.port, 'cut.bin', data)
    await up.send(0, 128 * 1024)
    await until(() => temps(c.dir).length === 1, 5_000, 'the temp file appears', () => allFiles(c.dir).join(', '))

    c.proc.kill('SIGINT')
    await until(() => c.stderr().includes('waiting for 1 upload'), 5_000, 'first notice', c.stderr)
    c.proc.kill('SIGINT')
    expect(await withTimeout(c.exited, 5_000, 'exit after the second Ctrl-C')).toBe(130)
    await until(() => up.closed(), 3_000, 'the client sees the connection closed')

    expect(allFiles(c.dir)).toEqual([])
    expect(c.stderr()).toContain('Ctrl-C again: aborted 1 upload; no unfinished file is left.')
    // The aborted upload is a failed one, before the totals (SPEC §2 one line per failed upload, §6).
    expect(c.events.map((e) => e.event)).toEqual(['listening', 'failed', 'closed'])
    expect(c.events[1]).toMatchObject({ client: '127.0.0.1', name: 'cut.bin', code: 'UNAVAILABLE' })
    expect(c.stderr()).toMatch(/✖ 127\.0\.0\.1 {2}cut\.bin {2}UNAVAILABLE/)
    expect(c.stderr()).toMatch(/Done: 0 files, .*, 1 failed\.\n$/)
    expect(c.events.at(-1)).toEqual({ event: 'closed', files: 0, bytes: 0 })
  })

  it('SIGHUP (the terminal closed, an SSH session dropped) stops like SIGTERM, and the two a closing terminal sends are one: the upload finishes, exit 0; a SIGTERM then aborts, exit 130, no temp file', async () => {
    const c = await cli()
    const data = randomBytes(128 * 1024)
    const up = await slowPut(c.port, 'hup.bin', data)
    await up.send(0, 32 * 1024)
    await until(() => temps(c.dir).length === 1, 5_000, 'the temp file appears', () => allFiles(c.dir).join(', '))
    c.proc.kill('SIGHUP')
    c.proc.kill('SIGHUP')
    await until(() => c.stderr().includes('SIGHUP: no new connections; waiting for 1 upload'), 5_000, 'the notice', c.stderr)
    expect(c.stderr()).toContain('Send SIGTERM or SIGINT to abort it.')
    await sleep(100)
    expect(c.stderr()).not.toContain('aborted')
    await up.send(32 * 1024, data.length)
    await until(() => /\r\n\r\n\{.*\}/s.test(up.reply()), 5_000, 'the answer', up.reply)
    expect(up.reply()).toMatch(/^HTTP\/1\.1 201 /)
    up.sock.destroy()
    expect(await withTimeout(c.exited, 5_000, 'exit after the upload')).toBe(0)
    expect(sha(readFileSync(path.join(c.dir, 'hup.bin')))).toBe(sha(data))
    expect(c.events.map((e) => e.event)).toEqual(['listening', 'stored', 'closed'])

    const d = await cli()
    const cut = await slowPut(d.port, 'cut.bin', data)
    await cut.send(0, 32 * 1024)
    await until(() => temps(d.dir).length === 1, 5_000, 'the temp file appears', () => allFiles(d.dir).join(', '))
    d.proc.kill('SIGHUP')
    await until(() => d.stderr().includes('waiting for 1 upload'), 5_000, 'first notice', d.stderr)
    d.proc.kill('SIGTERM')
    expect(await withTimeout(d.exited, 5_000, 'exit after the SIGTERM')).toBe(130)
    // Not "again": the first was a SIGHUP.
    expect(d.stderr()).toContain('SIGTERM: aborted 1 upload; no unfinished file is left.')
    expect(allFiles(d.dir)).toEqual([])
    expect(d.events.map((e) => e.event)).toEqual(['listening', 'failed', 'closed'])
  })

  it('--stdout, second Ctrl-C during the upload: exit 130, and it says standard output is incomplete', async () => {
    const c = await cli(['--stdout'], { json: false })
    const data = randomBytes(512 * 1024)
    const up = await slowPut(c.port, 'piped.bin', data)
    await up.send(0, 128 * 1024)
    await until(() => c.stdout().length > 0, 5_000, 'bytes on stdout')
    c.proc.kill('SIGINT')
    await until(() => c.stderr().includes('waiting for 1 upload'), 5_000, 'first notice', c.stderr)
    c.proc.kill('SIGINT')
    expect(await withTimeout(c.exited, 5_000, 'exit after the second Ctrl-C')).toBe(130)
    expect(c.stderr()).toContain('Ctrl-C again: aborted 1 upload; standard output is incomplete.')
    expect(c.stderr()).not.toContain('no unfinished file')
    expect(allFiles(c.dir)).toEqual([])
  })

  it('a graceful stop with a request pipelined behind the running upload: the upload 201, the next one 503, then close', async () => {
    const c = await cli()
    const data = randomBytes(10)
    const put = await slowPut(c.port, 'r1.bin', data)
    await put.send(0, 5)
    await until(() => existsSync(c.dir) && temps(c.dir).length === 1, 5_000, 'upload in flight')
    c.proc.kill('SIGTERM')
    // The stop has begun (not merely been signalled) before anything more is sent.
    await until(() => c.stderr().includes('waiting for 1 upload'), 5_000, 'stop notice', c.stderr)
    // The rest of the body and, in the same write, the next request.
    put.sock.write(Buffer.concat([data.subarray(5), Buffer.from('PUT /r2.bin HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nxx')]))
    await until(put.closed, 5_000, 'connection closed', put.reply)
    const statuses = [...put.reply().matchAll(/^HTTP\/1\.1 (\d{3}) /gm)].map((m) => Number(m[1]))
    expect(statuses, put.reply()).toEqual([201, 503])
    expect(put.reply()).toMatch(/HTTP\/1\.1 503 [^]*Connection: close/)
    // Kept open only for that 503: the 201 promises no idle time.
    expect(put.reply().split('HTTP/1.1 503')[0]).not.toMatch(/Keep-Alive:/i)
    expect(await withTimeout(c.exited, 5_000, 'exit')).toBe(0)
    expect(allFiles(c.dir)).toEqual(['r1.bin'])
    expect(sha(readFileSync(path.join(c.dir, 'r1.bin')))).toBe(sha(data))
  })

  it('a graceful stop where only an empty line follows the body (some clients send one): the answer says close, exit at once', async () => {
    const c = await cli()
    const data = randomBytes(10)
    const put = await slowPut(c.port, 'e1.bin', data)
    await put.send(0, 5)
    await until(() => existsSync(c.dir) && temps(c.dir).length === 1, 5_000, 'upload in flight')
    c.proc.kill('SIGTERM')
    // The stop has begun (not merely been signalled) before anything more is sent.
    await until(() => c.stderr().includes('waiting for 1 upload'), 5_000, 'stop notice', c.stderr)
    const t0 = Date.now()
    put.sock.write(Buffer.concat([data.subarray(5), Buffer.from('\r\n')]))
    await until(put.closed, 5_000, 'connection closed', put.reply)
    expect(put.reply()).toMatch(/^HTTP\/1\.1 201 [^]*Connection: close/)
    // Not the 30 s keep-alive wait for a request that never comes.
    expect(await withTimeout(c.exited, 5_000, 'exit')).toBe(0)
    expect(Date.now() - t0).toBeLessThan(3_000)
  })

  it('a graceful stop with part of a head pipelined behind the running upload: that head gets the short grace and a 503, not the keep-alive wait', async () => {
    const c = await cli()
    const data = randomBytes(10)
    const put = await slowPut(c.port, 'p1.bin', data)
    await put.send(0, 5)
    await until(() => existsSync(c.dir) && temps(c.dir).length === 1, 5_000, 'upload in flight')
    c.proc.kill('SIGTERM')
    // The stop has begun (not merely been signalled) before anything more is sent.
    await until(() => c.stderr().includes('waiting for 1 upload'), 5_000, 'stop notice', c.stderr)
    const t0 = Date.now()
    put.sock.write(Buffer.concat([data.subarray(5), Buffer.from('GET / HTTP/1.1\r\nHo')]))
    await until(put.closed, 6_000, 'connection closed', put.reply)
    const statuses = [...put.reply().matchAll(/^HTTP\/1\.1 (\d{3}) /gm)].map((m) => Number(m[1]))
    expect(statuses, put.reply()).toEqual([201, 503])
    expect(await withTimeout(c.exited, 5_000, 'exit')).toBe(0)
    expect(Date.now() - t0).toBeLessThan(4_000)
  })

  it("a graceful stop whose last upload's client then resets: the failure is still reported before `closed`, nothing is left", async () => {
    const c = await cli()
    const data = randomBytes(1_000_000)
    const put = await slowPut(c.port, 'gone.bin', data)
    await put.send(0, 50_000)
    await until(() => existsSync(c.dir) && temps(c.dir).length === 1, 5_000, 'upload in flight')
    c.proc.kill('SIGTERM')
    await until(() => c.stderr().includes('waiting for 1 upload'), 5_000, 'stop notice', c.stderr)
    put.sock.resetAndDestroy()
    expect(await withTimeout(c.exited, 5_000, 'exit')).toBe(0)
    expect(c.events.map((e) => e.event)).toEqual(['listening', 'failed', 'closed'])
    expect(c.events[1]).toMatchObject({ name: 'gone.bin', code: 'BODY_INCOMPLETE' })
    expect(allFiles(c.dir)).toEqual([])
    expect(c.stderr()).toMatch(/Done: 0 files.*1 failed/)
  })

  it('SIGTERM with nothing in flight (an idle keep-alive connection open): exit 0 at once', async () => {
    const c = await cli()
    const sock = net.connect({ host: '127.0.0.1', port: c.port })
    sock.on('error', () => {})
    let reply = ''
    let closed = false
    sock.on('data', (d: Buffer) => (reply += d.toString('latin1')))
    sock.on('close', () => (closed = true))
    sock.write('GET /favicon.ico HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n')
    await until(() => /^HTTP\/1\.1 \d{3} /.test(reply), 3_000, 'favicon answer', () => reply)

    const t0 = Date.now()
    c.proc.kill('SIGTERM')
    expect(await withTimeout(c.exited, 3_000, 'exit')).toBe(0)
    expect(Date.now() - t0).toBeLessThan(1_500)
    await until(() => closed, 2_000, 'idle connection closed')
    expect(c.stderr()).toContain('SIGTERM: stopping.')
    expect(c.events.at(-1)).toEqual({ event: 'closed', files: 0, bytes: 0 })
  })

  it('--quiet: nothing at all on stderr for a normal run with one upload and a Ctrl-C', async () => {
    const c = await cli(['--quiet'])
    const res = await fetch(`${c.url}/q.txt`, { method: 'PUT', body: 'quiet please' })
    expect(res.status).toBe(201)
    await c.waitForEvent((e) => e.event === 'stored')
    expect(await c.stop('SIGINT')).toBe(0)
    expect(c.stderr()).toBe('')
    expect(c.events.map((e) => e.event)).toEqual(['listening', 'stored', 'closed'])
  })

  it('--quiet: a Ctrl-C while an upload runs still says it is waiting, and a second one what it aborted', async () => {
    const c = await cli(['--quiet'])
    const put = await slowPut(c.port, 'q.bin', randomBytes(64 * 1024))
    await put.send(0, 16 * 1024)
    await until(() => existsSync(c.dir) && temps(c.dir).length === 1, 5_000, 'upload in flight')
    c.proc.kill('SIGINT')
    await until(() => c.stderr().includes('waiting for 1 upload'), 5_000, 'the waiting notice', c.stderr)
    c.proc.kill('SIGINT')
    expect(await withTimeout(c.exited, 5_000, 'exit')).toBe(130)
    expect(c.stderr()).toContain('Ctrl-C again: aborted 1 upload; no unfinished file is left.')
    expect(c.stderr()).not.toContain('Done:')
    put.sock.destroy()
  })
})

/** Runs the CLI (human output, no --json) to its exit. */
interface Exit {
  code: number | string
  stdout: string
  stderr: string
}
function runToExit(args: string[], env: NodeJS.ProcessEnv = {}): Promise<Exit> {
  const proc = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NO_COLOR: '1', ...env } })
  let stdout = ''
  let stderr = ''
  proc.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d))
  proc.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d))
  return withTimeout(
    new Promise<Exit>((resolve) => proc.on('close', (code, sig) => resolve({ code: code ?? sig ?? -1, stdout, stderr }))),
    10_000,
    'CLI exit',
  ).catch((e) => {
    proc.kill('SIGKILL')
    throw e
  })
}

function unprivilegedPortStart(): number {
  try {
    return Number(readFileSync('/proc/sys/net/ipv4/ip_unprivileged_port_start', 'utf8'))
  } catch {
    return 1024
  }
}

describe('startup failures: what happened and what to do, one line, exit 1, no stack trace', () => {
  const cases: Array<[string, () => Promise<string[]>, RegExp]> = [
    [
      'port in use',
      async () => {
        const srv = net.createServer()
        await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r))
        servers.push(srv)
        const port = (srv.address() as net.AddressInfo).port
        return ['--host', '127.0.0.1', '--port', String(port), '--dir', path.join(scratch(), 'in')]
      },
      /^upload-recv: port \d+ is already in use; pick another with --port \(or --port 0 for any free one\)\.$/,
    ],
    [
      '--dir is a file',
      async () => {
        const file = path.join(scratch(), 'a-file')
        writeFileSync(file, 'x')
        return ['--host', '127.0.0.1', '--port', '0', '--dir', file]
      },
      /^upload-recv: --dir .*a-file is not a folder; point --dir at a folder\.$/,
    ],
    [
      'TLS certificate unreadable',
      async () => {
        const d = scratch()
        return ['--host', '127.0.0.1', '--port', '0', '--dir', path.join(d, 'in'), '--tls-cert', path.join(d, 'nope.pem'), '--tls-key', path.join(d, 'nope.key')]
      },
      /^upload-recv: --tls-cert .*nope\.pem: cannot read it \(ENOENT\); check the path and that you may read the file\.$/,
    ],
    [
      'a folder given as the TLS certificate',
      async () => {
        const d = scratch()
        return ['--host', '127.0.0.1', '--port', '0', '--dir', path.join(d, 'in'), '--tls-cert', d, '--tls-key', d]
      },
      /^upload-recv: --tls-cert .* is a folder, not a PEM file; give the file in it\.$/,
    ],
    [
      'a link-local IPv6 address without its zone',
      async () => ['--host', 'fe80::1', '--port', '0', '--dir', path.join(scratch(), 'in')],
      /^upload-recv: cannot listen on \[fe80::1\]:0: not a usable address \(a link-local address needs its interface: fe80::1%eth0\); check --host\.$/,
    ],
    [
      'a host name that does not resolve',
      async () => ['--host', 'no-such-host.invalid', '--port', '0', '--dir', path.join(scratch(), 'in')],
      /^upload-recv: cannot listen on no-such-host\.invalid:0: the host name does not resolve( \(the name server did not answer\))?; check --host\.$/,
    ],
  ]
  const low = unprivilegedPortStart()
  if (process.getuid?.() !== 0 && low > 1) {
    cases.push([
      'a privileged port',
      async () => ['--host', '127.0.0.1', '--port', '1', '--dir', path.join(scratch(), 'in')],
      /^upload-recv: not allowed to listen on 127\.0\.0\.1:1; ports below 1024 need privileges, try --port 4000\.$/,
    ])
  }

  it.each(cases)('%s', async (_label, setup, message) => {
    const r = await runToExit(await setup())
    expect(r.code).toBe(1)
    expect(r.stdout).toBe('')
    expect(r.stderr).not.toMatch(/^ {4}at /m)
    const lines = r.stderr.split('\n')
    expect(lines, r.stderr).toHaveLength(2)
    expect(lines[1]).toBe('')
    expect(lines[0]).toMatch(message)
  })

  it('a value from the environment is named where the line tells which flag to check', async () => {
    const srv = net.createServer()
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r))
    servers.push(srv)
    const port = String((srv.address() as net.AddressInfo).port)
    const inUse = await runToExit(['--host', '127.0.0.1', '--dir', path.join(scratch(), 'in')], { UPLOAD_RECV_PORT: port })
    expect(inUse.code).toBe(1)
    expect(inUse.stderr).toBe(
      `upload-recv: port ${port} is already in use; pick another with --port (or --port 0 for any free one) (--port was set by UPLOAD_RECV_PORT).\n`,
    )
    const host = await runToExit(['--port', '0', '--dir', path.join(scratch(), 'in')], { UPLOAD_RECV_HOST: 'fe80::1' })
    expect(host.code).toBe(1)
    expect(host.stderr).toBe('upload-recv: cannot listen on [fe80::1]:0: not a usable address (a link-local address needs its interface: fe80::1%eth0); check --host (--host was set by UPLOAD_RECV_HOST).\n')
  })
})

describe('broken output streams', () => {
  it.each([[[]], [['--once']]])('stdout that cannot be written (a full disk under `> stored.txt`): the path is lost, so stop, say so, exit 1 %j', async (extra: string[]) => {
    const full = openSync('/dev/full', 'w')
    const proc = spawn(process.execPath, [BIN, '--host', '127.0.0.1', '--port', '0', '--dir', path.join(scratch(), 'in'), '--no-qr', ...extra], {
      stdio: ['ignore', full, 'pipe'],
    })
    closeSync(full)
    let err = ''
    proc.stderr!.setEncoding('utf8').on('data', (d: string) => (err += d))
    const exited = new Promise<number | string | null>((r) => proc.on('exit', (code, sig) => r(code ?? sig)))
    try {
      await until(() => /127\.0\.0\.1:\d+/.test(err), 10_000, 'the banner', () => err)
      const port = /127\.0\.0\.1:(\d+)/.exec(err)![1]
      const res = await fetch(`http://127.0.0.1:${port}/a.txt`, { method: 'PUT', body: 'x' })
      expect(res.status).toBe(201)
      expect(await withTimeout(exited, 10_000, 'exit')).toBe(1)
      expect(err).toContain('upload-recv: cannot write to standard output (ENOSPC); stopping.')
    } finally {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL')
    }
  })

  it('stdout into /dev/full with nothing stored: no line was lost, so a stop is exit 0 with no complaint', async () => {
    const full = openSync('/dev/full', 'w')
    const proc = spawn(process.execPath, [BIN, '--host', '127.0.0.1', '--port', '0', '--dir', path.join(scratch(), 'in'), '--no-qr'], {
      stdio: ['ignore', full, 'pipe'],
    })
    closeSync(full)
    let err = ''
    proc.stderr!.setEncoding('utf8').on('data', (d: string) => (err += d))
    const exited = new Promise<number | string | null>((r) => proc.on('exit', (code, sig) => r(code ?? sig)))
    try {
      await until(() => err.includes('Ctrl-C stops'), 10_000, 'the banner', () => err)
      proc.kill('SIGTERM')
      expect(await withTimeout(exited, 10_000, 'exit')).toBe(0)
      expect(err).not.toContain('cannot write')
    } finally {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL')
    }
  })

  it('stderr nobody reads any more: uploads and --json go on; a Ctrl-C still stops with exit 0', async () => {
    const proc = spawn(process.execPath, [BIN, '--host', '127.0.0.1', '--port', '0', '--dir', path.join(scratch(), 'in'), '--json'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    proc.stderr.destroy()
    let out = ''
    proc.stdout.setEncoding('utf8').on('data', (d: string) => (out += d))
    const exited = new Promise<number | string | null>((r) => proc.on('exit', (code, sig) => r(code ?? sig)))
    try {
      await until(() => out.includes('"listening"'), 10_000, 'listening', () => out)
      const port = (JSON.parse(out.split('\n')[0]!) as { port: number }).port
      for (const name of ['a.txt', 'b.txt']) {
        const res = await fetch(`http://127.0.0.1:${port}/${name}`, { method: 'PUT', body: name })
        expect(res.status).toBe(201)
      }
      await until(() => out.includes('"b.txt"'), 5_000, 'the second stored event', () => out)
      expect(proc.exitCode).toBeNull()
      proc.kill('SIGINT')
      expect(await withTimeout(exited, 10_000, 'exit')).toBe(0)
      expect(out.trim().split('\n').at(-1)).toContain('"closed"')
    } finally {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL')
    }
  })
})

describe('an unexpected internal error', () => {
  // A throw from a timer inside the running server, injected with --import: it escapes main()'s promise.
  // Thrown once the CLI is up (its handlers installed), however slow the machine.
  const code = `const t = setInterval(() => { if (process.listenerCount('uncaughtException') > 0) { clearInterval(t); setTimeout(() => { throw new Error('boom') }, 50) } }, 20)`
  const boom = { NODE_OPTIONS: `--import=data:text/javascript,${encodeURIComponent(code)}` }
  const args = () => ['--host', '127.0.0.1', '--port', '0', '--dir', path.join(scratch(), 'in')]

  it('one line with a hint to rerun with DEBUG=1, exit 1, no stack trace', async () => {
    const r = await runToExit(args(), { ...boom, DEBUG: '' })
    expect(r.code).toBe(1)
    expect(r.stderr).not.toMatch(/^ {4}at /m)
    expect(r.stderr.trimEnd().split('\n').at(-1)).toBe('upload-recv: internal error: boom (rerun with DEBUG=1 for details)')
  })

  it('with DEBUG=1: the stack trace', async () => {
    const r = await runToExit(args(), { ...boom, DEBUG: '1' })
    expect(r.code).toBe(1)
    expect(r.stderr).toMatch(/^Error: boom\n {4}at /m)
  })
})
