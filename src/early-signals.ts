// Imported by the command (bin/upload-recv.js) before the program loads: until run() listens for
// SIGINT/SIGTERM itself (modules loading, the port opening), Node's default action would kill the
// process with no `closed` event and an exit code SPEC §7 does not have (130 on a first Ctrl-C,
// 143 on SIGTERM). Signals are held here instead, and run() takes them over (takeHeldSignals).
const held: NodeJS.Signals[] = []
const hold = (sig: NodeJS.Signals) => void held.push(sig)
process.on('SIGINT', hold)
process.on('SIGTERM', hold)

/** Stops holding signals; those received so far, in order. */
export function takeHeldSignals(): NodeJS.Signals[] {
  process.off('SIGINT', hold)
  process.off('SIGTERM', hold)
  return held.splice(0)
}
