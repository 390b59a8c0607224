/**
 * Token usage and cost: priced per model on the `complete` frame and in the worker's metrics,
 * summed per session in GET /chat/session/:id, and SESSION_TOKEN_BUDGET refusing turns once
 * the session has spent it.
 *
 *   socket ──turn 1──▶ gateway ──job──▶ worker ──▶ model (priced as gpt-4o-mini by LLM_PRICES)
 *     ◀── complete {cost_usd} ──────────────┤ HINCRBY session usage (once per message id)
 *   GET /chat/session/:id ◀── usage ────────┘
 *   socket ──turn 2──▶ gateway: usage ≥ budget ──▶ error token_budget_exhausted (nothing queued)
 */
import t from 'tap';
import { createSession, getJson, postJson } from './helpers/http-client.js';
import { startInProcessStack } from './helpers/stack-harness.js';
import { eventually } from './helpers/eventually.js';
import { TestSocket } from './helpers/ws-client.js';

interface Usage {
  prompt_tokens: number;
  completion_tokens: number;
  tokens_used: number;
  cost_usd: number;
  turns: number;
  token_budget: number | null;
}
const round = (usd: number) => Math.round(usd * 1e8) / 1e8;

t.test('a priced model: cost on the complete frame, in the metrics and in the session; the budget refuses the next turn', async (t) => {
  const stack = await startInProcessStack(t, {
    // A key makes the workers price the model (the offline server ignores it); the price table
    // entry overrides the built-in gpt-4o-mini price with round numbers.
    config: { llm: { apiKey: 'not-a-real-key', model: 'gpt-4o-mini', prices: 'gpt-4o-mini=1000/2000' }, session: { tokenBudget: 1 } },
  });
  const sessionId = await createSession(stack.httpUrl());
  const socket = await TestSocket.open(stack.wsUrl(sessionId, 'spender'));
  t.teardown(() => socket.close());

  socket.send({ message: 'What is the baggage allowance on long flights?' });
  const { end } = await socket.turn(null);
  t.equal(end.type, 'complete', 'the first turn is answered (nothing spent yet)');
  const metadata = end.metadata as { prompt_tokens: number; completion_tokens: number; cost_usd: number; offline_model: boolean };
  t.ok(metadata.prompt_tokens > 0 && metadata.completion_tokens > 0, 'tokens reported');
  t.equal(metadata.offline_model, false);
  const expectedCost = round((metadata.prompt_tokens * 1000) / 1e6 + (metadata.completion_tokens * 2000) / 1e6);
  t.equal(metadata.cost_usd, expectedCost, `cost_usd = prompt × 1000 + completion × 2000 per million (${expectedCost})`);

  const { body } = await eventually(
    () => getJson<{ usage: Usage }>(`${stack.httpUrl()}/chat/session/${sessionId}`),
    (response) => response.body.usage?.turns === 1,
  );
  t.same(body.usage, {
    prompt_tokens: metadata.prompt_tokens,
    completion_tokens: metadata.completion_tokens,
    tokens_used: metadata.prompt_tokens + metadata.completion_tokens,
    cost_usd: expectedCost,
    turns: 1,
    token_budget: 1,
  });

  const registry = stack.workers[0]!.metrics.registry;
  const valueOf = async (name: string, labels: Record<string, string>) =>
    (await registry.getSingleMetric(name)?.get())?.values.find((v) => Object.entries(labels).every(([k, l]) => v.labels[k] === l))?.value;
  t.equal(await valueOf('chat_llm_model_tokens_total', { model: 'gpt-4o-mini', kind: 'prompt' }), metadata.prompt_tokens);
  t.equal(await valueOf('chat_llm_model_tokens_total', { model: 'gpt-4o-mini', kind: 'completion' }), metadata.completion_tokens);
  t.equal(round(Number(await valueOf('chat_llm_cost_usd_total', { model: 'gpt-4o-mini', kind: 'completion' }))), round((metadata.completion_tokens * 2000) / 1e6));

  // Budget spent: the next turn is refused on the socket and over REST, and nothing is queued.
  socket.send({ message: 'And on short flights?' });
  const refused = await socket.waitFor((f) => f.type === 'error' && f.code === 'token_budget_exhausted', 'the budget refusal');
  t.match(String(refused.content), /used \d+ of its 1 tokens/);
  const rest = await postJson<{ error: { code: string; status: number } }>(`${stack.httpUrl()}/chat/message`, { session_id: sessionId, message: 'Anything else?' });
  t.equal(rest.status, 429);
  t.equal(rest.body.error.code, 'token_budget_exhausted');
  const counts = await stack.gateways[0]!.queueCounts();
  t.equal((counts.waiting ?? 0) + (counts.active ?? 0) + (counts.prioritized ?? 0), 0, 'no turn queued');
  const after = await getJson<{ usage: Usage; history: unknown[] }>(`${stack.httpUrl()}/chat/session/${sessionId}`);
  t.equal(after.body.history.length, 1, 'only the first turn in history');
});

t.test('the offline model costs nothing and no budget is set by default', async (t) => {
  const stack = await startInProcessStack(t);
  const sessionId = await createSession(stack.httpUrl());
  const socket = await TestSocket.open(stack.wsUrl(sessionId, 'free'));
  t.teardown(() => socket.close());
  for (const message of ['Hello there!', 'What about my flight NZ123?']) {
    socket.send({ message });
    const { end } = await socket.turn(null);
    t.equal(end.type, 'complete', `"${message}" answered`);
    t.equal((end.metadata as { cost_usd: number }).cost_usd, 0, 'cost 0');
    socket.frames.length = 0;
  }
  const { body } = await eventually(
    () => getJson<{ usage: Usage }>(`${stack.httpUrl()}/chat/session/${sessionId}`),
    (response) => response.body.usage?.turns === 2,
  );
  t.equal(body.usage.cost_usd, 0);
  t.ok(body.usage.tokens_used > 0, 'tokens still counted');
  t.equal(body.usage.token_budget, null, 'no budget');
  const cost = (await stack.workers[0]!.metrics.registry.getSingleMetric('chat_llm_cost_usd_total')?.get())?.values ?? [];
  t.ok(cost.length > 0 && cost.every((v) => v.labels.model === 'offline' && v.value === 0), 'cost metric: model="offline", 0 USD');
});
