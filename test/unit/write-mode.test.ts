import { describe, expect, it } from 'vitest'
import { WriteMode } from '../../src/files/write-mode.js'

describe('WriteMode: synchronous writes until a device proves slow', () => {
  it('starts synchronous and stays so while writes are fast', () => {
    const m = new WriteMode(50, 3, 10_000)
    for (let t = 0; t < 1000; t += 10) {
      expect(m.sync(t)).toBe(true)
      m.record(t, 0.2)
    }
  })

  it('ignores a lone stall (a VM descheduling us), even a long one', () => {
    const m = new WriteMode(50, 3, 10_000)
    m.record(0, 500)
    m.record(600, 1)
    m.record(700, 80)
    m.record(800, 80)
    m.record(900, 1)
    m.record(1000, 80)
    expect(m.sync(1100)).toBe(true)
  })

  it('goes to the thread pool after a streak of slow writes, and back after the backoff', () => {
    const m = new WriteMode(50, 3, 10_000)
    m.record(0, 100)
    m.record(100, 100)
    expect(m.sync(200)).toBe(true)
    m.record(200, 100)
    // The last slow write ended at 300: asynchronous until 300 + 10 s.
    expect(m.sync(301)).toBe(false)
    expect(m.sync(10_299)).toBe(false)
    expect(m.sync(10_300)).toBe(true)
  })

  it('needs a new streak after coming back', () => {
    const m = new WriteMode(50, 3, 1000)
    for (const t of [0, 100, 200]) m.record(t, 100)
    expect(m.sync(1400)).toBe(true)
    m.record(1400, 100)
    expect(m.sync(1600)).toBe(true)
  })
})
