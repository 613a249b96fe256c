// run() and the process's signals (SPEC §7), in process with an injected signal source: what it
// leaves listening once it has finished matters, since the process only exits after that.
import { EventEmitter } from 'node:events'
import { mkdtempSync, rmSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { PassThrough } from 'node:stream'
import { afterEach, describe, expect, it } from 'vitest'
import { parseConfig } from '../../src/config.js'
import { run } from '../../src/run.js'
import { pollUntil } from '../helpers/fs-walk.js'

const dirs: string[] = []
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true })
})

function start(heldSignals?: () => NodeJS.Signals[]) {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'upload-recv-run-'))
  dirs.push(dir)
  const stdout = new PassThrough()
  let out = ''
  stdout.setEncoding('utf8').on('data', (d: string) => (out += d))
  const signals = new EventEmitter()
  const config = parseConfig({ dir, port: '0', host: '127.0.0.1', json: true, quiet: true })
  const done = run(config, { stdout, stderr: new PassThrough(), env: {}, version: '0.0.0', signals, ...(heldSignals ? { heldSignals } : {}) })
  return { done, signals, events: () => out.trim().split('\n').filter(Boolean).map((l) => (JSON.parse(l) as { event: string }).event) }
}

describe('run() and signals', () => {
  it('once finished it still listens for SIGINT and SIGTERM: a late one cannot kill the exiting process by default', async () => {
    const r = start()
    await pollUntil(() => r.events().includes('listening'), 10_000, 'listening', 10)
    r.signals.emit('SIGTERM', 'SIGTERM')
    expect(await r.done).toBe(0)
    expect(r.signals.listenerCount('SIGTERM')).toBeGreaterThan(0)
    expect(r.signals.listenerCount('SIGINT')).toBeGreaterThan(0)
  })

  it('a signal held during start-up is a graceful stop once listening: `listening`, `closed`, exit 0', async () => {
    const r = start(() => ['SIGINT'])
    expect(await r.done).toBe(0)
    expect(r.events()).toEqual(['listening', 'closed'])
  })

  it('two held signals are a second Ctrl-C: exit 130', async () => {
    const r = start(() => ['SIGINT', 'SIGINT'])
    expect(await r.done).toBe(130)
  })
})
