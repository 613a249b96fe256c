// --json: one object per line on stdout (SPEC §6). Progress is for humans and stays off stdout.
import type { Writable } from 'node:stream'
import type { Reporter, UploadEvent } from './events.js'

export function createJsonReporter(out: Writable): Reporter {
  const line = (o: object) => out.write(JSON.stringify(o) + '\n')
  return {
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
            mimeType: e.mimeType,
            ms: e.ms,
          })
        case 'failed':
          return void line({ event: 'failed', client: e.client, name: e.name, code: e.code, message: e.message })
        case 'closed':
          return void line({ event: 'closed', files: e.files, bytes: e.bytes })
      }
    },
  }
}

/** Without --json, stdout carries one stored path per line and nothing else (SPEC §2). */
export function createPathReporter(out: Writable): Reporter {
  return {
    emit(e: UploadEvent) {
      if (e.type === 'stored') out.write(e.path + '\n')
    },
  }
}
