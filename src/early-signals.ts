// Imported by the command (bin/upload-recv.js) before the program loads: until run() listens for
// SIGINT/SIGTERM/SIGHUP itself (modules loading, the port opening), Node's default action would kill the
// process with no `closed` event and an exit code SPEC §7 does not have (130 on a first Ctrl-C,
// 143 on SIGTERM). Signals are held here instead, and run() takes them over (takeHeldSignals).
import { STOP_SIGNALS } from './signals.js'

const held: NodeJS.Signals[] = []
// Start-up takes a fraction of a second. One that has not taken a held signal this long after it
// came is stuck (a --tls-key FIFO nobody writes, a name server that does not answer for --host),
// and a single SIGTERM (timeout, docker stop, systemd) must still end it. Long enough for a slow
// but working start (an mDNS name; a first name server that times out, after glibc's 5 s), short
// of docker stop's 10 s before its SIGKILL.
const STUCK_MS = 6_000
let stuck: NodeJS.Timeout | null = null
// A second one means "now", as it does once running (SPEC §7): start-up may be stuck (a --host
// that takes long to resolve, a --tls-cert that never finishes reading), and nothing is stored yet.
// process.exit() would wait for that stuck thread-pool call forever; the signal's own default
// action does not (a shell reports a second Ctrl-C as 130, as it would once running).
const hold = (sig: NodeJS.Signals) => {
  if (held.length === 0) {
    held.push(sig)
    // A hang-up is a terminal gone, not a supervisor waiting: it stays held for when we listen.
    if (sig !== 'SIGHUP') {
      stuck = setTimeout(() => now(sig), STUCK_MS)
      stuck.unref()
    }
    return
  }
  // A closing terminal sends two hangups at once; neither means "now" (see run.ts).
  if (sig === 'SIGHUP') return
  now(sig)
}

function now(sig: NodeJS.Signals): void {
  takeHeldSignals()
  // Any other listener (cli.ts notes hang-ups) would catch the signal and leave us running.
  process.removeAllListeners(sig)
  process.kill(process.pid, sig)
}
for (const sig of STOP_SIGNALS) process.on(sig, hold)

/** Stops holding signals; those received so far, in order. */
export function takeHeldSignals(): NodeJS.Signals[] {
  for (const sig of STOP_SIGNALS) process.off(sig, hold)
  if (stuck) clearTimeout(stuck)
  return held.splice(0)
}
