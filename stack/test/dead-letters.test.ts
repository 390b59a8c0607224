/**
 * Dead letters (issue 5): a turn that fails for good lands where an operator can see it
 * (`GET /ops/dead-letters`) and replay it (`POST /ops/dead-letters/:id/replay`, OPS_TOKEN only).
 */
import t from 'tap';
import { eventually } from './helpers/eventually.js';
import { createSession, getJson, postJson } from './helpers/http-client.js';
import { startScriptedLlm } from './helpers/scripted-llm.js';
import { startInProcessStack } from './helpers/stack-harness.js';
import { readTurn } from './helpers/turn-transcript.js';
import { TestSocket } from './helpers/ws-client.js';

const OPS_TOKEN = 'ops-token-for-dead-letter-tests';
const auth = { authorization: `Bearer ${OPS_TOKEN}` };

t.test('a turn that failed for good is listed, and replayed on request', async (t) => {
  const llm = await startScriptedLlm(t, ['status-400', 'ok']);
  const stack = await startInProcessStack(t, { config: { llm: { baseUrl: llm.baseUrl, fallback: false }, worker: { jobAttempts: 2 }, ops: { token: OPS_TOKEN } } });
  const sessionId = await createSession(stack.httpUrl());
  const socket = await TestSocket.open(stack.wsUrl(sessionId, 'c'));
  t.teardown(() => socket.close());
  socket.send({ message: 'Hello there!', message_id: 'doomed-turn' });
  const failed = await socket.turn('doomed-turn');
  t.equal(failed.end.code, 'llm_unavailable', 'a permanent LLM error ends the turn');

  t.equal((await getJson(`${stack.httpUrl()}/ops/dead-letters`)).status, 401, 'the list needs the ops token');
  // The error frame goes out before BullMQ files the job as failed: wait for the listing.
  const list = await eventually(
    () => getJson<{ count: number; dead_letters: Array<{ message_id: string; session_id: string; failed_reason: string }> }>(`${stack.httpUrl()}/ops/dead-letters`, auth),
    (reply) => reply.body.dead_letters.some((d) => d.message_id === 'doomed-turn'),
  );
  t.equal(list.status, 200);
  t.equal(list.body.count, 1);
  t.equal(list.body.dead_letters[0]?.message_id, 'doomed-turn');
  t.equal(list.body.dead_letters[0]?.session_id, sessionId);
  t.match(list.body.dead_letters[0]?.failed_reason, /400/);

  t.equal((await postJson(`${stack.httpUrl()}/ops/dead-letters/doomed-turn/replay`, {})).status, 401);
  t.equal((await postJson(`${stack.httpUrl()}/ops/dead-letters/no-such-turn/replay`, {}, auth)).status, 404);
  const before = socket.frames.length;
  const replay = await postJson(`${stack.httpUrl()}/ops/dead-letters/doomed-turn/replay`, {}, auth);
  t.equal(replay.status, 202);
  const again = await socket.waitFor((f) => f.type === 'complete' && f.message_id === 'doomed-turn', 'the replayed answer', 10_000, before);
  t.equal(again.content, llm.answer);
  const replayed = readTurn(socket.frames.slice(before), 'doomed-turn');
  t.same(replayed.problems, [], 'the replay streams the turn anew, from seq 0');
  // The answer is filed, and the job completed, just after `complete` is published.
  const session = await eventually(
    () => getJson<{ history: Array<{ message_id: string }> }>(`${stack.httpUrl()}/chat/session/${sessionId}`),
    (reply) => reply.body.history.some((h) => h.message_id === 'doomed-turn'),
  );
  t.ok(session.body.history.some((h) => h.message_id === 'doomed-turn'), 'and it is in the history now');
  const after = await eventually(() => getJson<{ count: number }>(`${stack.httpUrl()}/ops/dead-letters`, auth), (reply) => reply.body.count === 0);
  t.equal(after.body.count, 0, 'no longer a dead letter');
});

t.test('without OPS_TOKEN dead letters can be read but not replayed', async (t) => {
  const stack = await startInProcessStack(t, {});
  t.equal((await getJson(`${stack.httpUrl()}/ops/dead-letters`)).status, 200);
  const refused = await postJson(`${stack.httpUrl()}/ops/dead-letters/any-turn/replay`, {});
  t.equal(refused.status, 403);
});
