// The banner on stderr: who we are, where files go, where to point a phone.
import QRCode from 'qrcode'
import type { ChalkInstance } from 'chalk'

export interface BannerInfo {
  version: string
  dir: string
  urls: readonly string[]
  /** Shown with the token appended, the one place it ever appears. */
  token: string | null
  qr: boolean
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
  if (info.qr && first) {
    // `small` packs two modules per character cell: a 33-module code fits an 80×24 terminal.
    const code = await QRCode.toString(withToken(first, info.token), { type: 'terminal', small: true, errorCorrectionLevel: 'L' })
    lines.push(code.replace(/\n+$/, ''))
    lines.push(c.dim('  Scan to open the upload page. Ctrl-C stops.'))
  } else {
    lines.push(c.dim('  Ctrl-C stops.'))
  }
  return lines.join('\n') + '\n'
}
