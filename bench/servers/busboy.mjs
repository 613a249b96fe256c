#!/usr/bin/env node
// The usual way, for bench/bench.mjs: node:http + busboy, the request piped into busboy, each file
// piped to fs.createWriteStream (Node's default 16 KiB buffer, as most code does) in the target
// folder, SHA-256 computed on the way, 201 with JSON shaped like upload-recv's answer.
// It is a baseline, not a product: no name sanitising beyond basename, no limits, no temp files.
// --hwm <bytes> sets the write streams' highWaterMark (bench.mjs --busboy-hwm), to see how much of
// the gap is that buffer alone.
//
// Usage: node busboy.mjs --dir <dir> [--port 0] [--host 127.0.0.1] [--hwm <bytes>]
import busboy from 'busboy'
import { createHash } from 'node:crypto'
import fs from 'node:fs'
import http from 'node:http'
import path from 'node:path'

const args = process.argv.slice(2)
const opt = (name, dflt) => {
  const i = args.indexOf(name)
  return i >= 0 ? args[i + 1] : dflt
}
const dir = path.resolve(opt('--dir', '.'))
const port = Number(opt('--port', '0'))
const host = opt('--host', '127.0.0.1')
const hwm = opt('--hwm') === undefined ? undefined : Number(opt('--hwm'))

const server = http.createServer((req, res) => {
  if (req.method !== 'POST') {
    res.writeHead(405).end()
    return
  }
  let bb
  try {
    bb = busboy({ headers: req.headers })
  } catch (err) {
    res.writeHead(400, { 'Content-Type': 'application/json' }).end(JSON.stringify({ error: err.message }))
    return
  }
  const saves = []
  bb.on('file', (field, file, info) => {
    const name = path.basename(info.filename || 'upload')
    const hash = createHash('sha256')
    let size = 0
    const out = fs.createWriteStream(path.join(dir, name), hwm ? { highWaterMark: hwm } : undefined)
    file.on('data', (d) => {
      size += d.length
      hash.update(d)
    })
    file.pipe(out)
    saves.push(
      new Promise((resolve, reject) => {
        out.on('finish', () => resolve({ name, size, sha256: hash.digest('hex'), mimeType: info.mimeType }))
        out.on('error', reject)
        file.on('error', reject)
      }),
    )
  })
  bb.on('close', () => {
    Promise.all(saves).then(
      (files) => {
        res.writeHead(201, { 'Content-Type': 'application/json; charset=utf-8' })
        res.end(JSON.stringify({ files }))
      },
      (err) => {
        res.writeHead(500, { 'Content-Type': 'application/json' }).end(JSON.stringify({ error: err.message }))
      },
    )
  })
  bb.on('error', (err) => {
    req.unpipe(bb)
    res.writeHead(400, { 'Content-Type': 'application/json' }).end(JSON.stringify({ error: err.message }))
  })
  req.pipe(bb)
})

server.listen(port, host, () => {
  const a = server.address()
  process.stdout.write(JSON.stringify({ event: 'listening', port: a.port, dir }) + '\n')
})

const stop = () => process.exit(0)
process.on('SIGTERM', stop)
process.on('SIGINT', stop)
