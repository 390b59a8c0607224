import { findPhoneNumbersInText } from 'libphonenumber-js/max';

/** Kinds of personal data the service recognises. */
export type PiiKind = 'EMAIL' | 'PHONE' | 'CARD' | 'PASSPORT' | 'IBAN';

export interface PiiSpan {
  kind: PiiKind;
  start: number;
  end: number;
  value: string;
}

const EMAIL = /[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}/g;
/** 13 to 19 digits, optionally grouped by single spaces or dashes; checked with Luhn below. */
const CARD_CANDIDATE = /(?<![\d-])\d(?:[ -]?\d){12,18}(?![\d-])/g;
/**
 * Passport numbers have no checksum to validate, so a match needs the word nearby: one or two
 * letters then 6–9 digits (NZ, AU, UK, US and most ICAO formats), within 40 characters after
 * "passport". Flight numbers (two letters, 1–4 digits) are too short to match.
 */
const PASSPORT = /passport[^\n]{0,40}?\b([A-Za-z]{1,2}\d{6,9}|\d{9})\b/gi;
const IBAN = /\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){3,7}(?: ?[A-Z0-9]{1,3})?\b/g;

/**
 * Every kind above needs a decimal digit (card, IBAN and passport numbers; a phone number, which
 * libphonenumber reads only from decimal digits, ASCII or not: 0-9, fullwidth, Arabic-Indic) or
 * an `@` (email). Text with neither cannot hold any of them, and most of a streamed answer is
 * such text: it skips the patterns and libphonenumber's matcher, the costliest part.
 */
const MAY_HOLD_PII = /[\p{Nd}@]/u;

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
const MAY_HOLD_PHONE = new RegExp(`\\p{Nd}(?:[^\\p{L}\\p{Nd}]{0,4}\\p{Nd}){${MIN_PHONE_DIGITS - 1}}`, 'u');

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
 * Finds personal data in free text. Patterns alone miss or over-match, so each kind combines a
 * pattern with a validator: Luhn for cards, libphonenumber's full metadata for phones (so dates,
 * times and booking numbers are not taken for phone numbers), a nearby keyword for passports.
 * Overlaps resolve to the span found first in this order: email, card, IBAN, passport, phone.
 */
export function detectPii(text: string, defaultCountry: 'NZ' | 'AU' | 'US' | 'GB' = 'NZ'): PiiSpan[] {
  if (!MAY_HOLD_PII.test(text)) return [];
  return detectAll(text, defaultCountry, MAY_HOLD_PHONE.test(text));
}

/**
 * `detectPii` without the early exits: every pattern and validator, whatever the text. Exported
 * for the test that proves the early exits never miss what this finds.
 */
export function detectPiiFully(text: string, defaultCountry: 'NZ' | 'AU' | 'US' | 'GB' = 'NZ'): PiiSpan[] {
  return detectAll(text, defaultCountry, true);
}

function detectAll(text: string, defaultCountry: 'NZ' | 'AU' | 'US' | 'GB', lookForPhones: boolean): PiiSpan[] {
  const spans: PiiSpan[] = [];
  const taken = (start: number, end: number) => spans.some((s) => start < s.end && end > s.start);
  const add = (kind: PiiKind, start: number, end: number) => {
    if (!taken(start, end)) spans.push({ kind, start, end, value: text.slice(start, end) });
  };
  for (const m of text.matchAll(EMAIL)) add('EMAIL', m.index, m.index + m[0].length);
  for (const m of text.matchAll(CARD_CANDIDATE)) {
    if (passesLuhn(m[0].replace(/[ -]/g, ''))) add('CARD', m.index, m.index + m[0].length);
  }
  for (const m of text.matchAll(IBAN)) add('IBAN', m.index, m.index + m[0].length);
  for (const m of text.matchAll(PASSPORT)) {
    const number = m[1]!;
    const start = m.index + m[0].lastIndexOf(number);
    add('PASSPORT', start, start + number.length);
  }
  if (lookForPhones) {
    for (const found of findPhoneNumbersInText(text, defaultCountry)) {
      if (found.number.isValid()) add('PHONE', found.startsAt, found.endsAt);
    }
  }
  return spans.sort((a, b) => a.start - b.start);
}
