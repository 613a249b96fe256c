// The signals that stop the receiver (SPEC §7): Ctrl-C, a supervisor's SIGTERM, and SIGHUP, the
// terminal closing or an SSH session dropping, whose default action would kill the process with a
// half-written temp file left behind. No side effects: early-signals.ts loads it before the program.
export const STOP_SIGNALS: readonly NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP']
