import t from 'tap';
import { DEFAULT_OPTIONS, MAX_ANSWER_TOKENS, resolveOptions } from '../src/options.js';

t.test('defaults', async (t) => {
  t.strictSame(resolveOptions(), { ...DEFAULT_OPTIONS, logger: undefined });
  t.strictSame(
    { ttftMs: DEFAULT_OPTIONS.ttftMs, tokensPerSecond: DEFAULT_OPTIONS.tokensPerSecond, answerTokens: DEFAULT_OPTIONS.answerTokens },
    { ttftMs: 400, tokensPerSecond: 60, answerTokens: 120 },
  );
  t.equal(DEFAULT_OPTIONS.maxBodyBytes, 1024 * 1024);
  t.equal(DEFAULT_OPTIONS.allowRequestOverrides, false);
  t.equal(DEFAULT_OPTIONS.fillToAnswerTokens, false);
});

t.test('given values win, zeros included', async (t) => {
  const given = { ttftMs: 0, tokensPerSecond: 0, answerTokens: 5, fillToAnswerTokens: true, allowRequestOverrides: true, modelId: 'm' };
  t.match(resolveOptions(given), given);
});

t.test('values that would break pacing are refused', async (t) => {
  t.throws(() => resolveOptions({ ttftMs: -1 }), new RangeError('ttftMs must be an integer >= 0 (got -1)'));
  t.throws(() => resolveOptions({ tokensPerSecond: 1.5 }), RangeError);
  t.throws(() => resolveOptions({ answerTokens: 0 }), RangeError);
  t.throws(
    () => resolveOptions({ answerTokens: MAX_ANSWER_TOKENS + 1 }),
    new RangeError(`answerTokens must be an integer from 1 to ${MAX_ANSWER_TOKENS} (got ${MAX_ANSWER_TOKENS + 1})`),
  );
  t.equal(resolveOptions({ answerTokens: MAX_ANSWER_TOKENS }).answerTokens, MAX_ANSWER_TOKENS);
  t.throws(() => resolveOptions({ tickMs: 0 }), RangeError);
  t.throws(() => resolveOptions({ modelId: '' }), RangeError);
});
