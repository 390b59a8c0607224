import t from 'tap';
import { fillAnswer } from '../src/answer-budget.js';
import { paddingSentence, padTokens } from '../src/answer-padding.js';
import { tokenize } from '../src/tokenizer.js';

const answer = tokenize('(Offline model.) One two three.');

t.test('padding sentences are numbered, labelled and tokenized as tokenize would', async (t) => {
  const sentence = tokenize(paddingSentence(1));
  const padded = padTokens(answer, answer.length + 2 * sentence.length);
  t.equal(padded.join(''), `(Offline model.) One two three.${paddingSentence(1)}${paddingSentence(2)}`);
  t.strictSame(padded, tokenize(padded.join('')), 'the same tokens tokenize makes of the text');
  t.match(paddingSentence(7), /^ Further detail 7 from the offline model: .*pads the answer.*\.$/);
});

t.test('exactly the asked length, the last sentence cut where it runs out', async (t) => {
  for (const length of [answer.length, answer.length + 1, answer.length + 5, 777]) {
    t.equal(padTokens(answer, length).length, length, `${length} tokens`);
  }
  const padded = padTokens(answer, answer.length + 3);
  t.strictSame(padded.slice(answer.length), [' Further', ' detail', ' 1']);
  t.equal(padTokens(answer, 2), answer, 'long enough already: returned as given');
});

t.test('counters past 999 split into digit groups, as the tokenizer splits numbers', async (t) => {
  const padded = padTokens([], 30_000);
  t.equal(padded.length, 30_000);
  const text = padded.join('');
  t.match(text, / Further detail 1000 from the offline model:/);
  t.strictSame(padded, tokenize(text));
});

t.test('a 60 000-token answer is built quickly and deterministically', async (t) => {
  const started = performance.now();
  const first = fillAnswer(answer, 60_000, undefined);
  const ms = performance.now() - started;
  t.equal(first.tokens.length, 60_000);
  t.ok(ms < 1000, `built in ${ms.toFixed(1)} ms`);
  t.strictSame(fillAnswer(answer, 60_000, undefined), first, 'same input, same answer');
});

t.test('fillAnswer: exact length and "stop"; a smaller max_tokens cuts it, "length"', async (t) => {
  const full = fillAnswer(answer, 50, undefined);
  t.equal(full.tokens.length, 50);
  t.equal(full.finishReason, 'stop');
  t.strictSame(fillAnswer(answer, 50, 50), full, 'max_tokens equal to the length: not a cut');
  t.strictSame(fillAnswer(answer, 50, 80), full);
  t.strictSame(fillAnswer(answer, 50, 20), { tokens: full.tokens.slice(0, 20), finishReason: 'length' });
  t.strictSame(fillAnswer(answer, 3, undefined), { tokens: answer.slice(0, 3), finishReason: 'stop' }, 'a longer answer is cut to exactly the length');
});
