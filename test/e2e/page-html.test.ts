// The upload page as bytes (no browser): its CSP allows exactly its one style and one script,
// it fetches nothing from elsewhere, stays small, and carries the server's limits.
import { createHash } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import type { Config } from '../../src/config.js'
import { uploadPage } from '../../src/app/page.js'
import { limitText } from '../../src/size.js'

const base = { maxFileSize: Infinity, maxFiles: Infinity, allowText: null, flat: false } as unknown as Config
const sha = (s: string) => `'sha256-${createHash('sha256').update(s, 'utf8').digest('base64')}'`

function inline(html: string, tag: string): string[] {
  return [...html.matchAll(new RegExp(`<${tag}>([\\s\\S]*?)</${tag}>`, 'g'))].map((m) => m[1]!)
}

function configOf(html: string): Record<string, unknown> {
  const m = /<script type="application\/json" id="config">([\s\S]*?)<\/script>/.exec(html)
  return JSON.parse(m![1]!) as Record<string, unknown>
}

describe('upload page HTML', () => {
  it('the CSP names the hash of its one inline script and one inline style, and nothing inline else runs', () => {
    const { html, csp } = uploadPage(base)
    const scripts = inline(html, 'script')
    const styles = inline(html, 'style')
    expect(scripts).toHaveLength(1)
    expect(styles).toHaveLength(1)
    const directives = Object.fromEntries(csp.split('; ').map((d) => [d.split(' ')[0], d.split(' ').slice(1).join(' ')]))
    expect(directives['default-src']).toBe("'none'")
    expect(directives['script-src']).toBe(sha(scripts[0]!))
    expect(directives['style-src']).toBe(sha(styles[0]!))
    expect(csp).not.toContain('unsafe')
    expect(html).not.toMatch(/\son[a-z]+=/i) // no inline event handlers
    expect(html).not.toMatch(/\sstyle=/i) // no style attributes
  })

  it('is self-contained and under 32 KB', () => {
    for (const cfg of [base, { ...base, maxFileSize: 1e6, allowText: 'image/*,.pdf', flat: true } as Config]) {
      const { html } = uploadPage(cfg)
      expect(Buffer.byteLength(html)).toBeLessThan(32_000)
      // Only data: URLs, the SVG namespace and the form's own action.
      expect(html.match(/(?:src|href|action)="(?!data:|\/")[^"]*"/g)).toBeNull()
    }
  })

  it('announces the limits: accept from --allow, the size in the unit it was likely given, files at a time', () => {
    const { html } = uploadPage({ ...base, maxFileSize: 1_048_576, maxFiles: 5, allowText: 'image/*, .pdf' } as Config)
    expect(html).toContain('name="file" multiple accept="image/*, .pdf" required')
    expect(html).not.toContain('id="media"')
    expect(configOf(html)).toMatchObject({ maxFileSize: 1_048_576, maxFileSizeText: '1 MiB', maxFiles: 5, allow: 'image/*, .pdf', flat: false })
    // What the receiver removes from a name before judging its extension, for the page to do the same.
    expect(new RegExp(configOf(html).unsafe as string, 'g')[Symbol.replace]('a<b>\u202e:c.pdf', '')).toBe('abc.pdf')
    expect(html).toContain('Accepted: image/*, .pdf · up to 1 MiB each · 5 files at a time')

    const open = uploadPage(base).html
    expect(configOf(open)).toEqual({ maxFileSize: null, maxFileSizeText: null, maxFiles: null, allow: null, unsafe: null, flat: false })
    expect(open).toContain('id="media" type="file" multiple accept="image/*,video/*"')
    expect(open).toContain('Any kind of file · any size')
  })

  it('--max-files 1: the pickers take one file, and the page says so', () => {
    const { html } = uploadPage({ ...base, maxFiles: 1 } as Config)
    expect(html).toContain('id="media" type="file" accept="image/*,video/*"')
    expect(html).toContain('<input id="files" type="file" name="file" required')
    expect(html).toContain('Any kind of file · any size · one file at a time')
    // The folder picker is a list by nature; the script holds it to one file.
    expect(html).toContain('id="folder" type="file" multiple webkitdirectory')
  })

  it('--once: the pickers take one file, and the page says the receiver stops after one upload', () => {
    const { html } = uploadPage({ ...base, once: true } as Config)
    expect(html).toContain('id="media" type="file" accept="image/*,video/*"')
    expect(html).toContain('<input id="files" type="file" name="file" required')
    expect(html).toContain('Any kind of file · any size · one upload, then the receiver stops')
    expect(configOf(html).once).toBe(true)
    // A folder is many files, each its own request: no folder picker.
    expect(html).not.toContain('id="folder"')
    expect(uploadPage(base).html).toContain('id="folder"')
  })

  it('the config block cannot end its element early', () => {
    const { html } = uploadPage({ ...base, allowText: '</script><b>' } as Config)
    expect(configOf(html).allow).toBe('</script><b>')
    expect(html).not.toContain('</script><b>')
  })

  it.each([
    [1_000_000, '1 MB'],
    [1_048_576, '1 MiB'],
    [5 * 2 ** 30, '5 GiB'],
    [1500, '1.5 kB'],
    [10_000, '10 kB'],
    [2048, '2 KiB'],
    [123, '123 bytes'],
    [1, '1 byte'],
    [1_500_000, '1.5 MB'],
    // Exact, never rounded: 1023 and 1KiB were both "1.02 kB" in a 413's message.
    [1023, '1,023 bytes'],
    [1126, '1,126 bytes'],
    // SPEC §1's own example, and binary fractions, in the unit they were given in.
    [1.5 * 2 ** 30, '1.5 GiB'],
    [2560, '2.5 KiB'],
    // Past the units parseSize knows: still a text, never a throw (1000TB failed to start).
    [1e15, '1000 TB'],
    [2 ** 50, '1024 TiB'],
    [Number.MAX_SAFE_INTEGER, '9,007,199,254,740,991 bytes'],
  ])('limitText(%d) = %s', (n, text) => {
    expect(limitText(n)).toBe(text)
  })
})
