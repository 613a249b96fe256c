// The invisible characters SPEC §4 removes from names, as regex class bodies, so the places that
// keep them out of names, `--dir`, terminal lines and `--json` lines cannot drift apart.

/** DEL, C1 (U+009B is an 8-bit escape), U+2028/2029 (line breaks to many readers), bidi controls. */
export const BEYOND_C0 = '\\u007f-\\u009f\\u2028\\u2029\\u202a-\\u202e\\u2066-\\u2069'

/** ALM, LRM, RLM: not in SPEC's list (right-to-left text may need them), but they reorder a line. */
export const BIDI_MARKS = '\\u061c\\u200e\\u200f'

/** A character class of C0 and the rest, plus `extra` (already regex-escaped). */
export function controlClass(extra = '', flags = ''): RegExp {
  return new RegExp(`[\\u0000-\\u001f${BEYOND_C0}${extra}]`, flags)
}
