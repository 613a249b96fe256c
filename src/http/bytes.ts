// Byte constants and lookup tables: the parser works on octets, never on decoded text (RFC 9112 §2.2).
export const HTAB = 0x09 // '\t'
export const LF = 0x0a // '\n'
export const CR = 0x0d // '\r'
export const SP = 0x20 // ' '
export const COLON = 0x3a // ':'
export const SEMI = 0x3b // ';'
export const EQUALS = 0x3d // '='
export const DQUOTE = 0x22 // '"'
export const BACKSLASH = 0x5c // '\\'

function table(pred: (c: number) => boolean): Uint8Array {
  const t = new Uint8Array(256)
  for (let c = 0; c < 256; c++) t[c] = pred(c) ? 1 : 0
  return t
}

const TCHAR_EXTRA = "!#$%&'*+-.^_`|~"
/** RFC 9110 §5.6.2 tchar. */
export const TCHAR = table(
  (c) =>
    (c >= 0x30 && c <= 0x39) ||
    (c >= 0x41 && c <= 0x5a) ||
    (c >= 0x61 && c <= 0x7a) ||
    TCHAR_EXTRA.includes(String.fromCharCode(c)),
)
/** RFC 9110 §5.5 field-value bytes: VCHAR, obs-text, SP, HTAB. CR, LF, NUL and other controls are not. */
export const FIELD_BYTE = table((c) => (c >= 0x21 && c <= 0x7e) || c >= 0x80 || c === SP || c === HTAB)
/** request-target: visible ASCII only (RFC 9112 §3.2: no whitespace; browsers percent-encode the rest). */
export const TARGET_BYTE = table((c) => c >= 0x21 && c <= 0x7e)
export const HEX_VALUE = (() => {
  const t = new Int8Array(256).fill(-1)
  for (let c = 0; c < 10; c++) t[0x30 + c] = c
  for (let c = 0; c < 6; c++) {
    t[0x41 + c] = 10 + c
    t[0x61 + c] = 10 + c
  }
  return t
})()
/** quoted-string content: qdtext / quoted-pair bytes (RFC 9110 §5.6.4). */
export const QDTEXT = table((c) => c === HTAB || c === SP || c === 0x21 || (c >= 0x23 && c <= 0x5b) || (c >= 0x5d && c <= 0x7e) || c >= 0x80)
