/**
 * The assistant with tools and the hand-off to a person, end to end on the bundled offline model
 * (which speaks OpenAI's tool-call protocol, so this path runs without a key):
 *
 *   socket ─▶ gateway ─▶ worker ──(tools offered)──▶ offline model ─▶ tool_calls (parallel)
 *                          │  runs each call (flight status, schedule, policies),
 *                          │  records call → result in the turn's tool log (Redis, session slot)
 *                          └──(tool results)──────▶ offline model ─▶ streamed answer ─▶ complete
 *
 *   "I want to speak to a human" ─▶ contact options + complete.metadata.handoff_requested
 *                                  + XADD {h}:handoffs (handoff_requested) + chat_handoffs_requested_total
 */
import t from 'tap';
import { RedisKeys } from '@chat/shared';
import { createSession } from './helpers/http-client.js';
import { startInProcessStack } from './helpers/stack-harness.js';
import { TestSocket, type Frame } from './helpers/ws-client.js';

type Stack = Awaited<ReturnType<typeof startInProcessStack>>;

async function converse(stack: Stack, messages: string[], session?: Record<string, unknown>): Promise<{ sessionId: string; ends: Frame[] }> {
  const sessionId = await createSession(stack.httpUrl(), session);
  const socket = await TestSocket.open(stack.wsUrl(sessionId, 'c'));
  const ends: Frame[] = [];
  try {
    for (const message of messages) {
      socket.send({ message });
      ends.push((await socket.turn(null, 20_000)).end);
      socket.frames.length = 0;
    }
  } finally {
    socket.close();
  }
  return { sessionId, ends };
}

t.test('with tools on, the model calls them (in parallel), the worker runs and records them, and the answer uses the results', async (t) => {
  const stack = await startInProcessStack(t, { offline: { answerTokens: 300 }, config: { llm: { tools: 'on' } } });
  const keys = new RedisKeys(stack.config.redis.prefix);

  // Today's status of a flight depends on the clock; the policy part does not.
  const { sessionId, ends } = await converse(stack, ['NZ123 tomorrow: is it on time, and how much checked baggage do I get on a Standard fare?']);
  const end = ends[0]!;
  t.equal(end.type, 'complete', String(end.content ?? end.message));
  const metadata = end.metadata as { tool_calls?: number; model: string };
  t.equal(metadata.tool_calls, 2, 'get_flight_status and search_policies, in one round');
  t.match(String(end.content), /Aotearoa Air flight NZ123 from Auckland \(AKL\) to Sydney \(SYD\)/);
  t.match(String(end.content), /Standard[^[]*1 bag up to 23 kg/);
  t.equal(stack.offline.stats().requests, 2, 'one round of tool calls, one answer');

  const log = await stack.redisClient.hgetall(keys.turnTools(sessionId, String(end.message_id)));
  t.strictSame(Object.keys(log).map((k) => k.split(':')[0]).sort(), ['get_flight_status', 'search_policies'], 'both calls recorded in the turn\u2019s tool log');
  t.match(Object.values(log).join(' '), /NZ123/);
  t.ok((await stack.redisClient.ttl(keys.turnTools(sessionId, String(end.message_id)))) > 0, 'the tool log expires with the resume window');
});

t.test('a route question with tools: the schedule is searched, not the session\u2019s flight', async (t) => {
  const stack = await startInProcessStack(t, { offline: { answerTokens: 300 }, config: { llm: { tools: 'on' } } });
  const { ends } = await converse(stack, ['When is the next flight from Auckland to Wellington?'], { flight_no: 'NZ123' });
  t.equal(ends[0]!.type, 'complete');
  t.match(String(ends[0]!.content), /from Auckland \(AKL\) to Wellington \(WLG\)/);
  t.notMatch(String(ends[0]!.content), /Sydney/);
});

t.test('asking for a person: contact options, handoff_requested in the metadata, on the stream and in the metrics', async (t) => {
  const stack = await startInProcessStack(t, { offline: { answerTokens: 300 } });
  const keys = new RedisKeys(stack.config.redis.prefix);
  const { sessionId, ends } = await converse(stack, ['I want to speak to a human agent']);
  const end = ends[0]!;
  t.equal(end.type, 'complete');
  t.equal((end.metadata as { handoff_requested?: string }).handoff_requested, 'asked');
  t.match(String(end.content), /0800 AOTEAROA/);
  t.notMatch(String(end.content), /Offline model/, 'no offline label in the text');
  t.equal((end.metadata as { offline_model?: boolean }).offline_model, true, 'the label is metadata');

  const events = await stack.redisClient.xrange(keys.handoffStream, '-', '+');
  t.equal(events.length, 1);
  const fields = Object.fromEntries(chunk(events[0]![1]));
  t.match(fields, { type: 'handoff_requested', session_id: sessionId, message_id: String(end.message_id), reason: 'asked' });
  const metrics = await (await fetch(`http://127.0.0.1:${stack.workers[0]!.metricsPort}/metrics`)).text();
  t.match(metrics, /chat_handoffs_requested_total\{reason="asked",role="worker"\} 1/);
});

t.test('two turns in a row with nothing to answer from end in a hand-off', async (t) => {
  const stack = await startInProcessStack(t, { offline: { answerTokens: 300 } });
  const keys = new RedisKeys(stack.config.redis.prefix);
  const { ends } = await converse(stack, ['What is the capital of Portugal?', 'Who painted the Mona Lisa?']);
  t.equal((ends[0]!.metadata as { unanswered?: boolean }).unanswered, true, 'the first is marked unanswered');
  t.equal((ends[0]!.metadata as { handoff_requested?: string }).handoff_requested, undefined);
  t.equal((ends[1]!.metadata as { handoff_requested?: string }).handoff_requested, 'unanswered');
  t.match(String(ends[1]!.content), /0800 AOTEAROA/);
  t.equal((await stack.redisClient.xlen(keys.handoffStream)), 1);
});

function chunk(flat: string[]): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  for (let i = 0; i + 1 < flat.length; i += 2) out.push([flat[i]!, flat[i + 1]!]);
  return out;
}
