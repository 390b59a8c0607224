/**
 * The response cache's first step sent with the early context (EarlyCacheLookup), against a real
 * Redis: on its own, before the turn asks for it; handed to `acquire` only for the same key; its
 * lock given back whenever the turn does not take it. Then through the real TurnProcessor and
 * BullMQ: a shared answer served from the early step, a parked run and a run whose key changed
 * leave no lock behind.
 */
import t, { type Test } from 'tap';
import { Redis as IORedis } from 'ioredis';
import { RedisKeys, type Redis, type SessionFlight, type TurnJobData } from '@chat/shared';
import { spawnRedisServer } from '@chat/shared/dev';
import { ContextAssembler, type AssembledContext, type PolicyHit } from '../src/context/index.js';
import { EarlyCacheLookup, type EarlyLookupHooks } from '../src/early-cache-lookup.js';
import { EarlyContext } from '../src/early-context.js';
import type { StreamResult } from '../src/llm-client.js';
import type { ChatMessage } from '../src/prompt-builder.js';
import { ResponseCache, type CacheKey, type CachedAnswer } from '../src/response-cache.js';
import { ScriptedLlm, startTurnHarness, until, type TurnHarness } from './helpers/turn-harness.js';

const answer: CachedAnswer = { content: 'Two bags of 23 kg [1].', metadata: { model: 'm', prompt_tokens: 10, completion_tokens: 6 } } as CachedAnswer;
const NZ123: SessionFlight = { flight_no: 'NZ123', date: '2026-03-05' };

interface Bench {
  redis: Redis;
  cache: ResponseCache;
  /** The key the lookups below make of a context: the question it was gathered for. */
  keyFor: (context: AssembledContext) => CacheKey;
  keyOf: (question: string) => CacheKey;
  hooks: EarlyLookupHooks & { unusedCount: number; releaseErrors: unknown[] };
}

async function bench(t: Test): Promise<Bench> {
  const server = await spawnRedisServer();
  const redis = new IORedis(server.port, '127.0.0.1') as unknown as Redis;
  t.teardown(async () => {
    redis.disconnect();
    await server.stop();
  });
  const cache = new ResponseCache(redis, new RedisKeys(`t${Date.now().toString(36)}`), 60, 5_000, 10);
  const keyOf = (question: string): CacheKey => cache.key({ question, model: 'm', promptVersion: 'v', dataVersions: {}, sessionId: null });
  const hooks = {
    unusedCount: 0,
    releaseErrors: [] as unknown[],
    unused: () => void hooks.unusedCount++,
    releaseFailed: (err: unknown) => void hooks.releaseErrors.push(err),
  };
  return { redis, cache, keyOf, keyFor: (context) => keyOf(context.focus), hooks };
}

/** An assembler whose policy search answers when `open` is called (or at once, when `gated` is false). */
function assembler(gated = false): { context: ContextAssembler; open: () => void } {
  let open = (): void => {};
  const opened = gated ? new Promise<void>((resolve) => (open = resolve)) : Promise.resolve();
  const passage: PolicyHit = { title: 'Baggage — Allowance', snippet: 'Two bags of 23 kg.', source: 'baggage.md', category: 'baggage', score: 1 };
  const context = new ContextAssembler({
    policy: {
      inProcess: !gated,
      search: async () => {
        await opened;
        return [passage];
      },
    },
    flight: { getFlightContext: async () => null },
  });
  return { context, open };
}

const QUESTION = 'how much baggage can i take';

function startLookup(b: Bench, context: ContextAssembler, owner = 'm1', signal = new AbortController().signal): EarlyCacheLookup {
  const early = EarlyContext.start(context, QUESTION, { flight_no: null, date: null }, signal);
  if (!early) throw new Error('not gathered early');
  return EarlyCacheLookup.start(early, b.keyFor, b.cache, owner, b.hooks);
}

t.test('the step goes out as soon as the context is in, before anything asks for it; acquire then needs no step of its own', async (t) => {
  const b = await bench(t);
  const key = b.keyOf(QUESTION);
  const lookup = startLookup(b, assembler().context);
  // Nothing has called `take`: the lock appears all the same, taken for the turn.
  await until(
    () => b.redis.get(key.lock),
    (holder) => holder === 'm1',
  );
  const taken = await lookup.take(b.keyOf(QUESTION));
  t.ok(taken, 'taken for the same key');
  t.equal(taken!.key.answer, key.answer);
  t.same(await taken!.firstStep, { kind: 'locked' }, 'the early step took the lock');
  let waits = 0;
  t.equal(await b.cache.acquire(taken!.key, undefined, 'm1', () => waits++, taken!.firstStep), 'compute', 'the turn computes');
  t.equal(waits, 0);
  await lookup.drop();
  t.equal(await b.redis.get(key.lock), 'm1', 'a taken lookup is not dropped: the lock stays with the computing turn');
  await b.cache.release(taken!.key);
  t.equal(b.hooks.unusedCount, 0);
});

t.test('a stored answer comes back from the early step', async (t) => {
  const b = await bench(t);
  const key = b.keyOf(QUESTION);
  t.equal(await b.cache.acquire(key, undefined, 'm0'), 'compute');
  await b.cache.set(key, answer);
  const lookup = startLookup(b, assembler().context);
  const taken = await lookup.take(b.keyOf(QUESTION));
  t.same(await b.cache.acquire(taken!.key, undefined, 'm1', undefined, taken!.firstStep), answer);
  t.equal(await b.redis.exists(key.lock), 0, 'a hit takes no lock');
});

t.test('another turn holds the lock: acquire goes on from the early step and waits for its answer (single flight)', async (t) => {
  const b = await bench(t);
  const key = b.keyOf(QUESTION);
  t.equal(await b.cache.acquire(key, undefined, 'm0'), 'compute', 'm0 computes');
  const taken = await startLookup(b, assembler().context).take(b.keyOf(QUESTION));
  t.match(await taken!.firstStep, { kind: 'held', holder: 'm0' });
  let waits = 0;
  const joined = b.cache.acquire(taken!.key, undefined, 'm1', () => waits++, taken!.firstStep);
  await until(
    async () => waits,
    (n) => n === 1,
  );
  await b.cache.set(key, answer);
  t.same(await joined, answer, "m0's answer");
});

t.test('taken for another key: null, and the early lock is given back', async (t) => {
  const b = await bench(t);
  const early = b.keyOf(QUESTION);
  const lookup = startLookup(b, assembler().context);
  await until(
    () => b.redis.get(early.lock),
    (holder) => holder === 'm1',
  );
  t.equal(await lookup.take(b.keyOf('how much baggage can i take to sydney')), null);
  await until(
    () => b.redis.exists(early.lock),
    (n) => n === 0,
  );
  t.equal(b.hooks.unusedCount, 1, 'counted as unused');
  t.equal(await lookup.take(early), null, 'nothing to take once dropped');
});

t.test('dropped (the run did not answer): the lock is given back; dropped before the context was in: nothing is sent', async (t) => {
  const b = await bench(t);
  const key = b.keyOf(QUESTION);
  const sent = startLookup(b, assembler().context);
  await until(
    () => b.redis.get(key.lock),
    (holder) => holder === 'm1',
  );
  await sent.drop();
  t.equal(await b.redis.exists(key.lock), 0, 'given back');
  t.equal(b.hooks.unusedCount, 1);

  const gate = assembler(true);
  const stopped = startLookup(b, gate.context, 'm2');
  const dropping = stopped.drop();
  gate.open();
  await dropping;
  await new Promise((resolve) => setImmediate(resolve));
  t.equal(await b.redis.exists(key.lock), 0, 'no lock taken for a run that ended before its context was in');
  t.equal(b.hooks.unusedCount, 1, 'and no lookup counted as sent');
});

t.test('a step that fails reaches the turn that takes it; dropping never rejects, and a lock it could not give back is reported', async (t) => {
  const b = await bench(t);
  const key = b.keyOf(QUESTION);
  const held = startLookup(b, assembler().context, 'm1');
  await until(
    () => b.redis.get(key.lock),
    (holder) => holder === 'm1',
  );
  b.redis.disconnect();
  await t.resolves(held.drop(), 'drop resolves though the lock could not be given back');
  t.equal(b.hooks.releaseErrors.length, 1, 'and says so');

  const failing = startLookup(b, assembler().context, 'm3');
  const taken = await failing.take(b.keyOf(QUESTION));
  await t.rejects(b.cache.acquire(taken!.key, undefined, 'm3', undefined, taken!.firstStep), "the step's connection error");
  const other = startLookup(b, assembler().context, 'm4');
  await t.resolves(other.drop(), 'drop resolves whatever the step did');
  t.equal(b.hooks.releaseErrors.length, 1, 'a step that failed took no lock: nothing to give back');
});

/** Answers after `open()`; until then its stream waits (the turn holds its cache lock meanwhile). */
class GatedLlm extends ScriptedLlm {
  readonly started: string[] = [];
  private opened!: () => void;
  private readonly gate = new Promise<void>((resolve) => (this.opened = resolve));
  open(): void {
    this.opened();
  }
  override async stream(messages: ChatMessage[], signal: AbortSignal, onToken: (text: string) => void): Promise<StreamResult> {
    this.started.push(messages.at(-1)?.content ?? '');
    await this.gate;
    return super.stream(messages, signal, onToken);
  }
}

async function processorBench(t: Test, llm?: ScriptedLlm): Promise<TurnHarness> {
  const { context } = assembler();
  // A parked turn waits to be woken by the turn ahead, not re-run on a short timer (each run would send a step).
  const harness = await startTurnHarness(t, { context, ...(llm ? { llm } : {}), processor: { turnWaitRetryMs: 60_000 } });
  await harness.startWorker();
  return harness;
}

/** Accepts a turn as the gateway does, its session flight in the job (or `flight`). */
async function ask(harness: TurnHarness, sessionId: string, messageId: string, message: string, flight?: SessionFlight): Promise<void> {
  const admitted = await harness.store.scripts.admitTurn(sessionId, messageId, 3600, { turnsPerWindow: 0, windowSeconds: 60, tokenBudget: 0 });
  if (admitted.outcome !== 'queued') throw new Error(`not queued: ${admitted.outcome}`);
  const data: TurnJobData = { session_id: sessionId, message_id: messageId, client_id: null, message, accepted_at: Date.now() };
  const sessionFlight = flight ?? admitted.sessionFlight;
  if (sessionFlight) data.session_flight = sessionFlight;
  await harness.enqueue(data);
}

async function answered(harness: TurnHarness, sessionId: string, messageId: string): Promise<string> {
  const ending = await until(
    () => harness.ending(sessionId, messageId),
    (found) => found !== null,
  );
  if (ending?.type !== 'complete') throw new Error(`turn ${messageId} ended with ${JSON.stringify(ending)}`);
  return ending.content;
}

async function counter(harness: TurnHarness, name: string, label: string): Promise<Record<string, number>> {
  const metric = await harness.metrics.getSingleMetric(name)!.get();
  return Object.fromEntries(metric.values.map((v) => [String(v.labels[label]), v.value]));
}

/** Every response cache lock in the harness's Redis, with its holder. */
async function locks(harness: TurnHarness): Promise<string[]> {
  const found = await harness.redis.keys(`${harness.keys.prefix}:*cache*:lock`);
  return Promise.all(found.map(async (key) => String(await harness.redis.get(key))));
}

t.test('through the processor: a second session asking the same question is answered from the early step, with no model call', async (t) => {
  const harness = await processorBench(t);
  let calls = 0;
  const stream = harness.llm.stream.bind(harness.llm);
  harness.llm.stream = (...args) => (calls++, stream(...args));
  for (const session of ['s1', 's2']) {
    await harness.createSession(session, NZ123);
    await ask(harness, session, `${session}-m1`, 'How much baggage can I take?');
    t.equal(await answered(harness, session, `${session}-m1`), harness.llm.answer);
  }
  t.equal(calls, 1, 'the model answered once');
  t.same(await counter(harness, 'chat_cache_lookups_total', 'result'), { miss: 1, hit: 1 });
  t.same(await counter(harness, 'chat_cache_lookups_sent_total', 'when'), { early: 2 }, 'both lookups went out with the early context');
  t.same(await locks(harness), [], 'no lock left');
});

t.test('a parked run gives its early lock back while it waits behind its session head', async (t) => {
  const llm = new GatedLlm();
  const harness = await processorBench(t, llm);
  await harness.createSession('s1', NZ123);
  await ask(harness, 's1', 'm1', 'How much baggage can I take?');
  await until(
    async () => llm.started.length,
    (n) => n === 1,
  );
  await ask(harness, 's1', 'm2', 'Can I bring my dog on board?');
  // m2's run sent its step with its context, then found m1 ahead and was parked.
  await until(
    async () => (await counter(harness, 'chat_cache_lookups_sent_total', 'when')).unused ?? 0,
    (n) => n >= 1,
  );
  await until(
    () => harness.queue.getJobState('m2'),
    (state) => state === 'delayed',
  );
  await until(
    () => locks(harness),
    (held) => held.length === 1,
  );
  t.same(await locks(harness), ['m1'], 'only the computing head holds a lock; the parked run gave its own back');
  llm.open();
  await answered(harness, 's1', 'm1');
  await answered(harness, 's1', 'm2');
  t.same(await locks(harness), [], 'no lock left');
});

t.test("a job whose flight is not the session's: the early key is not the turn's; its lock is given back and the turn looks up its own", async (t) => {
  const harness = await processorBench(t);
  await harness.createSession('s1', NZ123);
  await ask(harness, 's1', 'm1', 'What is the status of my flight?', { flight_no: 'NZ999', date: '2026-03-05' });
  await answered(harness, 's1', 'm1');
  t.same(await counter(harness, 'chat_cache_lookups_sent_total', 'when'), { unused: 1, after_check: 1 });
  await until(
    () => locks(harness),
    (held) => held.length === 0,
  );
  t.pass("the NZ999 key's lock was given back");
});
