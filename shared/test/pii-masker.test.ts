/** The masked form personal data takes wherever it rests (issue 14), for every kind and however it was written. */
import t from 'tap';
import { hasMaskedPii, maskPii, maskedForm } from '../src/pii/index.js';

t.test('each kind has one masked form, whoever wrote it and however', async (t) => {
  t.equal(maskedForm('CARD', '4111 1111 1111 1111'), '•••• 1111');
  t.equal(maskedForm('CARD', '４１１１.１１１１.１１１１.１１１１'), '•••• 1111');
  t.equal(maskedForm('PHONE', '(415) 555-2671'), '•••• 2671');
  t.equal(maskedForm('PASSPORT', 'la1234567'), '•••• 4567');
  t.equal(maskedForm('IBAN', 'GB82 WEST 1234 5698 7654 32'), '•••• 5432');
  t.equal(maskedForm('EMAIL', 'Mary.Jones@Example.COM'), 'M•••@example.com');
  t.equal(maskedForm('EMAIL', 'mary＠example.com'), 'm•••@example.com');
  t.equal(maskedForm('EMAIL', 'mary @ example.com'), 'm•••@example.com');
});

t.test('maskPii masks a message in place and is idempotent', async (t) => {
  const text = 'Card 4111-1111-1111-1111, mail mary＠example.com, ring (415) 555-2671; flight NZ123 at 14:30 for $1,250.';
  const masked = maskPii(text);
  t.equal(masked, 'Card •••• 1111, mail m•••@example.com, ring •••• 2671; flight NZ123 at 14:30 for $1,250.');
  t.equal(maskPii(masked), masked, 'masking masked text changes nothing');
  t.ok(hasMaskedPii(masked));
  const plain = 'How many bags can I take on NZ123?';
  t.equal(maskPii(plain), plain);
  t.notOk(hasMaskedPii(plain));
});
