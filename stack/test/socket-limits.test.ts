/**
 * Sockets that break the rules: too many per session, unknown sessions, bad ids, huge frames,
 * garbage frames, floods and slow readers. Each gets a clear error frame or close code, and the
 * gateway keeps serving everyone else.
 */
import t from 'tap';
import WebSocket from 'ws';
import { CloseCode } from '@chat/shared';
import { createSession, getJson } from './helpers/http-client.js';
import { startInProcessStack } from './helpers/stack-harness.js';
import { readTurn } from './helpers/turn-transcript.js';
import { TestSocket } from './helpers/ws-client.js';

t.test('the socket past the per-session limit gets an error and 4429; a freed slot is reusable', async (t) => {
  const stack = await startInProcessStack(t, { gateways: 2, config: { gateway: { maxConnectionsPerSession: 3 } } });
  const sessionId = await createSession(stack.httpUrl());
  // The limit holds across gateways: two sockets on one, one on the other.
  // Each admitted before the next opens: the checks run after the 101, so open alone does not
  // say which socket got a slot first.
  const sockets = [
    await TestSocket.openAdmitted(stack.wsUrl(sessionId, 'a', 0)),
    await TestSocket.openAdmitted(stack.wsUrl(sessionId, 'b', 0)),
    await TestSocket.openAdmitted(stack.wsUrl(sessionId, 'c', 1)),
  ];
  t.teardown(() => sockets.forEach((s) => s.close()));
  const fourth = await TestSocket.open(stack.wsUrl(sessionId, 'd', 1));
  const error = await fourth.waitFor((f) => f.type === 'error', 'error frame');
  t.equal(error.code, 'too_many_connections');
  t.match(String(error.content), /at most 3/);
  t.equal((await fourth.waitForClose()).code, CloseCode.tooManyConnections);

  sockets[0]!.close();
  await sockets[0]!.waitForClose();
  // The slot is freed in Redis when the gateway sees the close.
  let reopened: TestSocket | null = null;
  for (let attempt = 0; attempt < 20 && !reopened; attempt++) {
    const candidate = await TestSocket.open(stack.wsUrl(sessionId, 'e', 1));
    await new Promise((resolve) => setTimeout(resolve, 50));
    if (candidate.frames.length === 0) reopened = candidate;
    else candidate.close();
  }
  t.ok(reopened, 'a new socket fits once one has left');
  reopened?.close();
});

t.test('unknown session and malformed ids: an error frame, then a 4xxx close', async (t) => {
  const stack = await startInProcessStack(t);
  const unknown = await TestSocket.open(stack.wsUrl('no-such-session', 'c'));
  const frame = await unknown.waitFor((f) => f.type === 'error', 'error frame');
  t.equal(frame.code, 'session_not_found');
  t.equal(frame.session_id, 'no-such-session');
  t.same(await unknown.waitForClose(), { code: CloseCode.sessionNotFound, reason: 'session_not_found' });

  const badId = await TestSocket.open(`ws://127.0.0.1:${stack.gateways[0]!.port}/ws/${'x'.repeat(65)}/c`);
  t.equal((await badId.waitFor((f) => f.type === 'error', 'error frame')).code, 'invalid_id');
  t.equal((await badId.waitForClose()).code, CloseCode.badRequest);

  const wrongPath = await new Promise<number>((resolve) => {
    const ws = new WebSocket(`ws://127.0.0.1:${stack.gateways[0]!.port}/ws/only-one-part`);
    ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
    ws.on('error', () => {});
  });
  t.equal(wrongPath, 404, 'a socket URL without a client id is not upgraded');
});

t.test('garbage frames get error frames and the socket keeps working', async (t) => {
  const stack = await startInProcessStack(t);
  const sessionId = await createSession(stack.httpUrl());
  const socket = await TestSocket.open(stack.wsUrl(sessionId, 'c'));
  t.teardown(() => socket.close());
  const cases: Array<[unknown, string]> = [
    ['{"message": "unterminated', 'invalid_json'],
    [Buffer.from([0xde, 0xad, 0xbe, 0xef]), 'binary_not_supported'],
    ['"just a string"', 'validation_failed'],
    ['[1, 2]', 'validation_failed'],
    ['null', 'validation_failed'],
    [{ type: 'subscribe', channel: 'everything' }, 'unknown_frame'],
    [{ message: 12345 }, 'validation_failed'],
    [{ message: 'hi', message_id: 'bad id with spaces' }, 'validation_failed'],
    [{ message: '\u200b\u200b' }, 'empty_message'],
    [{ message: 'x'.repeat(4001) }, 'message_too_long'],
  ];
  for (const [frame, code] of cases) {
    const before = socket.frames.length;
    socket.send(frame);
    const error = await socket.waitFor((f) => f.type === 'error', `error for ${JSON.stringify(frame).slice(0, 40)}`, 5000, before);
    t.equal(error.code, code, `${JSON.stringify(frame).slice(0, 40)} → ${code}`);
  }
  socket.send({ message: 'Hello there!' });
  const { end } = await socket.turn(null);
  t.equal(end.type, 'complete', 'after all that, a real message is still answered');
});

t.test('a frame over the size limit closes the socket with 1009; others are unaffected', async (t) => {
  const stack = await startInProcessStack(t, { config: { gateway: { maxFrameBytes: 1024 } } });
  const sessionId = await createSession(stack.httpUrl());
  const victim = await TestSocket.open(stack.wsUrl(sessionId, 'big'));
  const bystander = await TestSocket.open(stack.wsUrl(sessionId, 'calm'));
  t.teardown(() => bystander.close());
  victim.send({ message: 'y'.repeat(1500) });
  const refusal = await victim.waitFor((f) => f.type === 'error', 'error frame for the big frame');
  t.equal(refusal.code, 'payload_too_large');
  t.equal((await victim.waitForClose()).code, CloseCode.messageTooBig, 'then a 1009 close');
  const absurd = await TestSocket.open(stack.wsUrl(sessionId, 'absurd'));
  absurd.send('z'.repeat(100_000));
  t.not((await absurd.waitForClose()).code, CloseCode.normal, 'a frame far over the limit is cut off unread');
  bystander.send({ message: 'Still there?' });
  t.equal((await bystander.turn(null)).end.type, 'complete');
});

t.test('a flooding socket is refused with rate_limited, then disconnected with 1008', async (t) => {
  const stack = await startInProcessStack(t, { config: { gateway: { framesPerSecond: 5 } } });
  const sessionId = await createSession(stack.httpUrl());
  // Admitted first: frames sent before admission wait for it, and a flood that gets the socket
  // closed meanwhile (a loaded box: the slot claim is slow) leaves them unanswered.
  const flooder = await TestSocket.openAdmitted(stack.wsUrl(sessionId, 'flood'));
  const other = await TestSocket.open(stack.wsUrl(await createSession(stack.httpUrl()), 'other'));
  t.teardown(() => other.close());
  const from = flooder.frames.length;
  for (let i = 0; i < 500; i++) flooder.send({ type: 'ping' });
  const closed = await flooder.waitForClose();
  t.equal(closed.code, CloseCode.policyViolation, 'the flood ends in a 1008 close');
  const refused = flooder.frames.slice(from).filter((f) => f.type === 'error');
  const pongs = flooder.frames.slice(from).filter((f) => f.type === 'pong');
  // The burst is 2 × 5 frames; the admission ping took one, refilled at 5 per second meanwhile.
  t.ok(pongs.length === 9 || pongs.length === 10, `the burst (2 × 5 frames/s, less the admission ping) was served: ${pongs.length} pongs`);
  t.ok(refused.length > 0 && refused.every((f) => f.code === 'rate_limited' && Number(f.retry_after_ms) > 0), 'refusals say rate_limited with retry_after_ms');
  other.send({ type: 'ping' });
  await other.waitFor((f) => f.type === 'pong', 'pong for the other socket');
  t.pass('another socket is served normally');
});

t.test('a slow reader is disconnected at the backpressure limit; a fast one in the same session gets everything', async (t) => {
  const stack = await startInProcessStack(t, {
    config: { gateway: { maxBackpressureBytes: 64 * 1024 }, llm: { maxTokens: 100_000 } },
    offline: { answerTokens: 60_000, fillToAnswerTokens: true },
  });
  const sessionId = await createSession(stack.httpUrl());
  const slow = await TestSocket.open(stack.wsUrl(sessionId, 'slow'));
  const fast = await TestSocket.open(stack.wsUrl(sessionId, 'fast'));
  t.teardown(() => fast.close());
  // Stop reading: the kernel buffers fill, then the gateway's buffer for this socket grows.
  (slow.ws as unknown as { _socket: { pause(): void } })._socket.pause();
  fast.send({ message: 'Tell me everything about baggage.' });
  const { chunks, end } = await fast.turn(null, 60_000);
  t.equal(end.type, 'complete');
  t.equal(chunks.map((c) => c.content).join(''), end.content, 'the fast reader got every chunk');
  t.same(readTurn(fast.frames, String(end.message_id)).problems, [], 'in order, no gap, no duplicate');
  t.notOk(fast.frames.some((f) => f.type === 'reset'), 'in one attempt: no frame was refused on the way');
  (slow.ws as unknown as { _socket: { resume(): void } })._socket.resume();
  const closed = await slow.waitForClose(10_000);
  t.not(closed.code, CloseCode.normal, `the slow reader was cut off (close ${closed.code})`);
  const { body: health } = await getJson<{ active_connections: number }>(`${stack.httpUrl()}/health`);
  t.equal(health.active_connections, 1, 'the gateway dropped the slow socket and kept the fast one');
});
