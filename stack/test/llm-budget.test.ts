/**
 * The global LLM token budget: when it is spent, turns wait in the queue (no error reaches the
 * client) instead of being sent to a provider that would refuse them.
 */
import t from 'tap';
import { createSession } from './helpers/http-client.js';
import { eventually } from './helpers/eventually.js';
import { startInProcessStack } from './helpers/stack-harness.js';
import { TestSocket } from './helpers/ws-client.js';

t.test('a spent token budget makes the next turn wait, not fail', async (t) => {
  // Each call reserves its prompt (about 180 tokens with the system prompt) plus max_tokens (100):
  // room for two calls, not three.
  const stack = await startInProcessStack(t, { config: { limits: { llmTokensPerMinute: 700 }, llm: { maxTokens: 100 } } });
  const sockets = await Promise.all([0, 1, 2].map(async () => TestSocket.open(stack.wsUrl(await createSession(stack.httpUrl()), 'c'))));
  t.teardown(() => sockets.forEach((s) => s.close()));
  sockets[0]!.send({ message: 'one' });
  t.equal((await sockets[0]!.turn(null)).end.type, 'complete');
  sockets[1]!.send({ message: 'two' });
  t.equal((await sockets[1]!.turn(null)).end.type, 'complete');
  sockets[2]!.send({ message: 'three' });
  const waits = await eventually(
    async () => Number((await stack.workers[0]!.metrics.registry.getSingleMetric('chat_llm_limiter_waits_total')?.get())?.values.find((v) => v.labels.limit === 'tokens')?.value ?? 0),
    (n) => n > 0,
  );
  t.ok(waits > 0, 'the third turn hit the budget');
  await new Promise((resolve) => setTimeout(resolve, 300));
  t.same(sockets[2]!.frames.filter((f) => f.type !== 'user_message'), [], 'and its client got no error (only its question echoed): the turn waits in the queue');
  const counts = await eventually(
    () => stack.gateways[0]!.queueCounts(),
    (c) => (c.waiting ?? 0) + (c.delayed ?? 0) + (c.prioritized ?? 0) === 1,
  );
  t.equal((counts.waiting ?? 0) + (counts.delayed ?? 0) + (counts.prioritized ?? 0), 1, `one job waiting in the queue: ${JSON.stringify(counts)}`);
});
