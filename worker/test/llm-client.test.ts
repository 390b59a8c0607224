/**
 * The LLM client against small real HTTP servers on loopback that misbehave on purpose:
 * a stream that stalls (idle timeout), status codes (classification), and the caller's abort.
 */
import { createServer, type Server } from 'node:http';
import t, { type Test } from 'tap';
import { LlmClient, LlmIdleTimeoutError, classifyLlmError } from '../src/llm-client.js';

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
  const err = await client(url, 300)
    .stream([{ role: 'user', content: 'hi' }], new AbortController().signal, (tok) => tokens.push(tok))
    .catch((e: unknown) => e);
  t.type(err, LlmIdleTimeoutError, 'rejects with the idle timeout, not a quiet short answer');
  t.same(tokens, ['Hello'], 'what came before the silence was delivered');
  t.ok(Date.now() - started >= 300, 'not before the timeout');
  t.same(classifyLlmError(err), { kind: 'transient' }, 'and it is worth a retry');
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
