// Composition root: folder, store, reporters, listener; signals, --once and the exit code.
import path from 'node:path'
import type { Writable } from 'node:stream'
import { createApp } from './app/router.js'
import { renderError } from './app/answers.js'
import type { AppContext, StdoutTarget } from './app/context.js'
import type { Config } from './config.js'
import { StartupError } from './errors.js'
import { prepareDir } from './prepare-dir.js'
import { readTls } from './tls-files.js'
import { createStore } from './files/store.js'
import { createListener, type Listener } from './http/listener.js'
import { KEEP_ALIVE_IDLE_MS, MAX_HEAD_BYTES, MAX_HEADER_COUNT, MAX_TARGET_BYTES } from './limits.js'
import type { Reporter, UploadEvent } from './report/events.js'
import { createJsonReporter, createPathReporter } from './report/json-reporter.js'
import { renderBanner } from './report/banner.js'
import { formatSize, stripControl } from './report/format.js'
import { certificateNotice, unauthorizedNotice } from './report/notices.js'
import { createTerminalReporter } from './report/terminal-reporter.js'
import { STOP_SIGNALS } from './signals.js'
import { hostPort, listenUrls } from './urls.js'

export interface RunIO {
  stdout: Writable & { isTTY?: boolean }
  stderr: Writable & { isTTY?: boolean; columns?: number }
  env: NodeJS.ProcessEnv
  version: string
  /** Signal source; process in production. */
  signals: NodeJS.EventEmitter
  /** Signals that came before run() listened (early-signals.ts); handled as if they came now. */
  heldSignals?: () => NodeJS.Signals[]
}

const BODY_HWM = 128 * 1024
/** How long a second signal waits for the aborted uploads to report and clean up. */
const ABORT_WAIT_MS = 1000

export async function run(config: Config, io: RunIO): Promise<number> {
  // Anyone on the LAN could then write to the terminal: clear it, retitle it, set the clipboard
  // (OSC 52). curl likewise refuses binary output to a terminal.
  if (config.stdout && io.stdout.isTTY === true) {
    throw new StartupError('--stdout: standard output is a terminal, where the bytes (escape codes and all) would go to the screen; redirect it: > file, or | command.')
  }
  const tls = config.tls ? await readTls(config.tls.certFile, config.tls.keyFile) : undefined
  // Said even under --quiet: a receiver nobody can reach is worse than a line on stderr.
  if (tls?.warning) io.stderr.write(`upload-recv: warning: ${tls.warning}\n`)
  // --stdout stores nothing: its --dir is neither made nor needs to be writable.
  // Made before the port is tried: a start that then fails to listen leaves it (README).
  const root = config.stdout ? path.resolve(config.dir) : await prepareDir(config.dir)

  // stderr is for people: if nobody reads it any more (its pipe closed), uploads and stdout go on.
  io.stderr.on('error', () => {})
  // Standard output on the same terminal: the live block and the paths share one order.
  const sibling = io.stdout.isTTY === true && io.stderr.isTTY === true ? io.stdout : undefined
  const terminal = config.quiet ? null : createTerminalReporter({ out: io.stderr, env: io.env, sibling })
  const reporters: Reporter[] = []
  const data = config.json ? createJsonReporter(io.stdout) : config.stdout ? null : createPathReporter(io.stdout)
  if (data) {
    // stdout on the same terminal as the live block: print around it, not through it. Only for
    // events that print something: wrapping progress too would clear the block at every chunk.
    const viaTerminal = terminal && sibling
    const quiet = (e: UploadEvent) => e.type === 'started' || e.type === 'progress'
    reporters.push(viaTerminal ? { emit: (e) => (quiet(e) ? undefined : terminal.outside(() => data.emit(e))) } : data)
  }
  if (terminal) reporters.push(terminal)
  if (config.quiet) {
    // No banner, no progress; but an upload that failed is an error, and errors still go to
    // stderr (SPEC §1): its line, and nothing else.
    // Not live: with no block to draw around, each line goes out at once (and none waits for a redraw at exit).
    const errors = createTerminalReporter({ out: io.stderr, env: io.env, live: false })
    reporters.push({
      emit: (e) => {
        if (e.type === 'failed') errors.emit(e)
      },
    })
  }
  /**
   * A line about the process itself (stopping, aborting): above the live block, or plain with
   * --quiet, after a `\r` on a terminal so it covers the `^C` the terminal echoed.
   */
  const notice = (text: string) => (terminal ? terminal.line(text) : io.stderr.write(`${io.stderr.isTTY ? '\r' : ''}${text}\n`))
  const warn = (text: string) => notice(`${terminal ? terminal.chalk.yellow('⚠') : '⚠'} ${text}`)
  let files = 0
  let bytes = 0
  const reporter: Reporter = {
    emit(e: UploadEvent) {
      if (e.type === 'stored') {
        files++
        bytes += e.size
      }
      for (const r of reporters) r.emit(e)
    },
  }

  const store = createStore({ root, overwrite: config.overwrite, maxFileSize: config.maxFileSize })
  let exitCode = 0
  let finish: (code: number) => void = () => {}
  const finished = new Promise<number>((resolve) => (finish = resolve))
  let listener: Listener | null = null
  let stopping = false
  let aborting = false

  /** What a stop waits for, and how to abort it. */
  const waitingFor = (why: string, busy: number) => {
    const n = `${busy} upload${busy === 1 ? '' : 's'}`
    // Finished, but their answers wait for stdout's reader (see AppContext.outputSettled).
    const lagging = data?.congested() ? " (standard output's reader is behind; answers wait for it)" : ''
    return `waiting for ${n} to finish${lagging}. ${abortHint(why)} to abort ${busy === 1 ? 'it' : 'them'}.`
  }
  const stopGracefully = async (why: string | null) => {
    if (!listener) return
    const busy = listener.busy
    if (stopping) {
      // Stopping already (--once, stdout closed): the signal still deserves an answer.
      if (why && busy > 0) notice(`${why}: already stopping; ${waitingFor(why, busy)}`)
      return
    }
    stopping = true
    // Also with --quiet while uploads run: a Ctrl-C that seems to do nothing gets pressed again.
    if (why && (terminal || busy > 0)) {
      notice(busy > 0 ? `${why}: no new connections; ${waitingFor(why, busy)}` : `${why}: stopping.`)
    }
    await listener.stop()
    // A second signal has taken over: it finishes once the aborted uploads have reported.
    if (!aborting) finish(exitCode)
  }

  const stdout: StdoutTarget | null = config.stdout
    ? {
        sink: io.stdout,
        claimedBy: null,
        failed(err, name, bytes) {
          // "the file is larger than …": the answer's sentence, inside this one.
          const why = err.message.replace(/\.$/, '').replace(/^[A-Z](?=[a-z])/, (c) => c.toLowerCase())
          io.stderr.write(`upload-recv: --stdout: ${stripControl(name)} failed after ${formatSize(bytes)} went out (${why}); standard output is incomplete.\n`)
          exitCode = 1
          void stopGracefully(null)
        },
      }
    : null

  const ctx: AppContext = {
    config,
    store,
    reporter,
    stdout,
    onStored() {
      if (config.once) void stopGracefully(null)
    },
    outputSettled() {
      if (!data) return null
      data.flush()
      return data.congested()
    },
    onUnauthorized: unauthorizedNotice(warn),
  }

  try {
    listener = await createListener({
      host: config.host,
      port: config.port,
      maxConnections: config.maxConnections,
      tls,
      handler: createApp(ctx),
      renderError,
      limits: { maxTargetBytes: MAX_TARGET_BYTES, maxHeadBytes: MAX_HEAD_BYTES, maxHeaderCount: MAX_HEADER_COUNT },
      timeoutMs: config.timeoutMs,
      onCertificateRefused: certificateNotice(warn),
      keepAliveIdleMs: Math.min(KEEP_ALIVE_IDLE_MS, config.timeoutMs),
      bodyHighWaterMark: BODY_HWM,
    })
  } catch (err) {
    throw listenError(err, config)
  }

  const port = listener.address.port
  const urls = listenUrls(config.host, listener.address.address, port, tls !== undefined)
  // First, before anything can wait: no upload's event may come before it (SPEC §6).
  reporter.emit({ type: 'listening', port, urls, dir: root })
  // Standard output gone (`| head -1` done): nobody can learn about further files, so stop. Any
  // other failure to write it (a full disk under `> stored.txt`) lost a line: stop, and say so.
  let stdoutFailed = false
  io.stdout.on('error', (err: NodeJS.ErrnoException) => {
    // EIO: its terminal hung up (SIGHUP), as good as a closed pipe.
    if (err.code === 'EPIPE' || err.code === 'EIO') return void stopGracefully('standard output closed')
    // Once: a stream that failed fails every later write too. --stdout's upload says it itself.
    if (!stdoutFailed && !config.stdout) io.stderr.write(`upload-recv: cannot write to standard output (${err.code ?? err.message}); stopping.\n`)
    stdoutFailed = true
    exitCode = 1
    void stopGracefully(null)
  })

  let signalled = 0
  let firstSignal: NodeJS.Signals | null = null
  const onSignal = (sig: NodeJS.Signals) => {
    // A closing terminal sends two at once (the shell forwards one, the kernel sends one): a
    // hangup is never a person asking to abort.
    if (sig === 'SIGHUP' && signalled > 0) return
    signalled++
    firstSignal ??= sig
    if (signalled === 1) {
      void stopGracefully(sig === 'SIGINT' ? 'Ctrl-C' : sig)
      return
    }
    if (signalled > 2) return finish(130)
    aborting = true
    const busy = listener!.busy
    // Their bodies fail: each upload says so (its ✖ line, its failed event) and removes its temp
    // file. A handler stuck somewhere holds the exit for a second at most; the temp files go anyway.
    const settled = listener!.abort()
    store.removeTemps()
    let timer: NodeJS.Timeout | undefined
    void Promise.race([settled, new Promise((r) => (timer = setTimeout(r, ABORT_WAIT_MS)))]).then(() => {
      clearTimeout(timer)
      store.removeTemps()
      if (busy > 0) {
        const name = sig === 'SIGINT' ? 'Ctrl-C' : sig
        // --stdout keeps nothing on disk: what went out is out.
        // Some may have been stored already, their answers held for a lagging stdout reader.
        const after = config.stdout ? 'standard output is incomplete' : 'no unfinished file is left'
        notice(`${name}${sig === firstSignal ? ' again' : ''}: aborted ${busy} upload${busy === 1 ? '' : 's'}; ${after}.`)
      }
      finish(130)
    })
  }
  for (const sig of STOP_SIGNALS) io.signals.on(sig, onSignal)
  // In the same turn as the lines above: no signal can fall between the two listeners.
  for (const sig of io.heldSignals?.() ?? []) onSignal(sig)

  // The banner only now: drawing its QR code loads a module, a real wait, and until the handlers
  // above were on, a script that stops us as soon as it has the port (two quick signals) met
  // early-signals.ts's default kill instead of a stop. A stop already under way has no use for it.
  if (terminal) {
    const qr = config.qr && io.stderr.isTTY === true
    const banner = await renderBanner(
      { version: io.version, dir: config.stdout ? 'standard output' : root, urls, token: config.token, qr, columns: io.stderr.columns },
      terminal.chalk,
    )
    if (!stopping) terminal.line(banner.trimEnd())
  }

  const code = await finished
  for (const sig of STOP_SIGNALS) io.signals.off(sig, onSignal)
  // Until the process has exited: a late signal must not turn the exit code into a kill by signal.
  for (const sig of STOP_SIGNALS) io.signals.on(sig, ignoreSignal)
  reporter.emit({ type: 'closed', files, bytes })
  if (terminal) {
    terminal.close()
    terminal.line(`Done: ${terminal.summary()}.`)
  }
  return code
}

function ignoreSignal(): void {}

/** How to abort what a stop waits for: "again" only for the signal that started it. */
function abortHint(why: string): string {
  if (why === 'Ctrl-C') return 'Press Ctrl-C again'
  if (why === 'SIGHUP') return 'Send SIGTERM or SIGINT'
  if (why.startsWith('SIG')) return `Press Ctrl-C (or send ${why} again)`
  return 'Press Ctrl-C'
}

function listenError(err: unknown, config: Config): Error {
  const code = (err as NodeJS.ErrnoException).code
  const where = hostPort(config.host, config.port)
  if (code === 'EADDRINUSE') return new StartupError(`port ${config.port} is already in use; pick another with --port (or --port 0 for any free one).`)
  if (code === 'EACCES') return new StartupError(`not allowed to listen on ${where}; ports below 1024 need privileges, try --port 4000.`)
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') {
    return new StartupError(`cannot listen on ${where}: the host name does not resolve${code === 'EAI_AGAIN' ? ' (the name server did not answer)' : ''}; check --host.`)
  }
  if (code === 'EADDRNOTAVAIL') return new StartupError(`cannot listen on ${where}: no such address on this machine; check --host.`)
  // A link-local IPv6 address without its zone (fe80::1), a name longer than DNS allows.
  if (code === 'EINVAL') {
    const zone = /^fe[89ab][0-9a-f]:/i.test(config.host) && !config.host.includes('%') ? ` (a link-local address needs its interface: ${config.host}%eth0)` : ''
    return new StartupError(`cannot listen on ${where}: not a usable address${zone}; check --host.`)
  }
  if (/key|cert|PEM|asn1/i.test((err as Error).message ?? '')) {
    return new StartupError(`invalid TLS certificate or key: ${(err as Error).message}`)
  }
  return err as Error
}
