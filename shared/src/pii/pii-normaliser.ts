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
 * a Latin script with typographic quotes, ellipses and dashes (`7–10 days`: the patterns take
 * every dash as a separator themselves) skips the per-character work.
 */
const NEEDS_FOLDING = /[^\x00-\x7F\u2010-\u2015\u2018\u2019\u201C\u201D\u2026\u00C0-\u024F]/;
const NON_ASCII = /[^\x00-\x7F]/g;

/**
 * One stretch of the normalised text: an ASCII run copied as is (`folded` false: offsets map one
 * to one), or the folding of one non-ASCII character (every offset maps to the whole character).
 */
interface Segment {
  at: number;
  from: number;
  fromLength: number;
  folded: boolean;
}

const IDENTITY_START = (i: number): number => i;
const IDENTITY_END = (i: number): number => i + 1;

export function normaliseForDetection(text: string): NormalisedText {
  if (!NEEDS_FOLDING.test(text)) return { text, originalStart: IDENTITY_START, originalEnd: IDENTITY_END };
  let out = '';
  const segments: Segment[] = [];
  let copied = 0;
  const copyUpTo = (end: number) => {
    if (end > copied) {
      segments.push({ at: out.length, from: copied, fromLength: end - copied, folded: false });
      out += text.slice(copied, end);
    }
  };
  for (const m of text.matchAll(NON_ASCII)) {
    // A surrogate pair is matched as two code units: the low half was taken with the high one.
    if (m.index < copied) continue;
    copyUpTo(m.index);
    const codePoint = text.codePointAt(m.index)!;
    const width = codePoint > 0xffff ? 2 : 1;
    const char = text.slice(m.index, m.index + width);
    const folded = INVISIBLE.test(char) ? '' : DASHES.test(char) ? '-' : char.normalize('NFKC');
    segments.push({ at: out.length, from: m.index, fromLength: width, folded: true });
    out += folded;
    copied = m.index + width;
  }
  copyUpTo(text.length);
  const segmentOf = (i: number): Segment | undefined => {
    // Spans are few and short: a backwards walk from the end is enough.
    for (let k = segments.length - 1; k >= 0; k--) if (segments[k]!.at <= i) return segments[k];
    return undefined;
  };
  return {
    text: out,
    originalStart: (i) => {
      const seg = segmentOf(i);
      if (!seg) return 0;
      return seg.folded ? seg.from : seg.from + (i - seg.at);
    },
    originalEnd: (i) => {
      const seg = segmentOf(i);
      if (!seg) return 0;
      return seg.folded ? seg.from + seg.fromLength : seg.from + (i - seg.at) + 1;
    },
  };
}
