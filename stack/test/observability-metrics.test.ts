/**
 * The Grafana dashboard and the alert rules (deploy/observability/) query only metrics that the
 * service exports: a stack of real processes is started and every process's /metrics scraped.
 * A metric renamed in the code, or misspelt in a panel or a rule, fails here.
 *
 *   gateway (GET /metrics on PORT) ───────────┐
 *   worker  (GET /metrics on its metrics port) ┼─▶ `# TYPE` families (+ _bucket/_sum/_count)
 *                                              │            ▲
 *   dashboard JSON + alerts.rules.yml ─────────┴─ metric names in every PromQL query
 */
import t from 'tap';
import { createSession } from './helpers/http-client.js';
import { startProcessStack } from './helpers/process-stack.js';
import { TestSocket } from './helpers/ws-client.js';
import { exposedNames, queriedMetrics } from '../../deploy/test/helpers/queried-metrics.js';

t.test('every metric the dashboard and the alert rules query is exported by a running process', async (t) => {
  const stack = await startProcessStack(t, { gateways: 1, workers: 1, offline: { ttftMs: 10, tokensPerSecond: 1000, answerTokens: 10 } });
  // One turn, so every process has done its work once (not needed for names: prom-client
  // lists every family, labelled or not, from the start).
  const sessionId = await createSession(stack.httpUrl());
  const socket = await TestSocket.open(stack.wsUrl(sessionId, 'observer'));
  t.teardown(() => socket.close());
  socket.send({ message: 'What is the baggage allowance?' });
  const { end } = await socket.turn(null);
  t.equal(end.type, 'complete');

  const scrape = async (url: string) => {
    const response = await fetch(url);
    t.equal(response.status, 200, `${url} answers`);
    return response.text();
  };
  const gatewayText = await scrape(`${stack.httpUrl()}/metrics`);
  const workerText = await scrape(`http://127.0.0.1:${stack.workers[0]!.process.port}/metrics`);
  const exported = new Set([...exposedNames(gatewayText), ...exposedNames(workerText)]);
  t.ok(exported.size > 50, `${exported.size} names exported`);

  const queried = queriedMetrics();
  t.ok(queried.size > 30, `${queried.size} metric names queried`);
  const missing = [...queried].filter(([name]) => !exported.has(name)).map(([name, sources]) => `${name} (${sources.join(', ')})`);
  t.same(missing, [], 'no query names a metric nobody exports');

  // The depth the worker autoscaler reads: one series per shard, labelled queue and shard.
  t.match(gatewayText, /^chat_queue_depth\{queue="turns",shard="0",role="gateway"\} 0$/m, 'chat_queue_depth per shard');
  t.match(gatewayText, /^chat_redis_up\{connection="cache",role="gateway"\} 1$/m, 'Redis reachable');
  t.match(workerText, /^chat_redis_up\{connection="queue",role="worker"\} 1$/m);
  t.match(workerText, /^chat_llm_model_tokens_total\{model="offline",kind="completion",role="worker"\} [1-9]/m, 'tokens by model');
  t.match(workerText, /^chat_llm_cost_usd_total\{model="offline",kind="completion",role="worker"\} 0$/m, 'the offline model costs nothing');
  // The gateway's accept step put the session's flight in the job: the worker gathered the
  // turn's context while its head check was in flight, and used it.
  t.match(workerText, /^chat_context_gathered_total\{when="early",role="worker"\} 1$/m, 'context gathered early, from the flight the job carried');
});
