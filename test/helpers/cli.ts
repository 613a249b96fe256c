// Starts the real CLI (the built artefact) on port 0 and learns its port from the `listening` event.
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { StringDecoder } from 'node:string_decoder'
import { fileURLToPath } from 'node:url'

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..')
export const BIN = path.join(ROOT, 'bin/upload-recv.js')

export interface Cli {
  proc: ChildProcess
  port: number
  url: string
  dir: string
  /** Parsed --json events so far (stdout lines). */
  events: Array<Record<string, unknown>>
  stdout(): string
  stderr(): string
  /** Resolves with the exit code (or signal name). */
  exited: Promise<number | string>
  /** Waits (bounded) until an event matching `pred` arrives. */
  waitForEvent(pred: (e: Record<string, unknown>) => boolean, ms?: number): Promise<Record<string, unknown>>
  stop(signal?: NodeJS.Signals): Promise<number | string>
}

export function tmpDir(prefix = 'upload-recv-test-'): string {
  return mkdtempSync(path.join(os.tmpdir(), prefix))
}

export function withTimeout<T>(p: Promise<T>, ms: number, label: string): Promise<T> {
  let timer: NodeJS.Timeout
  return Promise.race([
    p.finally(() => clearTimeout(timer)),
    new Promise<T>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${label}`)), ms)
    }),
  ])
}

/**
 * Runs `node bin/upload-recv.js --port 0 --host 127.0.0.1 --json --dir <tmp> ...args`.
 * Pass `json: false` to leave out --json (then `listening` is read from stderr's banner), and
 * `jsonFlag: false` to read JSON events without passing --json (the environment asks for them).
 */
export async function startCli(
  args: string[] = [],
  opts: { dir?: string; json?: boolean; jsonFlag?: boolean; env?: NodeJS.ProcessEnv; cwd?: string } = {},
): Promise<Cli> {
  const dir = opts.dir ?? path.join(tmpDir(), 'in')
  const json = opts.json ?? true
  const flag = opts.jsonFlag ?? json
  const full = [BIN, '--port', '0', '--host', '127.0.0.1', '--dir', dir, ...(flag ? ['--json'] : []), ...args]
  const proc = spawn(process.execPath, full, {
    cwd: opts.cwd ?? ROOT,
    env: { ...process.env, NO_COLOR: '1', ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let out = ''
  let err = ''
  let lineBuf = ''
  const events: Array<Record<string, unknown>> = []
  const waiters = new Set<() => void>()
  // 'close', not 'exit': by then everything the CLI wrote to stdout and stderr has been read.
  const exited = new Promise<number | string>((resolve) =>
    proc.on('close', (code, signal) => resolve(code ?? signal ?? -1)),
  )
  // Decoded as a stream: a read can end inside a multi-byte character of a file name. Standard
  // output stays bytes for other listeners (--stdout tests).
  const outText = new StringDecoder('utf8')
  proc.stderr!.setEncoding('utf8')
  proc.stdout!.on('data', (b: Buffer) => {
    const d = outText.write(b)
    out += d
    if (!json) return
    lineBuf += d
    let nl
    while ((nl = lineBuf.indexOf('\n')) !== -1) {
      const line = lineBuf.slice(0, nl)
      lineBuf = lineBuf.slice(nl + 1)
      try {
        events.push(JSON.parse(line) as Record<string, unknown>)
      } catch {
        // Not JSON (e.g. --stdout bytes); kept in stdout().
      }
    }
    for (const w of waiters) w()
  })
  proc.stderr!.on('data', (d: string) => {
    err += d
    for (const w of waiters) w()
  })

  const waitForEvent = (pred: (e: Record<string, unknown>) => boolean, ms = 10_000) =>
    withTimeout(
      new Promise<Record<string, unknown>>((resolve, reject) => {
        const check = () => {
          const hit = events.find(pred)
          if (hit) {
            waiters.delete(check)
            resolve(hit)
          }
        }
        waiters.add(check)
        check()
        void exited.then(() => {
          check()
          if (waiters.has(check)) {
            waiters.delete(check)
            reject(new Error(`CLI exited before the event; stderr: ${err}`))
          }
        })
      }),
      ms,
      'CLI event',
    )

  const learnPort = async (): Promise<number> => {
    if (json) return (await waitForEvent((e) => e.event === 'listening')).port as number
    return withTimeout(
      new Promise<number>((resolve, reject) => {
        const check = () => {
          const m = /http:\/\/127\.0\.0\.1:(\d+)\//.exec(err)
          if (m) {
            waiters.delete(check)
            resolve(Number(m[1]))
          }
        }
        waiters.add(check)
        void exited.then(() => reject(new Error(`CLI exited; stderr: ${err}`)))
      }),
      10_000,
      'banner',
    )
  }
  let port: number
  try {
    port = await learnPort()
  } catch (e) {
    // A CLI that never said where it listens would outlive the test that started it.
    if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL')
    throw e
  }

  return {
    proc,
    port,
    url: `http://127.0.0.1:${port}`,
    dir,
    events,
    stdout: () => out,
    stderr: () => err,
    exited,
    waitForEvent,
    async stop(signal: NodeJS.Signals = 'SIGTERM') {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal)
      const code = await withTimeout(exited, 10_000, 'CLI exit').catch(async (e) => {
        proc.kill('SIGKILL')
        throw e
      })
      return code
    },
  }
}

export function removeDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true })
}
