/**
 * The text the detector reads: each character folded to its Unicode NFKC form (full-width
 * digits `４１１１` → `4111`, the full-width at sign `＠` → `@`, no-break and ideographic spaces
 * → a space), every dash a person types (en, em, figure dash, minus sign, non-breaking hyphen)
 * to `-`, and invisible characters (zero-width spaces and joiners, soft hyphens, bidi marks)
 * dropped, so `4111​1111…` is read as the digits it shows. Spans found in the normalised text
 * map back to the original through `start`/`end`, so masking replaces what the user wrote.
 */
export interface NormalisedText {
  text: string;
  /** Index in the original text of the character that produced normalised character `i`. */
  originalStart(i: number): number;
  /** Index in the original text just after the character that produced normalised character `i`. */
  originalEnd(i: number): number;
}

/** Dash-like characters NFKC leaves alone, all read as `-`. */
const DASHES = /[\u2010-\u2015\u2212\uFE58\uFE63\uFF0D]/;
/** Invisible characters that can sit inside a number or an address without showing. */
const INVISIBLE = /[\u00AD\u034F\u061C\u115F\u1160\u17B4\u17B5\u180B-\u180E\u200B-\u200F\u202A-\u202E\u2060-\u2064\u206A-\u206F\uFEFF\uFE00-\uFE0F]/;
/**
 * Characters that are not ASCII but need no folding for detection: the common case of text in
 * a non-Latin script or with typographic quotes is scanned for this to skip the per-character
 * work when nothing needs it (digits of other scripts are read by libphonenumber as they are).
 */
const NEEDS_FOLDING = /[^\x00-\x7F\u2018\u2019\u201C\u201D\u2026\u00C0-\u024F]/;

const IDENTITY_START = (i: number): number => i;
const IDENTITY_END = (i: number): number => i + 1;

export function normaliseForDetection(text: string): NormalisedText {
  if (!NEEDS_FOLDING.test(text)) return { text, originalStart: IDENTITY_START, originalEnd: IDENTITY_END };
  let out = '';
  const starts: number[] = [];
  const ends: number[] = [];
  for (let at = 0; at < text.length; ) {
    const codePoint = text.codePointAt(at)!;
    const width = codePoint > 0xffff ? 2 : 1;
    const char = text.slice(at, at + width);
    let folded: string;
    if (INVISIBLE.test(char)) folded = '';
    else if (DASHES.test(char)) folded = '-';
    else folded = char.normalize('NFKC');
    for (let k = 0; k < folded.length; k++) {
      starts.push(at);
      ends.push(at + width);
    }
    out += folded;
    at += width;
  }
  return { text: out, originalStart: (i) => starts[i] ?? text.length, originalEnd: (i) => ends[i] ?? text.length };
}
