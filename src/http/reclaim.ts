// Socket reads arrive in fresh buffers that die as soon as their bytes are on disk, but V8 only
// collects them once tens of MiB of such "external" memory have piled up (or the young
// generation fills, which small JS objects take long to do). That pile, not anything we keep,
// was most of our peak RSS (issue #7 asks for ≤ 64 MiB). So every RECLAIM_BYTES read from
// sockets we ask for a young-generation collection, which frees those buffers for a fraction of
// a millisecond. Without a `gc` function (it could not be exposed) this does nothing.
import v8 from 'node:v8'
import vm from 'node:vm'

type Gc = (options: { type: 'minor' }) => void

const RECLAIM_BYTES = 2 * 1024 * 1024
let gc: Gc | null | undefined
let readSince = 0

function exposeGc(): Gc | null {
  try {
    // Only a context made after the flag is set gets `gc`; the flag is cleared again at once
    // so nothing else we create sees it.
    v8.setFlagsFromString('--expose-gc')
    const fn = vm.runInNewContext('gc') as unknown
    v8.setFlagsFromString('--no-expose-gc')
    return typeof fn === 'function' ? (fn as Gc) : null
  } catch {
    return null
  }
}

/** Counts bytes read from a socket; now and then frees the dead read buffers. */
export function noteBytesRead(n: number): void {
  readSince += n
  if (readSince < RECLAIM_BYTES) return
  readSince = 0
  if (gc === undefined) gc = exposeGc()
  gc?.({ type: 'minor' })
}
