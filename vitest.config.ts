import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: 'forks',
    // Vitest's default is one worker per core less one: a single worker on a 2-core machine,
    // which ran the files one after another (274 s here). Most files wait on child processes,
    // sockets and Chromium rather than compute, so two overlap well: 165–174 s over three runs,
    // and 205 s with a third process spinning on a core, every test passing each time.
    maxWorkers: 2,
    // Every test talks to 127.0.0.1: a proxy set on the machine (curl honours http_proxy,
    // ALL_PROXY) must not carry those requests away.
    env: { NO_PROXY: '*', no_proxy: '*' },
  },
})
