// The upload page (SPEC §3, issue #5) in a real headless Chromium against the real CLI:
// phone and desktop, files, folders, drop, limits refused before sending, cancel and retry,
// the no-script form, the token flow, and screenshots in test-output/screenshots/.
//
// Needs Debian's chromium at /usr/bin/chromium (.ci/run installs it). Without it every test
// here fails with one clear message: it never skips silently.
import { createHash, randomBytes } from 'node:crypto'
import { existsSync, mkdirSync, readFileSync, readdirSync, readlinkSync, rmSync, writeFileSync } from 'node:fs'
import net from 'node:net'
import path from 'node:path'
import { chromium, type Browser, type BrowserContext, type BrowserContextOptions, type CDPSession, type Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ROOT, removeDir, startCli, tmpDir, type Cli } from '../helpers/cli.js'
import { heldPut } from '../helpers/raw.js'

const CHROMIUM = '/usr/bin/chromium'
const SHOTS = path.join(ROOT, 'test-output/screenshots')
const PHONE: BrowserContextOptions = {
  viewport: { width: 390, height: 844 },
  deviceScaleFactor: 2,
  hasTouch: true,
  isMobile: true,
}
const DESKTOP: BrowserContextOptions = { viewport: { width: 1280, height: 800 } }

let browser: Browser
let files: string
const clis: Cli[] = []
const dirs: string[] = []

const sha256 = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex')

function fixture(name: string, size: number): string {
  const file = path.join(files, name)
  mkdirSync(path.dirname(file), { recursive: true })
  // Random bytes, so a byte out of place anywhere changes the hash.
  writeFileSync(file, size > 0 ? randomBytes(size) : '')
  return file
}

async function cli(args: string[] = []): Promise<Cli> {
  const c = await startCli(args)
  clis.push(c)
  dirs.push(path.dirname(c.dir))
  return c
}

/** A fresh context and page; `problems` collects script errors and console errors as they come. */
async function open(
  options: BrowserContextOptions,
  url: string,
): Promise<{ ctx: BrowserContext; page: Page; problems: string[] }> {
  const ctx = await browser.newContext(options)
  ctx.setDefaultTimeout(15_000)
  const page = await ctx.newPage()
  const problems: string[] = []
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`))
  // A CSP or Trusted Types violation shows up as a console error: the page must have none.
  page.on('console', (m) => void (m.type() === 'error' && problems.push(`console: ${m.text()}`)))
  if (url) await page.goto(url)
  return { ctx, page, problems }
}

const sessions = new WeakMap<Page, CDPSession>()

/** Upload bandwidth for the page; null lifts the limit. Chromium applies it to running uploads too. */
async function throttle(page: Page, bytesPerSecond: number | null): Promise<void> {
  // One session per page: the conditions belong to the session that set them.
  let cdp = sessions.get(page)
  if (!cdp) {
    cdp = await page.context().newCDPSession(page)
    sessions.set(page, cdp)
    await cdp.send('Network.enable')
  }
  await cdp.send('Network.emulateNetworkConditions', {
    offline: false,
    latency: 0,
    downloadThroughput: -1,
    uploadThroughput: bytesPerSecond ?? -1,
  })
}

/** A bounded poll: Playwright's own waiting, for vitest's expect. */
const until = <T>(fn: () => Promise<T>, timeout = 15_000) => expect.poll(fn, { timeout, interval: 50 })

const rows = (page: Page) => page.locator('#list li')
const doneRows = (page: Page) => page.locator('#list li[data-state="done"]')

/** The page keeps numbers and units together with no-break spaces; the tests read plain spaces. */
const plain = (s: string | null) => (s ?? '').replace(/\u00a0/g, ' ')
const text = async (page: Page, selector: string) => plain(await page.locator(selector).textContent())

async function rowTexts(page: Page): Promise<Array<{ name: string; state: string; pct: string; meta: string; now: string }>> {
  const raw = await page.locator('#list li').evaluateAll((lis) =>
    lis.map((li) => ({
      name: li.querySelector('.nm')!.textContent!,
      state: li.getAttribute('data-state')!,
      pct: li.querySelector('.pc')!.textContent!,
      meta: li.querySelector('.meta')!.textContent!,
      now: li.querySelector('[role=progressbar]')!.getAttribute('aria-valuenow')!,
    })),
  )
  return raw.map((r) => ({ ...r, meta: plain(r.meta) }))
}

/**
 * The lowest WCAG contrast of the text under `selector`, as drawn: colours parsed from computed
 * styles, each element's and its ancestors' opacity applied over the page's background.
 */
async function lowestContrast(page: Page, selector: string): Promise<{ ratio: number; text: string }> {
  return page.locator(selector).evaluate((root) => {
    const rgb = (c: string) => (c.match(/[\d.]+/g) ?? []).map(Number)
    const lum = (c: number[]) => {
      const [r, g, b] = c.slice(0, 3).map((v) => (v /= 255) <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4)
      return 0.2126 * r! + 0.7152 * g! + 0.0722 * b!
    }
    const mix = (a: number[], b: number[], t: number) => [0, 1, 2].map((i) => a[i]! * t + b[i]! * (1 - t))
    const opacity = (e: Element | null) => {
      let o = 1
      for (; e; e = e.parentElement) o *= Number(getComputedStyle(e).opacity)
      return o
    }
    const pageBg = rgb(getComputedStyle(document.body).backgroundColor)
    let worst = { ratio: Infinity, text: '' }
    for (const e of [root, ...root.querySelectorAll('*')]) {
      const own = [...e.childNodes].some((n) => n.nodeType === 3 && n.textContent!.trim() !== '')
      if (!own || (e as HTMLElement).offsetParent === null) continue
      let b: Element | null = e
      while (b && rgb(getComputedStyle(b).backgroundColor)[3] === 0) b = b.parentElement
      const bg = b ? mix(rgb(getComputedStyle(b).backgroundColor), pageBg, opacity(b)) : pageBg
      const fg = mix(rgb(getComputedStyle(e).color), pageBg, opacity(e))
      const [hi, lo] = [lum(fg), lum(bg)].sort((x, y) => y - x)
      const ratio = (hi! + 0.05) / (lo! + 0.05)
      if (ratio < worst.ratio) worst = { ratio, text: e.textContent!.trim() }
    }
    return worst
  })
}

function diskFiles(dir: string, prefix = ''): string[] {
  if (!existsSync(dir)) return []
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? diskFiles(path.join(dir, e.name), `${prefix}${e.name}/`) : [`${prefix}${e.name}`],
  )
}

async function shot(page: Page, name: string): Promise<void> {
  mkdirSync(SHOTS, { recursive: true })
  await page.screenshot({ path: path.join(SHOTS, `${name}.png`) })
}

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`${CHROMIUM} is missing: install Debian's chromium (apt-get install -y chromium); .ci/run does`)
  }
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
    timeout: 20_000,
  })
  files = tmpDir('upload-recv-e2e-files-')
})

afterAll(async () => {
  await browser?.close()
  await Promise.allSettled(clis.map((c) => c.stop()))
  for (const d of [files, ...dirs]) if (d) removeDir(d)
})

describe('upload page in Chromium', () => {
  it('phone: three files picked at once, one of 50 MB, all stored byte for byte and shown at 100%', async () => {
    const c = await cli()
    const big = fixture('clip.mp4', 50 * 1024 * 1024)
    const photo = fixture('photo.jpg', 300_000)
    const notes = fixture('notes.txt', 1234)
    const { ctx, page, problems } = await open({ ...PHONE, colorScheme: 'light' }, c.url + '/')
    try {
      // The phone layout: the photo picker first, then other files; no folder picker.
      await page.locator('label[for=media]').waitFor({ state: 'visible' })
      await page.locator('label[for=files]').waitFor({ state: 'visible' })
      await page.locator('label[for=folder]').waitFor({ state: 'hidden' })
      expect(await page.locator('#media').getAttribute('accept')).toBe('image/*,video/*')

      await page.setInputFiles('#media', [big, photo, notes])
      await until(() => rows(page).count()).toBe(3)
      await until(() => doneRows(page).count(), 30_000).toBe(3)

      const shown = await rowTexts(page)
      expect(shown.map((r) => r.name)).toEqual(['clip.mp4', 'photo.jpg', 'notes.txt'])
      for (const r of shown) {
        expect(r.pct).toBe('100%')
        expect(r.now).toBe('100')
        expect(r.meta).toContain('Saved')
      }
      expect(await page.getByRole('progressbar', { name: 'clip.mp4' }).getAttribute('aria-valuenow')).toBe('100')
      await until(() => text(page, '#sum')).toBe('3 files sent.')
      await until(() => text(page, '#live')).toContain('clip.mp4 saved.')
      await shot(page, 'phone-light-after')

      for (const f of [big, photo, notes]) {
        const name = path.basename(f)
        expect(sha256(path.join(c.dir, name)), name).toBe(sha256(f))
        const ev = await c.waitForEvent((e) => e.event === 'stored' && e.name === name)
        expect(ev.sha256).toBe(sha256(f))
      }
      expect(problems).toEqual([])
    } finally {
      await ctx.close()
    }
  }, 45_000)

  it('a same-name upload shows the stored name the server chose: notes (1).txt', async () => {
    const c = await cli()
    const notes = fixture('same/notes.txt', 64)
    const { ctx, page, problems } = await open({ ...PHONE }, c.url + '/')
    try {
      await page.setInputFiles('#files', [notes])
      await until(() => doneRows(page).count()).toBe(1)
      await page.setInputFiles('#files', [notes])
      await until(() => doneRows(page).count()).toBe(2)
      const shown = await rowTexts(page)
      expect(shown.map((r) => r.name)).toEqual(['notes.txt', 'notes (1).txt'])
      expect(shown[1]!.meta).toContain('renamed from notes.txt')
      // Names are isolated for bidi text: a right-to-left name or a stray control keeps to itself.
      expect(await page.locator('#list li').nth(1).locator('.meta bdi').textContent()).toBe('notes.txt')
      expect(await page.locator('#list .nm').first().getAttribute('dir')).toBe('auto')
      await until(() => text(page, '#live')).toContain('notes.txt saved as notes (1).txt.')
      expect(diskFiles(c.dir).sort()).toEqual(['notes (1).txt', 'notes.txt'])
      expect(problems).toEqual([])
    } finally {
      await ctx.close()
    }
  })

  it('phone: a long name without spaces, renamed, wraps: nothing is wider than the screen', async () => {
    const c = await cli()
    const shot1 = fixture('long/Screenshot_20261127_192233_com.whatsapp.w4b.jpg', 512)
    const { ctx, page, problems } = await open({ ...PHONE }, c.url + '/')
    try {
      await page.setInputFiles('#files', [shot1])
      await until(() => doneRows(page).count()).toBe(1)
      await page.setInputFiles('#files', [shot1])
      await until(() => doneRows(page).count()).toBe(2)
      expect((await rowTexts(page))[1]!.meta).toContain('renamed from Screenshot_20261127_192233_com.whatsapp.w4b.jpg')
      expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390)
      expect(problems).toEqual([])
    } finally {
      await ctx.close()
    }
  })

  it('--allow application/octet-stream: a file of a type the browser does not know is sent (as that type), not refused', async () => {
    const c = await cli(['--allow', 'application/octet-stream'])
    const odd = fixture('odd/data.xyz', 300)
    const { ctx, page, problems } = await open({ ...PHONE }, c.url + '/')
    try {
      await page.setInputFiles('#files', [odd])
      await until(() => doneRows(page).count()).toBe(1)
      expect(sha256(path.join(c.dir, 'data.xyz'))).toBe(sha256(odd))
      expect(problems).toEqual([])
    } finally {
      await ctx.close()
    }
  })

  it('limits: a too-large or not-allowed file is refused in the page, with the limit, and nothing is sent', async () => {
    const c = await cli(['--max-file-size', '1MB', '--allow', 'image/*,.txt'])
    const big = fixture('limits/big.txt', 1_500_000)
    const pdf = fixture('limits/report.pdf', 100)
    const ok = fixture('limits/ok.txt', 1_000_000)
    const justOver = fixture('limits/just-over.txt', 1_000_001)
    const { ctx, page, problems } = await open({ ...PHONE }, c.url + '/')
    const posts: string[] = []
    page.on('request', (r) => void (r.method() === 'POST' && posts.push(r.url())))
    try {
      // The server's limits, announced in the page: the picker's accept, the line under the title.
      expect(await page.locator('#files').getAttribute('accept')).toBe('image/*, .txt')
      await until(() => page.locator('#media').count()).toBe(0)
      await until(() => text(page, '.lim')).toBe('Accepted: image/*, .txt · up to 1 MB each')

      await page.setInputFiles('#files', [big, pdf, justOver])
      await until(() => page.locator('#list li[data-state="refused"]').count()).toBe(3)
      const [tooBig, notAllowed, barely] = await rowTexts(page)
      expect(tooBig!.meta).toContain('Too large (1.5 MB): this receiver takes files up to 1 MB.')
      expect(notAllowed!.meta).toContain('Not accepted here: this receiver takes only image/*, .txt.')
      // Rounded, both would read "1 MB".
      expect(barely!.meta).toContain('Too large (1,000,001 bytes): this receiver takes files up to 1,000,000 bytes.')
      for (const colorScheme of ['light', 'dark'] as const) {
        await page.emulateMedia({ colorScheme })
        expect((await lowestContrast(page, 'body')).ratio).toBeGreaterThanOrEqual(4.5)
      }
      await page.getByRole('button', { name: 'Remove big.txt' }).waitFor({ state: 'visible' })
      await page.waitForTimeout(300)
      expect(posts).toEqual([])
      expect(c.events.filter((e) => e.event !== 'listening')).toEqual([])
      expect(diskFiles(c.dir)).toEqual([])

      // Exactly the limit is fine; removing the refused rows leaves just it.
      // By keyboard: focus goes on to the next row's button, then (no row left) to the file picker.
      await page.getByRole('button', { name: 'Remove big.txt' }).focus()
      await page.keyboard.press('Enter')
      await until(() => page.evaluate(() => document.activeElement?.getAttribute('aria-label'))).toBe('Remove report.pdf')
      await page.keyboard.press('Enter')
      await until(() => page.evaluate(() => document.activeElement?.getAttribute('aria-label'))).toBe('Remove just-over.txt')
      await page.keyboard.press('Enter')
      await until(() => page.evaluate(() => document.activeElement?.id)).toBe('files')
      await page.setInputFiles('#files', [ok])
      await until(() => doneRows(page).count()).toBe(1)
      expect(await rowTexts(page)).toMatchObject([{ name: 'ok.txt', state: 'done' }])
      expect(posts).toHaveLength(1)
      expect(sha256(path.join(c.dir, 'ok.txt'))).toBe(sha256(ok))
      expect(problems).toEqual([])
    } finally {
      await ctx.close()
    }
  })

  it('--max-files 2: a pick of three sends two and says why the third was not; a long --allow list wraps', async () => {
    const sheet = 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet'
    const c = await cli(['--max-files', '2', '--allow', `text/plain,${sheet}`])
    const picked = [1, 2, 3].map((n) => fixture(`maxfiles/f${n}.txt`, 100 * n))
    const { ctx, page, problems } = await open({ ...PHONE, viewport: { width: 320, height: 640 } }, c.url + '/')
    try {
      await until(() => text(page, '.lim')).toBe(`Accepted: text/plain, ${sheet} · any size · 2 files at a time`)
      expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(320)
      await page.setInputFiles('#files', picked)
      await until(() => doneRows(page).count()).toBe(2)
      const shown = await rowTexts(page)
      expect(shown.map((r) => [r.name, r.state])).toEqual([['f1.txt', 'done'], ['f2.txt', 'done'], ['f3.txt', 'failed']])
      expect(shown[2]!.meta).toContain('Held back: this receiver takes 2 files at a time. Retry sends it.')
      expect(diskFiles(c.dir).sort()).toEqual(['f1.txt', 'f2.txt'])
      // Its Retry sends it on its own.
      await page.getByRole('button', { name: 'Retry f3.txt' }).click()
      await until(() => doneRows(page).count()).toBe(3)
      expect(diskFiles(c.dir).sort()).toEqual(['f1.txt', 'f2.txt', 'f3.txt'])
      expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(320)
      expect(problems).toEqual([])
    } finally {
      await ctx.close()
    }
  })

  it('a name in decomposed Unicode (as a Mac sends it) is stored NFC and not shown as a rename', async () => {
    const c = await cli()
    const nfd = fixture('nfd/Cafe\u0301 a\u0308.txt', 10)
    const { ctx, page, problems } = await open({ ...PHONE }, c.url + '/')
    try {
      await page.setInputFiles('#files', [nfd])
      await until(() => doneRows(page).count()).toBe(1)
      const [row] = await rowTexts(page)
      expect(row!.name).toBe('Caf\u00e9 \u00e4.txt')
      expect(row!.meta).not.toContain('renamed')
      expect(diskFiles(c.dir)).toEqual(['Caf\u00e9 \u00e4.txt'])
      expect(problems).toEqual([])
    } finally {
      await ctx.close()
    }
  })

  it('desktop: a folder keeps its relative paths; a dropped file is sent too', async () => {
    const c = await cli()
    const a = fixture('tree/album/a.txt', 10)
    const b = fixture('tree/album/sub/b.bin', 200_000)
    const { ctx, page, problems } = await open({ ...DESKTOP }, c.url + '/')
    try {
      await page.locator('label[for=folder]').waitFor({ state: 'visible' })
      await page.locator('label[for=media]').waitFor({ state: 'hidden' })
      await page.setInputFiles('#folder', path.join(files, 'tree/album'))
      await until(() => doneRows(page).count()).toBe(2)
      expect((await rowTexts(page)).map((r) => r.name).sort()).toEqual(['album/a.txt', 'album/sub/b.bin'])
      expect(sha256(path.join(c.dir, 'album/a.txt'))).toBe(sha256(a))
      expect(sha256(path.join(c.dir, 'album/sub/b.bin'))).toBe(sha256(b))

      // A drop anywhere on the page: the overlay shows while dragging, the file goes up on drop.
      const dt = await page.evaluateHandle(() => {
        const t = new DataTransfer()
        t.items.add(new File(['dropped bytes'], 'dropped.txt', { type: 'text/plain' }))
        return t
      })
      await page.dispatchEvent('main', 'dragenter', { dataTransfer: dt })
      await page.locator('#drop').waitFor({ state: 'visible' })
      await page.dispatchEvent('main', 'drop', { dataTransfer: dt })
      await page.locator('#drop').waitFor({ state: 'hidden' })
      await until(() => doneRows(page).count()).toBe(3)
      expect(readFileSync(path.join(c.dir, 'dropped.txt'), 'utf8')).toBe('dropped bytes')
      expect(problems).toEqual([])
    } finally {
      await ctx.close()
    }
  })

  it('cancel stops a running upload and leaves no file; retry sends it again', async () => {
    const c = await cli()
    const movie = fixture('cancel/movie.mov', 6_000_000)
    const { ctx, page, problems } = await open({ ...DESKTOP }, c.url + '/')
    try {
      await throttle(page, 500_000)
      await page.setInputFiles('#files', [movie])
      const bar = page.getByRole('progressbar', { name: 'movie.mov' })
      await expect.poll(async () => Number(await bar.getAttribute('aria-valuenow')), { timeout: 10_000 }).toBeGreaterThan(2)
      await until(() => text(page, '#list .meta')).toContain('/s ·')
      await until(() => text(page, '#list .meta')).toContain('left')
      await page.getByRole('button', { name: 'Cancel movie.mov' }).click()
      await until(() => page.locator('#list li[data-state="cancelled"]').count()).toBe(1)
      await until(() => text(page, '#live')).toContain('movie.mov cancelled.')
      // A cancelled row is set back, but its words stay readable: 4.5:1 (WCAG AA) in both schemes.
      for (const colorScheme of ['light', 'dark'] as const) {
        await page.emulateMedia({ colorScheme })
        expect((await lowestContrast(page, '#list')).ratio).toBeGreaterThanOrEqual(4.5)
      }
      await expect.poll(() => c.events.some((e) => e.event === 'failed'), { timeout: 5_000 }).toBe(true)
      expect(diskFiles(c.dir).filter((f) => !f.split('/').pop()!.startsWith('.'))).toEqual([])

      await throttle(page, null)
      await page.getByRole('button', { name: 'Retry movie.mov' }).click()
      await until(() => doneRows(page).count()).toBe(1)
      expect(sha256(path.join(c.dir, 'movie.mov'))).toBe(sha256(movie))
      expect(problems).toEqual([])
    } finally {
      await ctx.close()
    }
  })

  it('the receiver restarted mid-upload: the queue waits for it and goes on by itself (no Retry tap); one alert', async () => {
    const first = await cli()
    const picked = [1, 2, 3, 4, 5, 6].map((n) => fixture(`restart/p${n}.jpg`, 400_000))
    const { ctx, page, problems } = await open({ ...PHONE }, first.url + '/')
    try {
      await throttle(page, 300_000)
      await page.setInputFiles('#files', picked)
      await until(() => page.locator('#list li[data-state="sending"]').count()).toBe(3)
      // What is sending now, not the whole queue.
      await until(() => text(page, '#sum')).toMatch(/^3 sending, 3 waiting · /)
      first.proc.kill('SIGKILL')
      await first.exited
      await until(() => text(page, '#alert')).toContain('Lost the connection to the receiver')
      // Cut off mid-file, nothing of them was kept: they wait with the rest, none failed.
      await until(() => page.locator('#list li[data-state="queued"]').count()).toBe(6)
      expect(await page.locator('#list li[data-state="failed"]').count()).toBe(0)
      await until(() => text(page, '#sum')).toContain('Waiting for the receiver')
      expect((await rowTexts(page))[0]!.meta).toContain('Waiting for the receiver')

      const second = await cli(['--port', String(first.port)])
      await throttle(page, null)
      await until(() => doneRows(page).count(), 20_000).toBe(6)
      expect(diskFiles(second.dir).filter((f) => !f.startsWith('.')).sort()).toEqual(picked.map((f) => path.basename(f)).sort())
      for (const f of picked) expect(sha256(path.join(second.dir, path.basename(f)))).toBe(sha256(f))
      expect(await page.locator('#alert').isHidden()).toBe(true)
      // Chromium's own lines for the refused connections are not the page's.
      expect(problems.filter((p) => !/Failed to load resource/.test(p))).toEqual([])
    } finally {
      await ctx.close()
    }
  })

  it('a file the browser can no longer read (deleted after it was picked) fails on its own with why: no alert, no resend loop', async () => {
    // --max-connections 2 leaves the page one upload at a time, so the second file waits its turn.
    const c = await cli(['--max-connections', '2'])
    const first = fixture('unreadable/first.bin', 200_000)
    const gone = fixture('unreadable/photo.jpg', 5_000)
    const { ctx, page, problems } = await open({ ...PHONE }, c.url + '/')
    const requests: string[] = []
    page.on('request', (r) => void requests.push(r.method()))
    try {
      await throttle(page, 100_000)
      await page.setInputFiles('#files', [first, gone])
      await until(() => page.locator('#list li[data-state="sending"]').count()).toBe(1)
      rmSync(gone)
      await throttle(page, null)
      await until(() => page.locator('#list li[data-state="failed"]').count()).toBe(1)
      expect((await rowTexts(page))[1]!.meta).toContain('can no longer be read on this device')
      // Longer than the page waits between probes of a receiver it thinks is gone.
      await page.waitForTimeout(3_500)
      expect(requests.filter((m) => m === 'POST')).toHaveLength(2)
      expect(requests.filter((m) => m === 'HEAD')).toEqual([])
      expect(await page.locator('#alert').isHidden()).toBe(true)
      expect(await rowTexts(page)).toMatchObject([{ name: 'first.bin', state: 'done' }, { name: 'photo.jpg', state: 'failed' }])
      expect(diskFiles(c.dir)).toEqual(['first.bin'])
      expect(problems.filter((p) => !/Failed to load resource/.test(p))).toEqual([])
    } finally {
      await ctx.close()
    }
  })

  it('Cancel while the page checks whether a failed file can still be read: it stays cancelled, nothing more is sent', async () => {
    const c = await cli(['--max-connections', '2'])
    const first = fixture('unreadable-cancel/first.bin', 200_000)
    const gone = fixture('unreadable-cancel/photo.jpg', 5_000)
    const { ctx, page, problems } = await open({ ...PHONE }, '')
    // A slow device: the page's one-byte read of a file takes 3 s to report.
    await page.addInitScript(() => {
      const read = FileReader.prototype.readAsArrayBuffer
      FileReader.prototype.readAsArrayBuffer = function (this: FileReader, blob: Blob) {
        setTimeout(() => read.call(this, blob), 3_000)
      }
    })
    await page.goto(c.url + '/')
    const requests: string[] = []
    page.on('request', (r) => void requests.push(r.method()))
    try {
      await throttle(page, 100_000)
      await page.setInputFiles('#files', [first, gone])
      await until(() => page.locator('#list li[data-state="sending"]').count()).toBe(1)
      rmSync(gone)
      await throttle(page, null)
      await until(() => doneRows(page).count()).toBe(1)
      // The photo's request has failed; its check is under way.
      await until(async () => requests.filter((m) => m === 'POST').length).toBe(2)
      await page.getByRole('button', { name: 'Cancel photo.jpg' }).click()
      await until(() => page.locator('#list li[data-state="cancelled"]').count()).toBe(1)
      await page.waitForTimeout(3_500)
      expect(await rowTexts(page)).toMatchObject([{ name: 'first.bin', state: 'done' }, { name: 'photo.jpg', state: 'cancelled' }])
      expect(requests.filter((m) => m === 'POST')).toHaveLength(2)
      expect(await page.locator('#alert').isHidden()).toBe(true)
      expect(problems.filter((p) => !/Failed to load resource/.test(p))).toEqual([])
    } finally {
      await ctx.close()
    }
  })

  it('--allow .txt: the page judges the name the receiver judges (trail.txt. is a .txt), not the raw one', async () => {
    const c = await cli(['--allow', '.txt'])
    const picked = [fixture('cleaned/trail.txt.', 10), fixture('cleaned/q.txt?', 20), fixture('cleaned/no.pdf', 30)]
    const { ctx, page, problems } = await open({ ...PHONE }, c.url + '/')
    try {
      await page.setInputFiles('#files', picked)
      await until(() => doneRows(page).count()).toBe(2)
      await until(() => page.locator('#list li[data-state="refused"]').count()).toBe(1)
      expect(diskFiles(c.dir).sort()).toEqual(['q.txt', 'trail.txt'])
      expect(problems).toEqual([])
    } finally {
      await ctx.close()
    }
  })

  it('a receiver at its --max-connections (503): the files wait and go on by themselves once a connection is free; none fails', async () => {
    // Three connections: the page's own, and two uploads held mid-body by another client.
    const c = await cli(['--max-connections', '3'])
    const picked = [1, 2, 3].map((n) => fixture(`busy/b${n}.bin`, 30_000))
    const { ctx, page, problems } = await open({ ...PHONE }, c.url + '/')
    const release = [await heldPut(c, 'held-a.bin', randomBytes(1000), 10), await heldPut(c, 'held-b.bin', randomBytes(1000), 10)]
    try {
      await page.setInputFiles('#files', picked)
      await until(() => text(page, '#alert')).toContain('The receiver is busy')
      expect(await page.locator('#list li[data-state="failed"]').count()).toBe(0)
      expect(await Promise.all(release.map((r) => r()))).toEqual([201, 201])
      await until(() => doneRows(page).count(), 20_000).toBe(3)
      for (const f of picked) expect(sha256(path.join(c.dir, path.basename(f)))).toBe(sha256(f))
      expect(await page.locator('#alert').isHidden()).toBe(true)
      expect(c.events.filter((e) => e.event === 'failed')).toEqual([])
      expect(problems.filter((p) => !/Failed to load resource/.test(p))).toEqual([])
    } finally {
      await ctx.close()
    }
  })

  it('--once: of several files dropped at once, one is sent and the rest are refused with why; the receiver exits 0 and the page is not left waiting for it', async () => {
    const c = await cli(['--once'])
    const picked = [1, 2, 3].map((n) => fixture(`once/o${n}.bin`, 50_000))
    const { ctx, page, problems } = await open({ ...DESKTOP }, c.url + '/')
    try {
      // A drop (or a folder) can hold several files whatever the pickers take.
      await page.evaluate(() => {
        ;(document.getElementById('files') as HTMLInputElement).multiple = true
      })
      await page.setInputFiles('#files', picked)
      await until(() => doneRows(page).count(), 15_000).toBe(1)
      expect(await c.exited).toBe(0)
      const rows = await rowTexts(page)
      expect(rows.map((r) => r.state)).toEqual(['done', 'refused', 'refused'])
      expect(rows[1]!.meta).toContain('This receiver takes one upload and then stops.')
      // One reason for both: a screen reader hears it.
      expect(await text(page, '#live')).toContain('2 files were not sent: This receiver takes one upload and then stops.')
      expect(diskFiles(c.dir)).toEqual(['o1.bin'])
      await page.waitForTimeout(500)
      expect(await page.locator('#alert').isHidden()).toBe(true)
      expect(problems).toEqual([])
    } finally {
      await ctx.close()
    }
  })

  it('--once: a Retry does not send a second file once one has gone (a cancelled file retried after another was sent is refused with why)', async () => {
    const c = await cli(['--once'])
    const one = fixture('once-retry/one.bin', 400_000)
    const two = fixture('once-retry/two.bin', 1_000)
    const { ctx, page, problems } = await open({ ...DESKTOP }, c.url + '/')
    try {
      await throttle(page, 50_000)
      await page.setInputFiles('#files', one)
      await until(() => page.locator('#list li[data-state="sending"]').count()).toBe(1)
      await page.getByRole('button', { name: 'Cancel one.bin' }).click()
      await until(() => page.locator('#list li[data-state="cancelled"]').count()).toBe(1)
      await throttle(page, null)
      await page.setInputFiles('#files', two)
      await until(() => doneRows(page).count(), 15_000).toBe(1)
      expect(await c.exited).toBe(0)
      await page.getByRole('button', { name: 'Retry one.bin' }).click()
      const rows = await rowTexts(page)
      expect(rows.map((r) => [r.name, r.state])).toEqual([
        ['one.bin', 'refused'],
        ['two.bin', 'done'],
      ])
      expect(rows[0]!.meta).toContain('This receiver takes one upload and then stops.')
      expect(diskFiles(c.dir)).toEqual(['two.bin'])
      await page.waitForTimeout(300)
      expect(await page.locator('#alert').isHidden()).toBe(true)
      expect(problems.filter((p) => !/Failed to load resource/.test(p))).toEqual([])
    } finally {
      await ctx.close()
    }
  })

  it('a 503 that waiting will not clear (--stdout already taken) fails the file once with the receiver\'s reason, no retry loop', async () => {
    const c = await startCli(['--stdout'], { json: false })
    clis.push(c)
    dirs.push(path.dirname(c.dir))
    const release = await heldPut(c, 'first.bin', randomBytes(1000), 10)
    const f = fixture('stdout-taken/second.bin', 1_000)
    const { ctx, page } = await open({ ...DESKTOP }, c.url + '/')
    try {
      await page.setInputFiles('#files', f)
      await until(() => page.locator('#list li[data-state="failed"]').count()).toBe(1)
      expect((await rowTexts(page))[0]!.meta).toContain('already receiving another one')
      await page.waitForTimeout(3_500)
      expect(await page.locator('#list li[data-state="failed"]').count()).toBe(1)
      expect(await page.locator('#alert').isHidden()).toBe(true)
      // Sent once: one refusal on the terminal.
      expect(c.stderr().match(/✖ .*second\.bin/g) ?? []).toHaveLength(1)
      expect(await release()).toBe(201)
    } finally {
      await ctx.close()
    }
  })

  it('while the receiver stays busy, its alert stays up, said once, through the retries; it goes once a held-back file goes through', async () => {
    // --timeout 2: the page's own kept-alive connection is closed 2 s after it loads, so every
    // upload needs a new one; two clients trickling bodies hold both of the two.
    const c = await cli(['--max-connections', '2', '--timeout', '2'])
    // Sockets the receiver holds: the listening one and its standard streams (socket pairs), plus one per connection.
    const sockets = async () =>
      readdirSync(`/proc/${c.proc.pid}/fd`).filter((fd) => {
        try {
          return readlinkSync(`/proc/${c.proc.pid}/fd/${fd}`).startsWith('socket:')
        } catch {
          return false // closed while being listed
        }
      }).length
    const idle = await sockets()
    const picked = [fixture('busy-long/l1.bin', 10_000), fixture('busy-long/l2.bin', 10_000)]
    const { ctx, page } = await open({ ...DESKTOP }, c.url + '/')
    const holders: net.Socket[] = []
    const trickle = setInterval(() => holders.forEach((h) => h.write('x')), 400)
    try {
      // The page's own connections are gone (their --timeout ran out): its upload needs a new one.
      await until(sockets).toBe(idle)
      for (let i = 0; i < 2; i++) {
        const h = net.connect(c.port, '127.0.0.1')
        h.on('error', () => {})
        h.write(`PUT /hold${i}.bin HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\nx`)
        holders.push(h)
      }
      await page.waitForTimeout(300)
      await page.setInputFiles('#files', picked)
      await until(() => text(page, '#alert')).toContain('The receiver is busy')
      const shown = await page.evaluate(async () => {
        const alert = document.getElementById('alert')!
        // Every change, however brief: hidden for a moment and shown again is announced again.
        let times = 0
        const seen = new MutationObserver((changes) => (times += changes.length))
        seen.observe(alert, { attributes: true, attributeFilter: ['hidden'], childList: true, characterData: true, subtree: true })
        await new Promise((r) => setTimeout(r, 7_000))
        seen.disconnect()
        return { times, visible: !alert.hidden }
      })
      // Two retry rounds in 7 s, and the alert never went away and came back.
      expect(shown).toEqual({ times: 0, visible: true })
      clearInterval(trickle)
      for (const h of holders) h.destroy()
      await until(() => doneRows(page).count(), 20_000).toBe(2)
      expect(await page.locator('#alert').isHidden()).toBe(true)
    } finally {
      clearInterval(trickle)
      for (const h of holders) h.destroy()
      await ctx.close()
    }
  })

  it('a focused Cancel that goes away as its file finishes moves focus to the next row, not to the page\'s start', async () => {
    const c = await cli()
    const picked = [fixture('focus/f1.bin', 200_000), fixture('focus/f2.bin', 200_000)]
    const { ctx, page } = await open({ ...DESKTOP }, c.url + '/')
    try {
      await throttle(page, 50_000)
      await page.setInputFiles('#files', picked)
      await page.getByRole('button', { name: 'Cancel f1.bin' }).focus()
      await throttle(page, null)
      await until(() => doneRows(page).count(), 15_000).toBe(2)
      expect(await page.evaluate(() => document.activeElement?.tagName)).not.toBe('BODY')
    } finally {
      await ctx.close()
    }
  })

  it('below 4 connections the page sends fewer files at once, leaving one connection free', async () => {
    const c = await cli(['--max-connections', '2'])
    const picked = [1, 2, 3].map((n) => fixture(`cap2/c${n}.bin`, 200_000))
    const { ctx, page } = await open({ ...PHONE }, c.url + '/')
    try {
      // Slow enough that the first file is still sending however late the check runs.
      await throttle(page, 50_000)
      await page.setInputFiles('#files', picked)
      await until(() => text(page, '#sum')).toMatch(/^1 sending, 2 waiting · /)
      await throttle(page, null)
      await until(() => doneRows(page).count(), 20_000).toBe(3)
      expect(c.events.filter((e) => e.event === 'failed')).toEqual([])
      // None was turned away by the cap and waited for it.
      expect(c.stderr()).not.toContain('503')
      expect(await page.locator('#alert').isHidden()).toBe(true)
    } finally {
      await ctx.close()
    }
  })

  it('several failed files get one Retry all; a refused file is named in what a screen reader hears', async () => {
    const c = await cli(['--max-files', '1', '--max-file-size', '1000'])
    const big = fixture('retryall/big.bin', 2000)
    const small = [1, 2, 3].map((n) => fixture(`retryall/s${n}.txt`, 10 * n))
    const { ctx, page, problems } = await open({ ...DESKTOP }, c.url + '/')
    try {
      // The refused file first: the announcement must be about it, not the last file picked.
      await page.evaluate(() => {
        const input = document.getElementById('files') as HTMLInputElement
        input.multiple = true
      })
      await page.setInputFiles('#files', [big, ...small])
      await until(() => doneRows(page).count()).toBe(1)
      await until(() => text(page, '#live')).toContain('3 files were not sent.')
      expect(await page.locator('#list li[data-state="failed"]').count()).toBe(2)
      const retryAll = page.getByRole('button', { name: 'Retry all' })
      await retryAll.click()
      await until(() => doneRows(page).count()).toBe(3)
      await until(() => retryAll.isHidden()).toBe(true)
      expect(diskFiles(c.dir).sort()).toEqual(['s1.txt', 's2.txt', 's3.txt'])

      // One refused file alone: it is named, with its reason.
      await page.setInputFiles('#files', [big])
      await until(() => text(page, '#live')).toContain('big.bin not sent: Too large')
      expect(problems).toEqual([])
    } finally {
      await ctx.close()
    }
  })

  it('zoomed to 200 % on a 320 px phone (160 px): rows stack instead of one letter per line, nothing wider than the screen; text follows the font setting', async () => {
    const c = await cli()
    const picked = [fixture('bigfont/holiday-photo-one.jpg', 2000), fixture('bigfont/holiday-photo-two.jpg', 3000)]
    const { ctx, page, problems } = await open({ ...PHONE, viewport: { width: 160, height: 640 } }, c.url + '/')
    try {
      await page.setInputFiles('#files', picked)
      await until(() => doneRows(page).count()).toBe(2)
      expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(160)
      const name = await page.locator('#list .nm').first().boundingBox()
      expect(name!.width).toBeGreaterThan(80)
      // Body text is in rem: a user's larger font setting (here 32 px for 1rem) reaches it.
      await page.evaluate(() => void (document.documentElement.style.fontSize = '32px'))
      expect(await page.evaluate(() => getComputedStyle(document.body).fontSize)).toBe('34px')
      expect(problems).toEqual([])
    } finally {
      await ctx.close()
    }
  })

  it('without scripting, /?token= still leaves the secret out of the address bar: the page moves itself to / with its cookie', async () => {
    const c = await cli(['--token', 'n0script'])
    const { ctx, page, problems } = await open({ ...PHONE, javaScriptEnabled: false }, c.url + '/?token=n0script')
    try {
      await expect.poll(() => new URL(page.url()).search, { timeout: 10_000 }).toBe('')
      await until(() => text(page, 'h1')).toBe('Send files')
      expect(await page.locator('#files').count()).toBe(1)
      expect(problems).toEqual([])
    } finally {
      await ctx.close()
    }
  })

  it('a limit in binary units (1 KiB): sizes in the page are binary too, so a file is never shown under a limit it is over', async () => {
    const c = await cli(['--max-file-size', '1KiB'])
    const file = fixture('binary/over.bin', 1500)
    const { ctx, page, problems } = await open({ ...DESKTOP }, c.url + '/')
    try {
      await until(() => text(page, '.lim')).toContain('up to 1 KiB each')
      await page.setInputFiles('#files', [file])
      await until(() => page.locator('#list li[data-state="refused"]').count()).toBe(1)
      expect((await rowTexts(page))[0]!.meta).toContain('Too large (1.46 KiB): this receiver takes files up to 1 KiB.')
      // No progress to tell for a refused file: its bar says why, not "0%".
      const bar = page.getByRole('progressbar', { name: 'over.bin' })
      expect(await bar.getAttribute('aria-valuenow')).toBeNull()
      expect(await bar.getAttribute('aria-valuetext')).toMatch(/^Too large/)
      expect(problems).toEqual([])
    } finally {
      await ctx.close()
    }
  })

  it('--auth: a password no longer accepted is explained as one, not as a missing link', async () => {
    const first = await cli(['--auth', 'me:one'])
    const file = fixture('auth/a.txt', 100)
    const { ctx, page, problems } = await open({ ...PHONE, httpCredentials: { username: 'me', password: 'one' } }, first.url + '/')
    try {
      await first.stop()
      // The same port, another password: the page's remembered credentials are now wrong.
      await cli(['--port', String(first.port), '--auth', 'me:two'])
      await page.setInputFiles('#files', [file])
      await until(() => page.locator('#list li[data-state="failed"]').count()).toBe(1)
      expect((await rowTexts(page))[0]!.meta).toContain('The user name or password is no longer accepted')
      expect(await text(page, '#alert')).not.toContain('link or QR code')
      expect(problems.filter((p) => !/Failed to load resource/.test(p))).toEqual([])
    } finally {
      await ctx.close()
    }
  })

  it('an upload that stops moving says so instead of its last pace', async () => {
    const c = await cli()
    const movie = fixture('stall/movie.mov', 16_000_000)
    const { ctx, page, problems } = await open({ ...PHONE }, c.url + '/')
    const meta = () => text(page, '#list .meta')
    try {
      await throttle(page, 2_000_000)
      await page.setInputFiles('#files', [movie])
      await until(meta).toContain('left')
      // The receiver freezes (or the phone leaves the Wi-Fi): once the socket buffers are full no
      // byte moves, and the row says so rather than showing its last pace and time left.
      process.kill(c.proc.pid!, 'SIGSTOP')
      try {
        await until(meta, 20_000).toMatch(/no progress for \d+ s/)
        expect(await meta()).not.toContain('left')
      } finally {
        process.kill(c.proc.pid!, 'SIGCONT')
      }
      await throttle(page, null)
      await until(() => doneRows(page).count(), 20_000).toBe(1)
      expect(sha256(path.join(c.dir, 'movie.mov'))).toBe(sha256(movie))
      expect(problems).toEqual([])
    } finally {
      await ctx.close()
    }
  })

  it('once every byte is out ("Saving…") there is no Cancel: the receiver may have stored the file already', async () => {
    const c = await cli()
    const photo = fixture('saving/photo.jpg', 200_000)
    const { ctx, page, problems } = await open({ ...PHONE }, c.url + '/')
    try {
      await throttle(page, 50_000)
      await page.setInputFiles('#files', [photo])
      const bar = page.getByRole('progressbar', { name: 'photo.jpg' })
      await expect.poll(async () => Number(await bar.getAttribute('aria-valuenow')), { timeout: 10_000 }).toBeGreaterThan(50)
      // The receiver freezes with the last bytes in flight: they fit in the socket buffers, so the
      // page has sent them all and waits for an answer that cannot come yet.
      process.kill(c.proc.pid!, 'SIGSTOP')
      try {
        await until(() => page.locator('#list li').getAttribute('data-state')).toBe('saving')
        await page.waitForTimeout(300)
        expect(await page.getByRole('button', { name: 'Cancel photo.jpg' }).count()).toBe(0)
      } finally {
        process.kill(c.proc.pid!, 'SIGCONT')
      }
      await until(() => doneRows(page).count()).toBe(1)
      expect(diskFiles(c.dir)).toEqual(['photo.jpg'])
      expect(problems).toEqual([])
    } finally {
      await ctx.close()
    }
  })

  it('without scripting the page is a plain form whose post gets the HTML result page', async () => {
    const c = await cli()
    const file = fixture('nojs/plain form.txt', 2048)
    const { ctx, page, problems } = await open({ ...PHONE, javaScriptEnabled: false }, c.url + '/')
    try {
      await page.locator('label[for=media]').waitFor({ state: 'hidden' })
      await page.locator('#files').waitFor({ state: 'visible' })
      await shot(page, 'phone-nojs')
      await page.setInputFiles('#files', [file])
      await page.getByRole('button', { name: 'Upload' }).click()
      await until(() => text(page, 'h1')).toBe('Uploaded 1 file')
      await until(() => text(page, 'li')).toContain('plain form.txt')
      await shot(page, 'phone-nojs-result')
      expect(sha256(path.join(c.dir, 'plain form.txt'))).toBe(sha256(file))
      // The same file again: the result says what it was renamed from, as the script's list does.
      await page.getByRole('link', { name: 'Upload more' }).click()
      await page.setInputFiles('#files', [file])
      await page.getByRole('button', { name: 'Upload' }).click()
      await until(() => text(page, 'li')).toBe('plain form (1).txt (2,048 bytes, renamed from plain form.txt)')
      expect(problems).toEqual([])
    } finally {
      await ctx.close()
    }
  })

  it('without scripting, a failed post names the file that failed, lists what was stored, and says the rest were not', async () => {
    const c = await cli(['--max-file-size', '1kB'])
    const small = fixture('nojs-fail/a small one.txt', 100)
    const big = fixture('nojs-fail/too big.txt', 5000)
    const { ctx, page, problems } = await open({ ...PHONE, javaScriptEnabled: false }, c.url + '/')
    try {
      await page.setInputFiles('#files', [small, big])
      await page.getByRole('button', { name: 'Upload' }).click()
      await until(() => text(page, 'h1')).toBe('Upload failed')
      const body = plain(await page.locator('body').textContent())
      expect(body).toContain('too big.txt: The file is larger than the limit of 1 kB.')
      expect(body).toContain('Stored:a small one.txt (100 bytes)')
      expect(body).toContain('Any file after it in the form was not stored either; send those again.')
      expect(diskFiles(c.dir)).toEqual(['a small one.txt'])
      // Chromium logs the 413 itself as a console error: that one is the point of the test.
      expect(problems.filter((p) => !p.includes('status of 413'))).toEqual([])
    } finally {
      await ctx.close()
    }
  })

  it('without scripting, a refused type names the allowed list, and a long list wraps on a phone', async () => {
    const c = await cli(['--allow', 'image/*,video/*,audio/*,.pdf,.zip,.txt,.docx,.xlsx,application/vnd.oasis.opendocument.text'])
    const bin = fixture('nojs-type/data.bin', 100)
    const { ctx, page } = await open({ ...PHONE, javaScriptEnabled: false }, c.url + '/')
    try {
      await page.setInputFiles('#files', [bin])
      await page.getByRole('button', { name: 'Upload' }).click()
      await until(() => text(page, 'h1')).toBe('Upload failed')
      expect(plain(await page.locator('body').textContent())).toContain('(allowed: image/*, video/*, audio/*, .pdf, .zip,')
      expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390)
      expect(diskFiles(c.dir)).toEqual([])
    } finally {
      await ctx.close()
    }
  })

  it('--token: without it a clear 401 page; /?token= ends on / with a working page; a lost cookie is explained', async () => {
    const token = 'tok-e2e-secret'
    const c = await cli(['--token', token])
    const file = fixture('token/t.txt', 500)
    const { ctx, page, problems } = await open({ ...PHONE }, '')
    try {
      const denied = await page.goto(c.url + '/')
      expect(denied!.status()).toBe(401)
      await until(() => text(page, 'body')).toContain('needs its link or QR code')
      await shot(page, 'phone-401')

      await page.goto(`${c.url}/?token=${token}`)
      expect(page.url()).toBe(c.url + '/')
      await until(() => text(page, 'h1')).toBe('Send files')
      await page.setInputFiles('#files', [file])
      await until(() => doneRows(page).count()).toBe(1)
      expect(sha256(path.join(c.dir, 't.txt'))).toBe(sha256(file))

      await page.getByRole('button', { name: 'Clear finished' }).click()
      await until(() => rows(page).count()).toBe(0)

      // The cookie gone (another browser profile, cleared data): the server's 401 gets a plain answer.
      const cookies = await ctx.cookies()
      await ctx.clearCookies()
      await page.setInputFiles('#files', [file])
      await until(() => page.locator('#list li[data-state="failed"]').count()).toBe(1)
      await until(() => text(page, '#alert')).toContain('needs its link or QR code')
      await page.getByRole('button', { name: 'Retry t.txt' }).waitFor({ state: 'visible' })
      // A failed row stays for its Retry, so "Clear finished" has nothing to clear and is not offered.
      await until(() => page.locator('#clear').isHidden()).toBe(true)

      // The cookie back, the retry goes through, and the warning goes away with the problem.
      await ctx.addCookies(cookies)
      await page.getByRole('button', { name: 'Retry t.txt' }).click()
      await until(() => doneRows(page).count()).toBe(1)
      await until(() => page.locator('#alert').isHidden()).toBe(true)
      // Only the 401 pages' favicon-less loads may log; the upload page itself logs nothing.
      expect(problems.filter((p) => !p.includes('401'))).toEqual([])
    } finally {
      await ctx.close()
    }
  })

  describe('screenshots during and after an upload', () => {
    const cases: Array<[string, BrowserContextOptions]> = [
      ['phone-light', { ...PHONE, colorScheme: 'light' }],
      ['phone-dark', { ...PHONE, colorScheme: 'dark' }],
      ['desktop-light', { ...DESKTOP, colorScheme: 'light' }],
      ['desktop-dark', { ...DESKTOP, colorScheme: 'dark' }],
    ]
    for (const [name, options] of cases) {
      it(name, async () => {
        const c = await cli(['--max-file-size', '20MB'])
        // A photo already there, so the page shows the renamed copy.
        mkdirSync(c.dir, { recursive: true })
        writeFileSync(path.join(c.dir, 'IMG_2041.jpg'), 'earlier')
        const picked = [
          fixture('shots/IMG_2041.jpg', 240_000),
          fixture('shots/IMG_2042.jpg', 380_000),
          fixture('shots/Beach day.mp4', 4_000_000),
          fixture('shots/backup-2024.zip', 25_000_000),
        ]
        const { ctx, page, problems } = await open(options, c.url + '/')
        try {
          await throttle(page, 1_500_000)
          await page.setInputFiles('#files', picked)
          const video = page.getByRole('progressbar', { name: 'Beach day.mp4' })
          await until(() => doneRows(page).count()).toBe(2)
          await expect.poll(async () => Number(await video.getAttribute('aria-valuenow')), { timeout: 10_000 }).toBeGreaterThanOrEqual(35)
          await shot(page, `${name}-during`)
          await throttle(page, null)
          await until(() => doneRows(page).count()).toBe(3)
          await until(() => page.locator('#list li[data-state="refused"]').count()).toBe(1)
          await page.waitForTimeout(300) // the bars' width transition
          await shot(page, `${name}-after`)
          expect((await rowTexts(page)).map((r) => r.name)).toEqual([
            'IMG_2041 (1).jpg',
            'IMG_2042.jpg',
            'Beach day.mp4',
            'backup-2024.zip',
          ])
          expect(problems).toEqual([])
        } finally {
          await ctx.close()
        }
      })
    }
  })
})
