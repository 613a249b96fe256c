// What the server tells its reporters. The upload handlers (src/app) emit these and know nothing of terminals.

export interface Listening {
  type: 'listening'
  port: number
  urls: string[]
  dir: string
}
/** A file started arriving. `total` is known when the request announced its length (a raw body, or a form's first file). */
export interface Started {
  type: 'started'
  id: number
  client: string
  name: string
  total: number | null
}
export interface Progress {
  type: 'progress'
  id: number
  bytes: number
}
export interface Stored {
  type: 'stored'
  id: number
  client: string
  /** Stored path relative to --dir, `/`-separated. */
  name: string
  originalName: string
  /** As the user would type it: --dir joined with name. */
  path: string
  size: number
  sha256: string
  ms: number
}
export interface Failed {
  type: 'failed'
  id: number
  client: string
  name: string
  code: string
  message: string
}
export interface Closed {
  type: 'closed'
  files: number
  bytes: number
}

export type UploadEvent = Listening | Started | Progress | Stored | Failed | Closed

export interface Reporter {
  emit(e: UploadEvent): void
}
