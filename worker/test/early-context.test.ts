/**
 * The context gathered while the head check is in flight (EarlyContext), through the real
 * TurnProcessor, BullMQ and Redis: used when the job's session flight is the session's and the
 * question reads the same without the previous one; gathered again otherwise, so a stale or
 * forged flight in a job never reaches the prompt; a follow-up, read with the question before
 * it, is gathered after the check.
 */
import t, { type Test } from 'tap';
import type { SessionFlight, TurnJobData } from '@chat/shared';
import { ContextAssembler, type FlightQuery } from '../src/context/index.js';
import type { StreamResult } from '../src/llm-client.js';
import type { ChatMessage } from '../src/prompt-builder.js';
import { ScriptedLlm, startTurnHarness, type TurnHarness } from './helpers/turn-harness.js';

/** Remembers each prompt it answers. */
class RecordingLlm extends ScriptedLlm {
  readonly prompts: string[] = [];
  override async stream(messages: ChatMessage[], signal: AbortSignal, onToken: (text: string) => void): Promise<StreamResult> {
    this.prompts.push(messages.map((m) => m.content).join('\n'));
    return super.stream(messages, signal, onToken);
  }
}

interface Setup {
  harness: TurnHarness;
  llm: RecordingLlm;
  /** Every flight lookup the context sources were asked for, in order. */
  lookups: FlightQuery[];
}

async function setup(t: Test): Promise<Setup> {
  const lookups: FlightQuery[] = [];
  const context = new ContextAssembler({
    policy: { search: async () => [] },
    flight: {
      getFlightContext: async (query) => {
        lookups.push(query);
        return null;
      },
    },
  });
  const llm = new RecordingLlm();
  const harness = await startTurnHarness(t, { llm, context });
  await harness.startWorker();
  return { harness, llm, lookups };
}

/** Accepts a turn as the gateway does: the accept step's session flight rides in the job (or `flight`, when given). */
async function ask(harness: TurnHarness, sessionId: string, messageId: string, message: string, flight?: SessionFlight | null): Promise<void> {
  const admitted = await harness.store.scripts.admitTurn(sessionId, messageId, 3600, { turnsPerWindow: 0, windowSeconds: 60, tokenBudget: 0 });
  if (admitted.outcome !== 'queued') throw new Error(`not queued: ${admitted.outcome}`);
  const data: TurnJobData = { session_id: sessionId, message_id: messageId, client_id: null, message, accepted_at: Date.now() };
  const sessionFlight = flight === undefined ? admitted.sessionFlight : flight;
  if (sessionFlight) data.session_flight = sessionFlight;
  await harness.enqueue(data);
}

async function answered(harness: TurnHarness, sessionId: string, messageId: string): Promise<void> {
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline) {
    const ending = await harness.ending(sessionId, messageId);
    if (ending) {
      if (ending.type !== 'complete') throw new Error(`turn ${messageId} ended with ${JSON.stringify(ending)}`);
      // Filed too: the next turn of the session reads it as its previous question.
      if ((await harness.unanswered(sessionId)).length === 0) return;
    }
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error(`turn ${messageId} not answered in time`);
}

/** The counter of `chat_context_gathered_total` by `when`. */
async function gathered(harness: TurnHarness): Promise<Record<string, number>> {
  const metric = await harness.metrics.getSingleMetric('chat_context_gathered_total')!.get();
  return Object.fromEntries(metric.values.map((v) => [String(v.labels.when), v.value]));
}

const NZ123 = { flight_no: 'NZ123', date: '2026-03-05' };

t.test('a job carrying its session flight: the context gathered during the head check is the one used, once', async (t) => {
  const { harness, llm, lookups } = await setup(t);
  await harness.createSession('s1', NZ123);
  await ask(harness, 's1', 'm1', 'What is the status of my flight?');
  await answered(harness, 's1', 'm1');
  t.same(await gathered(harness), { early: 1 }, 'gathered early and used');
  t.same(lookups, [{ flight_no: 'NZ123', date: '2026-03-05' }], "the session's flight looked up once, not again after the check");
  t.match(llm.prompts[0], /NZ123/, "the prompt holds the session's flight");
});

t.test("a job whose flight is not the session's: gathered again from the session the head check returned", async (t) => {
  const { harness, llm, lookups } = await setup(t);
  await harness.createSession('s1', NZ123);
  await ask(harness, 's1', 'm1', 'What is the status of my flight?', { flight_no: 'NZ999', date: '2026-03-05' });
  await answered(harness, 's1', 'm1');
  t.same(await gathered(harness), { again: 1 });
  t.same(lookups.at(-1), { flight_no: 'NZ123', date: '2026-03-05' }, "the last lookup is the session's flight");
  t.match(llm.prompts[0], /NZ123/);
  t.notMatch(llm.prompts[0], /NZ999/, "the job's flight never reaches the prompt");
});

t.test('a follow-up is read with the question before it: gathered after the head check returned that question, not early', async (t) => {
  const { harness, llm, lookups } = await setup(t);
  await harness.createSession('s1', { flight_no: null, date: null });
  await ask(harness, 's1', 'm1', 'What is the status of NZ123?');
  await answered(harness, 's1', 'm1');
  t.same(lookups.map((q) => q.flight_no), ['NZ123']);
  await ask(harness, 's1', 'm2', 'and tomorrow?');
  await answered(harness, 's1', 'm2');
  t.same(await gathered(harness), { early: 1, after_check: 1 }, 'the first question early; the follow-up after the check');
  t.equal(lookups.length, 2, 'no lookup wasted on the follow-up read alone');
  t.equal(lookups.at(-1)?.flight_no, 'NZ123', "the follow-up's lookup is the flight its previous question named");
  t.ok(lookups.at(-1)?.date, 'for a date ("tomorrow")');
  t.match(llm.prompts[1], /NZ123/);
});

t.test("a job from a gateway that sends no session flight: gathered after the head check, as before", async (t) => {
  const { harness, llm } = await setup(t);
  await harness.createSession('s1', NZ123);
  await ask(harness, 's1', 'm1', 'What is the status of my flight?', null);
  await answered(harness, 's1', 'm1');
  t.same(await gathered(harness), { after_check: 1 });
  t.match(llm.prompts[0], /NZ123/);
});

t.test("a run that parks behind its session's head turn stops its early context; the run that answers gathers its own", async (t) => {
  // Flight lookups hang while `hang` is on, until stopped; the source's own timeout is a minute,
  // so only the worker stopping a lookup it will not use can end one within the test.
  let hang = true;
  let pending = 0;
  let stopped = 0;
  const context = new ContextAssembler({
    policy: { search: async () => [] },
    flightTimeoutMs: 60_000,
    flight: {
      getFlightContext: (_query, signal) => {
        if (!hang) return Promise.resolve(null);
        pending++;
        return new Promise((_resolve, reject) => {
          signal!.addEventListener('abort', () => {
            pending--;
            stopped++;
            reject(signal!.reason as Error);
          }, { once: true });
        });
      },
    },
  });
  const harness = await startTurnHarness(t, { context });
  await harness.startWorker();
  await harness.createSession('s1', NZ123);
  // m1 is in the session's order but its job comes later: m2 parks behind it, again and again.
  await harness.store.scripts.admitTurn('s1', 'm1', 3600, { turnsPerWindow: 0, windowSeconds: 60, tokenBudget: 0 });
  await ask(harness, 's1', 'm2', 'What is the status of my flight?');
  await until('m2 to park', async () => harness.redis.sismember(harness.keys.session('s1', 'parked'), 'm2').then((n) => n === 1));
  await until("a parked run's lookup to be stopped", () => stopped >= 1);
  t.pass("the parked run's early lookup was stopped when the run ended, not left to its timeout");
  hang = false;
  await until('every hanging lookup to be stopped', () => pending === 0);
  await harness.enqueue({ session_id: 's1', message_id: 'm1', client_id: null, message: 'What is the status of my flight?', accepted_at: Date.now(), session_flight: NZ123 });
  await answered(harness, 's1', 'm2');
  t.same(await gathered(harness), { early: 2 }, 'one context per answered turn, each gathered early; a parked run uses none');
  t.equal(pending, 0, 'no lookup left hanging');
});

async function until(what: string, condition: () => boolean | Promise<boolean>, ms = 15_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
