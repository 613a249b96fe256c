#!/usr/bin/env node
// The young-generation cap first, then signals held until the program handles them, then the
// program: see src/heap-limits.ts and src/early-signals.ts.
import '../dist/heap-limits.js'
import '../dist/early-signals.js'
await import('../dist/cli.js')
