import { detectPii, mayContainPii } from './pii-detector.js';
import type { PiiVault } from './pii-vault.js';

/**
 * The longest tail held back while it might still become a placeholder or personal data: a
 * phone or card number split over several tokens ("+64 21", " 123", " 4567").
 */
const MAX_HOLD = 48;
/**
 * A tail that may still grow into something to restore or scrub: an unfinished placeholder
 * (`[EMA`), an IBAN still being written in its groups (`GB82 WEST 1234`: two capitals, two
 * digits, then capitals, digits and spaces), a number still being written with any separator a
 * person uses (spaces, line breaks, dashes, dots, slashes; full-width digits too: `+64 21 123`,
 * `4111.1111`), or the last word, which may turn out to be an email address (also with a
 * full-width at sign). IBANs and
 * numbers are held with a trailing punctuation mark too, so that `1234.` cannot split a number
 * from its start, nor an IBAN's digit groups from its first ones. Ordinary text before the tail
 * goes out at once.
 */
const INVISIBLE_IN_TEXT = '\\u00AD\\u200B-\\u200D\\u2060\\uFEFF';
const TAIL_PARTS = [
  '\\[[A-Z_0-9]*',
  '\\b[A-Z]{2}\\d{2}[A-Z0-9 ]*[.,;:!?]?',
  // A number: its opening sign or bracket alone, or digits of any script with the separators
  // people put between them.
  `[+(（＋]?\\p{Nd}[\\p{Nd}\\s()（）._/\\-\\u2010-\\u2015\\u2212．／－${INVISIBLE_IN_TEXT}]*[.,;:!?]?`,
  '[+(（＋]',
  // A word, which may be an address (also with a space around its at sign), with the space after
  // it: an at sign may still follow.
  `[\\p{L}\\p{N}_.%+\\-．${INVISIBLE_IN_TEXT}]+(?:\\s?[@＠﹫]\\s?[\\p{L}\\p{N}_.\\-．]*)?\\s?`,
  // An at sign and what follows it, when the word before it already went out (the opening word,
  // see OPENING_WORD): held until the address ends, so it is cleaned whole, with that word as
  // its context.
  `\\s?[@＠﹫]\\s?[\\p{L}\\p{N}_.\\-．]*\\s?`,
];
const UNFINISHED_TAIL = new RegExp(`(?:${TAIL_PARTS.join('|')})$`, 'u');
/**
 * Released text kept as the detector's context for the next piece: a passport number counts
 * only with the word "passport" up to 40 characters before it, and that word may have gone out
 * in an earlier piece.
 */
const CONTEXT_CHARS = 56;
/**
 * The answer's first piece, when it is one word of letters only: released at once instead of
 * waiting for the next token to show that no at sign follows. Holding it would add a whole
 * token interval (16 ms at 60 tokens/s) to every answer's first token, the one delay a reader
 * sees. What it can let out is the letters before an address's at sign when an answer opens
 * with someone else's address ("bob" of "bob@airline.com", the rest still removed): no more
 * than a name, which the scrubber never removes. Digits, dots, underscores and the like, which
 * make a local part an identifier, are still held.
 */
const OPENING_WORD = /^\p{L}{1,32}$/u;

/**
 * Scrubs an answer as it streams, before anything is published: placeholders the model echoes
 * are restored for the user who wrote them, and personal data the user did not write (from the
 * model or the context) is replaced by `[kind removed]`. A small hold-back keeps tokens that
 * could be half of a placeholder or a number until the next token settles them.
 */
export class StreamScrubber {
  private held = '';
  /** Nothing has been released yet: the next release opens the answer. */
  private opening = true;
  /** The end of the text cleaned so far, as restored (before removals): see CONTEXT_CHARS. */
  private context = '';

  constructor(private readonly vault: PiiVault) {}

  /** Takes the next piece of the answer; returns what is safe to send now (may be ''). */
  push(text: string): string {
    const ready = this.release(text);
    return ready ? this.clean(ready) : '';
  }

  /** Everything still held, cleaned; call once the stream has ended. */
  end(): string {
    const rest = this.releaseRest();
    return rest ? this.clean(rest) : '';
  }

  /**
   * The hold-back half of `push`: takes the next piece and returns the text it settles, not yet
   * cleaned (may be ''). What it returns does not end inside a placeholder, a number or a word
   * (short of a run longer than the hold-back), so consecutive released pieces may be joined and
   * cleaned at once (`clean(a + b)`): the pieces of a coalesced chunk are then scanned once
   * instead of once each. Joining only gives the detector more context, never less.
   */
  release(text: string): string {
    this.held += text;
    const tail = UNFINISHED_TAIL.exec(this.held);
    let cut = tail ? tail.index : this.held.length;
    if (this.held.length - cut > MAX_HOLD) cut = this.held.length - MAX_HOLD;
    if (cut <= 0 && this.opening && OPENING_WORD.test(this.held)) cut = this.held.length;
    if (cut <= 0) return '';
    this.opening = false;
    const ready = this.held.slice(0, cut);
    this.held = this.held.slice(cut);
    return ready;
  }

  /** Everything still held, not yet cleaned; call once the stream has ended. */
  releaseRest(): string {
    const rest = this.held;
    this.held = '';
    return rest;
  }

  /**
   * Restores the user's placeholders in released text and removes personal data the user did
   * not write. Takes what `release`/`releaseRest` returned, one piece or several joined in order.
   */
  clean(text: string): string {
    const restored = this.vault.restore(text);
    const context = this.context;
    const scanned = context + restored;
    this.context = scanned.slice(-CONTEXT_CHARS);
    // Every kind needs a digit or an '@' inside the span. One that ends in this text but has
    // neither here began in text already sent, which the hold-back prevents (numbers, IBAN
    // groups and words with an '@' are held until they end): no need to scan.
    if (!mayContainPii(restored)) return restored;
    let out = '';
    let at = 0;
    for (const span of detectPii(scanned)) {
      // Spans inside the context were dealt with when it was cleaned.
      if (span.end <= context.length) continue;
      const start = Math.max(span.start, context.length) - context.length;
      const end = span.end - context.length;
      out += restored.slice(at, start) + (this.vault.owns(span.value) ? restored.slice(start, end) : `[${span.kind.toLowerCase()} removed]`);
      at = end;
    }
    return out + restored.slice(at);
  }
}
