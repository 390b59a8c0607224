import { findPhoneNumbersInText } from 'libphonenumber-js/max';
import { normaliseForDetection } from './pii-normaliser.js';

/** Kinds of personal data the service recognises. */
export type PiiKind = 'EMAIL' | 'PHONE' | 'CARD' | 'PASSPORT' | 'IBAN';

export interface PiiSpan {
  kind: PiiKind;
  start: number;
  end: number;
  value: string;
}

/**
 * The detector reads the normalised text (see pii-normaliser.ts): full-width digits and at signs,
 * odd spaces and dashes are already plain ASCII when these patterns run.
 *
 * E-mail: also with spaces around the at sign (`mary @ example.com`), which people type too.
 */
const EMAIL = /[A-Za-z0-9._%+-]+ ?@ ?[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}/g;
/**
 * A run of digit groups with any separators a person puts between them: spaces (one or several,
 * or a line break), dashes of every kind, dots, slashes, underscores; up to 3 of them between two groups. The
 * shape says nothing more: a card is a stretch of consecutive groups, 13 to 19 digits in all,
 * that passes `isCardNumber` (Luhn and the networks' ranges). A run may hold a card and more
 * (`4111 1111 1111 1111 12/27`, a card then a phone number): `findCards` tries each stretch.
 */
const DIGIT_RUN = /\d+(?:[ \t\r\n._\/\-\u2010-\u2015\u2212]{1,3}\d+)*/g;
const DIGIT_GROUP = /\d+/g;

/** Cards in one digit run: [start, end) offsets within the run, longest stretch first from each group. */
function findCards(run: string): Array<[number, number]> {
  const groups = [...run.matchAll(DIGIT_GROUP)].map((m) => ({ start: m.index, end: m.index + m[0].length, digits: m[0] }));
  const found: Array<[number, number]> = [];
  for (let i = 0; i < groups.length; i++) {
    let digits = '';
    let card = -1;
    for (let j = i; j < groups.length; j++) {
      digits += groups[j]!.digits;
      if (digits.length > 19) break;
      if (digits.length >= 13 && isCardNumber(digits)) card = j;
    }
    if (card >= 0) {
      found.push([groups[i]!.start, groups[card]!.end]);
      i = card;
    }
  }
  return found;
}

/**
 * Passport numbers have no checksum to validate, so a match needs the word nearby, before or
 * after the number (`passport no LA1234567`, `LA1234567 is my passport`), also written `pass
 * port` or `pass-port`, or as French, Spanish, German or Māori speakers write it. The number is
 * one or two letters then 6–9 digits (NZ, AU, UK, US and most ICAO formats) or 9 digits; flight
 * numbers (two letters, 1–4 digits) are too short.
 */
const PASSPORT_WORD = String.raw`(?:pass[ \t-]?port|passeport|pasaporte|reisepass|uruwhenua)`;
const PASSPORT_NUMBER = String.raw`\b([A-Za-z]{1,2} ?\d{6,9}|\d{9})\b`;
const PASSPORT_AFTER = new RegExp(`${PASSPORT_WORD}[^]{0,40}?${PASSPORT_NUMBER}`, 'gi');
const PASSPORT_BEFORE = new RegExp(`${PASSPORT_NUMBER}(?=[^]{0,40}?${PASSPORT_WORD})`, 'gi');
const IBAN = /\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){3,7}(?: ?[A-Z0-9]{1,3})?\b/g;

/**
 * Regions a phone number written without its country code may belong to, tried after the
 * session's own: the airline's home markets and the largest sources of its travellers. A
 * national number counts only when it is valid in one of them (`(415) 555-2671` is a US number
 * whatever the default), so dates, times and references do not become phone numbers.
 */
export const PHONE_REGIONS = ['NZ', 'AU', 'US', 'GB'] as const;
/**
 * The matcher is the costliest part of the detector, once per region: the other regions are
 * tried only on text with a stretch of 9 or more digits, the fewest a personal number of theirs
 * has when written without its country code (US 10; AU 9 without the trunk 0, 10 with it; GB 10
 * or 11 with the trunk 0). ISO dates (8 digits) and times stay below it. Shorter national
 * numbers there (AU `13 12 34`) are businesses', not a person's.
 */
const MAY_HOLD_FOREIGN_NATIONAL = /\d(?:[^\p{L}\d]{0,4}\d){8}/u;
export type PhoneRegion = (typeof PHONE_REGIONS)[number];

/**
 * Every kind above needs a decimal digit (card, IBAN and passport numbers; a phone number, which
 * libphonenumber reads only from decimal digits, ASCII or not: 0-9, fullwidth, Arabic-Indic), a
 * character NFKC folds into one (superscripts, circled and fraction digits: `\p{No}`) or an at
 * sign (`@`, or its full-width and small forms, which fold to it). Text with neither cannot hold any of them, and most of a streamed answer is
 * such text: it skips the patterns and libphonenumber's matcher, the costliest part.
 */
const MAY_HOLD_PII = /[\p{Nd}\p{No}@\uFE6B\uFF20]/u;

/**
 * The fewest digits a valid phone number can have in text: libphonenumber's metadata has no
 * national number shorter than 4 digits anywhere (so 5 with the shortest country code, 1) and
 * none shorter than 5 in the default countries (NZ, AU; US has 10, GB 7). The test of this module
 * checks the bound against the metadata installed.
 */
export const MIN_PHONE_DIGITS = 5;

/**
 * libphonenumber's matcher reads a number from digit blocks separated by at most 4 punctuation
 * or space characters, never letters. This is a looser form of that (any non-letter, non-digit
 * character separates), so it matches every stretch the matcher could read: text with no
 * stretch of `MIN_PHONE_DIGITS` digits cannot hold a phone number. Most digits in an airline's
 * answers are flight numbers, times, weights and years, which are too short, and the matcher,
 * whose parse attempts throw and catch an error each, was a tenth of the worker's CPU.
 */
const MAY_HOLD_PHONE = new RegExp(`[\\p{Nd}\\p{No}](?:[^\\p{L}\\p{Nd}\\p{No}]{0,4}[\\p{Nd}\\p{No}]){${MIN_PHONE_DIGITS - 1}}`, 'u');

/** False only when the text cannot contain a phone number `detectPii` would find. */
export function mayContainPhoneNumber(text: string): boolean {
  return MAY_HOLD_PHONE.test(text);
}

/** False only when the text cannot contain any kind `detectPii` finds (no digit, no `@`). */
export function mayContainPii(text: string): boolean {
  return MAY_HOLD_PII.test(text);
}

/** The Luhn checksum every payment card number satisfies (and most random digit runs do not). */
export function passesLuhn(digits: string): boolean {
  let sum = 0;
  let double = false;
  for (let i = digits.length - 1; i >= 0; i--) {
    let d = digits.charCodeAt(i) - 48;
    if (double) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
    double = !double;
  }
  return sum % 10 === 0;
}

/**
 * Issuer ranges of the card networks (first digits, lengths): Visa 4 (13–19), Mastercard 51–55
 * and 2221–2720 (16), American Express 34/37 (15), Diners 30/36/38/39 (14–19), JCB 35 (16–19),
 * Discover, UnionPay, RuPay and Maestro 5/6 (12–19). Dates and years (`2026-12-01 2026-12-05`)
 * and most references fail the range before Luhn is asked.
 */
function inCardRange(digits: string): boolean {
  const first = digits.charCodeAt(0) - 48;
  if (first === 4 || first === 5 || first === 6) return true;
  if (first === 3) return digits.length >= 14;
  if (first === 2) {
    const four = Number(digits.slice(0, 4));
    return four >= 2221 && four <= 2720 && digits.length === 16;
  }
  return false;
}

/** Whether a digit run is a payment card number: a network's range and the Luhn checksum. */
export function isCardNumber(digits: string): boolean {
  return digits.length >= 13 && digits.length <= 19 && inCardRange(digits) && passesLuhn(digits);
}

/**
 * Finds personal data in free text. Patterns alone miss or over-match, so each kind combines a
 * pattern with a validator: Luhn and the issuer ranges for cards, libphonenumber's full metadata
 * for phones (so dates, times and booking numbers are not taken for phone numbers), a nearby
 * keyword for passports. The text is normalised first (NFKC, dashes, invisible characters; see
 * pii-normaliser.ts); spans are those of the original text. Overlaps resolve to the span found
 * first in this order: email, card, IBAN, passport, phone.
 */
export function detectPii(text: string, defaultCountry: PhoneRegion = 'NZ'): PiiSpan[] {
  if (!MAY_HOLD_PII.test(text)) return [];
  return detectAll(text, defaultCountry, MAY_HOLD_PHONE.test(text));
}

/**
 * `detectPii` without the early exits: every pattern and validator, whatever the text. Exported
 * for the test that proves the early exits never miss what this finds.
 */
export function detectPiiFully(text: string, defaultCountry: PhoneRegion = 'NZ'): PiiSpan[] {
  return detectAll(text, defaultCountry, true);
}

/**
 * Stretches of text that may hold a phone number: digits with at most 4 other non-letter
 * characters between them (see MAY_HOLD_PHONE), with an opening plus or bracket.
 */
const PHONE_STRETCH = /[+(]*\p{Nd}(?:[^\p{L}\p{Nd}]{0,4}\p{Nd})*\)?/gu;
/**
 * The matcher's cost grows faster than the text on long digit stretches (a message of 2 000
 * spaced digits took over a second): a stretch longer than a window is read in overlapping
 * windows instead. A written phone number is shorter than the overlap, so each lies whole in
 * some window; a window cut through a number may add a short false match inside such a stretch
 * (masked: the safe side).
 */
const PHONE_WINDOW = 40;
const PHONE_WINDOW_STEP = 20;
/**
 * Most windows the matcher reads per text, all regions together (up to ~4 ms each on spaced digits):
 * a customer's message never comes near it. Past it the detector fails closed: every run of 7
 * or more digits not yet claimed is masked as a phone number.
 */
const MAX_PHONE_WINDOWS = 16;
const LONG_DIGIT_RUN = /\p{Nd}(?:[ .\/|()-]{0,2}\p{Nd}){6,}/gu;

/** Characters of context read with each stretch: the matcher needs the words around a number. */
const PHONE_CONTEXT = 16;

/**
 * [offset, text] of each piece the phone matcher reads: each digit stretch that may hold a
 * number of at least `minDigits` digits, with a little context either side (overlapping pieces
 * merged), a long stretch in overlapping windows. The matcher's cost grows with the digits it
 * reads, not with the words between them.
 */
function phoneWindows(text: string, minDigits: number): Array<[number, string]> {
  const pieces: Array<[number, number]> = [];
  for (const m of text.matchAll(PHONE_STRETCH)) {
    const stretch = m[0];
    let digits = 0;
    for (let i = 0; i < stretch.length && digits < minDigits; i++) if (/\p{Nd}/u.test(stretch[i]!)) digits++;
    if (digits < minDigits) continue;
    if (stretch.length <= PHONE_WINDOW) {
      const from = Math.max(0, m.index - PHONE_CONTEXT);
      const to = Math.min(text.length, m.index + stretch.length + PHONE_CONTEXT);
      const last = pieces.at(-1);
      // Merged with the previous piece when they overlap, up to a bounded length (a long text of
      // short stretches must still count against the budget piece by piece).
      if (last && from <= last[1] && to - last[0] <= 2 * PHONE_WINDOW) last[1] = to;
      else pieces.push([from, to]);
      continue;
    }
    for (let at = 0; at < stretch.length - PHONE_WINDOW_STEP; at += PHONE_WINDOW_STEP) pieces.push([m.index + at, Math.min(m.index + at + PHONE_WINDOW, m.index + stretch.length)]);
  }
  return pieces.map(([from, to]) => [from, text.slice(from, to)]);
}

/** The text with every claimed range blanked out, same length (letters break any digit stretch). */
function unclaimed(text: string, claimed: ReadonlyArray<[number, number]>): string {
  if (claimed.length === 0) return text;
  let out = '';
  let at = 0;
  for (const [from, to] of [...claimed].sort((a, b) => a[0] - b[0])) {
    if (from < at) continue;
    out += text.slice(at, from) + 'x'.repeat(to - from);
    at = to;
  }
  return out + text.slice(at);
}

function detectAll(original: string, defaultCountry: PhoneRegion, lookForPhones: boolean): PiiSpan[] {
  const normalised = normaliseForDetection(original);
  const text = normalised.text;
  const spans: PiiSpan[] = [];
  const taken = (start: number, end: number) => spans.some((s) => start < s.end && end > s.start);
  /** Spans found, in the normalised text's offsets. */
  const claimed: Array<[number, number]> = [];
  const add = (kind: PiiKind, from: number, to: number) => {
    // The phone matcher may include the space before a number: the span is the value alone.
    while (from < to && /\s/.test(text[from]!)) from++;
    if (to <= from) return;
    claimed.push([from, to]);
    const start = normalised.originalStart(from);
    const end = normalised.originalEnd(to - 1);
    if (!taken(start, end)) spans.push({ kind, start, end, value: original.slice(start, end) });
  };
  if (text.includes('@')) for (const m of text.matchAll(EMAIL)) add('EMAIL', m.index, m.index + m[0].length);
  for (const m of text.matchAll(DIGIT_RUN)) {
    // Most runs are short (times, flight numbers, prices): too few digits to be a card.
    if (m[0].length < 13) continue;
    for (const [from, to] of findCards(m[0])) add('CARD', m.index + from, m.index + to);
  }
  for (const m of text.matchAll(IBAN)) add('IBAN', m.index, m.index + m[0].length);
  for (const pattern of [PASSPORT_AFTER, PASSPORT_BEFORE]) {
    for (const m of text.matchAll(pattern)) {
      const number = m[1]!;
      const start = m.index + m[0].lastIndexOf(number);
      add('PASSPORT', start, start + number.length);
    }
  }
  if (lookForPhones) {
    // The session's region first, then the others for numbers written without a country code
    // that are valid only elsewhere. A number with its country code is found by the first pass.
    // The matcher reads a comma or semicolon as part of a dial string (`021 123 4567, 021` was
    // one span, leaving the second number's tail unmasked): it reads them as a plain break. Same
    // length, so offsets hold.
    const phoneText = text.includes(',') || text.includes(';') ? text.replace(/[,;]/g, '|') : text;
    let budget = MAX_PHONE_WINDOWS;
    const found = (region: PhoneRegion, windows: Array<[number, string]>) => {
      for (const [offset, window] of windows) {
        if (budget-- <= 0) return;
        for (const number of findPhoneNumbersInText(window, region)) {
          if (number.number.isValid()) add('PHONE', offset + number.startsAt, offset + number.endsAt);
        }
      }
    };
    found(defaultCountry, phoneWindows(phoneText, MIN_PHONE_DIGITS));
    // Digits not yet claimed by a span (the session's own numbers, cards, addresses) may still
    // be another region's national number: only then do the other regions' matchers run, on
    // those stretches alone.
    if (MAY_HOLD_FOREIGN_NATIONAL.test(text)) {
      const rest = unclaimed(phoneText, claimed);
      if (MAY_HOLD_FOREIGN_NATIONAL.test(rest)) {
        const windows = phoneWindows(rest, 9);
        for (const region of PHONE_REGIONS) if (region !== defaultCountry) found(region, windows);
      }
    }
    if (budget < 0) for (const m of unclaimed(phoneText, claimed).matchAll(LONG_DIGIT_RUN)) add('PHONE', m.index, m.index + m[0].length);
  }
  return spans.sort((a, b) => a.start - b.start);
}
