// When file writes may be made synchronously (see file-sink.ts for why they are).
//
// A page-cache write takes microseconds. A device that throttles its writer (dirty pages over
// the limit on a USB stick, a network mount) stalls every write for tens to hundreds of ms, and
// a synchronous write then freezes every other client; a VM descheduling us stalls one write now
// and then (a lone 108 ms write into tmpfs was seen here, and moving a 64-client upload to the
// thread pool for it doubled CPU and peak RSS). So only a streak of slow writes counts.

export class WriteMode {
  private streak = 0
  private asyncUntil = 0

  constructor(
    private readonly slowMs = 50,
    private readonly streakLength = 3,
    private readonly backoffMs = 10_000,
  ) {}

  /** Whether a write starting at `now` (ms, any monotonic clock) may block. */
  sync(now: number): boolean {
    return now >= this.asyncUntil
  }

  /** How long a synchronous write took; a streak of slow ones sends writes to the thread pool. */
  record(start: number, took: number): void {
    this.streak = took > this.slowMs ? this.streak + 1 : 0
    if (this.streak >= this.streakLength) {
      this.streak = 0
      this.asyncUntil = start + took + this.backoffMs
    }
  }
}

/** Process-wide: one slow device is reason enough, and every store shares it. */
export const writeMode = new WriteMode()
