/**
 * Issue 16: personal data written slightly differently must still be masked before the model,
 * and the airline's own details that look like it (flight numbers, booking references, times,
 * prices, dates, weights) must not be. A table of variants, each in a sentence, each checked
 * through the vault the worker uses: the value is gone and a placeholder of its kind stands in.
 */
import t from 'tap';
import { PiiVault, StreamScrubber, detectPii, type PiiKind } from '../src/pii/index.js';

interface Variant {
  kind: PiiKind;
  /** The value as the user wrote it. */
  value: string;
}

const CARDS = ['4111111111111111', '5555555555554444', '378282246310005', '6011111111111117', '2223000048400011', '3566002020360505'];
/** Ways people separate the groups of a card number. */
const CARD_SEPARATORS = [' ', '-', '.', '/', '  ', '\n', ' - ', '_', '\u00a0', '\u2009', '\u2013', ''];

function grouped(digits: string, separator: string): string {
  // Amex is written 4-6-5; the others in fours.
  const sizes = digits.length === 15 ? [4, 6, 5] : [4, 4, 4, 4, 4].slice(0, Math.ceil(digits.length / 4));
  const groups: string[] = [];
  let at = 0;
  for (const size of sizes) {
    groups.push(digits.slice(at, at + size));
    at += size;
  }
  return groups.filter(Boolean).join(separator);
}

/** ASCII digits to full-width ones (`４１１１`), as an East Asian keyboard types them. */
const fullWidth = (text: string): string => text.replace(/\d/g, (d) => String.fromCharCode(0xff10 + Number(d)));

const variants: Variant[] = [];
for (const card of CARDS) for (const separator of CARD_SEPARATORS) variants.push({ kind: 'CARD', value: grouped(card, separator) });
variants.push(
  { kind: 'CARD', value: fullWidth('4111 1111 1111 1111') },
  { kind: 'CARD', value: fullWidth('4111111111111111') },
  { kind: 'CARD', value: '４１１１－１１１１－１１１１－１１１１' },
  { kind: 'CARD', value: '4111\u200b1111\u200b1111\u200b1111' },
  { kind: 'CARD', value: '4111 1111\n1111 1111' },
  { kind: 'CARD', value: '4111 / 1111 / 1111 / 1111' },
);
const PHONES = [
  '021 123 4567', '021-123-4567', '021.123.4567', '021/123/4567', '021  123  4567', '(021) 123 4567', '0211234567',
  '+64 21 123 4567', '+64-21-123-4567', '+64.21.123.4567', '0064 21 123 4567', '+64 (0)21 123 4567', '09 379 1234', '(09) 379-1234',
  '+61 412 345 678', '0412 345 678', '04 1234 5678', '(02) 9374 4000',
  '(415) 555-2671', '415-555-2671', '415.555.2671', '+1 415 555 2671', '1-415-555-2671', '+1 (415) 555-2671',
  '020 7946 0958', '+44 20 7946 0958', '07911 123456',
  fullWidth('021 123 4567'), fullWidth('(415) 555-2671'), '＋６４ ２１ １２３ ４５６７', '021\u2013123\u20134567', '021\u00a0123\u00a04567',
];
for (const value of PHONES) variants.push({ kind: 'PHONE', value });
const EMAILS = [
  'mary@example.com', 'mary＠example.com', 'mary﹫example.com', 'ｍａｒｙ＠ｅｘａｍｐｌｅ．ｃｏｍ', 'Mary.Jones+trip@Example.CO.NZ',
  'mary @ example.com', 'mary@mail.example.co.uk', 'mary_o-neil@example.travel', 'm\u200bary@example.com',
];
for (const value of EMAILS) variants.push({ kind: 'EMAIL', value });
const IBANS = ['GB82 WEST 1234 5698 7654 32', 'GB82WEST12345698765432', 'DE89 3704 0044 0532 0130 00'];
for (const value of IBANS) variants.push({ kind: 'IBAN', value });

/** Passports: the number with its keyword, in sentences, before and after the number. */
const PASSPORT_SENTENCES: Array<[string, string]> = [
  ['my passport is LA1234567', 'LA1234567'],
  ['passport no: LA1234567', 'LA1234567'],
  ['Passport number 123456789.', '123456789'],
  ['LA1234567 is my passport', 'LA1234567'],
  ['LA1234567 (passport)', 'LA1234567'],
  ['my pass port LA1234567', 'LA1234567'],
  ['pass-port: LA1234567', 'LA1234567'],
  ['PASSPORT\nLA1234567', 'LA1234567'],
  ['the number on my passport is E12345678', 'E12345678'],
  ['passport ＬＡ１２３４５６７', 'ＬＡ１２３４５６７'],
  ['N1234567 — that is the passport', 'N1234567'],
  ['numéro de passeport LA1234567', 'LA1234567'],
  ['mi pasaporte es LA1234567', 'LA1234567'],
];

/** Sentences around a value, as a customer writes it. */
const FRAMES = ['my details: {}', '{}', 'Please use {}, thanks!', 'is it ok to give you {}?\nCheers'];

t.test('every variant is masked, with a placeholder of its kind', async (t) => {
  let count = 0;
  const check = (text: string, kind: PiiKind, value: string) => {
    count++;
    const vault = new PiiVault();
    const masked = vault.scrub(text);
    t.notOk(masked.includes(value), `${kind} ${JSON.stringify(value)} is gone from ${JSON.stringify(masked)}`);
    t.match(masked, new RegExp(`\\[${kind}_1\\]`), `${JSON.stringify(value)} became [${kind}_1]`);
    // What remains must carry no digit run of the value either (a half-masked number is no mask).
    const digits = value.normalize('NFKC').replace(/\D/g, '');
    if (digits.length >= 6) t.notOk(masked.normalize('NFKC').replace(/\D/g, '').includes(digits.slice(-6)), 'no tail of its digits is left');
    t.equal(vault.restore(masked), text, 'and the placeholder restores what was written');
  };
  variants.forEach((v, i) => check(FRAMES[i % FRAMES.length]!.replace('{}', v.value), v.kind, v.value));
  for (const [sentence, value] of PASSPORT_SENTENCES) check(sentence, 'PASSPORT', value);
  t.ok(count >= 100, `the table has at least a hundred variants (${count})`);
});

/** The airline's own details and everyday numbers: none of these is personal data. */
const LOOK_ALIKES = [
  'Flight NZ123 departs at 14:30.',
  'flights NZ1, QF25, UA917 and NZ5012',
  'Your booking reference is ABC123.',
  'booking X7K9QP, seat 12A',
  'PNR: QWERTY, e-ticket 0862345678901',
  'Check in by 10:45; boarding 11:30–11:55.',
  'departs 0930, arrives 1345',
  'The fee is $1,250.00 (NZD 1250.00).',
  'It costs NZ$ 79.99 or 12 000 Airpoints.',
  'Bags up to 23kg, or 2 x 23 kg, 32 kg max; 158 cm total.',
  'travel on 2026-12-01, back 2026-12-05',
  'dates 01/12/2026 - 05/12/2026',
  '1.12.2026 to 5.12.2026',
  'from 2026-12-01 2026-12-05 2026-12-09',
  'Terminal 2, gate 34, row 27',
  'Order 4111 1111 1111 1112 (not Luhn-valid)',
  'reference 1234567890123',
  'Year 2026, version 1.2.3.4',
  'The score was 3-2 at 90+4 minutes',
  'Call us on [PHONE_1] or write to [EMAIL_1]',
  'a 30-day return window, 24/7 support, 100% refund',
  'Room 1204, floor 12',
  'NZ 123 and NZ 1234',
  'Passengers: 2 adults, 1 child (age 5), 1 infant.',
  'Fare class Y, 23 kg, $ 49.',
  'passport rules: valid for 6 months after 2026-12-01',
];

t.test('look-alikes are not masked', async (t) => {
  for (const text of LOOK_ALIKES) {
    t.same(detectPii(text).map((s) => [s.kind, s.value]), [], JSON.stringify(text));
    t.equal(new PiiVault().scrub(text), text, 'the text reaches the model as written');
  }
});

t.test('the same variants in a streamed answer are removed, however the tokens split them', async (t) => {
  let at = 0;
  for (const v of variants) {
    const answer = `Please contact ${v.value} today.`;
    const scrubber = new StreamScrubber(new PiiVault());
    let out = '';
    // Tokens of 1 to 4 characters, varied per variant but the same on every run.
    for (let i = 0; i < answer.length; ) {
      const size = 1 + ((at++ * 7) % 4);
      out += scrubber.push(answer.slice(i, i + size));
      i += size;
    }
    out += scrubber.end();
    t.equal(out, `Please contact [${v.kind.toLowerCase()} removed] today.`, JSON.stringify(v.value));
  }
});

t.test('lists of numbers and long digit soup are masked whole (and the detector stays bounded)', async (t) => {
  const vault = new PiiVault();
  t.equal(vault.scrub('ring 021 123 4567, 09 379 1234; or (415) 555-2671'), 'ring [PHONE_1], [PHONE_2]; or [PHONE_3]', 'a comma or semicolon ends a number');
  // 280 numbers: past the matcher's budget every run of 7+ digits is masked (fails closed).
  const many = Array.from({ length: 280 }, () => '021 123 4567').join(', ');
  const masked = new PiiVault().scrub(many);
  t.notMatch(masked, /\d{3}/, 'no number of the list survives');
  const soup = `${'1 '.repeat(1000)}021 123 4567 ${'2 '.repeat(1000)}`;
  t.notMatch(new PiiVault().scrub(soup), /4567/, 'a number inside a long stretch of digits is masked');
});
