/**
 * A chat turn over a real WebSocket, through the whole in-process stack:
 *
 *   TestSocket ──{"message"}──▶ gateway ──job──▶ worker ──stream──▶ offline model
 *        ▲                         │                │
 *        └──chunk…chunk,complete───┴── pub/sub ◀────┘
 */
import t from 'tap';
import { validators, type GetSessionResponse } from '@chat/shared';
import { createSession, getJson, postJson } from './helpers/http-client.js';
import type { Frame } from './helpers/ws-client.js';
import { eventually } from './helpers/eventually.js';
import { startInProcessStack } from './helpers/stack-harness.js';
import { TestSocket } from './helpers/ws-client.js';

t.test('a socket chat turn streams chunks in seq order that concatenate to complete.content', async (t) => {
  const stack = await startInProcessStack(t, { offline: { answerTokens: 60 } });
  const sessionId = await createSession(stack.httpUrl());
  const socket = await TestSocket.open(stack.wsUrl(sessionId, 'web-1'));
  t.teardown(() => socket.close());

  socket.send({ message: 'Can you help me with my booking?' });
  const { chunks, end } = await socket.turn(null);

  t.equal(end.type, 'complete', 'the turn completes');
  t.ok(chunks.length >= 2, `the answer arrives in pieces (${chunks.length} chunks)`);
  t.same(
    chunks.map((c) => c.seq),
    chunks.map((_, i) => i),
    'seq runs 0, 1, 2, … with no gap, in arrival order',
  );
  t.equal(chunks.map((c) => c.content).join(''), end.content, 'the chunks concatenate to complete.content');
  t.notMatch(String(end.content), /offline model/i, 'the offline label is not part of the answer text (it is in metadata.offline_model)');
  for (const frame of [...chunks, end]) {
    t.ok(validators.outFrame(frame).ok, `${frame.type} frame matches the protocol schema`);
    t.equal(frame.session_id, sessionId);
  }
  const metadata = end.metadata as Record<string, unknown>;
  t.equal(metadata.model, 'gpt-4o-mini', 'metadata names the model asked for');
  t.equal(metadata.offline_model, true);
  t.ok(Number(metadata.tokens_used) > Number(metadata.completion_tokens), 'tokens_used counts prompt and completion');
  t.equal(metadata.chunks, chunks.length, 'metadata counts the chunks sent');

  // The answer is filed right after its `complete` is published (a separate write): wait for it.
  const { body: session } = await eventually(
    () => getJson<GetSessionResponse>(`${stack.httpUrl()}/chat/session/${sessionId}`),
    (reply) => reply.body.history.length > 0,
  );
  t.equal(session.history.length, 1, 'the turn is in the history');
  t.equal(session.history[0]!.user, 'Can you help me with my booking?');
  t.equal(session.history[0]!.assistant, end.content);
  t.equal(session.history[0]!.client_id, 'web-1');
});

t.test('a REST message reaches every socket of the session, and only that session', async (t) => {
  const stack = await startInProcessStack(t);
  const sessionId = await createSession(stack.httpUrl());
  const otherSession = await createSession(stack.httpUrl());
  const phone = await TestSocket.open(stack.wsUrl(sessionId, 'phone'));
  const laptop = await TestSocket.open(stack.wsUrl(sessionId, 'laptop'));
  const stranger = await TestSocket.open(stack.wsUrl(otherSession, 'stranger'));
  t.teardown(() => [phone, laptop, stranger].forEach((s) => s.close()));

  const accepted = await postJson<{ status: string; message_id: string; session_id: string }>(`${stack.httpUrl()}/chat/message`, {
    session_id: sessionId,
    message: 'When is the next flight to Wellington?',
  });
  t.equal(accepted.status, 200);
  t.equal(accepted.body.status, 'message_sent');
  t.equal(accepted.body.session_id, sessionId);

  const [onPhone, onLaptop] = await Promise.all([phone.turn(accepted.body.message_id), laptop.turn(accepted.body.message_id)]);
  t.equal(onPhone.end.type, 'complete');
  t.equal(onLaptop.end.content, onPhone.end.content, 'both sockets get the same answer');
  t.same(onLaptop.chunks.map((c) => c.content), onPhone.chunks.map((c) => c.content), 'and the same chunks');
  await new Promise((resolve) => setTimeout(resolve, 100));
  t.same(stranger.frames, [], "another session's socket receives nothing");
});

t.test('ping gets pong', async (t) => {
  const stack = await startInProcessStack(t);
  const sessionId = await createSession(stack.httpUrl());
  const socket = await TestSocket.open(stack.wsUrl(sessionId, 'c'));
  t.teardown(() => socket.close());
  socket.send({ type: 'ping' });
  const pong = await socket.waitFor((f) => f.type === 'pong', 'pong');
  t.ok(validators.outFrame(pong).ok, 'pong matches the schema');
  t.ok(Math.abs(Date.parse(String(pong.timestamp)) - Date.now()) < 5000, 'pong carries the current time');
});

t.test('turns of one session are answered in order, one at a time', async (t) => {
  const stack = await startInProcessStack(t, { workers: 2, offline: { ttftMs: 50, tokensPerSecond: 400, answerTokens: 20 } });
  const sessionId = await createSession(stack.httpUrl());
  const socket = await TestSocket.open(stack.wsUrl(sessionId, 'c'));
  t.teardown(() => socket.close());
  const texts = ['first question', 'second question', 'third question'];
  for (const message of texts) socket.send({ message });
  const ends: Frame[] = [];
  for (let i = 0; i < texts.length; i++) {
    ends.push(await socket.waitFor((f) => f.type === 'complete' && !ends.includes(f), `complete #${i + 1}`, 15_000));
  }
  const order = socket.frames.filter((f) => f.type === 'chunk' || f.type === 'complete').map((f) => f.message_id);
  const firstIndex = (id: unknown) => order.indexOf(id);
  const lastIndex = (id: unknown) => order.lastIndexOf(id);
  for (let i = 1; i < ends.length; i++) {
    t.ok(firstIndex(ends[i]!.message_id) > lastIndex(ends[i - 1]!.message_id), `turn ${i + 1} starts after turn ${i} completed`);
  }
  const { body: session } = await getJson<GetSessionResponse>(`${stack.httpUrl()}/chat/session/${sessionId}`);
  t.same(
    session.history.map((h) => h.user),
    texts,
    'history holds the turns in the order they were sent',
  );
});

t.test('different sessions are answered in parallel', async (t) => {
  const stack = await startInProcessStack(t, { offline: { ttftMs: 300, tokensPerSecond: 0, answerTokens: 10 } });
  const sockets = await Promise.all(
    Array.from({ length: 4 }, async () => TestSocket.open(stack.wsUrl(await createSession(stack.httpUrl()), 'c'))),
  );
  t.teardown(() => sockets.forEach((s) => s.close()));
  const started = Date.now();
  for (const socket of sockets) socket.send({ message: 'hello' });
  const ends = await Promise.all(sockets.map((s) => s.turn(null)));
  const elapsed = Date.now() - started;
  t.ok(ends.every((e) => e.end.type === 'complete'), 'all four complete');
  t.ok(elapsed < 4 * 300, `four 300 ms answers took ${elapsed} ms, less than back to back`);
});

t.test('a socket that resends a message id whose turn already ended gets that turn again from its log, and nothing is queued again', async (t) => {
  const stack = await startInProcessStack(t, { offline: { answerTokens: 20 } });
  const sessionId = await createSession(stack.httpUrl());
  const socket = await TestSocket.open(stack.wsUrl(sessionId, 'web-1'));
  t.teardown(() => socket.close());
  socket.send({ message: 'Can I change my seat?', message_id: 'asked-twice' });
  const first = await socket.turn('asked-twice');
  t.equal(first.end.type, 'complete');
  const requests = stack.offline.stats().requests;

  // A client that lost track (it reconnected, say) sends the same message id again.
  const again = await TestSocket.open(stack.wsUrl(sessionId, 'web-1'));
  t.teardown(() => again.close());
  again.send({ message: 'Can I change my seat?', message_id: 'asked-twice' });
  const replayed = await again.turn('asked-twice');
  t.equal(replayed.end.type, 'complete', 'the resender gets the turn, not silence');
  t.equal(replayed.end.content, first.end.content, 'the same answer');
  t.same(
    replayed.chunks.map((f) => f.seq),
    first.chunks.map((f) => f.seq),
    'its chunks, from the log, in order',
  );
  t.equal(stack.offline.stats().requests, requests, 'no second LLM call');
  const session = await getJson<GetSessionResponse>(`${stack.httpUrl()}/chat/session/${sessionId}`);
  t.equal(session.body.history.length, 1, 'and one history entry');

  // The socket that saw the turn end and resends its id is not sent it a second time.
  const framesBefore = socket.frames.length;
  socket.send({ message: 'Can I change my seat?', message_id: 'asked-twice' });
  // A socket's messages are taken in order: by this turn's end, the resend has been handled.
  socket.send({ message: 'Thanks!', message_id: 'after-the-resend' });
  await socket.turn('after-the-resend');
  t.same(
    socket.frames.slice(framesBefore).filter((f) => f.message_id === 'asked-twice'),
    [],
    'no second copy of a turn it already has',
  );
});
