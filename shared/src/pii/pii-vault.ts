import { detectPii, type PiiKind } from './pii-detector.js';
import { maskedForm } from './pii-masker.js';
import { normaliseForDetection } from './pii-normaliser.js';

/** `[EMAIL_1]`, `[PHONE_2]`, …: what the LLM, the cache key and the logs see instead. */
export const PLACEHOLDER = /\[(EMAIL|PHONE|CARD|PASSPORT|IBAN)_(\d{1,3})\]/g;

/**
 * The personal data of one user's turn, replaced by typed placeholders on the way to the LLM
 * and put back, for that user only, on the way out. The same value always gets the same
 * placeholder, so "my email [EMAIL_1] … write to [EMAIL_1]" stays coherent for the model.
 */
export class PiiVault {
  /**
   * @param reveal what `restore` puts back: `value`, the value as written (default), or
   * `masked`, its masked form (`•••• 1111`, see pii-masker.ts). The worker restores masked
   * forms: an answer is published, logged for resume and kept in history, all of which rest
   * in Redis, where personal data is kept masked.
   */
  constructor(private readonly reveal: 'value' | 'masked' = 'value') {}

  private readonly byValue = new Map<string, string>();
  private readonly byPlaceholder = new Map<string, string>();
  private readonly counters = new Map<PiiKind, number>();

  /** Number of values held. */
  get size(): number {
    return this.byPlaceholder.size;
  }

  /** Texts this vault scrubbed, and their results (see `scrub`). A vault lives for one turn. */
  private readonly scrubbed = new Map<string, string>();

  /**
   * The text with every piece of personal data replaced by its placeholder. The same text always
   * gives the same result (its values keep their placeholders), so results are remembered for the
   * vault's life, one turn: a turn scrubs its question for the context and again for the prompt,
   * with the previous question and past turns in between, and each scan is a pass of the
   * detector's patterns.
   */
  scrub(text: string): string {
    const known = this.scrubbed.get(text);
    if (known !== undefined) return known;
    const spans = detectPii(text);
    let out = text;
    if (spans.length > 0) {
      out = '';
      let at = 0;
      for (const span of spans) {
        out += text.slice(at, span.start) + this.placeholderFor(span.kind, span.value);
        at = span.end;
      }
      out += text.slice(at);
    }
    this.scrubbed.set(text, out);
    return out;
  }

  /** Puts back the values of placeholders this vault issued; unknown placeholders stay as they are. */
  restore(text: string): string {
    // Nothing issued, nothing to put back: the replace would return the text unchanged.
    if (this.byPlaceholder.size === 0) return text;
    return text.replace(PLACEHOLDER, (placeholder) => this.byPlaceholder.get(placeholder) ?? placeholder);
  }

  /** Whether the value is one this user wrote (and so may be shown back to them). */
  owns(value: string): boolean {
    return this.byValue.has(normalise(value));
  }

  private placeholderFor(kind: PiiKind, value: string): string {
    const key = normalise(value);
    const known = this.byValue.get(key);
    if (known) return known;
    const n = (this.counters.get(kind) ?? 0) + 1;
    this.counters.set(kind, n);
    const placeholder = `[${kind}_${n}]`;
    this.byValue.set(key, placeholder);
    this.byPlaceholder.set(placeholder, this.reveal === 'masked' ? maskedForm(kind, value) : value);
    return placeholder;
  }
}

/** One key per value however it was written: `4111.1111…`, `４１１１ １１１１…` and `4111-1111…` are one card. */
function normalise(value: string): string {
  return normaliseForDetection(value).text.replace(/[\s()._\/-]/g, '').toLowerCase();
}
