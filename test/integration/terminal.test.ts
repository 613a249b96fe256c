// The terminal as people see it (SPEC §2): the real CLI under a real pseudo-terminal (util-linux
// `script`) while curl uploads at a throttled rate; then the same with stderr piped.
import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process'
import { createHash, randomBytes } from 'node:crypto'
import { createReadStream, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import net from 'node:net'
import path from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { renderQr } from '../../src/report/banner.js'
import { displayWidth } from '../../src/report/format.js'
import { BIN, removeDir, tmpDir, withTimeout } from '../helpers/cli.js'
import { sleep, until } from '../helpers/fs-walk.js'
import { ESCAPE, renderScreen, stripSgr } from '../helpers/vt.js'

const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }

function has(cmd: string, args: string[], pattern: RegExp): boolean {
  try {
    return pattern.test(execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 5_000 }))
  } catch {
    return false
  }
}
const HAVE_SCRIPT = has('script', ['--version'], /util-linux/)
const HAVE_CURL = has('curl', ['--version'], /^curl /)

const dirs: string[] = []
const children: ChildProcess[] = []
const pidFiles: string[] = []
afterAll(() => {
  // Only what we started: the script/curl/node children, and the CLI whose pid its shell wrote down.
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL')
  for (const f of pidFiles) {
    const pid = existsSync(f) ? Number(readFileSync(f, 'utf8')) : 0
    if (pid > 0) {
      try {
        process.kill(pid, 'SIGKILL')
      } catch {
        // Already gone.
      }
    }
  }
  for (const d of dirs) removeDir(d)
})
function scratch(): string {
  const d = tmpDir('upload-recv-term-')
  dirs.push(d)
  return d
}

const sq = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`

/** A child's combined output as it arrives, its exit code, and timestamps of the arrivals. */
interface Run {
  proc: ChildProcess
  out(): string
  err(): string
  exited: Promise<number | string>
}
function track(proc: ChildProcess): Run {
  children.push(proc)
  let out = ''
  let err = ''
  proc.stdout?.setEncoding('utf8').on('data', (d: string) => (out += d))
  proc.stderr?.setEncoding('utf8').on('data', (d: string) => (err += d))
  const exited = new Promise<number | string>((resolve) => proc.on('exit', (code, sig) => resolve(code ?? sig ?? -1)))
  return { proc, out: () => out, err: () => err, exited }
}

/** Environment for the CLI: colour decided by the terminal alone, unless `extra` says otherwise. */
function cleanEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, TERM: 'xterm-256color', SHELL: '/bin/sh', COLUMNS: '100', LINES: '30' }
  delete env.NO_COLOR
  delete env.FORCE_COLOR
  return { ...env, ...extra }
}

/**
 * Runs `upload-recv <args>` on a 100×30 pseudo-terminal. `afterFlag`: a shell command run once the
 * test creates the flag file (e.g. `stty cols 60`, which resizes the terminal: SIGWINCH).
 * `stdoutFile`: stdout goes there instead of the terminal.
 */
function startOnTty(args: string[], opts: { env?: NodeJS.ProcessEnv; afterFlag?: string; stdoutFile?: string } = {}) {
  const dir = scratch()
  const flag = path.join(dir, 'flag')
  const pidFile = path.join(dir, 'pid')
  pidFiles.push(pidFile)
  const cli = [process.execPath, BIN, '--port', '0', '--host', '127.0.0.1', ...args].map(sq).join(' ')
  const redirect = opts.stdoutFile ? ` > ${sq(opts.stdoutFile)}` : ''
  const wait = opts.afterFlag
    ? `i=0; while [ ! -e ${sq(flag)} ] && [ $i -lt 400 ]; do sleep 0.05; i=$((i+1)); done; ${opts.afterFlag}; `
    : ''
  const cmd = `stty cols 100 rows 30; ${cli}${redirect} & p=$!; echo $p > ${sq(pidFile)}; ${wait}wait $p`
  const run = track(spawn('script', ['-qfec', cmd, '/dev/null'], { stdio: ['ignore', 'pipe', 'pipe'], env: cleanEnv(opts.env) }))
  const port = (async () => {
    await until(() => /http:\/\/127\.0\.0\.1:(\d+)\//.test(run.out()), 10_000, 'banner with the URL', run.out)
    return Number(/http:\/\/127\.0\.0\.1:(\d+)\//.exec(run.out())![1])
  })()
  return { run, port, flag, dir }
}

function curlUpload(url: string, file: string, rate: string): Run & { result: Promise<{ status: string; seconds: number }> } {
  const run = track(
    spawn('curl', ['-sS', '--limit-rate', rate, '-T', file, url, '-o', '/dev/null', '-w', '%{http_code} %{time_total}'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    }),
  )
  const result = withTimeout(run.exited, 15_000, 'curl').then(() => {
    const [status = '', secs = '0'] = run.out().trim().split(' ')
    return { status, seconds: Number(secs) }
  })
  return { ...run, result }
}

/** The live lines drawn so far: text of each `↑` row, escape sequences removed. */
function liveLines(raw: string): string[] {
  return raw
    .split('\n')
    .map((l) => l.replace(ESCAPE, '').replace(/\r/g, ''))
    .filter((l) => l.startsWith('↑ '))
}

const UP = /\x1b\[\d+A/g
const NAME = 'holiday-photos-beach-2024.bin'
const SIZE = 400_000

describe.skipIf(!HAVE_SCRIPT || !HAVE_CURL)('on a real terminal (script), a throttled curl upload', () => {
  it('banner + QR, a live line that updates and fits a resize, replaced by ✔, redraws ≤ ~10/s', async () => {
    const dir = scratch()
    const data = randomBytes(SIZE)
    const file = path.join(dir, 'upload.bin')
    writeFileSync(file, data)
    const target = path.join(dir, 'in')
    const stdoutFile = path.join(dir, 'stdout.txt')
    const { run, port, flag } = startOnTty(['--dir', target, '--once'], { afterFlag: 'stty cols 60', stdoutFile })
    const p = await port
    const url = `http://127.0.0.1:${p}/`
    // `script` relays the terminal in pieces: the URL can arrive before the rest of the banner.
    await until(() => stripSgr(run.out()).includes('Ctrl-C stops.'), 10_000, 'the whole banner', run.out)

    // The banner: name, version, absolute folder, URL, and the QR code of that URL (in colour).
    const banner = stripSgr(run.out())
    expect(banner).toContain(`upload-recv ${pkg.version}  receiving into ${target}`)
    expect(banner).toContain(`  ${url}`)
    expect(run.out().replace(/\r\n/g, '\n')).toContain(await renderQr(url, true))
    expect(banner).toContain('Scan to open the upload page. Ctrl-C stops.')

    const curl = curlUpload(`${url}${NAME}`, file, '150k')
    // Two different byte counts on the live line, then resize the terminal to 60 columns.
    const counts = () => new Set(liveLines(run.out()).map((l) => / {2}([\d.]+ [kM]?B) \/ 400 kB/.exec(l)?.[1]).filter(Boolean))
    await until(() => counts().size >= 2, 10_000, 'two different byte counts', run.out)
    const beforeResize = run.out().length
    writeFileSync(flag, '')
    const { status, seconds } = await curl.result
    expect(status).toBe('201')
    expect(await withTimeout(run.exited, 10_000, 'CLI exit after --once')).toBe(0)

    const raw = run.out()
    const live = liveLines(raw)
    // Address, file name, bytes of the total, percent, rate.
    expect(live[0]).toMatch(new RegExp(`^↑ 127\\.0\\.0\\.1  ${NAME.replace(/\./g, '\\.')}  [\\d.]+ [kM]?B / 400 kB  \\d+%  .*B/s$`))
    const percents = live.map((l) => Number(/ (\d+)% /.exec(l)?.[1] ?? -1))
    expect(percents.every((n) => n >= 0 && n <= 100)).toBe(true)
    expect(new Set(percents).size).toBeGreaterThanOrEqual(2)
    // At 100 columns the whole name fits; after the resize to 60 every line fits in 59 columns.
    for (const l of liveLines(raw.slice(0, beforeResize))) expect(l).toContain(NAME)
    const after = liveLines(raw.slice(raw.indexOf('\n', beforeResize)))
    expect(after.length).toBeGreaterThanOrEqual(1)
    for (const l of after) {
      expect(displayWidth(l), l).toBeLessThanOrEqual(59)
      expect(l).toContain('…')
    }

    // The finished line replaces the live block: cursor up over it and clear, then ✔.
    const done = new RegExp(`\\x1b\\[1A\\r\\x1b\\[J(?:\\x1b\\[[0-9;]*m)*✔(?:\\x1b\\[[0-9;]*m)* 127\\.0\\.0\\.1  ${NAME.replace(/\./g, '\\.')} → `)
    expect(raw).toMatch(done)
    // Replayed wide so permanent lines (which may wrap on the real 60 columns) read as one line each.
    const screen = renderScreen(raw, 1000).slice(-3)
    expect(screen[0]).toMatch(/^ {2}Scan to open|^✔/)
    expect(screen.at(-2)).toMatch(new RegExp(`^✔ 127\\.0\\.0\\.1  ${NAME.replace(/\./g, '\\.')} → ${target.replace(/[.]/g, '\\.')}/${NAME.replace(/\./g, '\\.')}  400 kB  [\\d.]+ (?:ms|s)  .*B/s$`))
    expect(screen.at(-1)).toMatch(/^Done: 1 file, 400 kB from 1 client in [\d.]+ (?:ms|s)\.$/)
    expect(renderScreen(raw, 1000).some((l) => l.startsWith('↑'))).toBe(false)

    // Rate-limited redraws: at most ~10 a second over the upload (the resize adds one).
    const redraws = raw.match(UP)?.length ?? 0
    expect(redraws).toBeGreaterThanOrEqual(2)
    expect(redraws / Math.max(seconds, 0.5)).toBeLessThanOrEqual(12)

    // stdout (redirected) got the path, nothing else; the file is intact.
    expect(readFileSync(stdoutFile, 'utf8')).toBe(`${target}/${NAME}\n`)
    expect(createHash('sha256').update(readFileSync(path.join(target, NAME))).digest('hex')).toBe(
      createHash('sha256').update(data).digest('hex'),
    )
  })

  it('many small chunks: the block is redrawn ≤ ~12 times a second, and stdout paths on the same terminal do not clear it per chunk', async () => {
    const target = path.join(scratch(), 'in')
    const { run, port } = startOnTty(['--dir', target, '--once'])
    const p = await port
    const total = 240_000
    const sock = net.connect({ host: '127.0.0.1', port: p })
    sock.setNoDelay(true)
    await withTimeout(new Promise((r) => sock.once('connect', r)), 5_000, 'connect')
    let reply = ''
    sock.on('data', (d: Buffer) => (reply += d.toString('latin1')))
    sock.on('error', () => {})
    const t0 = Date.now()
    sock.write(`PUT /fine.bin HTTP/1.1\r\nHost: x\r\nContent-Length: ${total}\r\n\r\n`)
    // 1200 bytes every 6 ms: about 200 progress events a second.
    for (let sent = 0; sent < total; sent += 1200) {
      sock.write(Buffer.alloc(1200, 0x61))
      await sleep(6)
    }
    await until(() => / 201 /.test(reply), 10_000, '201', () => reply)
    const seconds = (Date.now() - t0) / 1000
    sock.destroy()
    expect(await withTimeout(run.exited, 10_000, 'CLI exit')).toBe(0)

    const raw = run.out()
    const redraws = raw.match(UP)?.length ?? 0
    const clears = raw.match(/\x1b\[J/g)?.length ?? 0
    expect(seconds).toBeGreaterThan(1)
    expect(redraws, `${redraws} redraws in ${seconds} s`).toBeGreaterThanOrEqual(Math.floor(seconds * 4))
    expect(redraws / seconds, `${redraws} redraws in ${seconds} s`).toBeLessThanOrEqual(12)
    // One erase-below per redraw, not one per chunk.
    expect(clears).toBeLessThanOrEqual(redraws + 3)
    // The path (stdout, same terminal) landed above the ✔ line, not inside the live block.
    const screen = renderScreen(raw, 1000)
    expect(screen.slice(-3)).toEqual([
      `${target}/fine.bin`,
      expect.stringMatching(/^✔ 127\.0\.0\.1  fine\.bin → .*fine\.bin  240 kB  /),
      expect.stringMatching(/^Done: 1 file, 240 kB from 1 client in /),
    ])
  })

  it('NO_COLOR on a terminal: the QR code and the lines, but not one colour sequence; --token in the banner and QR only', async () => {
    const dir = scratch()
    const target = path.join(dir, 'in')
    const json = path.join(dir, 'events.jsonl')
    // UPLOAD_RECV_NO_QR=0 means "not given": the QR code stays.
    const env = { NO_COLOR: '1', UPLOAD_RECV_NO_QR: '0' }
    const { run, port } = startOnTty(['--dir', target, '--once', '--json', '--token', 's3cr3t'], { env, stdoutFile: json })
    const p = await port
    const url = `http://127.0.0.1:${p}/?token=s3cr3t`
    await until(() => run.out().includes('Ctrl-C stops.'), 5_000, 'banner', run.out)
    expect(run.out()).toContain(`  ${url}\r\n`)
    expect(run.out().replace(/\r\n/g, '\n')).toContain(await renderQr(url, false))
    const res = await fetch(`http://127.0.0.1:${p}/x.txt?token=s3cr3t`, { method: 'PUT', body: 'hello' })
    expect(res.status).toBe(201)
    expect(await withTimeout(run.exited, 10_000, 'CLI exit')).toBe(0)
    expect(run.out()).not.toMatch(/\x1b\[[0-9;]*m/)
    expect(run.out()).toMatch(/✔ 127\.0\.0\.1 {2}x\.txt → /)
    const events = readFileSync(json, 'utf8')
    expect(events).toContain('"event":"listening"')
    expect(events).not.toContain('s3cr3t')
  })
})

describe.skipIf(!HAVE_SCRIPT)('NO_COLOR beside FORCE_COLOR on a terminal', () => {
  it('no colour, and no Node warning that NO_COLOR is ignored (drawing the QR code loads a module that asks Node)', async () => {
    const dir = scratch()
    const { run, port } = startOnTty(['--dir', path.join(dir, 'in'), '--once'], { env: { NO_COLOR: '1', FORCE_COLOR: '1' } })
    const p = await port
    await until(() => run.out().includes('Ctrl-C stops.'), 5_000, 'banner', run.out)
    expect(run.out()).toMatch(/[█▀▄]/)
    const res = await fetch(`http://127.0.0.1:${p}/x.txt`, { method: 'PUT', body: 'hello' })
    expect(res.status).toBe(201)
    expect(await withTimeout(run.exited, 10_000, 'CLI exit')).toBe(0)
    expect(run.out()).not.toMatch(/\x1b\[[0-9;]*m/)
    expect(run.out()).not.toContain('Warning')
  })
})

describe.skipIf(!HAVE_SCRIPT)('--stdout and a terminal', () => {
  const exitOf = async (cli: string[], redirect: string) => {
    const cmd = `${[process.execPath, BIN, '--port', '0', '--host', '127.0.0.1', ...cli].map(sq).join(' ')}${redirect}; echo "exit=$?"`
    const run = track(spawn('script', ['-qfec', cmd, '/dev/null'], { stdio: ['ignore', 'pipe', 'pipe'], env: cleanEnv() }))
    await withTimeout(run.exited, 10_000, 'script')
    return run.out()
  }

  it('standard output on the terminal: refused before listening (exit 1, one line), since any client could write escape codes to it', async () => {
    const out = await exitOf(['--stdout', '--dir', scratch()], '')
    expect(out).toContain('upload-recv: --stdout: standard output is a terminal')
    expect(out).toMatch(/exit=1\s*$/)
    expect(out).not.toContain('http://')
  })
})

describe.skipIf(!HAVE_SCRIPT || !HAVE_CURL)('stored paths on a terminal', () => {
  it('a bidi mark in a name is shown escaped on a terminal (it would reorder the line), and kept as is in the file name', async () => {
    const dir = scratch()
    const target = path.join(dir, 'in')
    const { run, port } = startOnTty(['--dir', target, '--once', '--no-qr'])
    const url = `http://127.0.0.1:${await port}/`
    const up = await new Promise<string>((resolve) =>
      execFile('curl', ['-s', '-o', '/dev/null', '-w', '%{http_code}', '--data-binary', 'x', `${url}abc%E2%80%8Fdef.txt`], (_e, out) => resolve(out)),
    )
    expect(up).toBe('201')
    expect(await withTimeout(run.exited, 10_000, 'CLI exit after --once')).toBe(0)
    expect(run.out()).toContain(`${target}/abc\\u200fdef.txt`)
    expect(run.out()).not.toContain('\u200f')
    expect(readdirSync(target)).toEqual(['abc\u200fdef.txt'])
  })
})

describe.skipIf(!HAVE_SCRIPT)('stopped as soon as it is listening, on a terminal', () => {
  it('two Ctrl-Cs the moment `listening` is out (the QR code still being drawn) are a stop: the `closed` event comes, no kill by signal', async () => {
    const dir = scratch()
    const fifo = path.join(dir, 'events')
    execFileSync('mkfifo', [fifo])
    const tty = startOnTty(['--dir', path.join(dir, 'in'), '--json'], { stdoutFile: fifo })
    let events = ''
    const reader = createReadStream(fifo, 'utf8')
    const pid = () => Number(readFileSync(path.join(tty.dir, 'pid'), 'utf8'))
    const ended = new Promise<void>((resolve) => {
      reader.on('data', (d) => {
        const first = !events.includes('\n')
        events += String(d)
        // At once, from the event itself: a poll would miss the moment.
        if (first && events.includes('\n')) {
          process.kill(pid(), 'SIGINT')
          process.kill(pid(), 'SIGINT')
        }
      })
      reader.on('end', resolve)
      reader.on('error', () => resolve())
    })
    await withTimeout(ended, 10_000, 'the events to end')
    await withTimeout(tty.run.exited, 10_000, 'script')
    const kinds = events.trim().split('\n').map((l) => (JSON.parse(l) as { event: string }).event)
    expect(kinds).toEqual(['listening', 'closed'])
  })
})

describe.skipIf(!HAVE_SCRIPT)('uploads the moment the port opens, on a terminal', () => {
  it('`listening` is still the first event, though the banner (its QR code) is drawn later', async () => {
    const dir = scratch()
    const port = await new Promise<number>((resolve) => {
      const probe = net.createServer().listen(0, '127.0.0.1', () => {
        const p = (probe.address() as net.AddressInfo).port
        probe.close(() => resolve(p))
      })
    })
    const out = path.join(dir, 'events.jsonl')
    const tty = startOnTty(['--port', String(port), '--dir', path.join(dir, 'in'), '--json'], { stdoutFile: out })
    // A client that keeps trying from before the port opens.
    let status = 0
    const end = Date.now() + 10_000
    while (status !== 201 && Date.now() < end) {
      status = await fetch(`http://127.0.0.1:${port}/early.txt`, { method: 'PUT', body: 'x', signal: AbortSignal.timeout(2_000) }).then(
        (r) => r.status,
        () => 0,
      )
      if (status !== 201) await sleep(2)
    }
    expect(status).toBe(201)
    await until(() => existsSync(out) && readFileSync(out, 'utf8').includes('"stored"'), 5_000, 'stored event')
    process.kill(Number(readFileSync(path.join(tty.dir, 'pid'), 'utf8')), 'SIGTERM')
    await withTimeout(tty.run.exited, 10_000, 'script')
    const kinds = readFileSync(out, 'utf8').trim().split('\n').map((l) => (JSON.parse(l) as { event: string }).event)
    expect(kinds).toEqual(['listening', 'stored', 'closed'])
  })
})

describe.skipIf(!HAVE_SCRIPT)('--quiet on a terminal', () => {
  it('every ✖ line is printed, also when the process ends right after them (--once)', async () => {
    const dir = scratch()
    const cli = [process.execPath, BIN, '--port', '0', '--host', '127.0.0.1', '--dir', dir, '--quiet', '--json', '--once', '--max-file-size', '2']
    const run = track(spawn('script', ['-qfec', `${cli.map(sq).join(' ')}; echo "exit=$?"`, '/dev/null'], { stdio: ['ignore', 'pipe', 'pipe'], env: cleanEnv() }))
    await until(() => /"port":(\d+)/.test(run.out()), 10_000, 'listening event', run.out)
    const port = Number(/"port":(\d+)/.exec(run.out())![1])
    const put = (name: string, body: string) => fetch(`http://127.0.0.1:${port}/${name}`, { method: 'PUT', body }).then((r) => r.status)
    // Two refusals in quick succession, then the upload that ends the run.
    expect(await Promise.all([put('big1.txt', 'xyz'), put('big2.txt', 'xyz')])).toEqual([413, 413])
    expect(await put('ok.txt', 'k')).toBe(201)
    await withTimeout(run.exited, 10_000, 'script')
    const text = run.out().replace(ESCAPE, '')
    expect(text).toMatch(/exit=0\s*$/)
    expect(text.match(/✖ 127\.0\.0\.1 {2}big\d\.txt {2}FILE_TOO_LARGE/g)).toHaveLength(2)
  })
})

describe.skipIf(!HAVE_CURL)('stderr piped (not a terminal)', () => {
  it('plain start and end lines, no escape sequence at all, nothing but the path on stdout', async () => {
    const dir = scratch()
    const file = path.join(dir, 'upload.bin')
    writeFileSync(file, randomBytes(SIZE))
    const target = path.join(dir, 'in')
    mkdirSync(target)
    const run = track(
      spawn(process.execPath, [BIN, '--port', '0', '--host', '127.0.0.1', '--dir', target, '--once'], {
        stdio: ['ignore', 'pipe', 'pipe'],
        env: cleanEnv(),
      }),
    )
    await until(() => /http:\/\/127\.0\.0\.1:\d+\//.test(run.err()), 10_000, 'banner', run.err)
    const p = Number(/http:\/\/127\.0\.0\.1:(\d+)\//.exec(run.err())![1])
    const { status } = await curlUpload(`http://127.0.0.1:${p}/${NAME}`, file, '400k').result
    expect(status).toBe('201')
    expect(await withTimeout(run.exited, 10_000, 'CLI exit')).toBe(0)

    const err = run.err()
    expect(err).not.toContain('\x1b')
    const lines = err.trimEnd().split('\n')
    expect(lines[0]).toBe(`upload-recv ${pkg.version}  receiving into ${target}`)
    expect(lines[1]).toBe(`  http://127.0.0.1:${p}/`)
    expect(lines[2]).toBe('  Ctrl-C stops.') // no QR code off a terminal
    expect(lines[3]).toBe(`↑ 127.0.0.1  ${NAME}  400 kB`)
    expect(lines[4]).toMatch(new RegExp(`^✔ 127\\.0\\.0\\.1  ${NAME.replace(/\./g, '\\.')} → .*${NAME.replace(/\./g, '\\.')}  400 kB  [\\d.]+ (?:ms|s)  .*B/s$`))
    expect(lines[5]).toMatch(/^Done: 1 file, 400 kB from 1 client in /)
    expect(lines).toHaveLength(6)
    expect(run.out()).toBe(`${target}/${NAME}\n`)
  })
})

describe('a stderr pipe nobody reads', () => {
  it('uploads go on; past 1 MiB waiting, lines are counted instead of kept, and the count is said once it is read again', async () => {
    const dir = scratch()
    const run = track(
      spawn(process.execPath, [BIN, '--port', '0', '--host', '127.0.0.1', '--dir', path.join(dir, 'in'), '--json', '--max-file-size', '1'], {
        stdio: ['ignore', 'pipe', 'pipe'],
        env: cleanEnv(),
      }),
    )
    await until(() => /"port":(\d+)/.test(run.out()), 10_000, 'listening event', run.out)
    const port = Number(/"port":(\d+)/.exec(run.out())![1])
    run.proc.stderr!.pause()
    // Each refusal is a ✖ line of ~7.6 kB (its long name): 200 of them are 1.5 MB for stderr.
    const long = Array.from({ length: 30 }, (_, i) => `${i}`.padEnd(250, 'x')).join('/')
    const refuse = (i: number) =>
      fetch(`http://127.0.0.1:${port}/${i}/${long}`, { method: 'PUT', body: '12345', signal: AbortSignal.timeout(5_000) }).then((r) => r.status)
    for (let i = 0; i < 200; i++) expect(await refuse(i)).toBe(413)
    expect(run.out().match(/"event":"failed"/g)).toHaveLength(200)
    run.proc.stderr!.resume()
    await sleep(300)
    expect(await refuse(200)).toBe(413)
    await until(() => /not shown/.test(run.err()), 5_000, 'the count', () => run.err().slice(-500))
    run.proc.kill('SIGTERM')
    expect(await withTimeout(run.exited, 10_000, 'CLI exit')).toBe(0)
    const err = run.err()
    const shown = err.match(/^✖ /gm)!.length
    const notShown = Number(/^⚠ (\d+) lines not shown: nothing was taking this output$/m.exec(err)![1])
    expect(shown + notShown).toBe(201)
    expect(notShown).toBeGreaterThan(20)
    expect(err).toMatch(/^Done: 0 files, 0 B from 1 client in .*, 201 failed\.$/m)
  })
})

describe('a refused upload is reported too', () => {
  it('a PUT announcing more than --max-file-size: 413 before the body, and a ✖ line on stderr', async () => {
    const target = path.join(scratch(), 'in')
    const run = track(
      spawn(process.execPath, [BIN, '--port', '0', '--host', '127.0.0.1', '--dir', target, '--max-file-size', '100kB'], {
        stdio: ['ignore', 'pipe', 'pipe'],
        env: cleanEnv(),
      }),
    )
    await until(() => /http:\/\/127\.0\.0\.1:\d+\//.test(run.err()), 10_000, 'banner', run.err)
    const p = Number(/http:\/\/127\.0\.0\.1:(\d+)\//.exec(run.err())![1])
    const res = await fetch(`http://127.0.0.1:${p}/big.iso`, { method: 'PUT', body: new Uint8Array(200_000) })
    expect(res.status).toBe(413)
    await until(() => run.err().includes('✖'), 5_000, 'the ✖ line', run.err)
    run.proc.kill('SIGTERM')
    expect(await withTimeout(run.exited, 5_000, 'exit')).toBe(0)
    const lines = run.err().trimEnd().split('\n')
    expect(lines).toContain('✖ 127.0.0.1  big.iso  FILE_TOO_LARGE  The file is larger than the limit of 100 kB.')
    expect(lines.at(-1)).toMatch(/^Done: 0 files, 0 B from 1 client in .*, 1 failed\.$/)
    expect(run.out()).toBe('')
  })
})

describe.skipIf(!HAVE_SCRIPT || !HAVE_CURL)('the terminal closes (its pty hangs up: SIGHUP)', () => {
  it('a running upload finishes, then the process exits 0 (Node 20 itself died of SIGABRT restoring the dead terminal)', async () => {
    const dir = scratch()
    const result = path.join(dir, 'result.json')
    const file = path.join(dir, 'upload.bin')
    const data = randomBytes(256 * 1024)
    writeFileSync(file, data)
    // The CLI's exit as its parent saw it: a parent on the same terminal that outlives the hangup.
    const wrapper = `
      process.on('SIGHUP', () => {})
      const c = require('child_process').spawn(process.execPath, ${JSON.stringify([BIN, '--port', '0', '--host', '127.0.0.1', '--dir', path.join(dir, 'in'), '--no-qr'])}, { stdio: 'inherit' })
      c.on('exit', (code, sig) => require('fs').writeFileSync(${JSON.stringify(result)}, JSON.stringify({ code, sig })))`
    const run = track(spawn('script', ['-qfec', `${sq(process.execPath)} -e ${sq(wrapper)}`, '/dev/null'], { stdio: ['ignore', 'pipe', 'pipe'], env: cleanEnv() }))
    await until(() => /127\.0\.0\.1:(\d+)/.test(run.out()), 10_000, 'the banner', run.out)
    const port = Number(/127\.0\.0\.1:(\d+)/.exec(run.out())![1])
    // A slow upload in flight when the terminal goes.
    const curl = track(spawn('curl', ['-sS', '--limit-rate', '128k', '-o', '/dev/null', '-w', '%{http_code}', '-T', file, `http://127.0.0.1:${port}/up.bin`], { stdio: ['ignore', 'pipe', 'pipe'] }))
    await until(() => existsSync(path.join(dir, 'in')) && readdirSync(path.join(dir, 'in')).length > 0, 5_000, 'the temp file')
    run.proc.kill('SIGKILL')
    expect(await withTimeout(curl.exited, 10_000, 'curl')).toBe(0)
    expect(curl.out()).toBe('201')
    await until(() => existsSync(result), 10_000, 'the CLI exits')
    expect(JSON.parse(readFileSync(result, 'utf8'))).toEqual({ code: 0, sig: null })
    expect(createHash('sha256').update(readFileSync(path.join(dir, 'in', 'up.bin'))).digest('hex')).toBe(createHash('sha256').update(data).digest('hex'))
  })
})

describe.skipIf(!HAVE_SCRIPT)('the terminal stops taking output (Ctrl-S, a stalled ssh)', () => {
  it('uploads and the page go on; on Ctrl-Q the lines written meanwhile appear, and the stop still says its summary', async () => {
    const dir = scratch()
    const cli = [process.execPath, BIN, '--port', '0', '--host', '127.0.0.1', '--dir', path.join(dir, 'in'), '--no-qr']
    // Stdout on the same terminal too: a stored path is written there.
    const pidFile = path.join(dir, 'pid')
    pidFiles.push(pidFile)
    const cmd = `${cli.map(sq).join(' ')} & p=$!; echo $p > ${sq(pidFile)}; wait $p; echo "exit=$?"`
    const run = track(spawn('script', ['-qfec', cmd, '/dev/null'], { stdio: ['pipe', 'pipe', 'pipe'], env: cleanEnv() }))
    await until(() => /127\.0\.0\.1:(\d+)/.test(run.out()), 10_000, 'the banner', run.out)
    const port = Number(/127\.0\.0\.1:(\d+)/.exec(run.out())![1])
    // The banner's last line is drawn: nothing else is on its way before the first upload.
    await until(() => run.out().includes('Ctrl-C stops.'), 10_000, 'the whole banner', run.out)
    // XOFF, as the terminal's user typing Ctrl-S: the pty takes no more output until XON.
    run.proc.stdin!.write('\x13')
    // What was already past the pty drains; then the output stands still (300 ms without growth).
    let last = -1
    let still = 0
    await until(
      () => {
        const now = run.out().length
        still = now === last ? still + 1 : 0
        last = now
        return still >= 15 // polled every 20 ms
      },
      5_000,
      'the output to stand still',
      run.out,
    )
    const seen = run.out().length
    const put = (name: string) =>
      fetch(`http://127.0.0.1:${port}/${name}`, { method: 'PUT', body: randomBytes(100_000), signal: AbortSignal.timeout(5_000) }).then((r) => r.status)
    for (let i = 1; i <= 5; i++) expect(await put(`while-stopped-${i}.bin`)).toBe(201)
    expect((await fetch(`http://127.0.0.1:${port}/`, { signal: AbortSignal.timeout(5_000) })).status).toBe(200)
    expect(run.out().length).toBe(seen)
    run.proc.stdin!.write('\x11')
    const lines = () => run.out().replace(ESCAPE, '').match(/✔ 127\.0\.0\.1 {2}while-stopped-\d\.bin/g) ?? []
    await until(() => lines().length === 5, 5_000, 'the five lines', run.out)
    process.kill(Number(readFileSync(pidFile, 'utf8')), 'SIGINT')
    await withTimeout(run.exited, 10_000, 'script')
    const text = run.out().replace(ESCAPE, '')
    expect(text).toContain('5 files, 500 kB from 1 client')
    expect(text).toMatch(/exit=0\s*$/)
  })
})
