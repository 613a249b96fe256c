// Writes to a terminal that never hold the event loop.
//
// Node makes a terminal's stream blocking: while the terminal takes no output (its user pressed
// Ctrl-S, an ssh session stalls, a laptop sleeps) a write to it waits in write(2), and with it every
// client of the receiver. Non-blocking, a write the terminal cannot take waits in memory instead,
// and the terminal reporter stops redrawing until it has gone out.
import { readFileSync } from 'node:fs'

/** Set in /proc/<pid>/fdinfo's octal `flags` when the descriptor is close-on-exec. */
const O_CLOEXEC = 0o2000000

/**
 * Makes `stream` (a terminal on descriptor `fd`) non-blocking, where that cannot touch another
 * process: O_NONBLOCK belongs to the open file description, which the shell and `| tee` may share.
 * libuv reopens a terminal to get one of its own, close-on-exec; an inherited descriptor cannot be
 * close-on-exec (exec would have closed it), so the flag is the proof that it did. Linux only (the
 * proof reads /proc); elsewhere, or if libuv could not reopen, the stream stays blocking.
 */
export function unblockTerminal(stream: NodeJS.WriteStream, fd: number): boolean {
  if (process.platform !== 'linux' || stream.isTTY !== true) return false
  let flags: number
  try {
    flags = parseInt(/^flags:\s*([0-7]+)$/m.exec(readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8'))?.[1] ?? '', 8)
  } catch {
    return false
  }
  if (!(flags & O_CLOEXEC)) return false
  const handle = (stream as unknown as { _handle?: { setBlocking?: (blocking: boolean) => number } })._handle
  if (typeof handle?.setBlocking !== 'function') return false
  return handle.setBlocking(false) === 0
}
