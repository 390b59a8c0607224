/**
 * Two tabs or devices on one session (issue 14): every socket of the session sees each accepted
 * user message as a `user_message` frame, ahead of its answer's frames, whichever gateway holds
 * the socket and whether the message came over a socket or REST; a tab opened mid-answer gets
 * the question and the answer so far (from `GET /chat/session/:id` and a resume from seq -1).
 *
 *   tab A ──message──▶ gw0 ──accept-turn-7.lua: queue + SPUBLISH user_message──▶ Redis
 *                                                                   │ session channel
 *   tab A ◀── user_message, chunk… complete ── gw0 ◀───────────────┤
 *   tab B ◀── user_message, chunk… complete ── gw1 ◀───────────────┘
 *   tab C (late) ── resume seq -1 ──▶ gw1: user_message, then the turn's log, then live
 */
import t from 'tap';
import { createSession, getJson, postJson } from './helpers/http-client.js';
import { startInProcessStack } from './helpers/stack-harness.js';
import { readTurn } from './helpers/turn-transcript.js';
import { TestSocket, type Frame } from './helpers/ws-client.js';

const PACED = { ttftMs: 20, tokensPerSecond: 200, answerTokens: 60, fillToAnswerTokens: true };

/** Index of the first frame of the message of that type, -1 if none. */
function indexOf(frames: readonly Frame[], messageId: string, type: string): number {
  return frames.findIndex((f) => f.message_id === messageId && f.type === type);
}

t.test('every socket of the session gets each accepted user message, before its answer', async (t) => {
  const stack = await startInProcessStack(t, { gateways: 2, offline: PACED });
  const sessionId = await createSession(stack.httpUrl());
  // Admitted first (its pong came): a gateway owes a socket the frames published after its
  // admission, when it has subscribed to the session's channel. A socket merely open may still
  // be checked while the other tab's message is accepted and published.
  const a = await TestSocket.openAdmitted(stack.wsUrl(sessionId, 'tab-a', 0));
  const b = await TestSocket.openAdmitted(stack.wsUrl(sessionId, 'tab-b', 1));
  t.teardown(() => {
    a.close();
    b.close();
  });

  a.send({ message: '  What is the baggage allowance?  ', message_id: 'from-a' });
  await b.turn('from-a');
  await a.turn('from-a');
  for (const [name, socket] of [['sender', a], ['other tab', b]] as const) {
    const at = indexOf(socket.frames, 'from-a', 'user_message');
    t.ok(at >= 0, `${name}: got the user_message frame`);
    t.ok(at < indexOf(socket.frames, 'from-a', 'chunk'), `${name}: the question comes before its answer`);
    const frame = socket.frames[at]!;
    t.match(frame, { type: 'user_message', session_id: sessionId, message_id: 'from-a', content: 'What is the baggage allowance?', client_id: 'tab-a' }, `${name}: the message as stored`);
    t.equal(typeof frame.seq, 'undefined', `${name}: not one of the answer's frames (no seq)`);
    t.equal(socket.frames.filter((f) => f.type === 'user_message').length, 1, `${name}: exactly once`);
    t.same(readTurn(socket.frames, 'from-a').problems, [], `${name}: the answer's stream invariant holds`);
  }

  // Over REST too; the resend of an accepted id is not announced again.
  const posted = await postJson(`${stack.httpUrl()}/chat/message`, { session_id: sessionId, message: 'And for infants?', message_id: 'from-rest' });
  t.ok(posted.status >= 200 && posted.status < 300, `REST accepted it (${posted.status})`);
  await a.turn('from-rest');
  await b.turn('from-rest');
  t.match(b.frames[indexOf(b.frames, 'from-rest', 'user_message')], { content: 'And for infants?', client_id: null });
  a.send({ message: 'What is the baggage allowance?', message_id: 'from-a' });
  a.send({ message: 'Thanks', message_id: 'last' });
  await b.turn('last');
  t.equal(b.frames.filter((f) => f.type === 'user_message' && f.message_id === 'from-a').length, 1, 'a resend is not announced twice');
});

t.test('a tab opened mid-answer gets the question and the answer so far, then the live rest', async (t) => {
  const stack = await startInProcessStack(t, { gateways: 2, offline: { ...PACED, tokensPerSecond: 100, answerTokens: 120 } });
  const sessionId = await createSession(stack.httpUrl());
  const a = await TestSocket.open(stack.wsUrl(sessionId, 'tab-a', 0));
  t.teardown(() => a.close());
  a.send({ message: 'Can I change my flight?', message_id: 'mid-answer' });
  await a.waitFor((f) => f.type === 'chunk' && f.message_id === 'mid-answer' && Number(f.seq) >= 3, 'a few chunks');

  const view = await getJson<{ in_progress: Array<{ message_id: string; user?: string; seq: number; content: string }> }>(`${stack.httpUrl(1)}/chat/session/${sessionId}`);
  const progress = view.body.in_progress.find((p) => p.message_id === 'mid-answer');
  t.ok(progress, 'the turn is in progress');
  t.equal(progress?.user, 'Can I change my flight?', 'the session view carries the question');

  const late = await TestSocket.open(stack.wsUrl(sessionId, 'tab-c', 1));
  t.teardown(() => late.close());
  late.send({ type: 'resume', message_id: 'mid-answer', seq: -1 });
  const { end } = await late.turn('mid-answer');
  const own = late.frames.filter((f) => f.message_id === 'mid-answer');
  t.equal(own[0]?.type, 'user_message', 'the question first');
  t.equal(own[0]?.content, 'Can I change my flight?');
  const turn = readTurn(late.frames, 'mid-answer');
  t.same(turn.problems, [], 'then every frame of the answer: no gap, no duplicate, one ending');
  t.equal(turn.text, end.content);
  t.equal(end.type, 'complete');
});
