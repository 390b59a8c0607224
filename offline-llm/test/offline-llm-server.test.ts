/**
 * The offline model driven the way the worker drives it: the official `openai` client against
 * `http://127.0.0.1:<port>/v1`, plus raw HTTP where the client would hide the wire format.
 *
 *   test ──openai client (fetch, SSE)──▶ OfflineLlmServer ──▶ TimerWheel ──▶ SseStream
 *        ◀──── chunks / usage / [DONE] ─┘        └─ GET /stats counters checked after each step
 */
import t from 'tap';
import OpenAI from 'openai';
import { estimatePromptTokens } from '../src/answer-budget.js';
import { composeAnswer, OFFLINE_NOTICE, type PromptMessage } from '../src/answer-composer.js';
import { fitAnswer } from '../src/answer-budget.js';
import { tokenize } from '../src/tokenizer.js';
import { CONTEXT_PROMPT, rawRequest, sseData, startServer, SYSTEM_PROMPT, waitUntil, withTimeout } from './helpers.js';

type Chunk = OpenAI.Chat.Completions.ChatCompletionChunk;

const MODEL = 'gpt-4o-mini';
const QUESTION = 'How many bags can I check, and what do extra bags cost?';
const withContext: PromptMessage[] = [
  { role: 'system', content: CONTEXT_PROMPT },
  { role: 'user', content: QUESTION },
];
const withoutContext: PromptMessage[] = [
  { role: 'system', content: SYSTEM_PROMPT },
  { role: 'user', content: 'Hi, my flight is delayed. What are my rights?' },
];

/** The client's message type; PromptMessage's `role: string` is wider than its union. */
const wire = (messages: PromptMessage[]) => messages as OpenAI.Chat.ChatCompletionMessageParam[];

/** The worker's call. */
function streamParams(messages: PromptMessage[], maxTokens = 800) {
  return {
    model: MODEL,
    messages: wire(messages),
    stream: true as const,
    stream_options: { include_usage: true },
    max_tokens: maxTokens,
    temperature: 0.3,
  };
}

async function collect(stream: AsyncIterable<Chunk>, message = 'the stream ended'): Promise<Chunk[]> {
  return withTimeout(
    (async () => {
      const chunks: Chunk[] = [];
      for await (const chunk of stream) chunks.push(chunk);
      return chunks;
    })(),
    message,
  );
}

function contents(chunks: readonly Chunk[]): string[] {
  return chunks.flatMap((chunk) => {
    const content = chunk.choices[0]?.delta.content;
    return content ? [content] : [];
  });
}

t.test('the official client streams what the non-streamed call answers, usage counting the chunks', async (t) => {
  const { client } = await startServer(t, { ttftMs: 0, tokensPerSecond: 0 });
  const chunks = await collect(await withTimeout(client.chat.completions.create(streamParams(withContext)), 'stream started'));
  const expected = composeAnswer(withContext);
  const deltas = contents(chunks);

  t.strictSame(deltas, tokenize(expected), 'one content chunk per token, in order');
  t.match(expected, /\[1\]\./, 'a citation');
  t.notOk(expected.includes(OFFLINE_NOTICE), 'no offline label in the answer text (it is in the metadata)');

  const first = chunks[0]!;
  t.strictSame(first.choices, [{ index: 0, delta: { role: 'assistant', content: '' }, logprobs: null, finish_reason: null }]);
  const finish = chunks[chunks.length - 2]!;
  t.strictSame(finish.choices, [{ index: 0, delta: {}, logprobs: null, finish_reason: 'stop' }]);
  const last = chunks[chunks.length - 1]!;
  t.strictSame(last.choices, []);
  const promptTokens = estimatePromptTokens(withContext);
  t.strictSame(last.usage, { prompt_tokens: promptTokens, completion_tokens: deltas.length, total_tokens: promptTokens + deltas.length });
  t.equal(chunks.length, deltas.length + 3, 'role, content…, finish, usage');
  for (const chunk of chunks) {
    t.match(chunk, { id: first.id, object: 'chat.completion.chunk', created: first.created, model: MODEL, system_fingerprint: 'fp_offline' });
  }
  t.match(first.id, /^chatcmpl-[0-9a-f]{12}[0-9a-z]+$/);

  const whole = await withTimeout(client.chat.completions.create({ model: MODEL, messages: wire(withContext), max_tokens: 800 }), 'non-streamed answer');
  t.equal(whole.object, 'chat.completion');
  t.equal(whole.model, MODEL);
  t.strictSame(whole.choices, [
    { index: 0, message: { role: 'assistant', content: deltas.join(''), refusal: null, annotations: [] }, logprobs: null, finish_reason: 'stop' },
  ]);
  t.strictSame(whole.usage, last.usage);
  t.not(whole.id, first.id, 'ids are unique');
});

t.test('the wire format, byte for byte: role chunk, one chunk per token, finish chunk, [DONE]', async (t) => {
  const { port } = await startServer(t, { ttftMs: 0, tokensPerSecond: 0, answerTokens: 20 });
  const res = await rawRequest(port, 'POST', '/v1/chat/completions', JSON.stringify({ model: 'm', messages: withContext, stream: true }));
  t.equal(res.status, 200);
  t.equal(res.headers['content-type'], 'text/event-stream; charset=utf-8');
  t.equal(res.headers['cache-control'], 'no-cache');
  const data = sseData(res.body);
  const first = JSON.parse(data[0]!) as { id: string; created: number };
  const head = `{"id":"${first.id}","object":"chat.completion.chunk","created":${first.created},"model":"m","system_fingerprint":"fp_offline","choices":`;
  const tokens = first20(withContext); // answerTokens 20 trims the answer at a sentence end
  t.strictSame(data, [
    `${head}[{"index":0,"delta":{"role":"assistant","content":""},"logprobs":null,"finish_reason":null}]}`,
    ...tokens.map((token) => `${head}[{"index":0,"delta":{"content":${JSON.stringify(token)}},"logprobs":null,"finish_reason":null}]}`),
    `${head}[{"index":0,"delta":{},"logprobs":null,"finish_reason":"stop"}]}`,
    '[DONE]',
  ]);
  t.ok(Math.abs(first.created - Date.now() / 1000) < 5, 'created is unix seconds');
});

t.test('same input, same answer: across calls and across servers', async (t) => {
  const a = await startServer(t, { ttftMs: 0, tokensPerSecond: 0 });
  const b = await startServer(t, { ttftMs: 0, tokensPerSecond: 0 });
  const runs = await Promise.all(
    [a, a, b].map(async ({ client }) => contents(await collect(await withTimeout(client.chat.completions.create(streamParams(withoutContext)), 'stream started')))),
  );
  t.strictSame(runs[1], runs[0]);
  t.strictSame(runs[2], runs[0]);
  t.equal(runs[0]!.join(''), composeAnswer(withoutContext));
});

t.test('max_tokens cuts the answer and finishes "length"; answerTokens ends it at a sentence, "stop"', async (t) => {
  const { client } = await startServer(t, { ttftMs: 0, tokensPerSecond: 0, answerTokens: 20 });
  const cut = await collect(await withTimeout(client.chat.completions.create(streamParams(withContext, 5)), 'stream started'));
  t.strictSame(contents(cut), tokenize(composeAnswer(withContext)).slice(0, 5));
  t.equal(cut[cut.length - 2]!.choices[0]!.finish_reason, 'length');
  t.equal(cut[cut.length - 1]!.usage!.completion_tokens, 5);

  const trimmed = await collect(await withTimeout(client.chat.completions.create(streamParams(withContext)), 'stream started'));
  t.equal(contents(trimmed).join(''), first20(withContext).join(''));
  t.equal(trimmed[trimmed.length - 2]!.choices[0]!.finish_reason, 'stop');
});

t.test('time to first token is honoured (lower bound), and so is the token rate', async (t) => {
  const { client } = await startServer(t, { ttftMs: 300, tokensPerSecond: 100 });
  const started = performance.now();
  const stream = await withTimeout(client.chat.completions.create(streamParams(withContext, 21)), 'stream started');
  let firstContentAt = 0;
  let count = 0;
  await withTimeout(
    (async () => {
      for await (const chunk of stream) {
        if (!chunk.choices[0]?.delta.content) continue;
        if (count++ === 0) firstContentAt = performance.now();
      }
    })(),
    'the paced stream ended',
  );
  const ended = performance.now();
  t.equal(count, 21);
  t.ok(firstContentAt - started >= 300, `first token after ${Math.round(firstContentAt - started)} ms (>= 300)`);
  // Token k is due 300 + k * 10 ms after the request; the 21st cannot arrive before 500 ms.
  t.ok(ended - started >= 500, `21 tokens at 100/s after ${Math.round(ended - started)} ms (>= 500)`);
});

t.test('a non-streamed answer waits as long as the stream would have', async (t) => {
  const { client } = await startServer(t, { ttftMs: 200, tokensPerSecond: 0 });
  const started = performance.now();
  const whole = await withTimeout(client.chat.completions.create({ model: MODEL, messages: wire(withoutContext) }), 'non-streamed answer');
  t.ok(performance.now() - started >= 200, 'after the time to first token');
  t.equal(whole.choices[0]!.message.content, composeAnswer(withoutContext));
});

t.test('a client that disconnects stops the generation at once', async (t) => {
  const { client, server, port } = await startServer(t, { ttftMs: 0, tokensPerSecond: 20 });
  const planned = tokenize(composeAnswer(withoutContext)).length;
  t.ok(planned > 60, `the answer would be ${planned} tokens`);
  const stream = await withTimeout(client.chat.completions.create(streamParams(withoutContext)), 'stream started');
  let seen = 0;
  await withTimeout(
    (async () => {
      for await (const chunk of stream) {
        if (chunk.choices[0]?.delta.content && ++seen === 3) break; // leaving the loop aborts the request
      }
    })(),
    'three content chunks',
  );
  await waitUntil(() => server.stats().streams_aborted === 1, 'the server saw the disconnect');
  const atAbort = server.stats();
  t.match(atAbort, { requests: 1, streams_active: 0, streams_completed: 0, streams_aborted: 1 });
  t.ok(atAbort.completion_tokens >= 3 && atAbort.completion_tokens < 10, `${atAbort.completion_tokens} tokens written of ${planned}`);
  await new Promise((resolve) => setTimeout(resolve, 300)); // six more tokens would have been due
  t.equal(server.stats().completion_tokens, atAbort.completion_tokens, 'nothing written after the disconnect');
  const stats = await rawRequest(port, 'GET', '/stats');
  t.strictSame(JSON.parse(stats.body), { ...atAbort });
});

t.test('a client that disconnects during the time to first token gets nothing more', async (t) => {
  const { client, server } = await startServer(t, { ttftMs: 5000, tokensPerSecond: 0 });
  const controller = new AbortController();
  const stream = await withTimeout(client.chat.completions.create(streamParams(withoutContext), { signal: controller.signal }), 'stream started');
  t.equal(server.stats().streams_active, 1);
  controller.abort();
  // The client ends an aborted stream quietly (no error), so check what it delivered instead.
  t.strictSame(contents(await collect(stream, 'the aborted stream settled')), []);
  await waitUntil(() => server.stats().streams_aborted === 1, 'the server saw the disconnect');
  t.match(server.stats(), { streams_active: 0, completion_tokens: 0 });
});

t.test('unpaced answers longer than one batch arrive whole', async (t) => {
  const { client, server } = await startServer(t, { ttftMs: 0, tokensPerSecond: 0, answerTokens: 100_000 });
  const messages: PromptMessage[] = [{ role: 'user', content: `Please repeat: ${'word '.repeat(40)}` }];
  const expected = tokenize(composeAnswer(messages));
  t.ok(expected.length > 64, `${expected.length} tokens span batches`);
  const chunks = await collect(await withTimeout(client.chat.completions.create(streamParams(messages)), 'stream started'));
  t.strictSame(contents(chunks), expected);
  t.match(server.stats(), { streams_completed: 1, completion_tokens: expected.length });
});

t.test('many concurrent paced streams all complete, counted exactly', async (t) => {
  const { client, server } = await startServer(t, { ttftMs: 50, tokensPerSecond: 100 });
  const streams = 200;
  const results = await withTimeout(
    Promise.all(
      Array.from({ length: streams }, async (_, i) => {
        const messages: PromptMessage[] = [{ role: 'user', content: `Question number ${i} about my baggage` }];
        const stream = await client.chat.completions.create(streamParams(messages, 30));
        const chunks: Chunk[] = [];
        for await (const chunk of stream) chunks.push(chunk);
        return { deltas: contents(chunks), expected: tokenize(composeAnswer(messages)).slice(0, 30) };
      }),
    ),
    `${streams} streams ended`,
    30_000,
  );
  for (const { deltas, expected } of results) t.strictSame(deltas, expected);
  t.strictSame(server.stats(), {
    requests: streams,
    streams_active: 0,
    streams_completed: streams,
    streams_aborted: 0,
    completion_tokens: streams * 30,
  });
});

t.test('pacing overrides through headers, only when the server allows them', async (t) => {
  const headers = { 'x-offline-ttft-ms': '0', 'x-offline-tokens-per-second': '0', 'x-offline-answer-tokens': '20' };
  const open = await startServer(t, { allowRequestOverrides: true, ttftMs: 60_000, tokensPerSecond: 1 });
  const chunks = await collect(await withTimeout(open.client.chat.completions.create(streamParams(withContext), { headers }), 'stream started'));
  t.equal(contents(chunks).join(''), first20(withContext).join(''), 'no wait, no pacing, 20 tokens at most');

  const bad = open.client.chat.completions.create(streamParams(withContext), { headers: { 'x-offline-answer-tokens': 'lots' } });
  await t.rejects(withTimeout(bad, 'refused'), { status: 400, param: 'x-offline-answer-tokens', code: 'invalid_value' });

  const closed = await startServer(t, { ttftMs: 0, tokensPerSecond: 0 });
  const ignored = await collect(await withTimeout(closed.client.chat.completions.create(streamParams(withContext), { headers }), 'stream started'));
  t.equal(contents(ignored).join(''), composeAnswer(withContext), 'headers ignored: the whole answer');
});

t.test('invalid requests get OpenAI-shaped errors', async (t) => {
  const { client, port, server } = await startServer(t, { ttftMs: 0, tokensPerSecond: 0 });

  const refused: unknown = await withTimeout(
    client.chat.completions.create({ model: MODEL, messages: [] }).then(
      () => undefined,
      (err: unknown) => err,
    ),
    'refused',
  );
  t.ok(refused instanceof OpenAI.BadRequestError, 'the client raises BadRequestError');
  await t.rejects(client.chat.completions.create({ model: MODEL, messages: [] }), {
    status: 400,
    type: 'invalid_request_error',
    param: 'messages',
    code: 'empty_array',
  });

  const badJson = await rawRequest(port, 'POST', '/v1/chat/completions', '{"model":');
  t.equal(badJson.status, 400);
  t.strictSame(JSON.parse(badJson.body), {
    error: {
      message: 'We could not parse the JSON body of your request. The API expects a JSON payload.',
      type: 'invalid_request_error',
      param: null,
      code: 'invalid_json',
    },
  });

  const badRole = await rawRequest(port, 'POST', '/v1/chat/completions', JSON.stringify({ model: 'm', messages: [{ role: 'user', content: 1 }] }));
  t.equal(badRole.status, 400);
  t.strictSame(JSON.parse(badRole.body), {
    error: {
      message: "Invalid type for 'messages[0].content': expected a string or an array of content parts, but got a number instead.",
      type: 'invalid_request_error',
      param: 'messages[0].content',
      code: 'invalid_type',
    },
  });

  const unknown = await rawRequest(port, 'GET', '/v1/nope?x=1');
  t.equal(unknown.status, 404);
  t.strictSame(JSON.parse(unknown.body), {
    error: { message: 'Invalid URL (GET /v1/nope)', type: 'invalid_request_error', param: null, code: 'unknown_url' },
  });
  t.equal((await rawRequest(port, 'GET', '/constructor')).status, 404);

  const wrongMethod = await rawRequest(port, 'GET', '/v1/chat/completions');
  t.equal(wrongMethod.status, 405);
  t.equal(wrongMethod.headers.allow, 'POST');

  const huge = Buffer.alloc(1024 * 1024 + 1, 0x20);
  const tooLarge = await rawRequest(port, 'POST', '/v1/chat/completions', huge);
  t.equal(tooLarge.status, 413);
  t.match(JSON.parse(tooLarge.body), { error: { type: 'invalid_request_error', code: 'request_too_large' } });
  const chunked = await rawRequest(port, 'POST', '/v1/chat/completions', huge, { 'transfer-encoding': 'chunked' });
  t.equal(chunked.status, 413, 'also without a content-length');

  t.equal(server.stats().requests, 6, 'every POST /v1/chat/completions is counted, refused or not');
  t.match(server.stats(), { streams_active: 0, streams_completed: 0, completion_tokens: 0 });
});

t.test('health, models and stats', async (t) => {
  const { client, port, server } = await startServer(t, { ttftMs: 0, tokensPerSecond: 0, modelId: 'offline-test' });
  const health = await rawRequest(port, 'GET', '/health');
  t.equal(health.status, 200);
  t.strictSame(JSON.parse(health.body), { status: 'healthy' });

  const models = await withTimeout(client.models.list(), 'models listed');
  t.strictSame(
    models.data.map((m) => [m.id, m.object, m.owned_by]),
    [['offline-test', 'model', 'offline-llm']],
  );

  t.strictSame(JSON.parse((await rawRequest(port, 'GET', '/stats')).body), {
    requests: 0,
    streams_active: 0,
    streams_completed: 0,
    streams_aborted: 0,
    completion_tokens: 0,
  });
  await collect(await withTimeout(client.chat.completions.create(streamParams(withContext)), 'stream started'));
  await withTimeout(client.chat.completions.create({ model: MODEL, messages: wire(withContext) }), 'non-streamed answer');
  const tokens = tokenize(composeAnswer(withContext)).length;
  t.strictSame(JSON.parse((await rawRequest(port, 'GET', '/stats')).body), {
    requests: 2,
    streams_active: 0,
    streams_completed: 1,
    streams_aborted: 0,
    completion_tokens: 2 * tokens,
  });
  t.equal(server.stats().requests, 2, 'health, models and stats requests are not counted');
});

t.test('close() lets answers in progress finish, refuses new connections, and is safe twice', async (t) => {
  const { client, server, port } = await startServer(t, { ttftMs: 0, tokensPerSecond: 50, shutdownGraceMs: 5000 });
  const stream = await withTimeout(client.chat.completions.create(streamParams(withContext, 10)), 'stream started');
  const closing = server.close();
  t.equal(server.close(), closing, 'the same promise');
  t.strictSame(contents(await collect(stream)), tokenize(composeAnswer(withContext)).slice(0, 10));
  await withTimeout(closing, 'closed');
  t.match(server.stats(), { streams_completed: 1, streams_aborted: 0, streams_active: 0 });
  await t.rejects(rawRequest(port, 'GET', '/health'), { code: 'ECONNREFUSED' });
  await withTimeout(server.close(), 'closed again');
});

t.test('close() cuts answers still running when the grace period ends', async (t) => {
  const { client, server } = await startServer(t, { ttftMs: 0, tokensPerSecond: 5, shutdownGraceMs: 100 });
  const stream = await withTimeout(client.chat.completions.create(streamParams(withContext)), 'stream started');
  await waitUntil(() => server.stats().completion_tokens > 0, 'first token written');
  await withTimeout(server.close(), 'closed');
  await t.rejects(collect(stream, 'the cut stream settled'));
  t.match(server.stats(), { streams_completed: 0, streams_aborted: 1, streams_active: 0 });
});

/** The answer as `answerTokens: 20` fits it. */
function first20(messages: PromptMessage[]): readonly string[] {
  return fitAnswer(tokenize(composeAnswer(messages)), 20, undefined).tokens;
}
