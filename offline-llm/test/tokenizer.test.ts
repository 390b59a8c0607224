import t from 'tap';
import { tokenize } from '../src/tokenizer.js';

t.test('words carry their leading space; punctuation runs are tokens of their own', async (t) => {
  t.strictSame(tokenize('Hello, world! How are you?'), ['Hello', ',', ' world', '!', ' How', ' are', ' you', '?']);
  t.strictSame(tokenize('(Offline model — no key.)'), ['(', 'Offline', ' model', ' —', ' no', ' key', '.)']);
});

t.test('contractions, numbers, long words and newlines split like a BPE model would', async (t) => {
  t.strictSame(tokenize("isn't"), ['isn', "'t"]);
  t.strictSame(tokenize('Pay 1234567 EUR'), ['Pay', ' 123', '456', '7', ' EUR']);
  t.strictSame(tokenize(' reimbursement'), [' reimb', 'ursem', 'ent']);
  t.strictSame(tokenize('understand'), ['understand'], 'ten letters stay one token');
  t.strictSame(tokenize('one\n\ntwo'), ['one', '\n\n', 'two']);
  t.strictSame(tokenize('[1].'), ['[', '1', '].']);
});

t.test('joining the tokens gives back the text exactly', async (t) => {
  const texts = [
    '',
    '   leading and trailing spaces   ',
    'Tabs\tand\r\nCRLF lines\n',
    'naïve café — 𝒜𝒷𝒸𝒹𝒺𝒻𝒼𝒽𝒾𝒿𝓀 letters outside the BMP and emoji 😀😀😀😀😀😀',
    'Numbers: 3.14159, 10,000,000 and 2024-06-01T12:00:00Z',
    "It's the passengers' bags, they're 'quoted'",
    'antidisestablishmentarianism pneumonoultramicroscopicsilicovolcanoconiosis',
  ];
  for (const text of texts) t.equal(tokenize(text).join(''), text, JSON.stringify(text));
});

t.test('no token is empty and no token splits a surrogate pair', async (t) => {
  const tokens = tokenize('𝒜𝒷𝒸𝒹𝒺𝒻𝒼𝒽𝒾𝒿𝓀𝓁𝓂 😀😀😀😀😀😀😀 word');
  for (const token of tokens) {
    t.ok(token.length > 0, 'non-empty');
    t.notOk(/[\ud800-\udbff]$/.test(token), `${JSON.stringify(token)} does not end inside a pair`);
    t.notOk(/^[\udc00-\udfff]/.test(token), `${JSON.stringify(token)} does not start inside a pair`);
  }
});
