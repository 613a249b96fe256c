#!/usr/bin/env node
// Stress run (issue #6), loopback only and bounded: `npm run stress` (builds, then runs this).
//
//   node bench/stress.mjs                         250 held uploads + 50 aborted, then 600 mixed requests
//   node bench/stress.mjs --clients 400 --aborted 100 --churn 2000 --connections 64
//   node bench/stress.mjs --seed 7 --keep         another seed; keep the received folder
//
// Starts the built CLI (dist/, via bin/upload-recv.js) on 127.0.0.1 --port 0 --json and drives it
// with node:http clients:
//   1. held: C + A uploads (raw PUT, chunked POST and multipart POST in turn) each send half their
//      body and wait until the server holds every one of them at once (one temp file each on its
//      side); then the A "aborted" ones drop their connection and the C others send the rest.
//   2. churn: N more requests over K keep-alive connections, mixed the same way (multipart with
//      1-3 files), one in ten cut off mid-body.
//   3. check: every 201 answer's SHA-256 equals the client's, the folder holds exactly the files
//      answered (each file's SHA-256 on disk equals the client's) and no temp file; the server
//      reported a `failed` event for every aborted upload.
// Prints: uploads held at once, files stored and verified, aborted uploads injected and cleaned,
// leftovers (must be 0), the server's peak RSS (VmHWM from /proc/<pid>/status). Exit 1 on any
// failed check or after --budget seconds. Everything it creates is removed (unless --keep).
import { spawn } from 'node:child_process'
import { createHash, randomBytes } from 'node:crypto'
import { mkdtempSync, readFileSync, readdirSync, lstatSync, rmSync } from 'node:fs'
import http from 'node:http'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const BIN = path.join(ROOT, 'bin/upload-recv.js')
const KiB = 1024
const MiB = 1024 * KiB

function parseArgs(argv) {
  const o = { clients: 250, aborted: 50, churn: 600, connections: 32, minSize: 16 * KiB, maxSize: 192 * KiB, seed: 1, budget: 120, keep: false }
  const num = (name, v) => {
    if (!/^\d+$/.test(v ?? '')) throw new Error(`${name}: expected a whole number`)
    return Number(v)
  }
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]
    if (a === '--keep') o.keep = true
    else if (a === '--clients') o.clients = num(a, argv[++i])
    else if (a === '--aborted') o.aborted = num(a, argv[++i])
    else if (a === '--churn') o.churn = num(a, argv[++i])
    else if (a === '--connections') o.connections = Math.max(1, num(a, argv[++i]))
    else if (a === '--min-kib') o.minSize = num(a, argv[++i]) * KiB
    else if (a === '--max-kib') o.maxSize = num(a, argv[++i]) * KiB
    else if (a === '--seed') o.seed = num(a, argv[++i])
    else if (a === '--budget') o.budget = num(a, argv[++i])
    else throw new Error(`unknown argument ${a} (see the header of bench/stress.mjs)`)
  }
  if (o.maxSize < o.minSize) o.maxSize = o.minSize
  return o
}

/** mulberry32 */
function prng(seed) {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

const sha256 = (b) => createHash('sha256').update(b).digest('hex')
const sleep = (ms) => new Promise((r) => setTimeout(r, ms))
const fmtMiB = (n) => `${(n / MiB).toFixed(1)} MiB`

function procStatus(pid) {
  try {
    const s = readFileSync(`/proc/${pid}/status`, 'utf8')
    const kb = (k) => Number(new RegExp(`^${k}:\\s+(\\d+) kB`, 'm').exec(s)?.[1] ?? NaN) * KiB
    return { rss: kb('VmRSS'), hwm: kb('VmHWM') }
  } catch {
    return null
  }
}

/** Every regular file and temp file under `root`, relative paths; symlinks are not followed. */
function walk(root) {
  const out = []
  const visit = (dir, prefix) => {
    for (const name of readdirSync(dir)) {
      const abs = path.join(dir, name)
      const rel = prefix ? `${prefix}/${name}` : name
      // The server may remove a temp file between readdir and lstat (an aborted upload's cleanup).
      const st = lstatSync(abs, { throwIfNoEntry: false })
      if (!st) continue
      if (st.isDirectory()) visit(abs, rel)
      else out.push(rel)
    }
  }
  visit(root, '')
  return out
}
const isTemp = (rel) => /(^|\/)\.upload-recv-[^/]*\.part$/.test(rel)

// ---------------------------------------------------------------------------------------------
// The server

function startServer(dir, maxConnections) {
  const proc = spawn(
    process.execPath,
    [BIN, '--port', '0', '--host', '127.0.0.1', '--json', '--quiet', '--dir', dir, '--max-connections', String(maxConnections), '--timeout', '30'],
    { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NO_COLOR: '1' } },
  )
  const events = []
  let stderr = ''
  let buf = ''
  proc.stdout.on('data', (d) => {
    buf += d.toString()
    let nl
    while ((nl = buf.indexOf('\n')) !== -1) {
      const line = buf.slice(0, nl)
      buf = buf.slice(nl + 1)
      try {
        events.push(JSON.parse(line))
      } catch {
        // not JSON
      }
    }
  })
  proc.stderr.on('data', (d) => (stderr += d.toString()))
  const exited = new Promise((resolve) => proc.on('exit', (code, signal) => resolve(code ?? signal)))
  const listening = (async () => {
    for (let i = 0; i < 200; i++) {
      const e = events.find((x) => x.event === 'listening')
      if (e) return e
      if (proc.exitCode !== null) break
      await sleep(25)
    }
    throw new Error(`the server did not start: ${stderr.trim()}`)
  })()
  return { proc, events, exited, listening, stderr: () => stderr }
}

// ---------------------------------------------------------------------------------------------
// Uploads

const half = (n) => Math.max(1, Math.floor(n / 2))

/** One upload, described so it can be sent in two parts: `body` up to `split`, then the rest. */
function makeUpload(rnd, id, o, kindIndex) {
  const size = o.minSize + Math.floor(rnd() * (o.maxSize - o.minSize + 1))
  const kind = ['put', 'chunked', 'multipart'][kindIndex % 3]
  const nFiles = kind === 'multipart' ? 1 + Math.floor(rnd() * 3) : 1
  const parts = Array.from({ length: nFiles }, (_, k) => {
    const data = randomBytes(nFiles === 1 ? size : Math.max(1, Math.floor(size / nFiles)))
    return { name: `s${id}-${k}.bin`, data, sha: sha256(data) }
  })
  if (kind === 'put') {
    const body = parts[0].data
    return { kind, parts, path: `/stress/${parts[0].name}`, headers: { 'Content-Length': String(body.length) }, body, split: half(body.length) }
  }
  if (kind === 'chunked') {
    // No Content-Length: node:http sends it chunked, one chunk per write.
    const body = parts[0].data
    return { kind, parts, path: `/stress/${parts[0].name}`, method: 'POST', headers: { 'Content-Type': 'application/octet-stream' }, body, split: half(body.length) }
  }
  const boundary = `----stress${id}x${Math.floor(rnd() * 1e9)}`
  const pieces = []
  for (const p of parts) {
    pieces.push(
      Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="${p.name}"\r\nContent-Type: application/octet-stream\r\n\r\n`),
      p.data,
      Buffer.from('\r\n'),
    )
  }
  pieces.push(Buffer.from(`--${boundary}--\r\n`))
  const body = Buffer.concat(pieces)
  // Cut inside the first file's bytes, so an aborted upload has no complete file to keep.
  const split = pieces[0].length + half(parts[0].data.length)
  return {
    split,
    kind,
    parts,
    path: '/stress/',
    method: 'POST',
    headers: { 'Content-Type': `multipart/form-data; boundary=${boundary}`, 'Content-Length': String(body.length) },
    body,
  }
}

/**
 * Starts an upload and writes its body up to `split`. Returns `{ firstWritten, proceed, abort, done }`:
 * `done` resolves with { status, json } (or { error }) once the answer is in.
 */
function begin(port, agent, u) {
  const req = http.request({ host: '127.0.0.1', port, method: u.method ?? 'PUT', path: u.path, headers: u.headers, agent })
  const done = new Promise((resolve) => {
    req.on('response', (res) => {
      const chunks = []
      res.on('data', (d) => chunks.push(d))
      res.on('end', () => {
        let json = null
        try {
          json = JSON.parse(Buffer.concat(chunks).toString())
        } catch {
          // not JSON
        }
        resolve({ status: res.statusCode, json })
      })
      res.on('error', (error) => resolve({ error }))
    })
    req.on('error', (error) => resolve({ error }))
  })
  const firstWritten = new Promise((resolve) => req.write(u.body.subarray(0, u.split), () => resolve()))
  return {
    firstWritten,
    proceed() {
      req.end(u.body.subarray(u.split))
    },
    abort() {
      req.destroy()
    },
    done,
  }
}

/** Checks a 201 answer against what was sent; returns the stored names, or throws. */
function verifyAnswer(u, r) {
  if (r.error) throw new Error(`${u.path}: ${r.error.message}`)
  if (r.status !== 201) throw new Error(`${u.path}: status ${r.status} ${JSON.stringify(r.json)}`)
  const files = r.json?.files ?? []
  if (files.length !== u.parts.length) throw new Error(`${u.path}: ${files.length} files answered, ${u.parts.length} sent`)
  return files.map((f, i) => {
    if (f.sha256 !== u.parts[i].sha || f.size !== u.parts[i].data.length) throw new Error(`${u.path}: ${f.name} answered with another hash or size`)
    return { name: f.name, sha: u.parts[i].sha, size: f.size }
  })
}

// ---------------------------------------------------------------------------------------------

async function main() {
  const o = parseArgs(process.argv.slice(2))
  const started = Date.now()
  const scratch = mkdtempSync(path.join(os.tmpdir(), 'upload-recv-stress-'))
  const dir = path.join(scratch, 'in')
  const server = startServer(dir, o.clients + o.aborted + o.connections + 64)
  let peakRss = 0
  const failures = []
  const budget = setTimeout(() => {
    console.error(`stress: over the budget of ${o.budget} s; stopping.`)
    server.proc.kill('SIGKILL')
    if (!o.keep) rmSync(scratch, { recursive: true, force: true })
    process.exit(1)
  }, o.budget * 1000)
  const sampler = setInterval(() => {
    const s = procStatus(server.proc.pid)
    if (s && Number.isFinite(s.rss)) peakRss = Math.max(peakRss, s.rss)
  }, 50)

  try {
    const { port } = await server.listening
    const rnd = prng(o.seed)
    const expected = new Map() // stored name -> { sha, size }
    const record = (list) => {
      for (const f of list) {
        if (expected.has(f.name)) throw new Error(`${f.name} answered twice`)
        expected.set(f.name, f)
      }
    }

    // 1. held: everyone mid-body at once.
    const total = o.clients + o.aborted
    const uploads = Array.from({ length: total }, (_, i) => makeUpload(rnd, i, o, i))
    const held = uploads.map((u) => ({ u, h: begin(port, false, u) }))
    const t1 = Date.now()
    await Promise.all(held.map((x) => x.h.firstWritten))
    let heldAtOnce = 0
    for (let i = 0; i < 400; i++) {
      heldAtOnce = Math.max(heldAtOnce, walk(dir).filter(isTemp).length)
      if (heldAtOnce >= total) break
      await sleep(25)
    }
    if (heldAtOnce < total) failures.push(`only ${heldAtOnce} of ${total} uploads were in progress on the server at once`)
    // Uploads are aborted among all kinds: every (clients/aborted)-th one.
    const abortedSet = new Set()
    for (let k = 0; k < o.aborted; k++) abortedSet.add(Math.floor((k * total) / Math.max(1, o.aborted)))
    held.forEach((x, i) => (abortedSet.has(i) ? x.h.abort() : x.h.proceed()))
    const heldResults = await Promise.all(held.map((x) => x.h.done))
    const heldMs = Date.now() - t1
    heldResults.forEach((r, i) => {
      if (abortedSet.has(i)) return
      try {
        record(verifyAnswer(held[i].u, r))
      } catch (err) {
        failures.push(err.message)
      }
    })

    // 2. churn: keep-alive connections, mixed requests, one in ten cut off mid-body.
    const agent = new http.Agent({ keepAlive: true, maxSockets: o.connections })
    let next = 0
    let churnAborted = 0
    let churnBytes = 0
    const t2 = Date.now()
    const worker = async () => {
      while (next < o.churn) {
        const id = total + next++
        const u = makeUpload(rnd, id, { ...o, minSize: 2 }, Math.floor(rnd() * 3))
        const abort = rnd() < 0.1
        // An aborted request must not poison a pooled socket: it gets its own connection.
        const h = begin(port, abort ? false : agent, u)
        await h.firstWritten
        if (abort) {
          churnAborted++
          h.abort()
          await h.done
          continue
        }
        h.proceed()
        try {
          record(verifyAnswer(u, await h.done))
          churnBytes += u.body.length
        } catch (err) {
          failures.push(err.message)
        }
      }
    }
    await Promise.all(Array.from({ length: o.connections }, worker))
    const churnMs = Date.now() - t2
    agent.destroy()

    // 3. check: every aborted upload reported and cleaned, the folder holds exactly what was answered.
    const abortedTotal = o.aborted + churnAborted
    let failedEvents = 0
    let temps = []
    for (let i = 0; i < 200; i++) {
      failedEvents = server.events.filter((e) => e.event === 'failed').length
      temps = walk(dir).filter(isTemp)
      if (failedEvents >= abortedTotal && temps.length === 0) break
      await sleep(25)
    }
    const onDisk = walk(dir).filter((f) => !isTemp(f))
    const stray = onDisk.filter((f) => !expected.has(f))
    const missing = [...expected.keys()].filter((f) => !onDisk.includes(f))
    let verified = 0
    let storedBytes = 0
    for (const [name, f] of expected) {
      if (missing.includes(name)) continue
      const data = readFileSync(path.join(dir, name))
      if (data.length === f.size && sha256(data) === f.sha) {
        verified++
        storedBytes += data.length
      } else failures.push(`${name}: the bytes on disk differ from what was sent`)
    }
    const storedEvents = server.events.filter((e) => e.event === 'stored').length
    if (storedEvents !== expected.size) failures.push(`${storedEvents} stored events for ${expected.size} files answered`)
    if (failedEvents < abortedTotal) failures.push(`${failedEvents} failed events for ${abortedTotal} aborted uploads`)
    const leftovers = stray.length + temps.length + missing.length
    if (leftovers > 0) failures.push(`leftovers: ${stray.length} stray files, ${temps.length} temp files, ${missing.length} missing`)

    const end = procStatus(server.proc.pid)
    const hwm = end?.hwm ?? peakRss
    server.proc.kill('SIGTERM')
    const code = await Promise.race([server.exited, sleep(10_000).then(() => 'no exit')])
    if (code !== 0) failures.push(`server exit: ${code}`)
    if (server.proc.exitCode === null) server.proc.kill('SIGKILL')

    const line = (k, v) => console.log(`  ${k.padEnd(28)}${v}`)
    console.log(`upload-recv stress (127.0.0.1, seed ${o.seed}, ${os.cpus().length} CPUs, node ${process.versions.node})`)
    line('concurrent uploads held:', `${heldAtOnce} at once (${o.clients} clients completed + ${o.aborted} aborted mid-body, ${heldMs} ms)`)
    line('churn:', `${o.churn} requests over ${o.connections} keep-alive connections in ${churnMs} ms (${fmtMiB(churnBytes)}, ${churnAborted} cut off)`)
    line('files stored & verified:', `${verified} of ${expected.size} (SHA-256 on disk = client's), ${fmtMiB(storedBytes)}`)
    line('aborted uploads injected:', `${abortedTotal} (server reported ${failedEvents} failed; temp files left: ${temps.length})`)
    line('leftovers:', `${leftovers} (stray ${stray.length}, temp ${temps.length}, missing ${missing.length})`)
    line('server peak RSS (VmHWM):', `${fmtMiB(hwm)} (highest sampled VmRSS ${fmtMiB(peakRss)})`)
    line('wall time:', `${((Date.now() - started) / 1000).toFixed(1)} s`)
    if (failures.length > 0) {
      console.log(`FAILED (${failures.length}):`)
      for (const f of failures.slice(0, 20)) console.log(`  - ${f}`)
      return 1
    }
    console.log('OK')
    return 0
  } finally {
    clearInterval(sampler)
    clearTimeout(budget)
    if (server.proc.exitCode === null && server.proc.signalCode === null) server.proc.kill('SIGKILL')
    if (o.keep) console.log(`kept: ${scratch}`)
    else rmSync(scratch, { recursive: true, force: true })
  }
}

main().then(
  (code) => process.exit(code),
  (err) => {
    console.error(`stress: ${err.stack ?? err}`)
    process.exit(1)
  },
)
