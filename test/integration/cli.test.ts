// The command line as a user meets it: --help / --version, usage errors (exit 2), environment
// variables, startup failures (exit 1) and what goes to stdout vs stderr (SPEC §1, §2, §7).
import { spawn } from 'node:child_process'
import { chmodSync, closeSync, existsSync, mkdirSync, openSync, readFileSync, writeFileSync } from 'node:fs'
import net from 'node:net'
import path from 'node:path'
import { afterAll, afterEach, describe, expect, it } from 'vitest'
import { BIN, ROOT, removeDir, startCli, tmpDir, withTimeout, type Cli } from '../helpers/cli.js'
import { sleep, until } from '../helpers/fs-walk.js'

const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string }

interface Finished {
  code: number | string
  stdout: string
  stderr: string
}

/** Runs the CLI to its exit (bounded: killed after `ms`, which fails the test). */
function runToExit(args: string[], opts: { env?: NodeJS.ProcessEnv; cwd?: string; ms?: number } = {}): Promise<Finished> {
  const ms = opts.ms ?? 8_000
  const proc = spawn(process.execPath, [BIN, ...args], {
    cwd: opts.cwd ?? ROOT,
    env: { ...process.env, NO_COLOR: '1', ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let stdout = ''
  let stderr = ''
  proc.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d))
  proc.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d))
  const exited = new Promise<Finished>((resolve) =>
    proc.on('close', (code, signal) => resolve({ code: code ?? signal ?? -1, stdout, stderr })),
  )
  return withTimeout(exited, ms, `upload-recv ${args.join(' ')} to exit`).catch((err) => {
    proc.kill('SIGKILL')
    throw new Error(`${(err as Error).message}; stderr so far: ${stderr}`)
  })
}

/** A port that was free a moment ago. */
async function freePort(): Promise<number> {
  const srv = net.createServer()
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r))
  const port = (srv.address() as net.AddressInfo).port
  await new Promise<void>((r) => srv.close(() => r()))
  return port
}

/** stderr is exactly one non-empty line, and not a stack trace. */
function expectOneLine(stderr: string): void {
  expect(stderr.endsWith('\n'), `stderr: ${JSON.stringify(stderr)}`).toBe(true)
  const lines = stderr.slice(0, -1).split('\n')
  expect(lines, `stderr: ${JSON.stringify(stderr)}`).toHaveLength(1)
  expect(lines[0]!.trim().length).toBeGreaterThan(0)
  expect(stderr).not.toMatch(/^\s+at /m)
}

const dirs: string[] = []
afterAll(() => {
  for (const d of dirs) removeDir(d)
})
function scratch(): string {
  const d = tmpDir()
  dirs.push(d)
  return d
}

describe.concurrent('--help and --version', () => {
  it.each(['--help', '-h'])('%s prints usage to stdout and exits 0', async (flag) => {
    const dir = path.join(scratch(), 'never')
    const r = await runToExit([flag, '--dir', dir])
    expect(r.code).toBe(0)
    expect(r.stderr).toBe('')
    expect(r.stdout).toMatch(/^Usage: upload-recv /)
    // Every exit code a script may meet (SPEC §7).
    expect(r.stdout.replace(/\s+/g, ' ')).toMatch(/Exit codes: 0 .*, 1 .*, 2 usage error, 130 a second Ctrl-C/)
    // No server ran: the folder was never created.
    expect(existsSync(dir)).toBe(false)
  })

  it.each(['--help', '--version'])('%s that cannot be written (> /dev/full): one line on stderr, exit 1, as for any lost output', async (flag) => {
    const full = openSync('/dev/full', 'w')
    const proc = spawn(process.execPath, [BIN, flag], { stdio: ['ignore', full, 'pipe'] })
    closeSync(full)
    let stderr = ''
    proc.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d))
    const code = await withTimeout(new Promise((r) => proc.on('close', (c) => r(c))), 8_000, 'exit')
    expect(code).toBe(1)
    expect(stderr).toBe('upload-recv: cannot write to standard output (ENOSPC).\n')
  })

  it('--help into a pipe that is nearly full waits for its reader (all of it arrives, exit 0)', async () => {
    const script = `{ head -c 64000 /dev/zero; "${process.execPath}" "${BIN}" --help; echo "rc=$?" >&2; } | (sleep 1; wc -c)`
    const proc = spawn('bash', ['-c', script], { stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    let err = ''
    proc.stdout.setEncoding('utf8').on('data', (d: string) => (out += d))
    proc.stderr.setEncoding('utf8').on('data', (d: string) => (err += d))
    await withTimeout(new Promise((r) => proc.on('close', r)), 8_000, 'exit')
    const help = (await runToExit(['--help'])).stdout
    expect(err).toBe('rc=0\n')
    expect(Number(out.trim())).toBe(64000 + Buffer.byteLength(help))
  })

  it.each([['--bogus', '--version'], ['--version', '--bogus'], ['-h', '--dri', 'x'], ['-qh', '--bogus'], ['--bogus', '-qV']])(
    'an unknown flag beside %s is still a usage error (exit 2, nothing on stdout)',
    async (...args) => {
      const r = await runToExit(args)
      expect(r.code).toBe(2)
      expect(r.stdout).toBe('')
      expect(r.stderr).toMatch(/^upload-recv: unknown option '--(bogus|dri)'.*\n$/)
    },
  )

  it('-qh and -qV run together still print help and the version; so do -hq and -hV', async () => {
    for (const flags of ['-qh', '-hq', '-hp', '-qhp']) {
      const help = await runToExit([flags, ...(flags.endsWith('p') ? ['80'] : [])])
      expect(help.code, flags).toBe(0)
      expect(help.stdout).toMatch(/^Usage: upload-recv/)
    }
    for (const flags of ['-hV', '-qhV']) expect((await runToExit([flags])).code, flags).toBe(0)
    const version = await runToExit(['-qV'])
    expect(version.code).toBe(0)
    expect(version.stdout).toMatch(/^\d+\.\d+\.\d+\n$/)
  })

  it('-V or -h as the value of a flag is that value, not a request for the version or help', async () => {
    const c = await startCli(['--token', '-V'])
    try {
      const r = await fetch(`${c.url}/v.txt`, { method: 'PUT', body: 'x', headers: { Authorization: 'Bearer -V' } })
      expect(r.status).toBe(201)
    } finally {
      await c.stop()
      removeDir(path.dirname(c.dir))
    }
  })

  it('lists every SPEC §1 flag, with the defaults of those that take a value', async () => {
    const r = await runToExit(['--help'])
    expect(r.code).toBe(0)
    // One entry per option: its first line starts with "  -", continuation lines are indented deeper.
    const entries = new Map<string, string>()
    let current: string | null = null
    for (const line of r.stdout.split('\n')) {
      const m = /^ {2}(-[^ ].*?)(?: {2,}(.*))?$/.exec(line)
      if (m) {
        current = m[1]!.trim()
        entries.set(current, (m[2] ?? '').trim())
      } else if (current !== null && /^ {4,}\S/.test(line)) {
        entries.set(current, `${entries.get(current)!} ${line.trim()}`)
      } else {
        current = null
      }
    }
    const flags = [
      '-p, --port <n>',
      '-H, --host <addr>',
      '-d, --dir <path>',
      '--max-file-size <size>',
      '--max-files <n>',
      '--allow <list>',
      '--overwrite',
      '--flat',
      '--token <secret>',
      '--auth <user:pass>',
      '--tls-cert <file>',
      '--tls-key <file>',
      '--timeout <seconds>',
      '--max-connections <n>',
      '--once',
      '--stdout',
      '--json',
      '-q, --quiet',
      '--no-qr',
      '-V, --version',
      '-h, --help',
    ]
    for (const f of flags) expect([...entries.keys()], `help lists ${f}`).toContain(f)
    const defaults: Array<[string, string]> = [
      ['-p, --port <n>', '4000'],
      ['-H, --host <addr>', '0.0.0.0'],
      ['-d, --dir <path>', '.'],
      ['--max-file-size <size>', 'unlimited'],
      ['--max-files <n>', 'unlimited'],
      ['--allow <list>', 'everything'],
      ['--timeout <seconds>', '60'],
      ['--max-connections <n>', '256'],
    ]
    for (const [flag, value] of defaults) {
      const escaped = value.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
      expect(entries.get(flag), `default of ${flag}`).toMatch(new RegExp(`default: "?${escaped}"?[,)]`))
    }
    // The environment-variable form is documented too.
    expect(r.stdout).toContain('UPLOAD_RECV_')
  })

  it.each(['--version', '-V'])("%s prints package.json's version and exits 0", async (flag) => {
    const r = await runToExit([flag])
    expect(r.code).toBe(0)
    expect(r.stdout).toBe(`${pkg.version}\n`)
    expect(r.stderr).toBe('')
  })
})

// Each case is its own short-lived process, independent of the others: run them side by side.
describe.concurrent('usage errors: exit 2, one line on stderr, nothing listening', () => {
  const cases: Array<[string, string[]]> = [
    ['an unknown flag', ['--bogus']],
    ['an unknown short flag', ['-z']],
    ['--port 70000', ['--port', '70000']],
    ['--port abc', ['--port', 'abc']],
    ['--port without a value', ['--port']],
    ['--max-file-size 12XB', ['--max-file-size', '12XB']],
    ['--max-files 0', ['--max-files', '0']],
    ['--timeout -1', ['--timeout', '-1']],
    ['--timeout 0', ['--timeout', '0']],
    ['--max-connections 0', ['--max-connections', '0']],
    ['--allow foo', ['--allow', 'foo']],
    ['--tls-cert x without --tls-key', ['--tls-cert', 'x']],
    ['--tls-key x without --tls-cert', ['--tls-key', 'x']],
    ['--stdout --json', ['--stdout']],
    ['--auth without a colon', ['--auth', 'user']],
    ['--auth with neither user nor password', ['--auth', ':']],
    ['a URL as --host', ['--host', 'http://laptop:4000/']],
    ['an empty --token', ['--token', '']],
    ['a stray argument', ['extra']],
    ['host:port as --host', ['--host', '127.0.0.1:8080']],
    ['a --timeout that rounds to 0 ms', ['--timeout', '0.0004']],
    ['--dir followed by a flag, not a folder', ['--dir', '--quiet']],
    ['-d followed by a flag', ['-d', '-q']],
    ['--dir followed by a mistyped flag', ['--dir', '--jsn']],
    ['a switch given a value', ['--once', 'true']],
  ]

  it.each(cases)('%s', async (_what, bad) => {
    const dir = path.join(scratch(), 'in')
    // --json is on, so a `listening` event would show on stdout had anything started.
    const r = await runToExit(['--host', '127.0.0.1', '--port', '0', '--json', '--dir', dir, ...bad])
    expect(r.code).toBe(2)
    expectOneLine(r.stderr)
    expect(r.stdout).toBe('')
    // Refused before run(): the target folder was not even created.
    expect(existsSync(dir)).toBe(false)
  })

  it('a --dir whose bytes are not UTF-8 (caf\\xe9, as a Latin-1 system names it) is refused, not made anew as caf\\ufffd', async () => {
    const root = scratch()
    mkdirSync(Buffer.from(`${root}/caf\xe9`, 'latin1'))
    // Node's own argv cannot carry such bytes: a shell's printf puts them on the command line.
    const proc = spawn('sh', ['-c', `exec "$0" "$1" --host 127.0.0.1 --port 0 --json --dir "$(printf 'caf\\351')"`, process.execPath, BIN], {
      cwd: root,
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let stdout = ''
    let stderr = ''
    proc.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d))
    proc.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d))
    const code = await withTimeout(new Promise((r) => proc.on('close', r)), 8_000, 'exit').catch((err) => {
      proc.kill('SIGKILL')
      throw err
    })
    expect(code).toBe(2)
    expect(stderr).toMatch(/^upload-recv: --dir: the path is not valid UTF-8/)
    expect(stdout).toBe('')
    expect(existsSync(path.join(root, 'caf\ufffd'))).toBe(false)
  })

  it('a stray word is named, with the likeliest fix: a folder given without --dir', async () => {
    const r = await runToExit(['--port', '0', './in'])
    expect(r.code).toBe(2)
    expect(r.stderr).toBe('upload-recv: unexpected argument "./in": only options are taken (to store files in it, give --dir "./in")\n')
    // The same beside --help, which is checked before it prints.
    expect((await runToExit(['-h', './in'])).stderr).toContain('unexpected argument "./in"')
    // A switch's value that is another flag's value is no switch's: no hint at all, not a wrong one.
    expect((await runToExit(['--port', '0', '--token', '--once', 'true'])).stderr).toBe('upload-recv: unexpected argument "true": only options are taken\n')
    // A group with something other than letters is left whole for commander: one clear line.
    expect((await runToExit(['-q😀'])).stderr).toBe("upload-recv: unknown option '-😀'\n")
    const emoji = await runToExit(['-😀x'])
    expect([emoji.code, emoji.stderr]).toEqual([2, "upload-recv: unknown option '-😀x'\n"])
    // A switch given a value is told so, not sent to --dir.
    expect((await runToExit(['--port', '0', '--once', 'true'])).stderr).toBe(
      'upload-recv: unexpected argument "true": --once takes no value (leave "true" out)\n',
    )
  })

  it('a stray word after --auth or --token is not printed: it may be the second half of the secret', async () => {
    for (const args of [['--auth', 'bob', 'hunter2'], ['--token', 'correct', 'horse'], ['--token=correct', 'horse']]) {
      const r = await runToExit(['--port', '0', ...args])
      expect(r.code).toBe(2)
      expect(r.stderr).toMatch(/^upload-recv: a word after --(auth|token)'s value is not an option: --\1 takes one word.*quote it/)
      expect(r.stderr).not.toMatch(/hunter2|horse/)
    }
  })

  it('host:port as --host names the mistake instead of blaming DNS', async () => {
    const r = await runToExit(['--port', '0', '--dir', path.join(scratch(), 'in'), '--host', 'localhost:8080'])
    expect(r.code).toBe(2)
    expect(r.stderr).toMatch(/--host: "localhost:8080" .*--port/)
  })

  it('--stdout and --json both from the environment: the usage error says where each came from', async () => {
    const r = await runToExit(['--dir', path.join(scratch(), 'in')], { env: { UPLOAD_RECV_JSON: '1', UPLOAD_RECV_STDOUT: '1' } })
    expect(r.code).toBe(2)
    expect(r.stderr).toBe(
      'upload-recv: --stdout (UPLOAD_RECV_STDOUT) and --json both want standard output; choose one (--json was set by UPLOAD_RECV_JSON).\n',
    )
  })

  it('--stdout on the command line wins over an exported UPLOAD_RECV_JSON: the file goes to stdout, no JSON', async () => {
    const c = await startCli(['--stdout'], { json: false, env: { UPLOAD_RECV_JSON: '1' } })
    try {
      const r = await fetch(`${c.url}/a.txt`, { method: 'PUT', body: 'the bytes' })
      expect(r.status).toBe(201)
      expect(await withTimeout(c.exited, 10_000, 'exit')).toBe(0)
      expect(c.stdout()).toBe('the bytes')
    } finally {
      await c.stop().catch(() => undefined)
      removeDir(path.dirname(c.dir))
    }
  })

  it('--json on the command line wins over an exported UPLOAD_RECV_STDOUT', async () => {
    const c = await startCli([], { env: { UPLOAD_RECV_STDOUT: '1' } })
    try {
      const r = await fetch(`${c.url}/a.txt`, { method: 'PUT', body: 'the bytes' })
      expect(r.status).toBe(201)
      await c.waitForEvent((e) => e.event === 'stored' && e.name === 'a.txt')
      expect(readFileSync(path.join(c.dir, 'a.txt'), 'utf8')).toBe('the bytes')
    } finally {
      await c.stop().catch(() => undefined)
      removeDir(path.dirname(c.dir))
    }
  })

  it('UPLOAD_RECV_PORT=abc is a usage error too', async () => {
    const dir = path.join(scratch(), 'in')
    const r = await runToExit(['--host', '127.0.0.1', '--json', '--dir', dir], { env: { UPLOAD_RECV_PORT: 'abc' } })
    expect(r.code).toBe(2)
    expectOneLine(r.stderr)
    // Named as it was given: nobody typed --port.
    expect(r.stderr).toBe('upload-recv: --port (UPLOAD_RECV_PORT): "abc" is not a port number (0-65535; 0 picks a free one)\n')
    expect(r.stdout).toBe('')
    expect(existsSync(dir)).toBe(false)
  })

  it('UPLOAD_RECV_FLAT=banana is a usage error, not "on"', async () => {
    const dir = path.join(scratch(), 'in')
    const r = await runToExit(['--host', '127.0.0.1', '--port', '0', '--json', '--dir', dir], { env: { UPLOAD_RECV_FLAT: 'banana' } })
    expect(r.code).toBe(2)
    expectOneLine(r.stderr)
    expect(r.stderr).toContain('UPLOAD_RECV_FLAT=banana')
    expect(r.stdout).toBe('')
    expect(existsSync(dir)).toBe(false)
  })

  it('UPLOAD_RECV_MAX_FILE_SIZE=12XB is a usage error', async () => {
    const dir = path.join(scratch(), 'in')
    const r = await runToExit(['--host', '127.0.0.1', '--port', '0', '--json', '--dir', dir], {
      env: { UPLOAD_RECV_MAX_FILE_SIZE: '12XB' },
    })
    expect(r.code).toBe(2)
    expectOneLine(r.stderr)
    expect(r.stderr).toMatch(/^upload-recv: --max-file-size \(UPLOAD_RECV_MAX_FILE_SIZE\): invalid size "12XB"/)
    expect(r.stdout).toBe('')
  })

  it('--dir under a file: exit 1, and the line names the file in the way', async () => {
    const file = path.join(scratch(), 'notes.txt')
    writeFileSync(file, 'x')
    const r = await runToExit(['--host', '127.0.0.1', '--port', '0', '--dir', path.join(file, 'in', 'deeper')])
    expect(r.code).toBe(1)
    expectOneLine(r.stderr)
    expect(r.stderr).toBe(`upload-recv: cannot create --dir ${path.join(file, 'in', 'deeper')}: ${file} is a file, not a folder; point --dir elsewhere.\n`)
  })

  it('UPLOAD_RECV_DIR naming a file: exit 1, and the line says where the folder came from', async () => {
    const file = path.join(scratch(), 'a-file')
    writeFileSync(file, 'x')
    const r = await runToExit(['--host', '127.0.0.1', '--port', '0', '--json'], { env: { UPLOAD_RECV_DIR: file } })
    expect(r.code).toBe(1)
    expectOneLine(r.stderr)
    expect(r.stderr).toMatch(/^upload-recv: --dir \(UPLOAD_RECV_DIR\) .*a-file is not a folder/)
  })
})

describe('running servers', () => {
  let cli: Cli | null = null
  afterEach(async () => {
    if (cli) {
      await cli.stop().catch(() => cli!.proc.kill('SIGKILL'))
      cli = null
    }
  })

  const put = (url: string, body: string) =>
    withTimeout(fetch(url, { method: 'PUT', body }), 5_000, `PUT ${url}`).then(async (r) => ({
      status: r.status,
      body: (await r.json()) as Record<string, unknown>,
    }))

  describe('environment variables', () => {
    it('UPLOAD_RECV_MAX_FILE_SIZE=10 applies: 11 bytes get 413, 10 bytes are stored', async () => {
      cli = await startCli([], { dir: path.join(scratch(), 'in'), env: { UPLOAD_RECV_MAX_FILE_SIZE: '10' } })
      const big = await put(`${cli.url}/eleven.txt`, '01234567890')
      expect(big.status).toBe(413)
      expect((big.body.error as { code: string }).code).toBe('FILE_TOO_LARGE')
      expect(existsSync(path.join(cli.dir, 'eleven.txt'))).toBe(false)
      const ok = await put(`${cli.url}/ten.txt`, '0123456789')
      expect(ok.status).toBe(201)
      expect(readFileSync(path.join(cli.dir, 'ten.txt'), 'utf8')).toBe('0123456789')
    })

    it('a flag on the command line wins over the environment', async () => {
      cli = await startCli(['--max-file-size', '100'], {
        dir: path.join(scratch(), 'in'),
        // --port 0 on the command line also wins over a port that would be a usage error.
        env: { UPLOAD_RECV_MAX_FILE_SIZE: '10', UPLOAD_RECV_PORT: 'abc' },
      })
      const r = await put(`${cli.url}/eleven.txt`, '01234567890')
      expect(r.status).toBe(201)
      expect(readFileSync(path.join(cli.dir, 'eleven.txt'), 'utf8')).toBe('01234567890')
    })
  })

  it('a --max-file-size past the units sizes are written in (1000TB) still starts, and its page says the limit', async () => {
    cli = await startCli(['--max-file-size', '1000TB'], { dir: path.join(scratch(), 'in') })
    const page = await fetch(`${cli.url}/`)
    expect(page.status).toBe(200)
    expect(await page.text()).toContain('1000 TB')
  })

  it('a misspelt UPLOAD_RECV_ variable is named on stderr (its setting is off), and the server runs', async () => {
    cli = await startCli([], { dir: path.join(scratch(), 'in'), env: { UPLOAD_RECV_MAXFILESIZE: '10' } })
    expect(cli.stderr()).toContain('upload-recv: warning: UPLOAD_RECV_MAXFILESIZE is not a setting and is ignored')
    expect(cli.stdout()).not.toContain('UPLOAD_RECV')
    expect((await put(`${cli.url}/eleven.txt`, '01234567890')).status).toBe(201)
  })

  describe('boolean flags from the environment', () => {
    it('UPLOAD_RECV_OVERWRITE=0 (or false, off, no, empty) does not turn --overwrite on', async () => {
      for (const value of ['0', 'false', 'OFF', 'no', '']) {
        cli = await startCli([], { dir: path.join(scratch(), 'in'), env: { UPLOAD_RECV_OVERWRITE: value } })
        writeFileSync(path.join(cli.dir, 'keep.txt'), 'old')
        const r = await put(`${cli.url}/keep.txt`, 'new')
        expect(r.status, `UPLOAD_RECV_OVERWRITE=${JSON.stringify(value)}`).toBe(201)
        expect(readFileSync(path.join(cli.dir, 'keep.txt'), 'utf8'), `UPLOAD_RECV_OVERWRITE=${JSON.stringify(value)}`).toBe('old')
        expect(readFileSync(path.join(cli.dir, 'keep (1).txt'), 'utf8')).toBe('new')
        expect(await cli.stop()).toBe(0)
        cli = null
      }
    })

    it('UPLOAD_RECV_OVERWRITE=1 turns --overwrite on', async () => {
      cli = await startCli([], { dir: path.join(scratch(), 'in'), env: { UPLOAD_RECV_OVERWRITE: '1' } })
      writeFileSync(path.join(cli.dir, 'keep.txt'), 'old')
      expect((await put(`${cli.url}/keep.txt`, 'new')).status).toBe(201)
      expect(readFileSync(path.join(cli.dir, 'keep.txt'), 'utf8')).toBe('new')
      expect(existsSync(path.join(cli.dir, 'keep (1).txt'))).toBe(false)
    })

    it('UPLOAD_RECV_JSON=0 leaves stdout plain, UPLOAD_RECV_JSON=true makes it JSON', async () => {
      const cwd = scratch()
      cli = await startCli([], { json: false, dir: 'in', cwd, env: { UPLOAD_RECV_JSON: '0' } })
      await sleep(100)
      expect(cli.stdout()).toBe('')
      expect(await cli.stop()).toBe(0)
      cli = await startCli([], { json: true, jsonFlag: false, dir: path.join(cwd, 'j'), env: { UPLOAD_RECV_JSON: 'true' } })
      // No --json on this command line: only the variable can have made the listening event.
      expect(cli.proc.spawnargs).not.toContain('--json')
      expect(cli.events[0]!.event).toBe('listening')
    })
  })

  describe('stdout carries data only', () => {
    it('a plain run prints nothing on stdout until a file is stored, then "<dir as given>/<name>"', async () => {
      const cwd = scratch()
      cli = await startCli([], { json: false, dir: 'in', cwd })
      // The banner (with the URL) went to stderr; stdout is silent.
      expect(cli.stderr()).toContain(`http://127.0.0.1:${cli.port}/`)
      await sleep(150)
      expect(cli.stdout()).toBe('')
      expect((await put(`${cli.url}/hello.txt`, 'hi')).status).toBe(201)
      const c = cli
      await until(() => c.stdout() === 'in/hello.txt\n', 3_000, 'stored path on stdout', () =>
        JSON.stringify(c.stdout()),
      )
      expect(readFileSync(path.join(cwd, 'in', 'hello.txt'), 'utf8')).toBe('hi')
      // A second file of the same name: the path as stored.
      expect((await put(`${cli.url}/hello.txt`, 'again')).status).toBe(201)
      await until(() => c.stdout().split('\n').length >= 3, 3_000, 'second stored path', () =>
        JSON.stringify(c.stdout()),
      )
      expect(cli.stdout()).toBe('in/hello.txt\nin/hello (1).txt\n')
      expect(await cli.stop()).toBe(0)
      // Nothing else was added on the way out (the summary is for stderr).
      expect(cli.stdout()).toBe('in/hello.txt\nin/hello (1).txt\n')
      expect(cli.stdout()).not.toContain('http://')
    })

    it('--quiet prints no banner and no progress, while stdout still gets the path and stderr a failed upload', async () => {
      const cwd = scratch()
      const port = await freePort()
      const proc = spawn(process.execPath, [BIN, '--host', '127.0.0.1', '--port', String(port), '--dir', 'q', '--quiet', '--max-file-size', '5'], {
        cwd,
        env: { ...process.env, NO_COLOR: '1' },
        stdio: ['ignore', 'pipe', 'pipe'],
      })
      let out = ''
      let err = ''
      proc.stdout.setEncoding('utf8').on('data', (d: string) => (out += d))
      proc.stderr.setEncoding('utf8').on('data', (d: string) => (err += d))
      const exited = new Promise<number | string>((r) => proc.on('exit', (code, sig) => r(code ?? sig ?? -1)))
      try {
        // No banner to read the port from: poll until it accepts.
        await until(
          () =>
            new Promise<boolean>((resolve) => {
              const s = net.connect({ host: '127.0.0.1', port }, () => {
                s.destroy()
                resolve(true)
              })
              s.on('error', () => resolve(false))
            }),
          8_000,
          'quiet server accepting',
          () => err,
        )
        expect(err).toBe('')
        expect(out).toBe('')
        expect((await put(`http://127.0.0.1:${port}/quiet.txt`, 'shh')).status).toBe(201)
        await until(() => out === 'q/quiet.txt\n', 3_000, 'stored path on stdout', () => JSON.stringify(out))
        expect(err).not.toContain('http://')
        expect(err).not.toContain('quiet.txt')
        // An upload that fails is an error: "errors still go to stderr" (SPEC §1), one line.
        expect((await put(`http://127.0.0.1:${port}/too-big.txt`, 'six b!')).status).toBe(413)
        await until(() => err.includes('\n'), 3_000, 'the failed line on stderr', () => JSON.stringify(err))
        expect(err).toMatch(/^✖ 127\.0\.0\.1 {2}too-big\.txt {2}FILE_TOO_LARGE {2}.+\n$/)
        err = ''
        proc.kill('SIGTERM')
        expect(await withTimeout(exited, 5_000, 'quiet exit')).toBe(0)
        expect(out).toBe('q/quiet.txt\n')
        expect(err).not.toContain('http://')
        expect(err).not.toContain('quiet.txt')
      } finally {
        if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL')
      }
    })

    it('without --quiet the banner on stderr names the version and the URL; --json keeps it off stdout', async () => {
      cli = await startCli([], { dir: path.join(scratch(), 'in') })
      const c = cli
      // The banner may follow the `listening` event by a moment.
      await until(() => c.stderr().includes(`http://127.0.0.1:${c.port}/`), 5_000, 'banner on stderr', () =>
        c.stderr(),
      )
      expect(cli.stderr(), cli.stderr()).toContain(pkg.version)
      const lines = cli.stdout().trim().split('\n')
      expect(lines, cli.stdout()).toHaveLength(1)
      expect(JSON.parse(lines[0]!)).toMatchObject({
        event: 'listening',
        port: cli.port,
        urls: [`http://127.0.0.1:${cli.port}/`],
      })
    })
  })
})

describe('--host as people write it: `listening` names the address bound (SPEC §6)', () => {
  const urlsFor = async (host: string) => {
    const c = await startCli(['--host', host], { dir: path.join(scratch(), 'in') })
    try {
      return { port: c.port, urls: c.events[0]!.urls as string[] }
    } finally {
      await c.stop()
    }
  }

  it('127.1 is 127.0.0.1; 0x7f.1 too', async () => {
    const a = await urlsFor('127.1')
    expect(a.urls).toEqual([`http://127.0.0.1:${a.port}/`])
    // Letters, but a number all the same (hex, as inet_aton reads it): the address bound.
    const c = await urlsFor('0x7f.1')
    expect(c.urls).toEqual([`http://127.0.0.1:${c.port}/`])
  })

  it('[::1], as in a URL, is ::1', async (ctx) => {
    // Containers and CI hosts may run without IPv6, where ::1 cannot be bound at all.
    const v6 = await new Promise<boolean>((resolve) => {
      const probe = net.createServer()
      probe.once('error', () => resolve(false))
      probe.listen(0, '::1', () => probe.close(() => resolve(true)))
    })
    if (!v6) return ctx.skip('no IPv6 loopback on this machine')
    const b = await urlsFor('[::1]')
    expect(b.urls).toEqual([`http://[::1]:${b.port}/`])
  })

  it('a host name is kept as typed: it is what a TLS certificate names', async () => {
    const a = await urlsFor('localhost')
    expect(a.urls).toEqual([`http://localhost:${a.port}/`])
  })

  it('0 is the wildcard: the same URLs as 0.0.0.0, one per interface, none with the host as typed', async () => {
    const zero = await urlsFor('0')
    const wild = await urlsFor('0.0.0.0')
    expect(zero.urls.map((u) => u.replace(`:${zero.port}/`, ':P/'))).toEqual(wild.urls.map((u) => u.replace(`:${wild.port}/`, ':P/')))
    expect(zero.urls.join(' ')).not.toContain('://0:')
  })
})

describe.concurrent('startup failures: exit 1, one line, no stack trace', () => {
  const base = (dir: string) => ['--host', '127.0.0.1', '--port', '0', '--json', '--dir', dir]

  it('the port is in use', async () => {
    const srv = net.createServer()
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r))
    const port = (srv.address() as net.AddressInfo).port
    try {
      const r = await runToExit([...base(path.join(scratch(), 'in')), '--port', String(port)])
      expect(r.code).toBe(1)
      expectOneLine(r.stderr)
      expect(r.stderr).toContain(String(port))
      expect(r.stdout).toBe('')
    } finally {
      await new Promise<void>((r) => srv.close(() => r()))
    }
  })

  it('--dir is an existing file', async () => {
    const file = path.join(scratch(), 'not-a-folder')
    writeFileSync(file, 'x')
    const r = await runToExit(base(file))
    expect(r.code).toBe(1)
    expectOneLine(r.stderr)
    expect(r.stdout).toBe('')
    expect(readFileSync(file, 'utf8')).toBe('x')
  })

  it('--dir runs through an existing file', async () => {
    const file = path.join(scratch(), 'not-a-folder')
    writeFileSync(file, 'x')
    const r = await runToExit(base(path.join(file, 'sub')))
    expect(r.code).toBe(1)
    expectOneLine(r.stderr)
    expect(r.stdout).toBe('')
  })

  it('--dir is not writable', async (ctx) => {
    if (process.getuid?.() === 0) ctx.skip('running as root: root can write to any folder, so nothing refuses')
    const dir = path.join(scratch(), 'locked')
    mkdirSync(dir)
    chmodSync(dir, 0o500)
    try {
      const r = await runToExit(base(dir))
      expect(r.code).toBe(1)
      expectOneLine(r.stderr)
      expect(r.stdout).toBe('')
    } finally {
      chmodSync(dir, 0o700)
    }
  })

  it('--dir where no file can be made though access(W_OK) says yes (/proc, root included)', async (ctx) => {
    if (!existsSync('/proc/self')) ctx.skip('no /proc here')
    const r = await runToExit(base('/proc'))
    expect(r.code).toBe(1)
    expectOneLine(r.stderr)
    expect(r.stderr).toContain('not writable')
    expect(r.stdout).toBe('')
  })

  it('--dir that mkdir(2) refuses with ENOENT (/proc/<new>): exit 1, not the busy loop of mkdir -p in Node', async (ctx) => {
    if (!existsSync('/proc/self')) ctx.skip('no /proc here')
    const r = await runToExit(base('/proc/upload-recv-no-such-folder/in'), { ms: 10_000 })
    expect(r.code).toBe(1)
    expectOneLine(r.stderr)
    expect(r.stderr).toContain('/proc/upload-recv-no-such-folder/in')
    expect(r.stdout).toBe('')
  })

  it('--tls-cert cannot be read', async () => {
    const d = scratch()
    writeFileSync(path.join(d, 'key.pem'), 'not really a key')
    const r = await runToExit([...base(path.join(d, 'in')), '--tls-cert', path.join(d, 'missing.pem'), '--tls-key', path.join(d, 'key.pem')])
    expect(r.code).toBe(1)
    expectOneLine(r.stderr)
    expect(r.stderr).toContain('--tls-cert')
    expect(r.stdout).toBe('')
    // Read before --dir is made: nothing is left behind.
    expect(existsSync(path.join(d, 'in'))).toBe(false)
  })

  it('--tls-key cannot be read', async () => {
    const d = scratch()
    writeFileSync(path.join(d, 'cert.pem'), 'not really a cert')
    const r = await runToExit([...base(path.join(d, 'in')), '--tls-cert', path.join(d, 'cert.pem'), '--tls-key', path.join(d, 'missing.pem')])
    expect(r.code).toBe(1)
    expectOneLine(r.stderr)
    expect(r.stderr).toContain('--tls-key')
    expect(r.stdout).toBe('')
  })

  it('--tls-cert is a folder', async () => {
    const d = scratch()
    const r = await runToExit([...base(path.join(d, 'in')), '--tls-cert', d, '--tls-key', d])
    expect(r.code).toBe(1)
    expectOneLine(r.stderr)
    expect(r.stdout).toBe('')
  })

  it('the TLS files are readable but not PEM', async () => {
    const d = scratch()
    writeFileSync(path.join(d, 'cert.pem'), 'not really a cert')
    writeFileSync(path.join(d, 'key.pem'), 'not really a key')
    const r = await runToExit([...base(path.join(d, 'in')), '--tls-cert', path.join(d, 'cert.pem'), '--tls-key', path.join(d, 'key.pem')])
    expect(r.code).toBe(1)
    expectOneLine(r.stderr)
    expect(r.stdout).toBe('')
  })
})
