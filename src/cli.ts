// The command line: flags (each also readable from UPLOAD_RECV_<FLAG>), exit codes 0 / 1 / 2.
import { Command, CommanderError, Option } from 'commander'
import { closeSync, fstatSync, openSync, readFileSync } from 'node:fs'
import { parseConfig, type RawOptions } from './config.js'
import { takeHeldSignals } from './early-signals.js'
import { StartupError, UsageError } from './errors.js'
import { run } from './run.js'
import { unblockTerminal } from './report/tty-writes.js'
import { STOP_SIGNALS } from './signals.js'

const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }

/** `--max-file-size` -> `UPLOAD_RECV_MAX_FILE_SIZE`, derived so the two can never drift apart. */
const envName = (long: string) => `UPLOAD_RECV_${long.replace(/-/g, '_').toUpperCase()}`

function option(flags: string, description: string, defaultText?: string): Option {
  const long = /--([a-z-]+)/.exec(flags)![1]!
  // The default goes into the description: commander only prints a default whose value is defined,
  // and ours must stay undefined so parseConfig can tell "not given" (and the env var) apart.
  const text = defaultText === undefined ? description : `${description} (default: ${defaultText})`
  return new Option(flags, text).env(envName(long))
}

/** `out` receives what --help and --version print; main() writes it out and reports a failure. */
function buildProgram(out: (text: string) => void = () => {}): Command {
  return new Command('upload-recv')
    .description('Receive files over HTTP into a folder: from a phone browser, curl or a script.')
    .version(pkg.version, '-V, --version')
    .helpOption('-h, --help', 'show this help')
    .addOption(option('-p, --port <n>', 'TCP port; 0 picks a free one', '4000'))
    .addOption(option('-H, --host <addr>', 'address to bind (IPv4, IPv6 or hostname)', '0.0.0.0'))
    .addOption(option('-d, --dir <path>', 'folder to store files in; created if missing', '.'))
    .addOption(option('--max-file-size <size>', 'largest file accepted: 123, 10kB, 5MB, 1.5GiB (kB/MB/GB are 1000s, KiB/MiB/GiB 1024s)', 'unlimited'))
    .addOption(option('--max-files <n>', 'most files in one request', 'unlimited'))
    .addOption(option('--allow <list>', 'accepted types, as HTML accept: image/*,.pdf,text/plain', 'everything'))
    .addOption(option('--overwrite', 'replace an existing file of the same name (atomically)'))
    .addOption(option('--flat', 'ignore folders in client names and URLs: every file lands directly in --dir'))
    .addOption(option('--token <secret>', 'require this secret (header, ?token= or cookie)'))
    .addOption(option('--auth <user:pass>', 'require HTTP Basic credentials'))
    .addOption(option('--tls-cert <file>', 'serve HTTPS with this PEM certificate (needs --tls-key)'))
    .addOption(option('--tls-key <file>', 'PEM private key for --tls-cert'))
    .addOption(option('--timeout <seconds>', 'drop a client silent this long (408); the request head must arrive within it', '60'))
    .addOption(option('--max-connections <n>', 'open connections at once; more get 503', '256'))
    .addOption(option('--once', 'exit after the first request that stored a file'))
    .addOption(option('--stdout', "write the first file's bytes to standard output instead of --dir; implies --once; not with --json"))
    .addOption(option('--json', 'machine-readable events on standard output, one JSON object per line'))
    .addOption(option('-q, --quiet', 'no banner, progress or summary; errors, warnings and what Ctrl-C does still go to stderr'))
    .addOption(option('--no-qr', 'no QR code in the banner', 'shown on a terminal wide enough'))
    .addHelpText(
      'after',
      `
Examples:
  upload-recv --dir ./in                      open http://<this machine>:4000/ on a phone
  curl -T photo.jpg http://host:4000/         raw upload, stored as photo.jpg
  curl -F file=@a.pdf -F file=@b.pdf http://host:4000/docs/
  upload-recv --stdout > backup.tar           receive one file into a file (or | a pipeline)

Every flag but -h and -V can also come from the environment as UPLOAD_RECV_<FLAG>,
e.g. UPLOAD_RECV_TOKEN (the command line wins).
Standard output carries only stored paths (or --json events, or --stdout bytes).
Exit codes: 0 done, 1 the environment refused (port in use, folder not writable) or standard
output could not be written, 2 usage error, 130 a second Ctrl-C aborted running uploads (or a
Ctrl-C ended the wait for standard output's reader).`,
    )
    .exitOverride()
    .configureOutput({
      // Kept, and written by main(): commander's exit would otherwise come before a failed write
      // (`--help > /dev/full`) is known.
      writeOut: out,
      // One line per usage error (SPEC §1); commander's hint goes on the same line.
      // A stray word is told by main(), which can name it.
      outputError: (str, write) =>
        /^error: too many arguments/.test(str) ? undefined : write(`upload-recv: ${str.replace(/^error: /, '').trim().replace(/\n+/g, ' ')}\n`),
    })
}

/**
 * commander turns a boolean flag on whenever its variable exists, whatever the value: a script's
 * UPLOAD_RECV_OVERWRITE=0 would replace files, and UPLOAD_RECV_NO_QR=0 hid the QR code. Empty, 0,
 * false, no and off mean "not given"; 1, true, yes and on mean given; anything else is a usage error.
 */
function envSwitches(program: Command): void {
  for (const opt of program.options) {
    if (opt.required || opt.optional || opt.envVar === undefined) continue
    const key = opt.attributeName()
    if (program.getOptionValueSource(key) !== 'env') continue
    const value = (process.env[opt.envVar] ?? '').trim()
    if (/^(?:1|true|yes|on)$/i.test(value)) continue
    if (!/^(?:0|false|no|off)?$/i.test(value)) {
      throw new UsageError(`${opt.envVar}=${value}: use 1 or 0 (true/false, yes/no, on/off)`)
    }
    // A --no-x flag's default is true: "not given" puts that back.
    program.setOptionValueWithSource(key, opt.negate ? true : undefined, 'default')
  }
}

/**
 * `--dir --json` gives --dir the value `--json` (getopt does the same) and made a folder of that
 * name, with no JSON. A secret may be anything (`--token -V`); no folder, address or number is
 * spelt like one of our flags.
 */
function checkFlagAsValue(program: Command): void {
  const flags = new Set([...program.options.flatMap((o) => [o.long, o.short]), '-h', '--help'])
  for (const opt of program.options) {
    if (!opt.required || opt.long === '--token' || opt.long === '--auth') continue
    const value: unknown = program.getOptionValue(opt.attributeName())
    if (typeof value !== 'string' || program.getOptionValueSource(opt.attributeName()) !== 'cli') continue
    if (flags.has(value)) throw new UsageError(`${opt.long}: missing its value ("${value}" is a flag)`)
    // A path that starts with `-` is a mistyped flag far more often than a name (`--dir --jsn`);
    // the way to mean it is the usual one.
    if (PATH_FLAGS.has(opt.long!) && value.startsWith('-')) {
      throw new UsageError(`${opt.long}: "${value}" looks like a flag, not a path (for one of that name, give ./${value})`)
    }
  }
}

const PATH_FLAGS = new Set(['--dir', '--tls-cert', '--tls-key'])

/**
 * A misspelt variable (`UPLOAD_RECV_MAXFILESIZE=5MB`) would otherwise leave its setting off without
 * a word, and the banner does not show limits. Said, not refused: the environment is shared.
 */
function warnUnknownEnv(program: Command): void {
  const known = new Set(program.options.map((o) => o.envVar))
  for (const key of Object.keys(process.env)) {
    if (!key.startsWith('UPLOAD_RECV_') || known.has(key)) continue
    process.stderr.write(`upload-recv: warning: ${key} is not a setting and is ignored (they are named after the flags, such as UPLOAD_RECV_MAX_FILE_SIZE for --max-file-size).\n`)
  }
}

/**
 * `--port: …` -> `--port (UPLOAD_RECV_PORT): …` when the value came from there: nobody typed --port.
 * A flag named later in the line ("check --host.") gets a note saying where its value came from.
 */
function naming(program: Command, message: string): string {
  const fromEnv = (flag: string) => {
    const opt = program.options.find((o) => o.long === flag)
    return opt?.envVar && program.getOptionValueSource(opt.attributeName()) === 'env' ? opt.envVar : undefined
  }
  const lead = /^--[a-z-]+/.exec(message)?.[0]
  const leadEnv = lead === undefined ? undefined : fromEnv(lead)
  const text = leadEnv ? `${lead} (${leadEnv})${message.slice(lead!.length)}` : message
  const notes = [...new Set(message.match(/--[a-z-]+/g) ?? [])].flatMap((flag) => {
    const env = flag === lead ? undefined : fromEnv(flag)
    return env ? [`${flag} was set by ${env}`] : []
  })
  return notes.length > 0 ? `${text.replace(/\.$/, '')} (${notes.join('; ')}).` : text
}

/** --help or --version text to stdout: 0, or 1 if it could not be written (`--help | head -1` closing the pipe is no news). */
function printInfo(text: string): Promise<number> {
  return new Promise((resolve) => {
    let said = false
    const failed = (err: NodeJS.ErrnoException) => {
      // The callback and the 'error' event both report it.
      if (said) return
      said = true
      if (err.code !== 'EPIPE') process.stderr.write(`upload-recv: cannot write to standard output (${err.code ?? err.message}).\n`)
      resolve(1)
    }
    process.stdout.on('error', failed)
    try {
      // A file or device is written synchronously, and its failure thrown here.
      process.stdout.write(text, (err) => (err ? failed(err) : resolve(0)))
    } catch (err) {
      failed(err as NodeJS.ErrnoException)
    }
  })
}

const INFO_FLAGS = new Set(['-h', '--help', '-V', '--version'])

/** Flags that take the next word as their value whatever it looks like (`--token -V`). */
let valueFlagSet: Set<string | undefined> | null = null
function valueFlags(): Set<string | undefined> {
  valueFlagSet ??= new Set(buildProgram().options.filter((o) => o.required).flatMap((o) => [o.long, o.short]))
  return valueFlagSet
}

/**
 * Short flags run together, one word each: `-qh` → `-q -h`, `-qp80` → `-q -p 80`. commander
 * expands a group only from letters it knows as options, and the help flag is not one: `-hq` and
 * `-qhV` were unknown options. A letter that takes a value takes the rest of the word; values
 * (`--token -hq`) and everything after `--` are left alone.
 */
function expandShortGroups(argv: string[]): string[] {
  const takesValue = valueFlags()
  const out = argv.slice(0, 2)
  for (let i = 2; i < argv.length; i++) {
    const word = argv[i]!
    if (word === '--') {
      out.push(...argv.slice(i))
      break
    }
    if (takesValue.has(word)) {
      out.push(word, ...argv.slice(i + 1, i + 2))
      i++
    } else if (/^-[^-]{2,}/.test(word)) {
      // Letters up to the first that takes a value (whose value may be anything): something else
      // in a group (`-q😀`, `-qh-x`, `-😀`) leaves the word whole, for commander to call it unknown.
      const letters = /^-[A-Za-z]*/.exec(word)![0]
      const valueAt = [...letters.slice(1)].findIndex((ch) => takesValue.has(`-${ch}`))
      if (valueAt === -1 && letters.length < word.length) {
        out.push(word)
        continue
      }
      for (let k = 1; k < word.length; k++) {
        const flag = `-${word[k]}`
        out.push(flag)
        if (!takesValue.has(flag)) continue
        // `-p80`: the rest is the value; `-qp 80`: the next word is.
        if (k < word.length - 1) out.push(word.slice(k + 1))
        else if (i + 1 < argv.length) out.push(argv[++i]!)
        break
      }
    } else out.push(word)
  }
  return out
}

/** What each word of an expanded command line is, argv[2] on: after `--`, every word is an operand. */
type Role = 'flag' | 'value' | 'operand' | 'end'

function roles(argv: string[]): Role[] {
  const takesValue = valueFlags()
  const out: Role[] = []
  for (let i = 2; i < argv.length; i++) {
    const word = argv[i]!
    if (word === '--') {
      out.push('end', ...argv.slice(i + 1).map((): Role => 'operand'))
      break
    }
    if (takesValue.has(word)) {
      out.push('flag')
      if (i + 1 < argv.length) out.push('value')
      i++
    } else out.push(word.startsWith('-') ? 'flag' : 'operand')
  }
  return out
}

/**
 * commander prints --help or --version as soon as it meets one, whatever else is on the line. A
 * line that is wrong in itself (`--bogus --version`) is still a usage error (SPEC §1): the rest of
 * it is parsed first, by a program that prints nothing. Short groups are expanded by now.
 */
function checkBesideInfo(argv: string[]): void {
  const role = roles(argv)
  const info = (word: string, i: number) => role[i] === 'flag' && INFO_FLAGS.has(word)
  const words = argv.slice(2)
  if (words.some(info)) parse(buildProgram(), [...argv.slice(0, 2), ...words.filter((word, i) => !info(word, i))])
}

/** Where the first stray `word` is among the words after `node script`, with every word's role. */
function strayAt(argv: string[], word: string): { at: number; role: ReturnType<typeof roles> } {
  const role = roles(argv)
  return { at: argv.slice(2).findIndex((w, i) => w === word && role[i] === 'operand'), role }
}

/** The flag right before the first stray `word`, if a flag is what it follows (`--once true`, not `--token --once true`). */
function flagBefore(argv: string[], word: string): string | undefined {
  const { at, role } = strayAt(argv, word)
  return at > 0 && role[at - 1] === 'flag' ? argv[at + 1] : undefined
}

/** Flags whose values are secrets: a stray word right after one may be the rest of it (`--auth bob hunter2`). */
const SECRET_FLAGS = ['--token', '--auth']

/** The secret flag whose value the first stray `word` follows, as a separate word or after `=`. */
function secretBefore(argv: string[], word: string): string | undefined {
  const { at, role } = strayAt(argv, word)
  const words = argv.slice(2)
  if (at < 1) return undefined
  const prev = words[at - 1]!
  // A value that is a flag (`--token --once true`) is a secret forgotten, not one cut in two.
  if (role[at - 1] === 'value') return prev.startsWith('-') ? undefined : SECRET_FLAGS.find((f) => f === words[at - 2])
  return SECRET_FLAGS.find((f) => prev.startsWith(`${f}=`))
}

/** commander's parse, but a stray word is named, with the likeliest fix: a folder without --dir. */
function parse(program: Command, argv: string[]): void {
  try {
    program.parse(argv)
  } catch (err) {
    if (!(err instanceof CommanderError) || err.code !== 'commander.excessArguments') throw err
    const word = program.args[0] ?? ''
    // Not echoed: it may be the second half of a password, and stderr ends up in logs.
    const secret = secretBefore(argv, word)
    if (secret) {
      const shape = secret === '--auth' ? ' (user:password)' : ''
      throw new UsageError(`a word after ${secret}'s value is not an option: ${secret} takes one word${shape}; quote it if it has spaces (the word is not shown here, as it may be part of a secret)`)
    }
    // `--once true`: a switch given a value, not a folder given without --dir.
    const switchy = /^(?:true|false|yes|no|on|off|1|0)$/i.test(word)
    const before = switchy ? flagBefore(argv, word) : undefined
    const toggle = before === undefined ? undefined : program.options.find((o) => !o.required && !o.optional && (o.long === before || o.short === before))
    if (toggle) throw new UsageError(`unexpected argument ${JSON.stringify(word)}: ${toggle.long} takes no value (leave ${JSON.stringify(word)} out)`)
    const hint = word.startsWith('-') || switchy ? '' : ` (to store files in it, give --dir ${JSON.stringify(word)})`
    throw new UsageError(`unexpected argument ${JSON.stringify(word)}: only options are taken${hint}`)
  }
}

/**
 * NO_COLOR beside FORCE_COLOR: ours is decided (a non-empty NO_COLOR wins; an empty one means
 * nothing), and Node would otherwise print "The 'NO_COLOR' env is ignored" the moment a module asks
 * it (the QR code's PNG library loads `assert`). The loser leaves the environment, so Node agrees.
 */
function settleColourEnv(env: NodeJS.ProcessEnv): void {
  if (env.NO_COLOR === undefined || env.FORCE_COLOR === undefined) return
  if (env.NO_COLOR !== '') delete env.FORCE_COLOR
  else delete env.NO_COLOR
}

async function main(argv: string[]): Promise<number> {
  settleColourEnv(process.env)
  let info = ''
  const program = buildProgram((text) => (info += text))
  try {
    const words = expandShortGroups(argv)
    checkBesideInfo(words)
    parse(program, words)
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`upload-recv: ${err.message}\n`)
      return 2
    }
    if (err instanceof CommanderError) return err.exitCode === 0 ? printInfo(info) : 2
    throw err
  }
  try {
    envSwitches(program)
    warnUnknownEnv(program)
    checkFlagAsValue(program)
    const raw = program.opts<RawOptions>()
    if (raw.stdout && raw.json) {
      // The command line wins over the environment here too: an exported UPLOAD_RECV_JSON=1 must
      // not make `upload-recv --stdout` unusable (nor UPLOAD_RECV_STDOUT=1 `--json`).
      const source = (key: string) => program.getOptionValueSource(key)
      if (source('stdout') === 'cli' && source('json') === 'env') raw.json = undefined
      else if (source('json') === 'cli' && source('stdout') === 'env') raw.stdout = undefined
      else throw new UsageError('--stdout and --json both want standard output; choose one')
    }
    const config = parseConfig(raw)
    unblockTerminal(process.stderr, 2)
    unblockTerminal(process.stdout, 1)
    return await run(config, {
      stdout: process.stdout,
      stderr: process.stderr,
      env: process.env,
      version: pkg.version,
      signals: process,
      heldSignals: takeHeldSignals,
    })
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`upload-recv: ${naming(program, err.message)}\n`)
      return 2
    }
    if (err instanceof StartupError) {
      process.stderr.write(`upload-recv: ${naming(program, err.message)}\n`)
      return 1
    }
    throw err
  }
}

/** A bug of ours: one line and a hint, not a stack trace (unless DEBUG is set). */
function internalError(err: unknown): never {
  if (process.env.DEBUG) process.stderr.write(`${(err as Error)?.stack ?? String(err)}\n`)
  else process.stderr.write(`upload-recv: internal error: ${(err as Error)?.message ?? String(err)} (rerun with DEBUG=1 for details)\n`)
  exit(1)
}
// Also for what escapes main()'s promise: a throw in a socket or timer callback.
process.on('uncaughtException', internalError)
process.on('unhandledRejection', internalError)

/**
 * Node 20 aborts at exit when its terminal has hung up (nodejs/node#51519): restoring the terminal's
 * state fails with EIO, and a failed check kills the process (SIGABRT) after our clean stop. It
 * skips a standard stream that no longer is the file it was at start-up, and we never change the
 * terminal's mode, so after a SIGHUP those that were the terminal are pointed at /dev/null first.
 */
let hungUp = false
process.on('SIGHUP', () => (hungUp = true))
function exit(code: number): never {
  if (hungUp) {
    for (const fd of [0, 1, 2]) {
      try {
        // isatty() is false once the terminal has hung up; it is still a character device.
        if (!fstatSync(fd).isCharacterDevice()) continue
        closeSync(fd)
        openSync('/dev/null', fd === 0 ? 'r' : 'w')
      } catch {
        // gone already: nothing for Node to restore either
      }
    }
  }
  process.exit(code)
}

/** How long the end waits for a terminal not taking output (Ctrl-S) to take the summary. */
const STDERR_FLUSH_MS = 1000
/** Runs `then` once stderr's last lines are out (it may be non-blocking: see tty-writes.ts). */
function afterStderr(then: () => void): void {
  if (process.stderr.writableLength === 0) return then()
  process.stderr.write('', then)
  setTimeout(then, STDERR_FLUSH_MS)
}

/** How long an aborted run (exit 130) waits for standard output to take its last lines. */
const ABORTED_FLUSH_MS = 1000
/** After this long still writing standard output, say why the process has not ended. */
const BACKLOG_NOTICE_MS = 1000

main(process.argv).then((code) => {
  process.exitCode = code
  // Leftover keep-alive sockets or timers must not hold the process once we are done; what is left
  // to write to standard output must go out first. If its reader has stopped reading (`| sleep
  // 100`), a signal ends the wait, losing those lines; a run already aborted waits only briefly.
  // A line that failed (the `closed` event into a disk that just filled up) has left its error on
  // the stream by now: a file is written synchronously. Not the empty write's own error below:
  // /dev/full refuses even zero bytes, where no line was lost.
  const failed = process.stdout.errored as NodeJS.ErrnoException | null
  process.stdout.write('', () => {
    // A reader that has gone (`| head -2`) is the end of a pipeline, as while running.
    if (failed && code === 0 && failed.code !== 'EPIPE' && failed.code !== 'EIO') {
      process.stderr.write(`upload-recv: cannot write to standard output (${failed.code ?? failed.message}); its last lines are lost.\n`)
      afterStderr(() => exit(1))
    } else afterStderr(() => exit(code))
  })
  const backlog = () => process.stdout.writableLength
  for (const sig of STOP_SIGNALS) {
    process.on(sig, () => {
      if (backlog() === 0) return
      // `\r` over the `^C` the terminal echoed, as every other notice does.
      process.stderr.write(`${process.stderr.isTTY ? '\r' : ''}upload-recv: quit with ${backlog()} bytes of standard output never read.\n`)
      afterStderr(() => exit(code === 0 ? 130 : code))
    })
  }
  // An aborted run ends by itself a moment later: no promise of a wait it will not keep.
  if (code === 130) setTimeout(() => exit(code), ABORTED_FLUSH_MS).unref()
  else {
    setTimeout(() => {
      if (backlog() > 0) {
        process.stderr.write(`upload-recv: waiting for standard output to be read (${backlog()} bytes left); Ctrl-C to quit without them.\n`)
      }
    }, BACKLOG_NOTICE_MS).unref()
  }
}, internalError)
