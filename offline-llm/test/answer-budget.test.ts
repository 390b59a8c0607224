import t from 'tap';
import { estimatePromptTokens, fitAnswer } from '../src/answer-budget.js';
import { tokenize } from '../src/tokenizer.js';

const tokens = tokenize('One two three. Four five six seven. Eight nine.');
// ['One',' two',' three','.',' Four',' five',' six',' seven','.',' Eight',' nine','.']

t.test('an answer within both limits is sent whole and finishes "stop"', async (t) => {
  t.strictSame(fitAnswer(tokens, 100, undefined), { tokens, finishReason: 'stop' });
  t.strictSame(fitAnswer(tokens, 12, 12), { tokens, finishReason: 'stop' });
});

t.test('answerTokens trims to the last whole sentence that fits and still finishes "stop"', async (t) => {
  t.strictSame(fitAnswer(tokens, 11, undefined), { tokens: tokens.slice(0, 9), finishReason: 'stop' });
  t.strictSame(fitAnswer(tokens, 7, undefined), { tokens: tokens.slice(0, 4), finishReason: 'stop' });
  t.strictSame(fitAnswer(tokens, 8, undefined), { tokens: tokens.slice(0, 8), finishReason: 'stop' }, 'no sentence end in the upper half: hard cut');
  t.strictSame(fitAnswer(tokens, 3, undefined), { tokens: tokens.slice(0, 3), finishReason: 'stop' });
});

t.test('max_tokens cuts mid-sentence and finishes "length"', async (t) => {
  t.strictSame(fitAnswer(tokens, 100, 6), { tokens: tokens.slice(0, 6), finishReason: 'length' });
  t.strictSame(fitAnswer(tokens, 11, 5), { tokens: tokens.slice(0, 5), finishReason: 'length' }, 'after the sentence trim');
  t.strictSame(fitAnswer(tokens, 11, 9), { tokens: tokens.slice(0, 9), finishReason: 'stop' }, 'the trim already fits');
});

t.test('prompt tokens: about four characters a token plus per-message overhead', async (t) => {
  t.equal(estimatePromptTokens([{ role: 'user', content: '' }]), 3 + 3);
  t.equal(estimatePromptTokens([{ role: 'system', content: 'x'.repeat(400) }, { role: 'user', content: 'abcde' }]), 3 + (3 + 100) + (3 + 2));
});
