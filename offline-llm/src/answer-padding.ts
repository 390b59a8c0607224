import { tokenize } from './tokenizer.js';

/**
 * Padding for `fillToAnswerTokens`: numbered sentences appended to the composed answer until it
 * is exactly as long as asked, labelled so no one mistakes them for content:
 *
 *   " Further detail 1 from the offline model: this sentence pads the answer to the configured length."
 *
 * The sentence is tokenized once; each copy reuses those token strings and splices in only the
 * tokens of its counter, so a 60 000-token answer costs one array of shared strings. The tokens
 * are exactly what `tokenize` would make of the padded text.
 */

/** The padding sentence with counter `n`, as text. */
export function paddingSentence(n: number): string {
  return ` Further detail ${n} from the offline model: this sentence pads the answer to the configured length.`;
}

/** Tokens of the sentence before and after its counter. */
const [HEAD, TAIL] = ((): [readonly string[], readonly string[]] => {
  const tokens = tokenize(paddingSentence(0));
  const at = tokens.indexOf(' 0');
  if (at === -1) throw new Error('padding sentence: counter token not found');
  return [tokens.slice(0, at), tokens.slice(at + 1)];
})();

/**
 * `tokens` followed by padding sentences 1, 2, … up to exactly `length` tokens (the last sentence
 * cut where the length runs out). `tokens` as given when it is already that long or longer.
 */
export function padTokens(tokens: readonly string[], length: number): readonly string[] {
  if (tokens.length >= length) return tokens;
  const out = tokens.slice();
  for (let n = 1; out.length < length; n++) {
    if (!append(out, HEAD, length)) break;
    // " 1" … " 999" is one token; longer counters split into digit groups, as tokenize does.
    if (!append(out, n < 1000 ? [` ${n}`] : tokenize(` ${n}`), length)) break;
    append(out, TAIL, length);
  }
  return out;
}

/** Pushes tokens until `out` reaches `length`; false when it did. */
function append(out: string[], tokens: readonly string[], length: number): boolean {
  const end = Math.min(tokens.length, length - out.length);
  for (let i = 0; i < end; i++) out.push(tokens[i]!);
  return out.length < length;
}
