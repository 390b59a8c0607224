/**
 * The global LLM token budget: when it is spent, turns wait in the queue (no error reaches the
 * client) instead of being sent to a provider that would refuse them.
 */
import t from 'tap';
import { RedisKeys } from '@chat/shared';
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

t.test('an answer from the cache gives its reservation back', async (t) => {
  // The reservation is taken while the cache lookup runs; a hit must give it back, or every
  // cached answer would spend the budget of a model call it never made.
  const stack = await startInProcessStack(t, { config: { limits: { llmTokensPerMinute: 100_000 }, llm: { maxTokens: 100 } } });
  const { redisClient, config } = stack;
  const keys = new RedisKeys(config.redis.prefix);
  // rate-limiter-flexible's counter of the window: the tokens taken from the budget so far.
  const budgetKey = `${keys.rateLimitPrefix('llm-tokens')}:all`;
  const spent = async () => Number((await redisClient.get(budgetKey)) ?? 0);
  const ask = async (message: string) => {
    const socket = await TestSocket.open(stack.wsUrl(await createSession(stack.httpUrl()), 'c'));
    t.teardown(() => socket.close());
    socket.send({ message });
    return { socket, turn: socket.turn(null) };
  };
  const question = 'Can I bring a guitar on board?';
  t.equal((await (await ask(question)).turn).end.type, 'complete', 'the first asker is answered by the model');
  const oneCall = await spent();
  t.ok(oneCall > 100, `the model call took its prompt and max_tokens from the budget (${oneCall})`);
  for (let i = 0; i < 2; i++) {
    const again = await (await ask(question)).turn;
    t.equal((again.end.metadata as { from_cache?: boolean }).from_cache, true, `asked again (${i + 1}): answered from the cache`);
  }
  t.equal(await eventually(spent, (n) => n === oneCall), oneCall, 'the two cached answers gave their reservations back');

});
