/**
 * Cancellation (issue 5): a cancel from any socket of the session, or over REST, stops the
 * generation (the model sees its stream aborted), every socket sees the turn end as
 * `cancelled`, the canceller gets an acknowledgement, and the job is not retried.
 */
import t from 'tap';
import { eventually } from './helpers/eventually.js';
import { createSession, getJson, postJson } from './helpers/http-client.js';
import { startInProcessStack } from './helpers/stack-harness.js';
import { TestSocket } from './helpers/ws-client.js';

// Slow enough that a cancel lands mid-answer: 200 tokens at 40 tokens/s is 5 s.
const SLOW = { ttftMs: 50, tokensPerSecond: 40, answerTokens: 200, fillToAnswerTokens: true };

async function workerTurns(stack: Awaited<ReturnType<typeof startInProcessStack>>, outcome: string): Promise<number> {
  let total = 0;
  for (const worker of stack.workers) {
    const metric = await worker.metrics.registry.getSingleMetric('chat_worker_turns_total')?.get();
    total += Number(metric?.values.find((v) => v.labels.outcome === outcome)?.value ?? 0);
  }
  return total;
}

t.test('a socket cancels mid-answer: the model stops, every socket sees cancelled, the canceller an ack', async (t) => {
  const stack = await startInProcessStack(t, { gateways: 2, workers: 1, offline: SLOW, config: { worker: { chunkWindowMs: 0 } } });
  const sessionId = await createSession(stack.httpUrl());
  const asker = await TestSocket.open(stack.wsUrl(sessionId, 'asker', 0));
  const watcher = await TestSocket.open(stack.wsUrl(sessionId, 'watcher', 1));
  t.teardown(() => [asker, watcher].forEach((s) => s.close()));

  asker.send({ message: 'Tell me everything about baggage allowance', message_id: 'turn-to-cancel' });
  await watcher.waitFor((f) => f.type === 'chunk' && f.message_id === 'turn-to-cancel', 'a first chunk on the other gateway');
  t.equal(stack.offline.stats().streams_active, 1, 'the model is generating');
  // The watcher (on the other gateway) cancels: any socket of the session may.
  watcher.send({ type: 'cancel', message_id: 'turn-to-cancel' });
  const ack = await watcher.waitFor((f) => f.type === 'cancel_ack', 'the acknowledgement');
  t.equal(ack.message_id, 'turn-to-cancel');
  for (const socket of [asker, watcher]) {
    const { end } = await socket.turn('turn-to-cancel');
    t.equal(end.type, 'error');
    t.equal(end.code, 'cancelled', 'the turn ends as cancelled');
    t.notOk(socket.frames.some((f) => f.type === 'complete'), 'and never completes');
  }
  t.notOk(asker.frames.some((f) => f.type === 'cancel_ack'), 'only the canceller is acknowledged');
  const stats = await eventually(() => stack.offline.stats(), (s) => s.streams_aborted >= 1 && s.streams_active === 0);
  t.equal(stats.streams_aborted, 1, 'the LLM request was aborted: its generation (and cost) stopped');
  t.equal(stats.streams_completed, 0);
  t.equal(await eventually(() => workerTurns(stack, 'cancelled'), (n) => n === 1), 1, 'the worker counts it cancelled');
  await new Promise((resolve) => setTimeout(resolve, 300));
  t.equal(stack.offline.stats().requests, 1, 'not retried');

  // The session goes on: the next turn is answered normally.
  asker.send({ message: 'Hello there!', message_id: 'after-cancel' });
  const next = await asker.turn('after-cancel', 20_000);
  t.equal(next.end.type, 'complete');
  const session = await getJson<{ history: Array<{ message_id: string }> }>(`${stack.httpUrl()}/chat/session/${sessionId}`);
  t.notOk(session.body.history.some((h) => h.message_id === 'turn-to-cancel'), 'a cancelled turn is not written to history');
});

t.test('REST cancel; a turn cancelled while still queued is never sent to the model', async (t) => {
  const stack = await startInProcessStack(t, { offline: SLOW, config: { worker: { chunkWindowMs: 0 } } });
  const sessionId = await createSession(stack.httpUrl());
  const socket = await TestSocket.open(stack.wsUrl(sessionId, 'c'));
  t.teardown(() => socket.close());
  socket.send({ message: 'First question about refunds', message_id: 'first-turn' });
  socket.send({ message: 'Second question about pets', message_id: 'second-turn' });
  await socket.waitFor((f) => f.type === 'chunk' && f.message_id === 'first-turn', 'the first answer streaming');

  // The second turn waits behind the first (one turn at a time per session): cancel it there.
  const queued = await postJson(`${stack.httpUrl()}/chat/cancel`, { session_id: sessionId, message_id: 'second-turn' });
  t.equal(queued.status, 202);
  t.equal(queued.body.status, 'cancel_requested');
  const running = await postJson(`${stack.httpUrl()}/chat/cancel`, { session_id: sessionId, message_id: 'first-turn' });
  t.equal(running.status, 202);

  const first = await socket.turn('first-turn');
  t.equal(first.end.code, 'cancelled');
  const second = await socket.turn('second-turn');
  t.equal(second.end.code, 'cancelled', 'the queued turn ends as cancelled too');
  t.same(second.chunks, [], 'without a single chunk');
  await eventually(() => stack.offline.stats(), (s) => s.streams_active === 0);
  t.equal(stack.offline.stats().requests, 1, 'only the first turn ever reached the model');

  const bad = await postJson(`${stack.httpUrl()}/chat/cancel`, { session_id: sessionId });
  t.equal(bad.status, 400, 'a cancel without message_id is refused');
});

t.test('a socket cancelling what it cannot cancel gets an error frame, not a cancel_ack; its own turn, sent just before, is found', async (t) => {
  const stack = await startInProcessStack(t, { workers: 0 });
  const mine = await createSession(stack.httpUrl());
  const theirs = await createSession(stack.httpUrl());
  const other = await TestSocket.openAdmitted(stack.wsUrl(theirs, 'other'));
  const socket = await TestSocket.openAdmitted(stack.wsUrl(mine, 'me'));
  t.teardown(() => [other, socket].forEach((s) => s.close()));
  other.send({ message: 'Where is gate 12?', message_id: 'their-turn' });
  await eventually(
    () => getJson<{ in_progress: unknown[] }>(`${stack.httpUrl()}/chat/session/${theirs}`),
    (r) => r.body.in_progress.length === 1,
  );

  const answer = async (messageId: string) => {
    const from = socket.frames.length;
    socket.send({ type: 'cancel', message_id: messageId });
    // A refusal is an error frame about the request (no message_id); the cancelled turn's own
    // ending (an error frame with its message_id) may come before the ack.
    return socket.waitFor((f) => f.type === 'cancel_ack' || (f.type === 'error' && f.message_id === undefined), `the answer to cancelling ${messageId}`, 5000, from);
  };
  const unknown = await answer('never-sent');
  t.same([unknown.type, unknown.code], ['error', 'not_found'], 'an unknown message: not_found');
  const foreign = await answer('their-turn');
  t.same([foreign.type, foreign.code], ['error', 'forbidden'], "another session's message: forbidden");

  // A cancel right behind its message (no wait between): it waits for the message's intake.
  socket.send({ message: 'Is my flight on time?', message_id: 'my-turn' });
  const own = await answer('my-turn');
  t.same([own.type, own.message_id], ['cancel_ack', 'my-turn']);
  const { end } = await socket.turn('my-turn');
  t.equal(end.code, 'cancelled');
});
