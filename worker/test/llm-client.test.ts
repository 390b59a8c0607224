/**
 * The LLM client against small real HTTP servers on loopback that misbehave on purpose:
 * a stream that stalls (idle timeout), status codes (classification), and the caller's abort.
 */
import { getEventListeners } from 'node:events';
import { createServer, type Server } from 'node:http';
import t, { type Test } from 'tap';
import OpenAI from 'openai';
import { LlmClient, LlmIdleTimeoutError, SseReader, classifyLlmError } from '../src/llm-client.js';

type Handler = Parameters<typeof createServer>[1];

async function serve(t: Test, handler: Handler): Promise<string> {
  const server: Server = createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => {
    server.closeAllConnections();
    server.close();
  });
  const address = server.address();
  return `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}/v1`;
}

function client(baseUrl: string, idleTimeoutMs = 5000): LlmClient {
  return new LlmClient({ apiKey: 'test', baseUrl, model: 'm', requestTimeoutMs: 10_000, idleTimeoutMs, maxTokens: 50, temperature: 0 });
}

const chunk = (content: string) =>
  `data: ${JSON.stringify({ id: 'x', object: 'chat.completion.chunk', created: 1, model: 'm', choices: [{ index: 0, delta: { content }, finish_reason: null }] })}\n\n`;

t.test('a stream that goes silent is aborted after the idle timeout', async (t) => {
  const url = await serve(t, (_req, res) => {
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    res.write(chunk('Hello'));
    // …and then nothing, while the connection stays open.
  });
  const tokens: string[] = [];
  const started = Date.now();
  const turn = new AbortController();
  const err = await client(url, 300)
    .stream([{ role: 'user', content: 'hi' }], turn.signal, (tok) => tokens.push(tok))
    .catch((e: unknown) => e);
  t.equal(getEventListeners(turn.signal, 'abort').length, 0, "the timed-out stream no longer listens to the caller's signal");
  t.notOk(turn.signal.aborted, "and the idle timeout did not abort the caller's signal");
  t.type(err, LlmIdleTimeoutError, 'rejects with the idle timeout, not a quiet short answer');
  t.same(tokens, ['Hello'], 'what came before the silence was delivered');
  t.ok(Date.now() - started >= 300, 'not before the timeout');
  t.same(classifyLlmError(err), { kind: 'transient' }, 'and it is worth a retry');
});

t.test('a stream whose chunks keep coming is not cut by the idle timeout, however long it lasts', async (t) => {
  const url = await serve(t, (_req, res) => {
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    // Twelve chunks 50 ms apart: 600 ms in all, twice the idle timeout, never silent for a whole one.
    let sent = 0;
    const timer = setInterval(() => {
      if (++sent <= 12) return void res.write(chunk(` t${sent}`));
      clearInterval(timer);
      res.end('data: [DONE]\n\n');
    }, 50);
    res.on('close', () => clearInterval(timer));
  });
  const tokens: string[] = [];
  const result = await client(url, 300).stream([{ role: 'user', content: 'hi' }], new AbortController().signal, (tok) => tokens.push(tok));
  t.equal(tokens.length, 12, 'every chunk delivered');
  t.equal(result.completionTokens, 12);
});

t.test("the caller's abort ends the stream with the caller's reason", async (t) => {
  const url = await serve(t, (_req, res) => {
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    const timer = setInterval(() => res.write(chunk(' tok')), 10);
    res.on('close', () => clearInterval(timer));
  });
  const abort = new AbortController();
  const reason = new Error('cancelled by test');
  let count = 0;
  const err = await client(url)
    .stream([{ role: 'user', content: 'hi' }], abort.signal, () => {
      if (++count === 3) abort.abort(reason);
    })
    .catch((e: unknown) => e);
  t.equal(err, reason);
  t.equal(getEventListeners(abort.signal, 'abort').length, 0, "the stream no longer listens to the caller's signal");
});

t.test("a caller's signal aborted before the call ends it with that reason; a finished stream leaves no listener on it", async (t) => {
  let requests = 0;
  const url = await serve(t, (_req, res) => {
    requests++;
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    res.end(`${chunk('Hi')}data: [DONE]\n\n`);
  });
  const early = new AbortController();
  const reason = new Error('cancelled before the call');
  early.abort(reason);
  const err = await client(url)
    .stream([{ role: 'user', content: 'hi' }], early.signal, () => {})
    .catch((e: unknown) => e);
  t.equal(err, reason, "rejects with the caller's reason");
  t.equal(requests, 0, 'and asks the model nothing');

  const turn = new AbortController();
  const tokens: string[] = [];
  const result = await client(url).stream([{ role: 'user', content: 'hi' }], turn.signal, (tok) => tokens.push(tok));
  t.same(tokens, ['Hi']);
  t.equal(result.completionTokens, 1);
  t.equal(getEventListeners(turn.signal, 'abort').length, 0, "the finished stream left no listener on the turn's signal");
});

t.test('status codes are classified: 429 waits, 5xx retries, other 4xx fail now', async (t) => {
  let status = 0;
  const url = await serve(t, (_req, res) => {
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (status === 429) headers['retry-after'] = '2';
    res.writeHead(status, headers).end(JSON.stringify({ error: { message: `status ${status}`, type: 'test' } }));
  });
  const expectations: Array<[number, ReturnType<typeof classifyLlmError>]> = [
    [429, { kind: 'rate_limited', retryAfterMs: 2000 }],
    [500, { kind: 'transient' }],
    [503, { kind: 'transient' }],
    [408, { kind: 'transient' }],
    [400, { kind: 'permanent' }],
    [401, { kind: 'permanent' }],
    [404, { kind: 'permanent' }],
  ];
  for (const [code, expected] of expectations) {
    status = code;
    const err = await client(url)
      .stream([{ role: 'user', content: 'hi' }], new AbortController().signal, () => {})
      .catch((e: unknown) => e);
    t.same(classifyLlmError(err), expected, `HTTP ${code}`);
  }
});

t.test('a refused connection is transient', async (t) => {
  const url = await serve(t, () => {});
  const closedPort = url.replace(/:\d+\//, ':1/');
  const err = await client(closedPort)
    .stream([{ role: 'user', content: 'hi' }], new AbortController().signal, () => {})
    .catch((e: unknown) => e);
  t.same(classifyLlmError(err), { kind: 'transient' });
});

t.test('the stream reader: tokens, usage, finish reason and model, however the body is cut into writes', async (t) => {
  const usage = `data: ${JSON.stringify({ id: 'x', object: 'chat.completion.chunk', created: 1, model: 'm-2024', choices: [], usage: { prompt_tokens: 7, completion_tokens: 3 } })}\n\n`;
  const last = `data: ${JSON.stringify({ id: 'x', object: 'chat.completion.chunk', created: 1, model: 'm-2024', choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] })}\n\n`;
  // Multi-byte characters, a comment line, CRLF line ends, an event after [DONE] (ignored).
  const body = Buffer.from(
    `: keep-alive\n\n${chunk('Kia ora')}${chunk(' — ')}${chunk('🛫 ✈︎')}`.replace(/\n/g, '\r\n') + last + usage + 'data: [DONE]\n\n' + chunk(' after done'),
  );
  for (const writeSize of [1, 3, 7, 64, body.length]) {
    const url = await serve(t, (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      let at = 0;
      const timer = setInterval(() => {
        if (at >= body.length) {
          clearInterval(timer);
          res.end();
          return;
        }
        res.write(body.subarray(at, at + writeSize));
        at += writeSize;
      }, 0);
    });
    const tokens: string[] = [];
    const result = await client(url).stream([{ role: 'user', content: 'hi' }], new AbortController().signal, (tok) => tokens.push(tok));
    t.same(tokens, ['Kia ora', ' — ', '🛫 ✈︎'], `tokens, writes of ${writeSize} bytes`);
    t.equal(result.finishReason, 'stop');
    t.equal(result.model, 'm-2024');
    t.equal(result.promptTokens, 7);
    t.equal(result.completionTokens, 3);
    t.ok(result.ttftMs !== null);
  }
});

t.test('the stream reader: an error event is an API error, malformed JSON throws, a cut body is not an answer', async (t) => {
  let mode = '';
  const url = await serve(t, (_req, res) => {
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    res.write(chunk('Hello'));
    if (mode === 'error') res.end(`data: ${JSON.stringify({ error: { message: 'overloaded', type: 'server_error' } })}\n\n`);
    else if (mode === 'malformed') res.end('data: {not json\n\n');
    else if (mode === 'cut') setTimeout(() => res.socket?.destroy(), 20);
    else if (mode === 'no-done') res.end(chunk(' there'));
  });
  const run = async () => {
    const tokens: string[] = [];
    const outcome = await client(url)
      .stream([{ role: 'user', content: 'hi' }], new AbortController().signal, (tok) => tokens.push(tok))
      .catch((e: unknown) => e);
    return { tokens, outcome };
  };

  mode = 'error';
  let { tokens, outcome } = await run();
  t.type(outcome, OpenAI.APIError, 'an error payload mid-stream is an APIError');
  t.same(classifyLlmError(outcome), { kind: 'transient' }, 'without a status, worth a retry');
  t.same(tokens, ['Hello']);

  mode = 'malformed';
  ({ outcome } = await run());
  t.type(outcome, SyntaxError, 'malformed JSON throws');

  mode = 'cut';
  ({ tokens, outcome } = await run());
  t.type(outcome, Error, 'a connection cut mid-stream rejects');
  t.same(classifyLlmError(outcome), { kind: 'transient' });
  t.same(tokens, ['Hello']);

  mode = 'no-done';
  ({ tokens, outcome } = await run());
  t.notOk(outcome instanceof Error, 'a body that ends without [DONE] is still an answer (as with the SDK)');
  t.same(tokens, ['Hello', ' there']);
});

t.test('the SSE reader splits events exactly as the SDK does, on any cut of the text', async (t) => {
  const text = 'event: ping\ndata: a\n\n: comment\ndata:b\ndata:  c\n\nid: 1\r\ndata: d\r\n\r\ndata: e\rdata: f\r\rdata\n\nevent:\n\n\n\ndata: last';
  const expected = [
    ['ping', 'a'],
    [null, 'b\n c'],
    [null, 'd'],
    [null, 'e\nf'],
    [null, ''],
  ];
  for (let cut = 0; cut <= text.length; cut++) {
    for (const step of [1, 2, 5]) {
      const events: Array<[string | null, string]> = [];
      const reader = new SseReader((event, data) => events.push([event, data]));
      reader.feed(text.slice(0, cut));
      for (let at = cut; at < text.length; at += step) reader.feed(text.slice(at, at + step));
      reader.end();
      if (JSON.stringify(events) !== JSON.stringify(expected)) {
        t.same(events, expected, `cut at ${cut}, then ${step} at a time`);
        return;
      }
    }
  }
  t.pass('every cut gives the same events; an event without its blank line is not dispatched');
});
