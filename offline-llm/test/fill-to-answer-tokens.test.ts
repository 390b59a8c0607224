/**
 * `fillToAnswerTokens` through the official `openai` client, as benchmarks use it: long answers
 * of an exact length, at once.
 *
 *   test ──openai client──▶ OfflineLlmServer(fillToAnswerTokens) ──▶ composed answer + padding
 */
import t from 'tap';
import OpenAI from 'openai';
import { composeAnswer, type PromptMessage } from '../src/answer-composer.js';
import { paddingSentence } from '../src/answer-padding.js';
import { tokenize } from '../src/tokenizer.js';
import { CONTEXT_PROMPT, startServer, withTimeout } from './helpers.js';

type Chunk = OpenAI.Chat.Completions.ChatCompletionChunk;

const MODEL = 'gpt-4o-mini';
const messages: PromptMessage[] = [
  { role: 'system', content: CONTEXT_PROMPT },
  { role: 'user', content: 'How many bags can I check?' },
];
const wire = messages as OpenAI.Chat.ChatCompletionMessageParam[];
const unpaced = { ttftMs: 0, tokensPerSecond: 0 };

interface Streamed {
  deltas: string[];
  finishReason: string | null | undefined;
  usage: OpenAI.CompletionUsage | null | undefined;
}

async function stream(client: OpenAI, maxTokens?: number, headers?: Record<string, string>): Promise<Streamed> {
  const params = { model: MODEL, messages: wire, stream: true as const, stream_options: { include_usage: true }, ...(maxTokens ? { max_tokens: maxTokens } : {}) };
  return withTimeout(
    (async () => {
      const chunks: Chunk[] = [];
      for await (const chunk of await client.chat.completions.create(params, { headers })) chunks.push(chunk);
      const deltas = chunks.flatMap((c) => (c.choices[0]?.delta.content ? [c.choices[0].delta.content] : []));
      const finishReason = chunks.find((c) => c.choices[0]?.finish_reason)?.choices[0]?.finish_reason;
      return { deltas, finishReason, usage: chunks[chunks.length - 1]!.usage };
    })(),
    'the stream ended',
  );
}

async function complete(client: OpenAI, maxTokens?: number, headers?: Record<string, string>): Promise<OpenAI.Chat.ChatCompletion> {
  const params = { model: MODEL, messages: wire, ...(maxTokens ? { max_tokens: maxTokens } : {}) };
  return withTimeout(client.chat.completions.create(params, { headers }), 'the answer arrived');
}

t.test('every answer is exactly answerTokens long; the stream and the plain answer agree', async (t) => {
  const { client, server } = await startServer(t, { ...unpaced, answerTokens: 1000, fillToAnswerTokens: true });
  const streamed = await stream(client);
  t.equal(streamed.deltas.length, 1000, 'one content chunk per token, 1000 of them');
  t.equal(streamed.finishReason, 'stop');
  t.match(streamed.usage, { completion_tokens: 1000 });

  const text = streamed.deltas.join('');
  const composed = composeAnswer(messages);
  t.ok(text.startsWith(composed + paddingSentence(1) + paddingSentence(2)), 'the composed answer, then labelled padding');
  t.strictSame(streamed.deltas, tokenize(text));

  const plain = await complete(client);
  t.equal(plain.choices[0]!.message.content, text, 'the non-streamed answer is the concatenation');
  t.equal(plain.choices[0]!.finish_reason, 'stop');
  t.equal(plain.usage!.completion_tokens, 1000);
  t.equal((await complete(client)).choices[0]!.message.content, text, 'deterministic');
  t.match(server.stats(), { requests: 3, completion_tokens: 3000 });
});

t.test('60 000 tokens, unpaced, arrive whole', async (t) => {
  const { client } = await startServer(t, { ...unpaced, answerTokens: 60_000, fillToAnswerTokens: true });
  // How fast is the benchmark's business (pnpm bench), not this test's: a loaded CI box may be slow.
  const streamed = await stream(client);
  t.equal(streamed.deltas.length, 60_000);
  t.match(streamed.usage, { completion_tokens: 60_000 });
  const plain = await complete(client);
  t.equal(plain.choices[0]!.message.content, streamed.deltas.join(''));
  t.equal(plain.usage!.completion_tokens, 60_000);
});

t.test('max_tokens below answerTokens cuts the padded answer and finishes "length"', async (t) => {
  const { client } = await startServer(t, { ...unpaced, answerTokens: 500, fillToAnswerTokens: true });
  const full = (await stream(client)).deltas;
  const cut = await stream(client, 321);
  t.strictSame(cut.deltas, full.slice(0, 321));
  t.equal(cut.finishReason, 'length');
  t.match(cut.usage, { completion_tokens: 321 });
  const plain = await complete(client, 321);
  t.equal(plain.choices[0]!.message.content, full.slice(0, 321).join(''));
  t.equal(plain.choices[0]!.finish_reason, 'length');

  const exact = await stream(client, 500);
  t.equal(exact.deltas.length, 500);
  t.equal(exact.finishReason, 'stop', 'max_tokens equal to answerTokens is no cut');
});

t.test('a composed answer longer than answerTokens is cut to exactly answerTokens', async (t) => {
  const { client } = await startServer(t, { ...unpaced, answerTokens: 7, fillToAnswerTokens: true });
  const streamed = await stream(client);
  t.strictSame(streamed.deltas, tokenize(composeAnswer(messages)).slice(0, 7));
  t.equal(streamed.finishReason, 'stop');
});

t.test('x-offline-fill turns padding on or off per request, only when overrides are allowed', async (t) => {
  const composed = tokenize(composeAnswer(messages));
  const open = await startServer(t, { ...unpaced, answerTokens: 300, allowRequestOverrides: true });
  t.strictSame((await stream(open.client)).deltas, composed, 'off by default');
  t.equal((await stream(open.client, undefined, { 'x-offline-fill': '1' })).deltas.length, 300);
  const both = await stream(open.client, undefined, { 'x-offline-fill': '1', 'x-offline-answer-tokens': '2000' });
  t.equal(both.deltas.length, 2000, 'with x-offline-answer-tokens');
  t.equal((await complete(open.client, undefined, { 'x-offline-fill': '1' })).usage!.completion_tokens, 300, 'non-streamed too');
  await t.rejects(withTimeout(complete(open.client, undefined, { 'x-offline-fill': 'yes' }), 'refused'), {
    status: 400,
    param: 'x-offline-fill',
    code: 'invalid_value',
  });

  const filling = await startServer(t, { ...unpaced, answerTokens: 300, fillToAnswerTokens: true, allowRequestOverrides: true });
  t.strictSame((await stream(filling.client, undefined, { 'x-offline-fill': '0' })).deltas, composed, 'x-offline-fill: 0 turns it off');

  const closed = await startServer(t, { ...unpaced, answerTokens: 300 });
  t.strictSame((await stream(closed.client, undefined, { 'x-offline-fill': '1' })).deltas, composed, 'ignored when not allowed');
  const closedFilling = await startServer(t, { ...unpaced, answerTokens: 300, fillToAnswerTokens: true });
  t.equal((await stream(closedFilling.client, undefined, { 'x-offline-fill': '0' })).deltas.length, 300, 'ignored when not allowed');
});
