#!/usr/bin/env node
// The young-generation cap first, then the program: see src/heap-limits.ts.
import '../dist/heap-limits.js'
await import('../dist/cli.js')
