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
/** V8 grows each young-generation semi-space from 1 up to 16 MiB under a high allocation rate
 * (every request allocates parser, stream and busboy objects); staying at 1 MiB kept W2's heap
 * ~25 MiB smaller at no measurable cost in CPU. */
const SEMI_SPACE_MIB = 1
/** The old generation may grow by this much over what the last full GC left before the next one
 * (V8's own factor is up to 4×). Requests whose objects outlive young-generation GCs and then die
 * (a multipart form of 100,000 files) otherwise leave hundreds of MiB of garbage: 304 → 176 MiB
 * peak RSS there; at 30,000 files 244 → 127. Nothing else we run grows the old generation. */
const OLD_GROWTH_PERCENT = 20
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

/** Called once at start-up. The heap's maximum is fixed when the isolate is made; the growth
 * factor is read each time V8 considers growing, so a factor of 1 is what holds it at run time.
 * A 1 MiB young generation is scavenged as fast by one thread as by several, and V8's helper
 * threads only compete with the file thread and the clients for the cores: single-threaded
 * scavenges (read at each GC) gave 3-8 % more throughput in W1-W3 here, alternating A/B. */
export function limitYoungGeneration(): void {
  v8.setFlagsFromString(`--max-semi-space-size=${SEMI_SPACE_MIB}`)
  v8.setFlagsFromString('--semi-space-growth-factor=1')
  v8.setFlagsFromString('--no-parallel-scavenge')
  v8.setFlagsFromString(`--heap-growing-percent=${OLD_GROWTH_PERCENT}`)
}

/** Counts bytes read from a socket; now and then frees the dead read buffers. */
export function noteBytesRead(n: number): void {
  readSince += n
  if (readSince < RECLAIM_BYTES) return
  readSince = 0
  if (gc === undefined) gc = exposeGc()
  gc?.({ type: 'minor' })
}
