/**
 * A turn found behind its session's head is parked (its job waits as delayed); the worker that
 * finishes the turn ahead wakes it at once. The retry timer here is ten minutes, so a parked
 * turn answered within the test was woken, not re-checked by its timer. The finish script names
 * the next turn only when it is parked: a next turn waiting in the queue is left to BullMQ.
 */
import t from 'tap';
import type { StreamResult } from '../src/llm-client.js';
import type { ChatMessage } from '../src/prompt-builder.js';
import { ScriptedLlm, startTurnHarness, until } from './helpers/turn-harness.js';

/** Holds every answer until `open()`, so the test can see the turns behind it park. */
class GatedLlm extends ScriptedLlm {
  private release!: () => void;
  private readonly gate = new Promise<void>((resolve) => (this.release = resolve));
  started = 0;

  open(): void {
    this.release();
  }

  override async stream(messages: ChatMessage[], signal: AbortSignal, onToken: (text: string) => void): Promise<StreamResult> {
    this.started++;
    await this.gate;
    return super.stream(messages, signal, onToken);
  }
}

const TEN_MINUTES = 600_000;

t.test('a parked turn is woken when the turn ahead of it is answered, not by its retry timer', async (t) => {
  const llm = new GatedLlm();
  const harness = await startTurnHarness(t, { llm, processor: { turnWaitRetryMs: TEN_MINUTES } });
  await harness.createSession('s1');
  await harness.acceptTurn('s1', 'm1');
  await harness.acceptTurn('s1', 'm2');
  await harness.acceptTurn('s1', 'm3');
  await harness.startWorker();

  // m1 streams (held at the model); m2 and m3 looked at the head and parked behind it.
  // The head's claim and its context come before its model call, so the parked jobs can be seen
  // before the head reaches the model: wait for both.
  await until(
    () => Promise.all([harness.queue.getJobState('m2'), harness.queue.getJobState('m3')]),
    (states) => states.every((s) => s === 'delayed') && llm.started >= 1,
  );
  t.equal(llm.started, 1, 'only the head reached the model');
  t.same((await harness.redis.smembers(harness.keys.session('s1', 'parked'))).sort(), ['m2', 'm3'], 'both are marked parked');

  llm.open();
  const history = await until(() => harness.history('s1'), (entries) => entries.length >= 3);
  t.same(
    history.map((entry) => entry.message_id),
    ['m1', 'm2', 'm3'],
    'all three answered, in order, each woken by the one before',
  );
  for (const id of ['m1', 'm2', 'm3']) t.equal(await harness.endings('s1', id), 1, `${id} ended once`);
  t.same(await harness.redis.smembers(harness.keys.session('s1', 'parked')), [], 'no mark is left behind');
  t.same(await harness.unanswered('s1'), []);
});

t.test('turns queued behind one another but never parked are answered in order with nothing to wake', async (t) => {
  const harness = await startTurnHarness(t, { processor: { turnWaitRetryMs: TEN_MINUTES } });
  await harness.createSession('s1');
  await harness.acceptTurn('s1', 'm1');
  await harness.startWorker();
  await until(() => harness.history('s1'), (entries) => entries.length >= 1);
  // Accepted after the head finished: the worker takes it straight from the queue.
  await harness.acceptTurn('s1', 'm2');
  const history = await until(() => harness.history('s1'), (entries) => entries.length >= 2);
  t.same(history.map((entry) => entry.message_id), ['m1', 'm2']);
  t.equal(await harness.redis.exists(harness.keys.session('s1', 'parked')), 0, 'nobody was parked');
});
