// When the file thread starts (src/files/file-thread.ts): once two files are past 8 MiB at the
// same time. One large upload at a time stays on the main thread and costs no thread's memory.
import { randomBytes } from 'node:crypto'
import { existsSync } from 'node:fs'
import path from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { removeDir, startCli, tmpDir, type Cli } from '../helpers/cli.js'
import { FILE_THREAD_FROM, threadCount } from '../helpers/file-thread.js'
import { heldPut } from '../helpers/raw.js'
import { files, pollUntil, sha256File, sleep, tempFiles } from '../helpers/fs-walk.js'
import { httpRequest, parseResponse, sha256 } from '../helpers/multipart.js'
import { rawRequest } from '../helpers/raw.js'

const cleanups: Array<() => Promise<void> | void> = []
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c()
})

async function cli(): Promise<Cli> {
  const parent = tmpDir('upload-recv-thread-')
  cleanups.push(() => removeDir(parent))
  const c = await startCli([], { dir: path.join(parent, 'in') })
  cleanups.push(async () => {
    await c.stop().catch(() => undefined)
  })
  return c
}

async function put(c: Cli, name: string, data: Buffer): Promise<number> {
  const req = httpRequest('PUT', `/${name}`, { 'Content-Length': String(data.length) }, data)
  return parseResponse((await rawRequest(c.port, [req], { ms: 20_000 })).data).status
}

const SIZE = FILE_THREAD_FROM + 4 * 1024 * 1024

describe.skipIf(!existsSync('/proc/self/status'))('the file thread', () => {
  it('one large upload at a time: no thread; two at once past 8 MiB: the thread starts, both intact', async () => {
    const c = await cli()
    // Threads started lazily by any upload (libuv's pool) are there after a first one.
    expect(await put(c, 'small.bin', randomBytes(1000))).toBe(201)
    const idle = threadCount(c)

    for (const name of ['one.bin', 'two.bin']) expect(await put(c, name, randomBytes(SIZE))).toBe(201)
    await sleep(200)
    expect(threadCount(c), 'one large upload at a time starts no thread').toBe(idle)

    const datas = [randomBytes(SIZE), randomBytes(SIZE + 4099)]
    // Both held open with 2 MiB to go, well past 8 MiB: the rest goes through the thread.
    const finish = await Promise.all(datas.map((d, i) => heldPut(c, `both-${i}.bin`, d, 2 * 1024 * 1024)))
    await pollUntil(() => threadCount(c) > idle, 10_000, 'the file thread runs')
    expect(await Promise.all(finish.map((f) => f()))).toEqual([201, 201])
    for (const [i, d] of datas.entries()) {
      expect(await sha256File(path.join(c.dir, `both-${i}.bin`))).toBe(sha256(d))
      const stored = await c.waitForEvent((e) => e.event === 'stored' && e.name === `both-${i}.bin`, 5_000)
      expect(stored.sha256).toBe(sha256(d))
    }
    // Once running it takes every large file, one at a time too.
    const later = randomBytes(SIZE)
    expect(await put(c, 'later.bin', later)).toBe(201)
    expect(await sha256File(path.join(c.dir, 'later.bin'))).toBe(sha256(later))
    expect(threadCount(c)).toBe(idle + 1)
    expect(files(c.dir).sort()).toEqual(['both-0.bin', 'both-1.bin', 'later.bin', 'one.bin', 'small.bin', 'two.bin'])
    expect(tempFiles(c.dir)).toEqual([])
  })
})
