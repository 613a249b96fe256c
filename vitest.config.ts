import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: 'forks',
    // Every test talks to 127.0.0.1: a proxy set on the machine (curl honours http_proxy,
    // ALL_PROXY) must not carry those requests away.
    env: { NO_PROXY: '*', no_proxy: '*' },
  },
})
