// --json: one object per line on stdout (SPEC §6). Progress is for humans and stays off stdout.
import type { Writable } from 'node:stream'
import { BEYOND_C0, BIDI_MARKS } from '../controls.js'
import type { Reporter, UploadEvent } from './events.js'

/** stdout as the data reporters use it. */
export interface DataReporter extends Reporter {
  /** Writes out the lines gathered so far: a stored file's line goes before its HTTP answer. */
  flush(): void
  /**
   * Null while standard output keeps up; else a promise that settles once its reader has taken the
   * backlog (or it failed). A reader that stops reading thus slows uploads down instead of
   * letting its unread lines fill our memory.
   */
  congested(): Promise<void> | null
}

/**
 * Lines written to a pipe or file are gathered and written once per turn of the event loop, or
 * sooner by flush() (before an upload's answer): one write(2) per request rather than per file. A
 * terminal gets them at once (the live block on stderr is drawn around them), and `closed`
 * flushes everything before the process exits.
 */
function lineWriter(out: Writable & { isTTY?: boolean }): { write(s: string): void } & Omit<DataReporter, 'emit'> {
  let drained: Promise<void> | null = null
  const congested = () => {
    if (!out.writableNeedDrain) return null
    drained ??= new Promise<void>((resolve) => {
      const done = () => {
        out.off('drain', done).off('error', done).off('close', done)
        drained = null
        resolve()
      }
      out.on('drain', done).on('error', done).on('close', done)
    })
    return drained
  }
  if (out.isTTY) return { write: (s) => void out.write(s), flush() {}, congested }
  let pending = ''
  let scheduled = false
  const flush = () => {
    if (pending === '') return
    const data = pending
    pending = ''
    out.write(data)
  }
  return {
    write(s) {
      pending += s
      if (!scheduled) {
        scheduled = true
        setImmediate(() => {
          scheduled = false
          flush()
        })
      }
    },
    flush,
    congested,
  }
}

/**
 * Characters JSON may carry raw but readers trip over, written as `\uXXXX` (the same string once
 * parsed): U+2028/2029 and NEL end a line for Python's splitlines() and many editors, C1 and DEL are
 * terminal controls, bidi controls and marks reorder what a person reads. Client file names can hold any of them.
 */
// C0 is escaped by JSON.stringify already.
const INVISIBLE = new RegExp(`[${BEYOND_C0}${BIDI_MARKS}]`, 'g')
const escape = (c: string) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`

export function createJsonReporter(out: Writable & { isTTY?: boolean }): DataReporter {
  const writer = lineWriter(out)
  const line = (o: object) => writer.write(JSON.stringify(o).replace(INVISIBLE, escape) + '\n')
  return {
    flush: writer.flush,
    congested: writer.congested,
    emit(e: UploadEvent) {
      switch (e.type) {
        case 'listening':
          return void line({ event: 'listening', port: e.port, urls: e.urls, dir: e.dir })
        case 'stored':
          return void line({
            event: 'stored',
            client: e.client,
            name: e.name,
            originalName: e.originalName,
            path: e.path,
            size: e.size,
            sha256: e.sha256,
            ms: e.ms,
          })
        case 'failed':
          return void line({ event: 'failed', client: e.client, name: e.name, code: e.code, message: e.message })
        case 'closed':
          line({ event: 'closed', files: e.files, bytes: e.bytes })
          return writer.flush()
      }
    },
  }
}

/**
 * Without --json, stdout carries one stored path per line and nothing else (SPEC §2). The path as
 * it is, for a script; on a terminal a person reads it, so a bidi mark in a name is shown escaped
 * (`\u200f`) rather than reordering the line.
 */
export function createPathReporter(out: Writable & { isTTY?: boolean }): DataReporter {
  const writer = lineWriter(out)
  const shown = out.isTTY === true ? (p: string) => p.replace(INVISIBLE, escape) : (p: string) => p
  return {
    flush: writer.flush,
    congested: writer.congested,
    emit(e: UploadEvent) {
      if (e.type === 'stored') writer.write(shown(e.path) + '\n')
      else if (e.type === 'closed') writer.flush()
    },
  }
}
