// An upload's answer waits for a lagging stdout reader (AppContext.outputSettled), but not for a
// client that is gone: nobody would read that answer, and every such wait holds a request's memory.
import { describe, expect, it } from 'vitest'
import type { AppContext } from '../../src/app/context.js'
import { linesFirst } from '../../src/app/receive.js'
import type { Request } from '../../src/http/connection.js'

function fixture(backlog: Promise<void> | null) {
  let gone: (() => void) | null = null
  let watching = 0
  const ctx = { outputSettled: () => backlog } as unknown as AppContext
  const req = {
    onGone(cb: () => void) {
      gone = cb
      watching++
      return () => watching--
    },
  } as unknown as Request
  return { ctx, req, goAway: () => gone?.(), watching: () => watching }
}

const settled = async (p: Promise<unknown>) => {
  let done = false
  void p.then(() => (done = true))
  for (let i = 0; i < 5; i++) await Promise.resolve()
  return done
}

describe('linesFirst', () => {
  it('stdout keeping up: at once, no watcher left', async () => {
    const f = fixture(null)
    expect(await settled(linesFirst(f.ctx, f.req))).toBe(true)
    expect(f.watching()).toBe(0)
  })

  it('stdout lagging: waits, and is released by the reader catching up (watcher removed)', async () => {
    let drain = () => {}
    const f = fixture(new Promise<void>((r) => (drain = r)))
    const p = linesFirst(f.ctx, f.req)
    expect(await settled(p)).toBe(false)
    drain()
    expect(await settled(p)).toBe(true)
    expect(f.watching()).toBe(0)
  })

  it('stdout lagging for good: released once the client is gone', async () => {
    const f = fixture(new Promise<void>(() => {}))
    const p = linesFirst(f.ctx, f.req)
    expect(await settled(p)).toBe(false)
    f.goAway()
    expect(await settled(p)).toBe(true)
    expect(f.watching()).toBe(0)
  })
})
