/** Message text normalisation: invisible characters out, visible text untouched. */
import t from 'tap';
import { normaliseMessage } from '../src/turn-intake.js';

t.test('invisible and control characters are removed, whitespace trimmed', async (t) => {
  t.equal(normaliseMessage('  hello\u200b world\u200d  '), 'hello world');
  t.equal(normaliseMessage('flight\u0000 NZ123\u0007'), 'flight NZ123');
  t.equal(normaliseMessage('bag\u202Egage'), 'baggage', 'bidi override');
  t.equal(normaliseMessage('hi\uFE0F'), 'hi', 'variation selector');
  t.equal(normaliseMessage('a\u{E0041}\u{E0042}b'), 'ab', 'Unicode tag characters (hidden prompt text)');
  t.equal(normaliseMessage('\uFEFF\u2060'), '', 'only invisible: empty');
});

t.test('visible text, newlines, tabs, accents and emoji survive', async (t) => {
  const text = 'Kia ora — line one\nline two\ttabbed, café, 日本語, 🛫';
  t.equal(normaliseMessage(text), text);
});
