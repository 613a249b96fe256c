export type AllowRule = { kind: 'ext'; ext: string } | { kind: 'type'; type: string; subtype: string /* '*' allowed */ }

// RFC 6838 §4.2 restricted-name characters; HTML `accept` allows `type/*` and `*/*`, never `*/sub`.
const MIME_TOKEN = '[a-z0-9][a-z0-9!#$&^_.+-]*'
const MIME_PATTERN = new RegExp(`^(?:(${MIME_TOKEN})/(${MIME_TOKEN}|\\*)|\\*/\\*)$`)
// `.pdf`, `.tar.gz`: dot-separated non-empty parts, made of what a sanitised name can hold.
const EXT_PATTERN = /^(?:\.[^.\s/\\*?"<>|:]+)+$/
const DECLARED_TYPE = new RegExp(`^(${MIME_TOKEN})/(${MIME_TOKEN})$`)

/** Parses an HTML `accept`-style list (`image/*,.pdf,text/plain`); throws one line on anything else. */
export function parseAllow(list: string): AllowRule[] {
  if (list.trim() === '') throw new Error('--allow: the list is empty; give e.g. image/*,.pdf')
  return list.split(',').map((entry) => parseEntry(entry.trim(), list))
}

function parseEntry(entry: string, list: string): AllowRule {
  if (entry === '') throw new Error(`--allow: "${list}" has an empty entry`)
  const lower = entry.toLowerCase()
  if (EXT_PATTERN.test(lower)) return { kind: 'ext', ext: lower }
  const mime = MIME_PATTERN.exec(lower)
  if (mime) return { kind: 'type', type: mime[1] ?? '*', subtype: mime[2] ?? '*' }
  throw new Error(`--allow: "${entry}" is neither a .extension nor a MIME type like image/*`)
}

/** Whether the file's declared type or its name's extension is allowed (SPEC §4 "Types"). */
export function matchAllow(rules: readonly AllowRule[], file: { name: string; type?: string | undefined }): boolean {
  const baseName = (file.name.split(/[\\/]/).pop() ?? '').toLowerCase()
  // Parameters (`; charset=utf-8`) do not change what the file is.
  const declared = DECLARED_TYPE.exec((file.type ?? '').split(';')[0]?.trim().toLowerCase() ?? '')
  return rules.some((rule) => {
    if (rule.kind === 'ext') return baseName.length > rule.ext.length && baseName.endsWith(rule.ext)
    // `*/*` means everything, including a raw body sent without any Content-Type.
    if (rule.type === '*') return true
    return declared !== null && rule.type === declared[1] && (rule.subtype === '*' || rule.subtype === declared[2])
  })
}
