// What the request handlers share; built once by run.ts.
import type { Writable } from 'node:stream'
import type { Config } from '../config.js'
import type { Store } from '../files/store.js'
import type { Reporter } from '../report/events.js'

export interface AppContext {
  readonly config: Config
  readonly store: Store
  readonly reporter: Reporter
  /** --stdout: the first file's bytes go to `sink` instead of the store. */
  readonly stdout: StdoutTarget | null
  /** Called when a request has stored at least one file, before its answer goes out: with --once
   * the stop then begins first, so that answer says `Connection: close` and a client does not
   * send the next request on a connection about to close. */
  onStored(): void
  /**
   * Writes out the lines of the events so far; null, or while standard output's reader lags, a
   * promise that settles once it has room. An upload's answer waits for it, so a reader that stops
   * reading holds the uploaders back instead of letting their lines fill our memory.
   */
  outputSettled(): Promise<void> | null
  /** A request was refused for want of the --token / --auth credentials (401). */
  onUnauthorized(client: string, missing: 'token' | 'auth'): void
}

export interface StdoutTarget {
  readonly sink: Writable
  /** The request whose file it is (identity only), once one has it. */
  claimedBy: object | null
  /** The one file failed after `bytes` of it went out (refused, cut off, the reader gone): the output is incomplete. */
  failed(err: Error, name: string, bytes: number): void
}
