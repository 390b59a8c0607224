/**
 * A rough imitation of a BPE tokenizer's output, so token counts and stream granularity look
 * like a real model's: words carry their leading space (" Hello"), punctuation runs are their own
 * tokens (","), long words are cut into pieces of a few letters, numbers into groups of up to
 * three digits. Joining the tokens gives back the text exactly.
 */

/**
 * One pre-token, in the spirit of GPT's pre-tokenizer pattern: an English contraction suffix,
 * an optional space + a letter run, an optional space + a digit run, an optional space + a
 * punctuation run, or whitespace (a run of newlines stays one token, like "\n\n").
 */
const PRE_TOKEN = /'(?:s|t|re|ve|m|ll|d)\b| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+/gu;

/** Letters per word piece: common words stay whole, long ones split like BPE merges would. */
const MAX_WORD_PIECE = 10;
const WORD_PIECE = 5;
const DIGIT_GROUP = 3;

/** Splits text into tokens; `tokenize(text).join('') === text`. */
export function tokenize(text: string): string[] {
  const tokens: string[] = [];
  for (const match of text.matchAll(PRE_TOKEN)) {
    const piece = match[0];
    const first = piece.charCodeAt(0) === 32 ? 1 : 0; // the leading space rides with the piece
    const body = piece.length - first;
    const code = piece.codePointAt(first) ?? 0;
    if (isDigit(code) && body > DIGIT_GROUP) {
      splitInto(tokens, piece, first + DIGIT_GROUP, DIGIT_GROUP);
    } else if (body > MAX_WORD_PIECE && isLetterPiece(piece, first)) {
      splitInto(tokens, piece, first + WORD_PIECE, WORD_PIECE);
    } else {
      tokens.push(piece);
    }
  }
  return tokens;
}

/** Pushes piece[0, firstEnd) then fixed-size slices; slices never end inside a surrogate pair. */
function splitInto(tokens: string[], piece: string, firstEnd: number, size: number): void {
  let start = 0;
  let end = firstEnd;
  while (start < piece.length) {
    if (end < piece.length && isHighSurrogate(piece.charCodeAt(end - 1))) end++;
    tokens.push(piece.slice(start, Math.min(end, piece.length)));
    start = end;
    end = start + size;
  }
}

function isDigit(code: number): boolean {
  return code >= 48 && code <= 57;
}

function isHighSurrogate(code: number): boolean {
  return code >= 0xd800 && code <= 0xdbff;
}

/** Sticky, so it tests the code point at `lastIndex` (astral letters included). */
const LETTER_AT = /\p{L}/uy;

function isLetterPiece(piece: string, first: number): boolean {
  LETTER_AT.lastIndex = first;
  return LETTER_AT.test(piece);
}
