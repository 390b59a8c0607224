/** PII detection, placeholders and the streaming scrubber, on realistic, messy text. */
import t from 'tap';
import { PiiVault, StreamScrubber, detectPii, passesLuhn } from '../src/pii/index.js';

t.test('detects each kind in messy text, and not the airline details around it', async (t) => {
  const text =
    'hi!! my email is Ana.Smith+travel@Example.co.nz , ph 021 123 4567 (or +61 412 345 678). ' +
    'Card 4111-1111-1111-1111 exp 12/27. passport no: LA1234567. Flight NZ123 on 2026-12-01 at 14:30, ' +
    'booking ABC123, seat 12A, 2 bags of 23kg, ref 1234567890123 (not a card).';
  const spans = detectPii(text);
  t.same(
    spans.map((s) => [s.kind, s.value]),
    [
      ['EMAIL', 'Ana.Smith+travel@Example.co.nz'],
      ['PHONE', '021 123 4567'],
      ['PHONE', '+61 412 345 678'],
      ['CARD', '4111-1111-1111-1111'],
      ['PASSPORT', 'LA1234567'],
    ],
  );
});

t.test('Luhn separates card numbers from other long numbers', async (t) => {
  t.ok(passesLuhn('4111111111111111'));
  t.ok(passesLuhn('5555555555554444'));
  t.notOk(passesLuhn('4111111111111112'));
  t.same(detectPii('order 4111 1111 1111 1112 please'), [], 'a Luhn-invalid run is not a card');
});

t.test('the vault replaces with stable typed placeholders and restores them', async (t) => {
  const vault = new PiiVault();
  const scrubbed = vault.scrub('Mail me at a@b.co or call 021 123 4567; again: a@b.co');
  t.equal(scrubbed, 'Mail me at [EMAIL_1] or call [PHONE_1]; again: [EMAIL_1]');
  t.equal(vault.restore('Sure, I will write to [EMAIL_1] and not [EMAIL_9].'), 'Sure, I will write to a@b.co and not [EMAIL_9].');
  t.ok(vault.owns('021-123-4567'), 'the same number written differently is still the user\'s');
});

t.test('the stream scrubber restores split placeholders and removes data the user did not write', async (t) => {
  const vault = new PiiVault();
  vault.scrub('my number is 021 123 4567');
  const scrubber = new StreamScrubber(vault);
  const tokens = ['We', ' will', ' call', ' [PH', 'ONE', '_1]', ' or', ' email', ' agent', '.bob', '@air', 'line.com', ' or', ' ring', ' +64', ' 9', ' 379', ' 1234', ' today', '.'];
  let out = '';
  const emitted: string[] = [];
  for (const token of tokens) {
    const piece = scrubber.push(token);
    if (piece) emitted.push(piece);
    out += piece;
  }
  out += scrubber.end();
  t.equal(out, 'We will call 021 123 4567 or email [email removed] or ring [phone removed] today.');
  t.ok(emitted.length >= 6, `text still streams in pieces (${emitted.length})`);
  t.notOk(emitted.some((p) => p.includes('bob') || p.includes('379')), 'no piece ever carried the foreign data');
});

t.test('ordinary text is held back by at most one word', async (t) => {
  const scrubber = new StreamScrubber(new PiiVault());
  t.equal(scrubber.push('Your'), '');
  t.equal(scrubber.push(' bag'), 'Your ');
  t.equal(scrubber.push(' allowance'), 'bag ');
  t.equal(scrubber.push(' is 23kg.'), 'allowance is ');
  t.equal(scrubber.end(), '23kg.');
});

t.test('a number that ends a sentence is never split from its start', async (t) => {
  const scrubber = new StreamScrubber(new PiiVault());
  let out = '';
  for (const token of ['Ring', ' +64', ' 9', ' 379', ' 1234', '.', ' Thanks']) out += scrubber.push(token);
  out += scrubber.end();
  t.equal(out, 'Ring [phone removed]. Thanks');
});
