/**
 * A session's head turn whose job vanished (a Redis failover kept a later turn's job but not
 * its own): the later turn waits for it instead of dropping it, so the gateway's watchdog can
 * enqueue it again; and if nobody does within the grace, it is ended with one error and the
 * session moves on. Every turn ends exactly once; a session's turns are answered in order.
 */
import t from 'tap';
import { startTurnHarness, until } from './helpers/turn-harness.js';

t.test('the head job is lost, then enqueued again: it is answered first, then the later turn', async (t) => {
  const harness = await startTurnHarness(t, { processor: { lostTurnGraceMs: 600_000 } });
  await harness.createSession('s1');
  const lost = await harness.acceptTurn('s1', 'm1', { enqueue: false });
  await harness.acceptTurn('s1', 'm2');
  await harness.startWorker();

  // The later turn has looked at the head and parked itself behind it.
  await until(() => harness.queue.getJobState('m2'), (state) => state === 'delayed' || state === 'completed');
  t.same(await harness.unanswered('s1'), ['m1', 'm2'], 'the lost head keeps its place');
  t.equal(await harness.ending('s1', 'm2'), null, 'the later turn waits for it');

  // What the gateway's watchdog does for a turn still on the list whose job is gone.
  await harness.enqueue(lost);
  const history = await until(() => harness.history('s1'), (entries) => entries.length >= 2);
  t.same(
    history.map((entry) => entry.message_id),
    ['m1', 'm2'],
    'answered in order',
  );
  t.equal(await harness.endings('s1', 'm1'), 1, 'm1 ended once');
  t.equal(await harness.endings('s1', 'm2'), 1, 'm2 ended once');
  t.same(await harness.unanswered('s1'), []);
});

t.test('the head job is lost and nobody enqueues it again: after the grace it ends with one error, then the later turn is answered', async (t) => {
  // No grace: the first look parks the later turn, the next one gives the head up.
  const harness = await startTurnHarness(t, { processor: { lostTurnGraceMs: 0 } });
  await harness.createSession('s1');
  await harness.acceptTurn('s1', 'm1', { enqueue: false });
  await harness.acceptTurn('s1', 'm2');
  await harness.startWorker();

  await until(() => harness.unanswered('s1'), (unanswered) => unanswered.length === 0);
  const history = await until(() => harness.history('s1'), (entries) => entries.length >= 1);
  t.same(await harness.ending('s1', 'm1'), { type: 'error', code: 'llm_stream_interrupted' }, 'the lost turn got an ending');
  t.equal(await harness.endings('s1', 'm1'), 1, 'exactly one');
  t.same(
    history.map((entry) => entry.message_id),
    ['m2'],
    'the later turn was answered after it',
  );
  t.equal(await harness.endings('s1', 'm2'), 1);
  t.same(await harness.unanswered('s1'), []);
});

t.test('the head ended but its job is gone (trimmed): released at once, nothing added', async (t) => {
  const harness = await startTurnHarness(t, { processor: { lostTurnGraceMs: 600_000 } });
  await harness.createSession('s1');
  const first = await harness.acceptTurn('s1', 'm1');
  await harness.startWorker();
  await until(() => harness.history('s1'), (entries) => entries.length === 1);
  // As if its ending went out but the session list kept it (the worker died before releasing).
  await harness.redis.lpush(harness.keys.session('s1', 'turns'), first.message_id);
  await harness.queue.remove('m1');
  await harness.acceptTurn('s1', 'm2');

  const history = await until(() => harness.history('s1'), (entries) => entries.length === 2);
  t.same(
    history.map((entry) => entry.message_id),
    ['m1', 'm2'],
  );
  t.equal(await harness.endings('s1', 'm1'), 1, 'the ended head was not ended again');
  t.same(await harness.unanswered('s1'), []);
});
