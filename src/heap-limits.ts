// Imported first by the command (bin/upload-recv.js), before the rest of the program is evaluated:
// V8 grows the young generation while start-up allocates (module bodies, commander, the banner),
// and a semi-space that has grown stays that size. Capped from the first line it stays at 1 MiB:
// W2's peak RSS was 2 MiB lower that way than when run() set the cap. (http/reclaim.ts frees the
// socket reads that die in it.)
import v8 from 'node:v8'

/** V8 grows each young-generation semi-space from 1 up to 16 MiB under a high allocation rate
 * (every request allocates parser, stream and busboy objects); staying at 1 MiB kept W2's heap
 * ~25 MiB smaller at no measurable cost in CPU. */
const SEMI_SPACE_MIB = 1
/** The old generation may grow by this much over what the last full GC left before the next one
 * (V8's own factor is up to 4×). Requests whose objects outlive young-generation GCs and then die
 * (a multipart form of 100,000 files) otherwise leave hundreds of MiB of garbage: 304 → 176 MiB
 * peak RSS there; at 30,000 files 244 → 127. Nothing else we run grows the old generation. */
const OLD_GROWTH_PERCENT = 20

// The heap's maximum is fixed when the isolate is made; the growth factor is read each time V8
// considers growing, so a factor of 1 is what holds it at run time. A 1 MiB young generation is
// scavenged as fast by one thread as by several, and V8's helper threads only compete with the
// file thread and the clients for the cores: single-threaded scavenges (read at each GC) gave
// 3-8 % more throughput in W1-W3 here, alternating A/B.
v8.setFlagsFromString(`--max-semi-space-size=${SEMI_SPACE_MIB}`)
v8.setFlagsFromString('--semi-space-growth-factor=1')
v8.setFlagsFromString('--no-parallel-scavenge')
v8.setFlagsFromString(`--heap-growing-percent=${OLD_GROWTH_PERCENT}`)
