// The banner on stderr: who we are, where files go, where to point a phone.
import type { ChalkInstance } from 'chalk'

export interface BannerInfo {
  version: string
  dir: string
  urls: readonly string[]
  /** Shown with the token appended, the one place it ever appears. */
  token: string | null
  qr: boolean
  /** The terminal's width: a QR code wider than it wraps into something no phone can scan. */
  columns?: number | undefined
}

export function withToken(url: string, token: string | null): string {
  return token ? `${url}?token=${encodeURIComponent(token)}` : url
}

export async function renderBanner(info: BannerInfo, c: ChalkInstance): Promise<string> {
  const lines = [
    `${c.bold('upload-recv')} ${info.version}  ${c.dim('receiving into')} ${c.bold(info.dir)}`,
    ...info.urls.map((u) => `  ${c.cyan(withToken(u, info.token))}`),
  ]
  const first = info.urls[0]
  const code = info.qr && first ? await renderQr(withToken(first, info.token), c.level > 0) : null
  // eslint-disable-next-line no-control-regex
  const width = code === null ? 0 : code.slice(0, code.indexOf('\n')).replace(/\x1b\[[0-9;]*m/g, '').length
  if (code !== null && info.columns !== undefined && width > info.columns) {
    lines.push(c.dim(`  A terminal ${width} columns wide would show a QR code. Ctrl-C stops.`))
  } else if (code !== null) {
    lines.push(code)
    lines.push(c.dim('  Scan to open the upload page. Ctrl-C stops.'))
  } else {
    lines.push(c.dim('  Ctrl-C stops.'))
  }
  return lines.join('\n') + '\n'
}

/**
 * Two modules per character cell with a one-module light border: a 33-module code (a LAN URL with a
 * token) is 35 columns by 18 rows, so it fits an 80×24 terminal with the lines around it.
 * In colour it is drawn black on white, which scans on any terminal theme (qrcode's `small` mode).
 * Without colour (NO_COLOR, FORCE_COLOR=0) light modules are drawn as glyphs in the terminal's own
 * text colour: right on the usual light-on-dark terminal, inverted on a light one (phones' scanners
 * read both).
 */
export async function renderQr(text: string, colour: boolean): Promise<string> {
  // Loaded only when a code is drawn: it is ~10 MiB of resident memory a --quiet or piped run never needs.
  const { default: QRCode } = await import('qrcode')
  if (colour) {
    const code = await QRCode.toString(text, { type: 'terminal', small: true, errorCorrectionLevel: 'L' })
    // The renderer ends with a newline and a row that only holds colour codes: drop that empty row.
    return code.replace(/\n(?:\x1b\[[0-9;]*m)*$/, '').replace(/\n+$/, '')
  }
  const { modules } = QRCode.create(text, { errorCorrectionLevel: 'L' })
  const size = modules.size
  const light = (x: number, y: number) => x < 0 || y < 0 || x >= size || y >= size || !modules.get(y, x)
  const rows: string[] = []
  for (let y = -1; y < size + 1; y += 2) {
    let row = ''
    for (let x = -1; x <= size; x++) {
      const top = light(x, y)
      // The row under the border is outside the border: no glyph (the terminal's background).
      const bottom = y + 1 <= size && light(x, y + 1)
      row += top && bottom ? '█' : top ? '▀' : bottom ? '▄' : ' '
    }
    rows.push(row)
  }
  return rows.join('\n')
}
