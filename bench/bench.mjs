#!/usr/bin/env node
// Throughput benchmark (issue #7): upload-recv against node:http + busboy "the usual way"
// (bench/servers/busboy.mjs) and a no-parsing node:net ceiling (bench/servers/ceiling.mjs),
// driven by curl over loopback, received files on /dev/shm, every stored byte checked.
//
//   npm run bench                          3 rounds, W1 1 GiB, W2 2,000 x 4 KiB, W3 16 x 64 MiB
//   npm run bench -- --quick               1 round, smaller sizes, under a minute
//   npm run bench -- --w1-size 4GiB --w3-clients 64 --workloads w1,w3
//   npm run bench -- --profile             upload-recv under `node --cpu-prof` on W1, top functions
//   node bench/bench.mjs --summarize x.cpuprofile [--top 15]
//
// Workloads (payload = the files' own bytes; multipart framing and heads are not counted):
//   W1  one file, `curl -F file=@big` (one request)                      -> MiB/s
//   W2  N small files, ONE curl with `--next` per file, sequential on one keep-alive connection
//       (checked: curl's num_connects must add up to 1)                  -> files/s
//   W3  C concurrent curl processes, one file each                       -> MiB/s (all bytes / wall)
// Method, per workload and round r (servers in rotating order, so drift hits all alike):
//   fresh server process -> untimed warm-up (20 x 4 KiB + 1 x 4 MiB, so JIT is not timed; then
//   deleted) -> write + delete a /dev/shm file of the upload's size (pages freed to the host cost
//   ~2 s/GiB to touch again) -> timed: curl start to last curl exit, server CPU from
//   /proc/<pid>/stat utime+stime, peak RSS = VmHWM from /proc/<pid>/status -> stop server ->
//   verify every stored file against what was sent (SHA-256 of the bytes on disk; for upload-recv
//   and busboy also the sha256 they answered; for the ceiling its raw connection files are parsed).
//   A run that loses or changes a byte, or gets a non-201, FAILs the workload in the table.
import { spawn, execFileSync } from 'node:child_process'
import { createCipheriv, createHash } from 'node:crypto'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const KiB = 1024
const MiB = 1024 * KiB
const GiB = 1024 * MiB
const CLK_TCK = 100 // Linux USER_HZ; checked against getconf below when available

// ---------------------------------------------------------------------------------------------
// Options

function parseSize(text) {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([kmgt]?)(i?)(b?)\s*$/i.exec(String(text))
  if (!m) throw new Error(`not a size: ${text}`)
  const [, n, unit, i, b] = m
  const pow = { '': 0, k: 1, m: 2, g: 3, t: 4 }[unit.toLowerCase()]
  // KiB/MiB/GiB and bare K/M/G are 1024^n; kB/MB/GB (with B, without i) are 1000^n.
  const base = unit && !i && b ? 1000 : 1024
  return Math.round(Number(n) * base ** pow)
}

function fmtSize(n) {
  if (n >= GiB && n % GiB === 0) return `${n / GiB} GiB`
  if (n >= MiB && n % MiB === 0) return `${n / MiB} MiB`
  if (n >= KiB && n % KiB === 0) return `${n / KiB} KiB`
  return `${n} B`
}

const HELP = `usage: node bench/bench.mjs [options]       (npm run bench -- [options])
  --quick               1 round, W1 256 MiB, W2 500 x 4 KiB, W3 8 x 32 MiB (under a minute)
  --rounds <n>          rounds per workload (default 3; --quick 1)
  --w1-size <size>      W1 file size (default 1GiB)
  --w2-files <n>        W2 file count (default 2000)
  --w2-size <size>      W2 file size (default 4KiB)
  --w3-clients <n>      W3 concurrent clients (default 16)
  --w3-size <size>      W3 size per client (default 64MiB)
  --workloads <list>    w1,w2,w3 (default all)
  --servers <list>      ceiling,busboy,upload-recv (default all)
  --work-dir <dir>      where sources and received files go (default /dev/shm)
  --json-out <file>     also write every run's numbers as JSON
  --busboy-hwm <size>   give busboy.mjs's write streams this highWaterMark (default: Node's 16 KiB)
  --profile             run the servers (default: upload-recv only) under node --cpu-prof,
                        1 round, default workload w1, and print the top functions by self time
  --profile-dir <dir>   where .cpuprofile files go (default /tmp/upload-recv-bench-profiles)
  --top <n>             functions to list per profile (default 15)
  --quiet-wait <s>      before each timed part, wait up to s seconds for other processes to leave
                        the machine under 10% busy (default 20; --quick 2; 0 = don't wait)
  --summarize <file>    only summarise an existing .cpuprofile and exit
sizes: 4096, 4KiB, 64MiB, 1.5GiB (KiB/MiB/GiB and K/M/G = 1024^n, kB/MB/GB = 1000^n)`

function parseArgs(argv) {
  const o = {
    quick: false,
    rounds: null,
    w1Size: null,
    w2Files: null,
    w2Size: null,
    w3Clients: null,
    w3Size: null,
    workloads: null,
    servers: null,
    workDir: '/dev/shm',
    jsonOut: null,
    profile: false,
    profileDir: path.join(os.tmpdir(), 'upload-recv-bench-profiles'),
    top: 15,
    summarize: null,
    quietWait: null,
    busboyHwm: null,
  }
  for (let i = 0; i < argv.length; i++) {
    let a = argv[i]
    let v
    const eq = a.indexOf('=')
    if (a.startsWith('--') && eq > 0) {
      v = a.slice(eq + 1)
      a = a.slice(0, eq)
    }
    const val = () => {
      if (v !== undefined) return v
      if (i + 1 >= argv.length) throw new Error(`${a} needs a value`)
      return argv[++i]
    }
    const int = () => {
      const n = Number(val())
      if (!Number.isInteger(n) || n < 1) throw new Error(`${a} needs a positive integer`)
      return n
    }
    switch (a) {
      case '--quick': o.quick = true; break
      case '--rounds': o.rounds = int(); break
      case '--w1-size': o.w1Size = parseSize(val()); break
      case '--w2-files': o.w2Files = int(); break
      case '--w2-size': o.w2Size = parseSize(val()); break
      case '--w3-clients': o.w3Clients = int(); break
      case '--w3-size': o.w3Size = parseSize(val()); break
      case '--workloads': o.workloads = val().toLowerCase().split(',').filter(Boolean); break
      case '--servers': o.servers = val().split(',').filter(Boolean); break
      case '--work-dir': o.workDir = val(); break
      case '--json-out': o.jsonOut = val(); break
      case '--busboy-hwm': o.busboyHwm = parseSize(val()); break
      case '--profile': o.profile = true; break
      case '--profile-dir': o.profileDir = path.resolve(val()); break
      case '--top': o.top = int(); break
      case '--quiet-wait': o.quietWait = Number(val()); if (!(o.quietWait >= 0)) throw new Error('--quiet-wait needs seconds >= 0'); break
      case '--summarize': o.summarize = val(); break
      case '-h': case '--help': process.stdout.write(HELP + '\n'); process.exit(0)
      default: throw new Error(`unknown option ${a}\n${HELP}`)
    }
  }
  const q = o.quick
  o.rounds ??= q || o.profile ? 1 : 3
  o.quietWait ??= q ? 2 : 20
  o.w1Size ??= q ? 256 * MiB : 1 * GiB
  o.w2Files ??= q ? 500 : 2000
  o.w2Size ??= 4 * KiB
  o.w3Clients ??= q ? 8 : 16
  o.w3Size ??= q ? 32 * MiB : 64 * MiB
  o.workloads ??= o.profile ? ['w1'] : ['w1', 'w2', 'w3']
  o.servers ??= o.profile ? ['upload-recv'] : ['ceiling', 'busboy', 'upload-recv']
  for (const w of o.workloads) if (!['w1', 'w2', 'w3'].includes(w)) throw new Error(`unknown workload ${w}`)
  for (const s of o.servers) if (!SERVERS[s]) throw new Error(`unknown server ${s} (ceiling, busboy, upload-recv)`)
  return o
}

// ---------------------------------------------------------------------------------------------
// Servers

const SERVERS = {
  ceiling: (dir) => [path.join(ROOT, 'bench/servers/ceiling.mjs'), '--port', '0', '--host', '127.0.0.1', '--dir', dir],
  busboy: (dir, o) => [
    path.join(ROOT, 'bench/servers/busboy.mjs'),
    ...['--port', '0', '--host', '127.0.0.1', '--dir', dir],
    ...(o.busboyHwm ? ['--hwm', String(o.busboyHwm)] : []),
  ],
  'upload-recv': (dir) => [path.join(ROOT, 'bin/upload-recv.js'), '--port', '0', '--host', '127.0.0.1', '--json', '--quiet', '--dir', dir],
}

// Every child we start, so that any exit path (error, Ctrl-C) can kill them by pid.
const children = new Set()
let workRoot = null
let cleanedUp = false

function cleanup() {
  if (cleanedUp) return
  cleanedUp = true
  for (const c of children) {
    try {
      process.kill(c.pid, 'SIGKILL')
    } catch {
      // already gone
    }
  }
  children.clear()
  if (workRoot) {
    try {
      fs.rmSync(workRoot, { recursive: true, force: true })
    } catch {
      // best effort
    }
  }
}
process.on('exit', cleanup)
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(sig, () => {
    process.stderr.write(`\nbench: ${sig}, cleaning up\n`)
    cleanup()
    process.exit(sig === 'SIGINT' ? 130 : 143)
  })
}

function track(child) {
  children.add(child)
  child.on('exit', () => children.delete(child))
  return child
}

async function startServer(name, dir, opts, nodeFlags = []) {
  const args = [...nodeFlags, ...SERVERS[name](dir, opts)]
  // Standard output goes to a file, read when needed: parsing upload-recv's per-file JSON lines
  // live would put this script's CPU into the timed part (W2: ~1,000 wake-ups a second on a
  // 2-core machine), which the busboy server, printing nothing per file, would not pay for.
  const outPath = `${dir}.stdout`
  const outFd = fs.openSync(outPath, 'w')
  let child
  try {
    child = track(spawn(process.execPath, args, { cwd: ROOT, stdio: ['ignore', outFd, 'pipe'] }))
  } finally {
    fs.closeSync(outFd)
  }
  const srv = { name, child, pid: child.pid, port: 0, outPath, eventsFrom: 0, stderr: '', exited: null }
  child.stderr.setEncoding('utf8')
  child.stderr.on('data', (d) => {
    srv.stderr = (srv.stderr + d).slice(-4000)
  })
  const exited = new Promise((resolve) => child.on('exit', (code, sig) => resolve((srv.exited = { code, sig }))))
  srv.exitedP = exited
  const deadline = Date.now() + 15000
  let r = 'timeout'
  while (Date.now() < deadline) {
    const listening = serverEvents(srv, 0).find((ev) => ev.event === 'listening')
    if (listening) {
      srv.port = listening.port
      r = 'ok'
      break
    }
    if (srv.exited) {
      r = 'exited'
      break
    }
    await sleep(20)
  }
  if (r !== 'ok') {
    await stopServer(srv)
    throw new Error(`${name} did not start (${r}): ${srv.stderr.trim().slice(-500)}`)
  }
  return srv
}

/** The JSON lines the server has written from byte `from` of its standard output on. */
function serverEvents(srv, from = srv.eventsFrom) {
  let text
  try {
    text = fs.readFileSync(srv.outPath, 'utf8').slice(from)
  } catch {
    return []
  }
  const events = []
  for (const line of text.split('\n')) {
    try {
      events.push(JSON.parse(line))
    } catch {
      // a partial last line, or not JSON
    }
  }
  return events
}

async function stopServer(srv) {
  if (srv.exited) return srv.exited
  try {
    process.kill(srv.pid, 'SIGTERM')
  } catch {
    // gone
  }
  // Profiled servers write their .cpuprofile on the way out: give them time.
  const r = await Promise.race([srv.exitedP, sleep(10000).then(() => null)])
  if (r) return r
  try {
    process.kill(srv.pid, 'SIGKILL')
  } catch {
    // gone
  }
  return srv.exitedP
}

function cpuSeconds(pid) {
  const s = fs.readFileSync(`/proc/${pid}/stat`, 'utf8')
  const f = s.slice(s.lastIndexOf(')') + 2).split(' ')
  // f[0] is field 3 (state); utime is field 14, stime field 15.
  return (Number(f[11]) + Number(f[12])) / CLK_TCK
}

/** System-wide busy and steal CPU seconds (all cores), from /proc/stat. */
function systemCpu() {
  const f = fs.readFileSync('/proc/stat', 'utf8').split('\n', 1)[0].trim().split(/\s+/).slice(1).map(Number)
  const [user, nice, system, , , irq, softirq, steal] = f
  return { busy: (user + nice + system + irq + softirq) / CLK_TCK, steal: (steal || 0) / CLK_TCK }
}

/**
 * On a shared machine other jobs steal the cores the server and curl need. Wait (at most
 * `maxSeconds`) until two 250 ms windows in a row have the machine under 10% busy. Our server sits
 * idle meanwhile, so what is measured is everybody else. Returns the seconds waited (-1: gave up).
 */
async function waitForQuiet(maxSeconds) {
  if (maxSeconds <= 0) return 0
  const cores = os.cpus().length
  const t0 = Date.now()
  let calm = 0
  while (Date.now() - t0 < maxSeconds * 1000) {
    const a = systemCpu()
    await sleep(250)
    const b = systemCpu()
    calm = (b.busy - a.busy) / (0.25 * cores) < 0.1 ? calm + 1 : 0
    if (calm >= 2) return (Date.now() - t0) / 1000
  }
  return -1
}

/** This process's own CPU seconds, and that of its reaped children (the finished curls). */
function selfCpu() {
  const s = fs.readFileSync('/proc/self/stat', 'utf8')
  const f = s.slice(s.lastIndexOf(')') + 2).split(' ')
  return { self: (Number(f[11]) + Number(f[12])) / CLK_TCK, children: (Number(f[13]) + Number(f[14])) / CLK_TCK }
}

function peakRssMiB(pid) {
  const m = /VmHWM:\s+(\d+)\s+kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))
  return m ? Number(m[1]) / 1024 : NaN
}

// ---------------------------------------------------------------------------------------------
// Clients

const MARK = '\n@@BENCH@@ %{http_code} %{num_connects} %{size_upload}\n'
const MARK_RE = /\n@@BENCH@@ (\d+) (\d+) (\d+)\n/g
// -q: ignore ~/.curlrc; no proxy from the environment; HTTP/1.1; curl's own defaults otherwise
// (it sends `Expect: 100-continue` for bodies over 1 MiB; every server answers it).
const CURL_BASE = ['-q', '-sS', '--http1.1', '--noproxy', '*', '--connect-timeout', '5']

function curlMaxTime(bytes) {
  // Generous: 20 MiB/s would be ~50x slower than expected.
  return Math.ceil(Math.max(30, bytes / (20 * MiB)))
}

/** Runs one curl; resolves with its transfers ({code, connects, uploaded, body}) or an error string. */
function runCurl(args, maxSeconds) {
  return new Promise((resolve) => {
    const child = track(spawn('curl', [...CURL_BASE, ...args], { stdio: ['ignore', 'pipe', 'pipe'] }))
    let out = ''
    let err = ''
    child.stdout.setEncoding('latin1')
    child.stdout.on('data', (d) => (out += d))
    child.stderr.setEncoding('utf8')
    child.stderr.on('data', (d) => (err = (err + d).slice(-2000)))
    // Belt and braces over curl's own --max-time.
    const killer = setTimeout(() => {
      err += ` [killed after ${maxSeconds + 15} s]`
      try {
        process.kill(child.pid, 'SIGKILL')
      } catch {
        // gone
      }
    }, (maxSeconds + 15) * 1000)
    child.on('error', (e) => (err += ` ${e.message}`))
    child.on('close', (code, sig) => {
      clearTimeout(killer)
      const transfers = []
      let last = 0
      for (const m of out.matchAll(MARK_RE)) {
        transfers.push({ body: out.slice(last, m.index), code: Number(m[1]), connects: Number(m[2]), uploaded: Number(m[3]) })
        last = m.index + m[0].length
      }
      resolve({ exit: code, sig, stderr: err.trim(), transfers })
    })
  })
}

function singleUploadArgs(url, file, maxTime) {
  return ['--max-time', String(maxTime), '-w', MARK, '-F', `file=@${file}`, url]
}

/** A curl --config with one `--next` group per file: sequential requests, one connection. */
function writeKeepAliveConfig(cfgPath, url, files, maxTimeEach) {
  const groups = files.map(
    (f) => `url = "${url}"\nform = "file=@${f}"\nwrite-out = "${MARK.replace(/\n/g, '\\n')}"\nmax-time = ${maxTimeEach}\n`,
  )
  fs.writeFileSync(cfgPath, groups.join('next\n'))
}

// ---------------------------------------------------------------------------------------------
// Sources: pseudo-random bytes (AES-128-CTR keystream, seeded per file), hashed as written.

function writeSource(file, size, seed) {
  const key = createHash('sha256').update(seed).digest().subarray(0, 16)
  const cipher = createCipheriv('aes-128-ctr', key, Buffer.alloc(16))
  const hash = createHash('sha256')
  const CH = 8 * MiB
  const zeros = Buffer.alloc(Math.min(CH, size))
  const fd = fs.openSync(file, 'w')
  try {
    for (let left = size; left > 0; ) {
      const n = Math.min(CH, left)
      const block = cipher.update(n === zeros.length ? zeros : zeros.subarray(0, n))
      hash.update(block)
      let off = 0
      while (off < block.length) off += fs.writeSync(fd, block, off)
      left -= n
    }
  } finally {
    fs.closeSync(fd)
  }
  return { path: file, name: path.basename(file), size, sha256: hash.digest('hex') }
}

function makeSources(work, opts) {
  const dir = path.join(work, 'src')
  fs.mkdirSync(dir, { recursive: true })
  const w = {}
  const want = new Set(opts.workloads)
  if (want.has('w1')) {
    const f = writeSource(path.join(dir, 'w1-big.bin'), opts.w1Size, 'w1')
    w.w1 = { id: 'w1', files: [f], bytes: f.size, title: `W1  1 × ${fmtSize(opts.w1Size)} multipart (curl -F), one request` }
  }
  if (want.has('w2')) {
    const d = path.join(dir, 'w2')
    fs.mkdirSync(d)
    const files = []
    for (let i = 0; i < opts.w2Files; i++) files.push(writeSource(path.join(d, `s${String(i).padStart(5, '0')}.bin`), opts.w2Size, `w2-${i}`))
    w.w2 = {
      id: 'w2',
      files,
      bytes: opts.w2Files * opts.w2Size,
      title: `W2  ${opts.w2Files} × ${fmtSize(opts.w2Size)} multipart, sequential on one keep-alive connection (one curl, --next)`,
    }
  }
  if (want.has('w3')) {
    const files = []
    for (let i = 0; i < opts.w3Clients; i++) files.push(writeSource(path.join(dir, `w3-c${String(i).padStart(3, '0')}.bin`), opts.w3Size, `w3-${i}`))
    w.w3 = {
      id: 'w3',
      files,
      bytes: opts.w3Clients * opts.w3Size,
      title: `W3  ${opts.w3Clients} concurrent clients × ${fmtSize(opts.w3Size)} multipart (${opts.w3Clients} curl processes)`,
    }
  }
  const warm = path.join(dir, 'warm')
  fs.mkdirSync(warm)
  const warmFiles = []
  for (let i = 0; i < 20; i++) warmFiles.push(writeSource(path.join(warm, `warm${String(i).padStart(2, '0')}.bin`), 4 * KiB, `warm-${i}`))
  warmFiles.push(writeSource(path.join(warm, 'warm-big.bin'), 4 * MiB, 'warm-big'))
  return { workloads: w, warmFiles, dir }
}

/** Memory warm-up: make the host back `bytes` of guest memory again before a timed part. */
function touchMemory(work, bytes) {
  const f = path.join(work, 'touch.tmp')
  const block = Buffer.alloc(8 * MiB, 0x5a)
  const fd = fs.openSync(f, 'w')
  try {
    for (let left = bytes; left > 0; left -= block.length) {
      const n = Math.min(block.length, left)
      let off = 0
      while (off < n) off += fs.writeSync(fd, block, off, n - off)
    }
  } finally {
    fs.closeSync(fd)
    fs.rmSync(f, { force: true })
  }
}

// ---------------------------------------------------------------------------------------------
// Verification

function hashFile(file) {
  const hash = createHash('sha256')
  const buf = Buffer.allocUnsafe(8 * MiB)
  const fd = fs.openSync(file, 'r')
  let size = 0
  try {
    for (;;) {
      const n = fs.readSync(fd, buf, 0, buf.length, null)
      if (n === 0) break
      hash.update(n === buf.length ? buf : buf.subarray(0, n))
      size += n
    }
  } finally {
    fs.closeSync(fd)
  }
  return { size, sha256: hash.digest('hex') }
}

/** Sequential reader over a file, for parsing the ceiling's raw connection dumps. */
class Reader {
  constructor(file) {
    this.fd = fs.openSync(file, 'r')
    this.buf = Buffer.allocUnsafe(8 * MiB)
    this.start = 0
    this.end = 0
    this.eof = false
  }
  fill() {
    if (this.start > 0) {
      this.buf.copy(this.buf, 0, this.start, this.end)
      this.end -= this.start
      this.start = 0
    }
    if (this.end === this.buf.length) throw new Error('line too long')
    const n = fs.readSync(this.fd, this.buf, this.end, this.buf.length - this.end, null)
    if (n === 0) this.eof = true
    this.end += n
    return n
  }
  atEnd() {
    if (this.start < this.end) return false
    this.fill()
    return this.start >= this.end
  }
  /** Bytes up to (not including) delim; consumes delim. */
  until(delim, max = 64 * KiB) {
    for (;;) {
      const i = this.buf.subarray(this.start, this.end).indexOf(delim)
      if (i >= 0) {
        const out = Buffer.from(this.buf.subarray(this.start, this.start + i))
        this.start += i + delim.length
        return out
      }
      if (this.end - this.start > max) throw new Error('no delimiter within limit')
      if (this.fill() === 0) throw new Error('unexpected end of file')
    }
  }
  exact(n) {
    while (this.end - this.start < n) if (this.fill() === 0) throw new Error('unexpected end of file')
    const out = Buffer.from(this.buf.subarray(this.start, this.start + n))
    this.start += n
    return out
  }
  hash(n, h) {
    while (n > 0) {
      if (this.start === this.end && this.fill() === 0) throw new Error('unexpected end of file')
      const take = Math.min(n, this.end - this.start)
      h.update(this.buf.subarray(this.start, this.start + take))
      this.start += take
      n -= take
    }
  }
  close() {
    fs.closeSync(this.fd)
  }
}

const CRLFCRLF = Buffer.from('\r\n\r\n')

/**
 * The ceiling stores each connection's bytes raw. Re-frame them: request heads, Content-Length
 * bodies, and in each body curl's single-file multipart (part head, content, closing boundary).
 */
function parseRawConnection(file, found) {
  const r = new Reader(file)
  let requests = 0
  try {
    while (!r.atEnd()) {
      const head = r.until(CRLFCRLF).toString('latin1')
      const len = Number(/\r\ncontent-length:[ \t]*(\d+)/i.exec(head)?.[1] ?? NaN)
      const boundary = /\r\ncontent-type:[ \t]*multipart\/form-data;[ \t]*boundary=("?)([^"\r\n;]+)\1/i.exec(head)?.[2]
      if (!Number.isFinite(len) || !boundary) throw new Error(`request ${requests + 1}: no Content-Length or boundary`)
      const partHead = r.until(CRLFCRLF).toString('latin1')
      const prefix = partHead.length + 4
      if (!partHead.startsWith(`--${boundary}\r\n`)) throw new Error(`request ${requests + 1}: body does not start with the boundary`)
      const name = /filename="([^"]*)"/.exec(partHead)?.[1]
      const suffix = `\r\n--${boundary}--\r\n`
      const contentLen = len - prefix - suffix.length
      if (contentLen < 0) throw new Error(`request ${requests + 1}: body too short`)
      const h = createHash('sha256')
      r.hash(contentLen, h)
      if (r.exact(suffix.length).toString('latin1') !== suffix) throw new Error(`request ${requests + 1}: closing boundary not where Content-Length says`)
      found.push({ name, size: contentLen, sha256: h.digest('hex') })
      requests++
    }
  } finally {
    r.close()
  }
  return requests
}

/** Returns null when everything sent was stored exactly once and intact, else a reason. */
function verifyStored(serverName, dir, files) {
  const expected = new Map(files.map((f) => [f.name, f]))
  const entries = fs.readdirSync(dir)
  const found = []
  if (serverName === 'ceiling') {
    for (const e of entries) {
      try {
        parseRawConnection(path.join(dir, e), found)
      } catch (err) {
        return `raw ${e}: ${err.message}`
      }
    }
  } else {
    for (const e of entries) {
      const st = fs.lstatSync(path.join(dir, e))
      if (!st.isFile()) return `unexpected entry ${e}`
      found.push({ name: e, ...hashFile(path.join(dir, e)) })
    }
  }
  const seen = new Set()
  let bad = 0
  let firstBad = null
  for (const f of found) {
    const want = expected.get(f.name)
    if (!want) {
      bad++
      firstBad ??= `unexpected file ${f.name}`
    } else if (seen.has(f.name)) {
      bad++
      firstBad ??= `${f.name} stored twice`
    } else if (want.size !== f.size || want.sha256 !== f.sha256) {
      bad++
      firstBad ??= `${f.name}: ${f.size} bytes sha256 ${f.sha256.slice(0, 12)}…, sent ${want.size} bytes ${want.sha256.slice(0, 12)}…`
    }
    seen.add(f.name)
  }
  const missing = files.length - [...seen].filter((n) => expected.has(n)).length
  if (missing > 0) return `${missing} of ${files.length} files missing${firstBad ? `; ${firstBad}` : ''}`
  if (bad > 0) return `${bad} bad: ${firstBad}`
  return null
}

/** The answers: every transfer 201, and (where the server answers with JSON) the right hash. */
function checkAnswers(serverName, results, files) {
  const transfers = results.flatMap((r) => r.transfers)
  for (const r of results) {
    if (r.exit !== 0) return { reason: `curl exit ${r.exit ?? r.sig}: ${r.stderr.slice(0, 200)}` }
  }
  if (transfers.length !== files.length) return { reason: `${transfers.length} answers for ${files.length} uploads` }
  for (let i = 0; i < files.length; i++) {
    const t = transfers[i]
    if (t.code !== 201) return { reason: `${files[i].name}: HTTP ${t.code} ${t.body.slice(0, 200)}` }
    if (serverName !== 'ceiling') {
      let sha
      try {
        sha = JSON.parse(t.body).files?.[0]?.sha256
      } catch {
        return { reason: `${files[i].name}: answer is not JSON: ${t.body.slice(0, 100)}` }
      }
      if (sha !== files[i].sha256) return { reason: `${files[i].name}: answered sha256 ${sha}, sent ${files[i].sha256}` }
    }
  }
  return { reason: null, connects: transfers.reduce((a, t) => a + t.connects, 0), wire: transfers.reduce((a, t) => a + t.uploaded, 0) }
}

// ---------------------------------------------------------------------------------------------
// One timed run

/** W2 is one curl with a --config file of `next` groups; written before the clock starts. */

function clientConfig(workload, url, cfgDir) {
  const files = workload.files
  if (workload.id === 'w2') {
    const cfg = path.join(cfgDir, 'w2.curlrc')
    writeKeepAliveConfig(cfg, url, files.map((f) => f.path), 10)
    return { cfg }
  }
  return {}
}

async function runOnce(work, sources, workload, serverName, round, opts) {
  const dir = path.join(work, `recv-${workload.id}-r${round}-${serverName}`)
  fs.mkdirSync(dir)
  const profDir = path.join(opts.profileDir, `${serverName}-${workload.id}-r${round + 1}`)
  // One folder per run, emptied first: Node names each thread's profile CPU.<date>.<time>.<pid>.<thread id>.<seq>.
  if (opts.profile) fs.rmSync(profDir, { recursive: true, force: true })
  const nodeFlags = opts.profile ? ['--cpu-prof', '--cpu-prof-dir', profDir] : []
  const run = { workload: workload.id, server: serverName, round: round + 1, ok: false, reason: null }
  let srv
  try {
    srv = await startServer(serverName, dir, opts, nodeFlags)
    const url = `http://127.0.0.1:${srv.port}/`

    // Untimed warm-up: JIT-compile the request path, then forget what it stored.
    const warmCfg = path.join(work, 'warm.curlrc')
    writeKeepAliveConfig(warmCfg, url, sources.warmFiles.map((f) => f.path), 10)
    const warm = await runCurl(['--config', warmCfg], 30)
    const wa = checkAnswers(serverName, [warm], sources.warmFiles)
    if (wa.reason) throw new Error(`warm-up: ${wa.reason}`)
    await sleep(50)
    for (const e of fs.readdirSync(dir)) fs.rmSync(path.join(dir, e), { recursive: true, force: true })
    srv.eventsFrom = fs.statSync(srv.outPath).size

    const { cfg } = clientConfig(workload, url, work)
    run.waitedForQuiet = await waitForQuiet(opts.quietWait)
    touchMemory(work, workload.bytes)

    const sys0 = systemCpu()
    const me0 = selfCpu()
    const cpu0 = cpuSeconds(srv.pid)
    const t0 = process.hrtime.bigint()
    let results
    if (workload.id === 'w2') {
      // Bounded as a whole too: at least 10 files/s, or it is killed.
      results = [await runCurl(['--config', cfg], Math.ceil(60 + workload.files.length / 10))]
    } else {
      const mt = curlMaxTime(workload.bytes)
      results = await Promise.all(workload.files.map((f) => runCurl(singleUploadArgs(url, f.path, mt), mt)))
    }
    const seconds = Number(process.hrtime.bigint() - t0) / 1e9
    const cpu = cpuSeconds(srv.pid) - cpu0
    const me1 = selfCpu()
    const sys1 = systemCpu()
    const rss = peakRssMiB(srv.pid)
    // Whatever else ran on the machine meanwhile (other users' jobs) competes for the same cores.
    const clientCpu = me1.children - me0.children
    const otherCpu = Math.max(0, sys1.busy - sys0.busy - cpu - clientCpu - (me1.self - me0.self))
    const cores = os.cpus().length
    Object.assign(run, {
      seconds,
      cpu,
      clientCpu,
      otherCpu,
      otherShare: otherCpu / (seconds * cores),
      steal: sys1.steal - sys0.steal,
      rssMiB: rss,
      bytes: workload.bytes,
      files: workload.files.length,
    })

    const answers = checkAnswers(serverName, results, workload.files)
    run.connects = answers.connects
    run.wireBytes = answers.wire
    await stopServer(srv)
    if (srv.exited && srv.exited.code !== 0 && srv.exited.sig !== 'SIGTERM') {
      run.note = `exit ${srv.exited.code ?? srv.exited.sig}`
    }
    if (answers.reason) throw new Error(answers.reason)
    const bad = verifyStored(serverName, dir, workload.files)
    if (bad) throw new Error(bad)
    const stored = serverEvents(srv).filter((ev) => ev.event === 'stored').length
    if (serverName === 'upload-recv' && stored !== workload.files.length) {
      throw new Error(`${stored} stored events for ${workload.files.length} files`)
    }
    run.ok = true
  } catch (err) {
    run.reason = err.message
    if (srv?.stderr.trim()) run.reason += ` | server stderr: ${srv.stderr.trim().slice(-300)}`
  } finally {
    if (srv) await stopServer(srv)
    fs.rmSync(dir, { recursive: true, force: true })
    fs.rmSync(`${dir}.stdout`, { force: true })
  }
  return run
}

// ---------------------------------------------------------------------------------------------
// Report

function median(xs) {
  const s = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b)
  if (s.length === 0) return NaN
  const m = s.length >> 1
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2
}

const rate = (run) => (run.workload === 'w2' ? run.files / run.seconds : run.bytes / MiB / run.seconds)

function fmt(x, digits = 0) {
  return Number.isFinite(x) ? x.toFixed(digits) : '–'
}

function table(headers, rows, alignLeft = new Set([0])) {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => String(r[i]).length)))
  const line = (cells) => cells.map((c, i) => (alignLeft.has(i) ? String(c).padEnd(widths[i]) : String(c).padStart(widths[i]))).join('  ')
  return [line(headers), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n')
}

function report(workload, runs, servers, rounds) {
  const unit = workload.id === 'w2' ? 'files/s' : 'MiB/s'
  const byRound = (server, r) => runs.find((x) => x.server === server && x.round === r)
  const rows = []
  const notes = []
  for (const s of servers) {
    const mine = runs.filter((x) => x.server === s)
    const ok = mine.filter((x) => x.ok)
    const failed = mine.length - ok.length
    const perRound = []
    const vsCeil = []
    const vsBusboy = []
    for (let r = 1; r <= rounds; r++) {
      const x = byRound(s, r)
      if (!x) continue
      perRound.push(x.ok ? fmt(rate(x)) : 'FAIL')
      const c = byRound('ceiling', r)
      const b = byRound('busboy', r)
      if (x.ok && c?.ok) vsCeil.push(rate(x) / rate(c))
      if (x.ok && b?.ok) vsBusboy.push(rate(x) / rate(b))
      if (!x.ok) notes.push(`${s} round ${r}: FAIL: ${x.reason}`)
      else if (workload.id === 'w2' && x.connects !== 1) notes.push(`${s} round ${r}: curl opened ${x.connects} connections (keep-alive not kept)`)
      if (x.note) notes.push(`${s} round ${r}: server ${x.note}`)
      if (x.ok && x.otherShare > 0.1) {
        notes.push(`${s} round ${r}: other processes used ${(100 * x.otherShare).toFixed(0)}% of the machine during the timed part: noisy`)
      }
    }
    const cpuPerGiB = median(ok.map((x) => x.cpu / (x.bytes / GiB)))
    const cpuPerFile = median(ok.map((x) => (x.cpu / x.files) * 1e6))
    rows.push([
      s,
      failed ? 'FAIL' : fmt(median(ok.map(rate))),
      perRound.join(' '),
      fmt(median(vsCeil), 2),
      fmt(median(vsBusboy), 2),
      fmt(cpuPerGiB, 2),
      fmt(cpuPerFile, 0),
      fmt(Math.max(...mine.filter((x) => Number.isFinite(x.rssMiB)).map((x) => x.rssMiB)), 0),
      fmt(100 * Math.max(...ok.map((x) => x.otherShare)), 0),
      failed ? `FAIL ${failed}/${mine.length}` : `ok ${ok.length}/${mine.length}`,
    ])
  }
  const out = [
    workload.title,
    table(
      ['server', `${unit} (median)`, 'per round', '× ceiling', '× busboy', 'CPU s/GiB', 'CPU µs/file', 'peak RSS MiB', 'other load %', 'verified'],
      rows,
      new Set([0, 2]),
    ),
  ]
  for (const n of notes) out.push(`  ! ${n}`)
  return out.join('\n')
}

// ---------------------------------------------------------------------------------------------
// CPU profile summary (.cpuprofile from node --cpu-prof)

export function summarizeProfile(file, top = 15) {
  const prof = JSON.parse(fs.readFileSync(file, 'utf8'))
  const byId = new Map(prof.nodes.map((n) => [n.id, n]))
  const self = new Map() // node id -> microseconds
  const { samples, timeDeltas } = prof
  // timeDeltas[i] is the time before sample i; attribute the gap after a sample to it.
  for (let i = 0; i < samples.length; i++) {
    const dt = i + 1 < timeDeltas.length ? timeDeltas[i + 1] : 0
    self.set(samples[i], (self.get(samples[i]) ?? 0) + Math.max(0, dt))
  }
  const fns = new Map()
  const files = new Map()
  let total = 0
  let idle = 0
  for (const [id, us] of self) {
    const cf = byId.get(id).callFrame
    total += us
    if (cf.functionName === '(idle)') idle += us
    const where = shortUrl(cf.url)
    const key = `${cf.functionName || '(anonymous)'}\t${where ? `${where}:${cf.lineNumber + 1}` : ''}`
    fns.set(key, (fns.get(key) ?? 0) + us)
    const group = where ? moduleGroup(where) : cf.functionName.startsWith('(') ? cf.functionName : '(native)'
    files.set(group, (files.get(group) ?? 0) + us)
  }
  const busy = total - idle
  const pct = (us) => `${((100 * us) / busy).toFixed(1)}%`
  const lines = [
    `profile ${file}`,
    `  sampled ${(total / 1e6).toFixed(2)} s, of which idle ${(idle / 1e6).toFixed(2)} s; percentages are of the ${(busy / 1e6).toFixed(2)} s busy`,
  ]
  const fnRows = [...fns]
    .filter(([k]) => !k.startsWith('(idle)'))
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)
    .map(([k, us], i) => {
      const [name, where] = k.split('\t')
      return [String(i + 1), (us / 1000).toFixed(0), pct(us), name, where]
    })
  lines.push(`  top ${top} functions by self time:`)
  lines.push(indent(table(['#', 'self ms', '% busy', 'function', 'where'], fnRows, new Set([3, 4])), '  '))
  const groupRows = [...files]
    .filter(([k]) => k !== '(idle)')
    .sort((a, b) => b[1] - a[1])
    .slice(0, 12)
    .map(([k, us]) => [k, (us / 1000).toFixed(0), pct(us)])
  lines.push('  self time by module:')
  lines.push(indent(table(['module', 'self ms', '% busy'], groupRows), '  '))
  return lines.join('\n')
}

function shortUrl(url) {
  if (!url) return ''
  let u = url.startsWith('file://') ? fileURLToPath(url) : url
  if (u.startsWith(ROOT + path.sep)) u = path.relative(ROOT, u)
  return u
}

function moduleGroup(where) {
  if (where.startsWith('node:')) return `${where.split(':')[0]}:${where.split(':')[1].split('/')[0]}`
  const nm = where.lastIndexOf('node_modules/')
  if (nm >= 0) return where.slice(nm).split('/').slice(0, 2).join('/')
  return where.replace(/:\d+$/, '')
}

const indent = (s, p) => s.split('\n').map((l) => p + l).join('\n')

// ---------------------------------------------------------------------------------------------
// Main

function sleep(ms) {
  return new Promise((r) => setTimeout(r, ms))
}

function env() {
  let curl = '?'
  try {
    curl = execFileSync('curl', ['--version'], { encoding: 'utf8' }).split('\n')[0]
  } catch {
    throw new Error('curl not found: the benchmark drives the servers with curl')
  }
  const cpu = os.cpus()[0]?.model ?? '?'
  return `node ${process.version}, ${curl.split(' ').slice(0, 2).join(' ')}, ${os.cpus().length} × ${cpu}, Linux ${os.release()}`
}

function checkRoom(opts, workDir) {
  const biggest = Math.max(
    opts.workloads.includes('w1') ? opts.w1Size : 0,
    opts.workloads.includes('w2') ? opts.w2Files * opts.w2Size : 0,
    opts.workloads.includes('w3') ? opts.w3Clients * opts.w3Size : 0,
  )
  const sources =
    (opts.workloads.includes('w1') ? opts.w1Size : 0) +
    (opts.workloads.includes('w2') ? opts.w2Files * Math.max(opts.w2Size, 4096) : 0) +
    (opts.workloads.includes('w3') ? opts.w3Clients * opts.w3Size : 0)
  // Sources, one run's stored files, and the memory warm-up file, plus slack.
  const need = sources + 2 * biggest + 256 * MiB
  const st = fs.statfsSync(workDir)
  const free = st.bavail * st.bsize
  if (free < need) throw new Error(`${workDir} has ${fmtSize(free)} free; this run needs about ${(need / GiB).toFixed(1)} GiB`)
  const mem = /MemAvailable:\s+(\d+) kB/.exec(fs.readFileSync('/proc/meminfo', 'utf8'))
  if (mem && Number(mem[1]) * 1024 < need) {
    throw new Error(`only ${(Number(mem[1]) / 1024 / 1024).toFixed(1)} GiB memory available; this run needs about ${(need / GiB).toFixed(1)} GiB on tmpfs`)
  }
}

async function main() {
  const opts = parseArgs(process.argv.slice(2))
  if (opts.summarize) {
    process.stdout.write(summarizeProfile(opts.summarize, opts.top) + '\n')
    return 0
  }
  if (process.platform !== 'linux') throw new Error('Linux only: CPU and peak RSS come from /proc')
  try {
    const hz = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim())
    if (hz !== CLK_TCK) throw new Error(`CLK_TCK is ${hz}, expected ${CLK_TCK}`)
  } catch (err) {
    if (err.message.startsWith('CLK_TCK')) throw err
  }
  if (!fs.existsSync(path.join(ROOT, 'dist/cli.js')) && opts.servers.includes('upload-recv')) {
    throw new Error('dist/ is missing: run `npm run build` (npm run bench does)')
  }
  const envLine = env()
  checkRoom(opts, opts.workDir)
  workRoot = fs.mkdtempSync(path.join(opts.workDir, 'upload-recv-bench-'))
  if (opts.profile) fs.mkdirSync(opts.profileDir, { recursive: true })

  const started = Date.now()
  const log = (s) => process.stderr.write(s + '\n')
  log(`bench: ${envLine}`)
  log(`bench: work dir ${workRoot}; generating sources…`)
  const sources = makeSources(workRoot, opts)
  const allRuns = []
  const reports = []
  for (const wid of opts.workloads) {
    const workload = sources.workloads[wid]
    const runs = []
    for (let r = 0; r < opts.rounds; r++) {
      const order = opts.servers.map((_, i) => opts.servers[(i + r) % opts.servers.length])
      for (const s of order) {
        const run = await runOnce(workRoot, sources, workload, s, r, opts)
        runs.push(run)
        log(
          `  ${wid} round ${r + 1} ${s.padEnd(11)} ` +
            (run.ok
              ? `${fmt(rate(run))} ${wid === 'w2' ? 'files/s' : 'MiB/s'}, ${run.seconds.toFixed(2)} s, server CPU ${run.cpu.toFixed(2)} s, ` +
                `curl CPU ${run.clientCpu.toFixed(2)} s, peak RSS ${fmt(run.rssMiB)} MiB, other load ${(100 * run.otherShare).toFixed(0)}%`
              : `FAIL: ${run.reason}`),
        )
      }
    }
    allRuns.push(...runs)
    reports.push(report(workload, runs, opts.servers, opts.rounds))
    // Free this workload's sources before the next one (W1 at 4 GiB needs the room).
    for (const f of workload.files) fs.rmSync(f.path, { force: true })
  }

  const mode = opts.profile ? ' (PROFILED: node --cpu-prof, numbers are not comparable)' : opts.quick ? ' (--quick)' : ''
  const out = [
    '',
    `upload-recv benchmark${mode}: ${opts.rounds} round(s), servers interleaved in rotating order, loopback, curl, files on ${opts.workDir}`,
    envLine,
    `busboy.mjs write streams: ${opts.busboyHwm ? `highWaterMark ${fmtSize(opts.busboyHwm)} (--busboy-hwm)` : "Node's default 16 KiB buffer"}; upload-recv and the ceiling: 1 MiB`,
    'throughput = payload bytes (or files) / wall time from first curl start to last curl exit; × = median of per-round ratios;',
    'CPU = server utime+stime over the timed part; peak RSS = VmHWM of a fresh server per run (max over rounds);',
    "other load = CPU used by processes other than the server, curl and this script during the timed part (max over rounds)",
    '',
    reports.join('\n\n'),
    '',
    `total ${((Date.now() - started) / 1000).toFixed(0)} s`,
  ]
  process.stdout.write(out.join('\n') + '\n')
  if (opts.jsonOut) fs.writeFileSync(opts.jsonOut, JSON.stringify({ env: envLine, opts, runs: allRuns }, null, 2) + '\n')
  if (opts.profile) {
    for (const run of allRuns) {
      const d = path.join(opts.profileDir, `${run.server}-${run.workload}-r${run.round}`)
      const files = fs.existsSync(d) ? fs.readdirSync(d).filter((f) => f.endsWith('.cpuprofile')) : []
      if (files.length === 0) process.stdout.write(`\nno profile written in ${d}\n`)
      // Main thread (id 0) first, then any worker threads (upload-recv's file thread).
      const tid = (f) => Number(f.split('.')[4])
      for (const f of files.sort((a, b) => tid(a) - tid(b))) {
        const label = tid(f) === 0 ? 'main thread' : `worker thread ${tid(f)}`
        process.stdout.write(`\n${run.server} ${run.workload}, ${label}:\n` + summarizeProfile(path.join(d, f), opts.top) + '\n')
      }
    }
  }
  return allRuns.every((r) => r.ok) ? 0 : 1
}

main().then(
  (code) => {
    cleanup()
    process.exit(code)
  },
  (err) => {
    process.stderr.write(`bench: ${err.message}\n`)
    cleanup()
    process.exit(2)
  },
)
