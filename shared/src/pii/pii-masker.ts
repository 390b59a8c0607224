import { detectPii, type PiiKind } from './pii-detector.js';
import { normaliseForDetection } from './pii-normaliser.js';

/**
 * The bullet that masked personal data is made of. Text that holds a run of three is taken to
 * carry masked personal data (see `hasMaskedPii`).
 */
export const MASK_BULLET = '•';
const MASKED_RUN = /•{3}/;

/**
 * How personal data looks wherever it rests (history, job data, turn logs, the transcript):
 * enough for its owner to recognise it, too little for anyone to use it.
 *
 * - card, phone, IBAN, passport: `••••` and the last 4 letters or digits (`•••• 1111`);
 * - e-mail: the first character of the local part, `•••`, and the domain (`m•••@example.com`).
 *
 * The form is the same whoever wrote it and however (`4111.1111…` and `４１１１ …` both become
 * `•••• 1111`), and holds no run of 5 digits, so masking masked text changes nothing.
 */
export function maskedForm(kind: PiiKind, value: string): string {
  const plain = normaliseForDetection(value).text;
  if (kind === 'EMAIL') {
    const at = plain.indexOf('@');
    const local = plain.slice(0, at).trim();
    const domain = plain.slice(at + 1).trim().toLowerCase();
    return `${local.slice(0, 1)}${MASK_BULLET.repeat(3)}@${domain}`;
  }
  const tail = plain.replace(/[^A-Za-z0-9]/g, '').slice(-4).toUpperCase();
  return `${MASK_BULLET.repeat(4)} ${tail}`;
}

/**
 * The text with every piece of personal data in its masked form: what is stored of a message
 * or an answer. Text without any comes back as the same string (no copy).
 */
export function maskPii(text: string): string {
  const spans = detectPii(text);
  if (spans.length === 0) return text;
  let out = '';
  let at = 0;
  for (const span of spans) {
    out += text.slice(at, span.start) + maskedForm(span.kind, span.value);
    at = span.end;
  }
  return out + text.slice(at);
}

/**
 * Whether the text carries personal data in masked form: an answer to it is about someone's
 * card, phone or address, and must not go into the cache shared by every session.
 */
export function hasMaskedPii(text: string): boolean {
  return MASKED_RUN.test(text);
}
