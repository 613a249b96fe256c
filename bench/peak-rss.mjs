#!/usr/bin/env node
// Benchmark (not a test): the server's peak memory while it receives one big upload (SPEC §4
// "Backpressure": memory stays flat whatever the file size).
//
//   npm run build && node bench/peak-rss.mjs
//                                      2 GiB, generated on the fly and piped to `curl -T -` (chunked)
//   node bench/peak-rss.mjs --size 512MiB
//   node bench/peak-rss.mjs --file     generate the data into a temp file first, then `curl -T file`
//                                      (Content-Length instead of chunked; needs the disk space twice)
//
// Starts the built CLI (dist/) on 127.0.0.1 with --port 0, samples /proc/<pid>/status while the
// upload runs (VmHWM is the kernel's own peak-RSS mark) and prints `peak RSS: N MiB` and throughput.
// Everything it creates (temp folder, stored file, processes) is removed on the way out. Linux only.
import { spawn } from 'node:child_process'
import { createHash, randomFillSync } from 'node:crypto'
import { once } from 'node:events'
import { createWriteStream, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const BIN = path.join(ROOT, 'bin/upload-recv.js')
const MiB = 1024 * 1024

function parseArgs(argv) {
  const opts = { size: 2 * 1024 * MiB, file: false }
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]
    if (a === '--file') opts.file = true
    else if (a === '--size') {
      const m = /^(\d+)\s*(MiB|GiB)?$/i.exec(argv[++i] ?? '')
      if (!m) throw new Error('--size: expected e.g. 512MiB or 2GiB')
      opts.size = Number(m[1]) * (m[2]?.toLowerCase() === 'gib' ? 1024 * MiB : MiB)
    } else throw new Error(`unknown argument ${a}`)
  }
  return opts
}

/** Yields `size` bytes in 1 MiB chunks: one CSPRNG block, a counter stamped every 4 KiB so no chunk repeats. */
function* chunks(size) {
  const block = randomFillSync(Buffer.alloc(MiB))
  for (let n = 0, sent = 0; sent < size; n++) {
    const chunk = Buffer.from(block.subarray(0, Math.min(MiB, size - sent)))
    for (let off = 0; off + 8 <= chunk.length; off += 4096) chunk.writeUInt32LE((n * 256 + off / 4096) >>> 0, off)
    sent += chunk.length
    yield chunk
  }
}

function drainOrClose(out) {
  return new Promise((resolve) => {
    const done = () => {
      out.off('drain', done)
      out.off('close', done)
      resolve()
    }
    out.on('drain', done)
    out.on('close', done)
  })
}

/** Writes the chunks to `out` with backpressure; resolves with their SHA-256. */
async function pump(size, out) {
  const hash = createHash('sha256')
  for (const chunk of chunks(size)) {
    hash.update(chunk)
    if (!out.write(chunk)) await drainOrClose(out)
    if (out.destroyed) throw new Error('the receiving end closed early')
  }
  out.end()
  return hash.digest('hex')
}

function procStatus(pid) {
  try {
    const text = readFileSync(`/proc/${pid}/status`, 'utf8')
    const kib = (key) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? NaN)
    return { rss: kib('VmRSS') * 1024, hwm: kib('VmHWM') * 1024 }
  } catch {
    return null
  }
}

const fmt = (bytes) => `${(bytes / MiB).toFixed(1)} MiB`

async function main() {
  if (process.platform !== 'linux') throw new Error('needs Linux (/proc/<pid>/status)')
  const opts = parseArgs(process.argv.slice(2))
  const work = mkdtempSync(path.join(os.tmpdir(), 'upload-recv-bench-'))
  const children = new Set()
  const cleanup = () => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL')
    rmSync(work, { recursive: true, force: true })
  }
  const onSignal = () => {
    cleanup()
    process.exit(130)
  }
  process.once('SIGINT', onSignal)
  process.once('SIGTERM', onSignal)

  try {
    // The data, first, in --file mode (so generating it is not part of the timing).
    let source = null
    let sentSha = null
    if (opts.file) {
      source = path.join(work, 'source.bin')
      process.stderr.write(`generating ${fmt(opts.size)} into ${source} …\n`)
      sentSha = await pump(opts.size, createWriteStream(source))
    }

    const server = spawn(process.execPath, [BIN, '--port', '0', '--host', '127.0.0.1', '--json', '--quiet', '--dir', path.join(work, 'in')], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'inherit'],
    })
    children.add(server)
    const events = []
    let lines = ''
    let onEvent = () => {}
    server.stdout.on('data', (d) => {
      lines += d
      let nl
      while ((nl = lines.indexOf('\n')) !== -1) {
        events.push(JSON.parse(lines.slice(0, nl)))
        lines = lines.slice(nl + 1)
        onEvent()
      }
    })
    const waitEvent = (type, ms) =>
      new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no ${type} event within ${ms} ms`)), ms)
        const check = () => {
          const e = events.find((x) => x.event === type)
          if (e) {
            clearTimeout(timer)
            resolve(e)
          }
        }
        onEvent = check
        check()
        server.once('exit', () => reject(new Error(`the server exited before ${type}`)))
      })
    const { port } = await waitEvent('listening', 10_000)
    const idle = procStatus(server.pid)

    // Sample while the upload runs; VmHWM catches peaks between samples.
    let maxRss = 0
    const sampler = setInterval(() => {
      const s = procStatus(server.pid)
      if (s) maxRss = Math.max(maxRss, s.rss)
    }, 20)

    const url = `http://127.0.0.1:${port}/bench.bin`
    const curl = spawn('curl', ['-sS', '--fail-with-body', '-T', source ?? '-', '-w', '\n%{http_code} %{size_upload} %{time_total}', url], {
      stdio: [source ? 'ignore' : 'pipe', 'pipe', 'inherit'],
    })
    children.add(curl)
    let curlOut = ''
    curl.stdout.on('data', (d) => (curlOut += d))
    const curlExit = once(curl, 'exit')
    const started = process.hrtime.bigint()
    if (!source) sentSha = await pump(opts.size, curl.stdin)
    const [code] = await curlExit
    const seconds = Number(process.hrtime.bigint() - started) / 1e9
    clearInterval(sampler)
    const peak = procStatus(server.pid)
    if (code !== 0) throw new Error(`curl exited ${code}: ${curlOut}`)

    const cut = curlOut.lastIndexOf('\n')
    const stored = JSON.parse(curlOut.slice(0, cut)).files[0]
    const [status] = curlOut.slice(cut + 1).split(' ')
    const intact = stored.size === opts.size && stored.sha256 === sentSha

    server.kill('SIGTERM')
    await once(server, 'exit')

    console.log(`upload: ${fmt(opts.size)} via curl -T ${source ? 'file (Content-Length)' : '- (chunked)'}, HTTP ${status}, ${intact ? 'intact (size and SHA-256 match)' : 'NOT INTACT'}`)
    console.log(`server RSS idle: ${fmt(idle.rss)}, sampled max: ${fmt(maxRss)}`)
    console.log(`peak RSS: ${(peak.hwm / MiB).toFixed(0)} MiB`)
    console.log(`throughput: ${(opts.size / MiB / seconds).toFixed(0)} MiB/s (${seconds.toFixed(2)} s, loopback, stored and hashed on ${os.tmpdir()})`)
    if (!intact) process.exitCode = 1
  } finally {
    cleanup()
  }
}

main().catch((err) => {
  console.error(`peak-rss: ${err.message}`)
  process.exitCode = 1
})
