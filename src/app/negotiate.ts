// SPEC §3: HTML only when Accept ranks text/html above application/json; ties, */* or no Accept mean JSON.
import { trimOws } from '../http/head.js'

/** The q-value `accept` gives `type`, using the most specific matching range (RFC 9110 §12.5.1). */
function quality(accept: string, type: string): number {
  const [major] = type.split('/')
  let best = -1
  let q = 0
  for (const range of accept.split(',')) {
    const [media, ...params] = range.split(';').map((s) => trimOws(s).toLowerCase())
    if (!media) continue
    const specificity = media === type ? 2 : media === `${major}/*` ? 1 : media === '*/*' ? 0 : -1
    if (specificity < best || specificity === -1) continue
    let value = 1
    for (const p of params) {
      const m = /^q=([0-9.]+)$/.exec(p)
      if (m) value = Math.min(1, Number(m[1]) || 0)
    }
    if (specificity > best) {
      best = specificity
      q = value
    }
  }
  return q
}

export function prefersHtml(accept: string | undefined): boolean {
  if (!accept) return false
  return quality(accept, 'text/html') > quality(accept, 'application/json')
}
