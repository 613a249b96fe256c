#!/usr/bin/env node
// The no-parsing ceiling for bench/bench.mjs: a node:net server that writes every connection's raw
// bytes (request heads, multipart framing and all) to one file, through a 1 MiB write buffer, and
// answers `HTTP/1.1 201` once a request's announced Content-Length has been consumed AND written.
//
// What it does (the least an HTTP/1.1 upload receiver must do to be usable by curl):
//   - finds the end of each request head (CRLF CRLF) and reads Content-Length from it with a regex,
//     so several requests on one keep-alive connection are framed correctly (W2);
//   - answers `Expect: 100-continue` with `100 Continue` (curl sends it for bodies over 1 MiB);
//   - answers 201 only after the request's last byte has reached the file (write callback), so
//     "stored" means the same thing as for the real receivers;
//   - backpressure: pauses the socket while the 1 MiB write buffer is full.
// What it skips, on purpose (everything that costs the real receivers time):
//   - no header validation, no chunked bodies (a request without Content-Length is taken as empty),
//     no limits, no timeouts, no routing, no auth;
//   - no multipart parsing: the boundary search, part headers, name decoding;
//   - no SHA-256, no size accounting per file;
//   - no file per upload: one file per connection, no temp file + link/rename publish, no names,
//     no sanitising, no folder creation; no response body (Content-Length: 0);
//   - no events on stdout apart from the `listening` line.
// bench.mjs checks what it stored by parsing the raw file after the timed part (not counted).
//
// Usage: node ceiling.mjs --dir <dir> [--port 0] [--host 127.0.0.1]
import fs from 'node:fs'
import net from 'node:net'
import path from 'node:path'

const args = process.argv.slice(2)
const opt = (name, dflt) => {
  const i = args.indexOf(name)
  return i >= 0 ? args[i + 1] : dflt
}
const dir = path.resolve(opt('--dir', '.'))
const port = Number(opt('--port', '0'))
const host = opt('--host', '127.0.0.1')

const WRITE_HWM = 1024 * 1024
const MAX_HEAD = 64 * 1024
const CRLFCRLF = Buffer.from('\r\n\r\n')
const CONTINUE = Buffer.from('HTTP/1.1 100 Continue\r\n\r\n')
const CREATED = Buffer.from('HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n')

let connSeq = 0

const server = net.createServer((socket) => {
  const file = path.join(dir, `conn-${String(++connSeq).padStart(5, '0')}.raw`)
  const out = fs.createWriteStream(file, { highWaterMark: WRITE_HWM })
  let inBody = false
  let remaining = 0 // body bytes still to come for the current request
  let head = [] // pieces of a head split across chunks (rare)
  let headLen = 0
  let closed = false

  const answer = () => {
    if (!socket.destroyed) socket.write(CREATED)
  }
  const fail = () => {
    closed = true
    socket.destroy()
    out.destroy()
  }
  out.on('error', fail)
  socket.on('error', () => out.end())
  socket.on('end', () => {
    out.end()
    socket.end()
  })

  socket.on('data', (chunk) => {
    if (closed) return
    // Walk the chunk only to find where requests end; the bytes themselves all go to the file.
    let pos = 0
    let completed = 0
    while (pos < chunk.length) {
      if (inBody) {
        const take = Math.min(remaining, chunk.length - pos)
        remaining -= take
        pos += take
        if (remaining === 0) {
          inBody = false
          completed++
        }
        continue
      }
      // In a head: look for CRLF CRLF (also across the chunk boundary via the kept pieces).
      let end
      let headText
      if (head.length === 0) {
        end = chunk.indexOf(CRLFCRLF, pos)
        if (end < 0) {
          head.push(chunk.subarray(pos))
          headLen += chunk.length - pos
          pos = chunk.length
          break
        }
        headText = chunk.latin1Slice(pos, end)
        pos = end + 4
      } else {
        const joined = Buffer.concat([...head, chunk.subarray(pos)])
        end = joined.indexOf(CRLFCRLF)
        if (end < 0) {
          head = [joined]
          headLen = joined.length
          pos = chunk.length
          if (headLen > MAX_HEAD) return fail()
          break
        }
        headText = joined.latin1Slice(0, end)
        pos += end + 4 - headLen
        head = []
        headLen = 0
      }
      const m = /\r\ncontent-length:[ \t]*(\d+)/i.exec(headText)
      remaining = m ? Number(m[1]) : 0
      if (/\r\nexpect:[ \t]*100-continue/i.test(headText)) socket.write(CONTINUE)
      if (remaining === 0) completed++
      else inBody = true
    }
    if (headLen > MAX_HEAD) return fail()
    // Responses go out once these bytes are in the file (write callbacks run in order).
    const ok = completed === 0 ? out.write(chunk) : out.write(chunk, () => {
      for (let i = 0; i < completed; i++) answer()
    })
    if (!ok) {
      socket.pause()
      out.once('drain', () => socket.resume())
    }
  })
})

server.listen(port, host, () => {
  const a = server.address()
  process.stdout.write(JSON.stringify({ event: 'listening', port: a.port, dir }) + '\n')
})

// Every answered request is already in its file; nothing to wait for.
const stop = () => process.exit(0)
process.on('SIGTERM', stop)
process.on('SIGINT', stop)
