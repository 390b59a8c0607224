/**
 * The assistant answers from facts: policy passages and flight records reach the (offline)
 * model, which cites them; a repeated question is replayed from the Redis cache; identical
 * questions at once cost one LLM call; a hanging context source degrades, never fails, the turn.
 *
 *   socket ─▶ gateway ─▶ worker ─┬─ BM25 policy search (bundled documents) ─┐
 *                                ├─ flight schedule lookup ─────────────────┼─▶ prompt ─▶ offline model
 *                                └─ response cache (Redis, single flight) ◀─┘
 */
import { createServer } from 'node:http';
import t from 'tap';
import { createSession } from './helpers/http-client.js';
import { startInProcessStack } from './helpers/stack-harness.js';
import { TestSocket, type Frame } from './helpers/ws-client.js';

interface Metadata {
  query_type: string;
  sources: Array<{ n: number; title: string; source: string; score: number }>;
  context_status: Record<string, string>;
  from_cache?: boolean;
}

async function ask(stack: Awaited<ReturnType<typeof startInProcessStack>>, message: string, session?: Record<string, unknown>): Promise<Frame> {
  const socket = await TestSocket.open(stack.wsUrl(await createSession(stack.httpUrl(), session), 'c'));
  try {
    socket.send({ message });
    return (await socket.turn(null, 20_000)).end;
  } finally {
    socket.close();
  }
}

t.test('a policy question is answered from the right document, cited as [n]', async (t) => {
  const stack = await startInProcessStack(t, { offline: { answerTokens: 200 } });
  const end = await ask(stack, 'Can my dog travel in the cabin with me?');
  t.equal(end.type, 'complete');
  const metadata = end.metadata as Metadata;
  t.equal(metadata.query_type, 'policy');
  t.same(metadata.context_status, { policy: 'ok', flight: 'skipped' });
  t.match(metadata.sources[0]!.source, /pets/, `the pets policy comes first (${metadata.sources.map((s) => s.source).join(', ')})`);
  t.match(String(end.content), /\[1\]/, 'the answer cites it');
  t.match(String(end.content).toLowerCase(), /dog|pet|cabin/);
});

t.test("a flight question is answered with that flight's status from the schedule", async (t) => {
  const stack = await startInProcessStack(t, { offline: { answerTokens: 200 } });
  const end = await ask(stack, 'I need information about flight NZ123 from Auckland to Sydney');
  const metadata = end.metadata as Metadata;
  t.equal(metadata.query_type, 'flight_status');
  t.equal(metadata.context_status.flight, 'ok');
  t.match(metadata.sources[0]!.title, /NZ123/);
  t.match(String(end.content), /NZ123/);
  t.match(String(end.content), /Auckland|AKL/);
  t.match(String(end.content), /Sydney|SYD/);
});

t.test('the same policy question from another session is served from the cache, with no LLM call', async (t) => {
  const stack = await startInProcessStack(t, { offline: { answerTokens: 200 } });
  const first = await ask(stack, 'How much checked baggage can I take?');
  const callsAfterFirst = stack.offline.stats().requests;
  t.equal(callsAfterFirst, 1);
  const second = await ask(stack, 'how much checked baggage can I take  ');
  t.equal(stack.offline.stats().requests, callsAfterFirst, 'no second LLM call');
  t.equal((second.metadata as Metadata).from_cache, true);
  t.notOk((first.metadata as Metadata).from_cache, 'the first was fresh');
  t.equal(second.content, first.content, 'the same answer');
  const workerMetrics = await (await fetch(`http://127.0.0.1:${stack.workers[0]!.metricsPort}/metrics`)).text();
  t.match(workerMetrics, /chat_cache_lookups_total\{result="hit",role="worker"\} 1/);
  t.match(workerMetrics, /chat_cache_tokens_saved_total\{role="worker"\} [1-9]/);
});

t.test('identical questions arriving together cost one LLM call', async (t) => {
  const stack = await startInProcessStack(t, { offline: { ttftMs: 300, tokensPerSecond: 200, answerTokens: 60 } });
  const ends = await Promise.all(Array.from({ length: 5 }, () => ask(stack, 'What is the check-in cut-off for international flights?')));
  t.ok(ends.every((e) => e.type === 'complete'), 'all five answered');
  t.equal(stack.offline.stats().requests, 1, 'one LLM call for five identical questions');
  t.equal(new Set(ends.map((e) => e.content)).size, 1, 'the same answer for all');
  t.equal(ends.filter((e) => (e.metadata as Metadata).from_cache).length, 4, 'four replayed from the cache');
});

t.test('a context source that hangs gives a degraded answer within its timeout', async (t) => {
  const hanging = createServer(() => {
    // Accepts the request and never answers.
  });
  await new Promise<void>((resolve) => hanging.listen(0, '127.0.0.1', resolve));
  t.teardown(() => {
    hanging.closeAllConnections();
    hanging.close();
  });
  const address = hanging.address();
  const url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  const stack = await startInProcessStack(t, { config: { context: { agentUrl: url, flightTimeoutMs: 300 } }, offline: { answerTokens: 200 } });
  const started = Date.now();
  const end = await ask(stack, 'Is flight NZ123 on time today?');
  const elapsed = Date.now() - started;
  t.equal(end.type, 'complete', 'the turn still completes');
  const metadata = end.metadata as Metadata;
  t.equal(metadata.context_status.flight, 'degraded', 'and says the flight source was degraded');
  t.ok(elapsed < 10_000, `within the timeout, not the hang (${elapsed} ms; the source never answers)`);
  t.match(String(end.content).toLowerCase(), /could not|cannot|can't|unable/, 'the answer says it cannot confirm');
});
