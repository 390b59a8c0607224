/**
 * An answer that reached its clients reaches history too: when the history write after the
 * `complete` frame fails (a Redis blip), the retried job finds the turn ended and files the
 * answer from the turn's log, once, before handing the session on.
 *
 * The blip is injected at one seam: the first `finishAnswer` call throws as ioredis does when
 * its connection is gone. Everything else, and every assertion, runs against a real Redis.
 */
import t from 'tap';
import { startTurnHarness, until } from './helpers/turn-harness.js';

/** Makes the session store's first `finishAnswer` fail as a dropped connection would. */
function failFirstHistoryWrite(store: { scripts: { finishAnswer: (...args: never[]) => Promise<unknown> } }): { failed: () => boolean } {
  const real = store.scripts.finishAnswer.bind(store.scripts);
  let failed = false;
  store.scripts.finishAnswer = (async (...args: never[]) => {
    if (!failed) {
      failed = true;
      throw new Error('Connection is closed.');
    }
    return real(...args);
  }) as typeof store.scripts.finishAnswer;
  return { failed: () => failed };
}

t.test('the history write fails after complete: the retry files the delivered answer once, and the next turn sees it', async (t) => {
  let blip: { failed: () => boolean } | null = null;
  const harness = await startTurnHarness(t, { adjustStore: (store) => (blip = failFirstHistoryWrite(store as never)) });
  await harness.createSession('s1');
  await harness.acceptTurn('s1', 'm1');
  await harness.acceptTurn('s1', 'm2');
  await harness.startWorker();

  // Both turns over and the session empty: whatever history holds now is all it will hold.
  await until(async () => [await harness.ending('s1', 'm2'), await harness.unanswered('s1')] as const, ([ending, unanswered]) => ending !== null && unanswered.length === 0);
  const history = await harness.history('s1');
  t.ok(blip!.failed(), 'the first history write failed');
  t.same(
    history.map((entry) => [entry.message_id, entry.assistant]),
    [
      ['m1', harness.llm.answer],
      ['m2', harness.llm.answer],
    ],
    'both answers are in history, once each, in order',
  );
  t.equal(history[0]!.user, 'question m1', 'with the question that was asked');
  t.equal(history[0]!.metadata?.model, 'scripted', 'and the metadata its complete frame carried');
  const usage = await harness.store.usage('s1');
  const tokens = (entry: (typeof history)[number]) => (entry.metadata?.prompt_tokens ?? 0) + (entry.metadata?.completion_tokens ?? 0);
  t.same([usage.turns, usage.tokens_used], [2, tokens(history[0]!) + tokens(history[1]!)], "the session's usage counts both turns, the one filed from the log too");
  t.equal(await harness.endings('s1', 'm1'), 1, 'm1 ended once');
  t.same(await harness.ending('s1', 'm1'), { type: 'complete', content: harness.llm.answer });
  t.same(await harness.unanswered('s1'), [], 'the session moved on');
  t.equal(await harness.redis.exists(harness.keys.turnDone('s1', 'm1')), 1, 'the done marker guards it');

  // A late duplicate of the job must not file it twice.
  await harness.queue.add('turn', { session_id: 's1', message_id: 'm1', client_id: null, message: 'question m1', accepted_at: Date.now() }, { jobId: 'm1-again' });
  await until(async () => (await harness.queue.getJobState('m1-again')) === 'completed', Boolean);
  t.equal((await harness.history('s1')).length, 2, 'a duplicate run files nothing more');
  t.equal((await harness.store.usage('s1')).turns, 2, 'nor counts anything more');
});

t.test('the history write fails on the last attempt: the next turn files the delivered answer before its own', async (t) => {
  const harness = await startTurnHarness(t, { attempts: 1, adjustStore: (store) => failFirstHistoryWrite(store as never) });
  await harness.createSession('s1');
  await harness.acceptTurn('s1', 'm1');
  await harness.acceptTurn('s1', 'm2');
  await harness.startWorker();

  await until(async () => [await harness.ending('s1', 'm2'), await harness.unanswered('s1')] as const, ([ending, unanswered]) => ending !== null && unanswered.length === 0);
  t.equal(await harness.queue.getJobState('m1'), 'completed', 'm1 had no attempt left, and is no dead letter: its answer went out (a replay would answer twice)');
  t.same(
    (await harness.history('s1')).map((entry) => [entry.message_id, entry.assistant]),
    [
      ['m1', harness.llm.answer],
      ['m2', harness.llm.answer],
    ],
    'its answer is in history all the same, before the next one',
  );
  t.equal(await harness.endings('s1', 'm1'), 1, 'm1 ended once (no error after its complete)');
});
