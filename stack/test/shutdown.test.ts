/**
 * Graceful shutdown: a gateway closes its sockets with 1001 and stops accepting; a worker
 * finishes the turn in flight before it stops.
 */
import t from 'tap';
import WebSocket from 'ws';
import { createSession } from './helpers/http-client.js';
import { startInProcessStack } from './helpers/stack-harness.js';
import { TestSocket } from './helpers/ws-client.js';

t.test('gateway close: sockets get 1001, health turns 503 then the port closes; close is safe twice', async (t) => {
  const stack = await startInProcessStack(t, { gateways: 2 });
  const sessionId = await createSession(stack.httpUrl(0));
  const onFirst = await TestSocket.open(stack.wsUrl(sessionId, 'a', 0));
  const onSecond = await TestSocket.open(stack.wsUrl(sessionId, 'b', 1));
  t.teardown(() => onSecond.close());
  const port = stack.gateways[0]!.port;
  await Promise.all([stack.gateways[0]!.close(), stack.gateways[0]!.close()]);
  const closed = await onFirst.waitForClose();
  t.equal(closed.code, 1001, 'going away');
  t.match(closed.reason, /reconnect/);
  const refused = await new Promise<string>((resolve) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/ws/${sessionId}/c`);
    ws.on('error', (err) => resolve((err as NodeJS.ErrnoException).code ?? err.message));
    ws.on('open', () => resolve('opened'));
  });
  t.equal(refused, 'ECONNREFUSED', 'the closed gateway accepts no new sockets');
  onSecond.send({ message: 'Are you still there?' });
  t.equal((await onSecond.turn(null)).end.type, 'complete', 'the other gateway keeps serving the session');
  const slots = await stack.redisClient.zcard(`${stack.config.redis.prefix}:{s:${sessionId}}:sockets`);
  t.equal(slots, 1, "the closed gateway's socket slot was released in Redis");
});

t.test('a socket still being admitted when the drain starts is closed with 1001 and the reconnect hint', async (t) => {
  const stack = await startInProcessStack(t);
  const sessionId = await createSession(stack.httpUrl());
  // Hold the admission checks in Redis: the upgrade answers at once, the verdict waits.
  await stack.redisClient.call('CLIENT', 'PAUSE', '400', 'ALL');
  const socket = await TestSocket.open(stack.wsUrl(sessionId, 'pending'));
  const closing = stack.gateways[0]!.close();
  const closed = await socket.waitForClose();
  await closing;
  t.equal(closed.code, 1001, 'going away, not cut with the app (1006)');
  t.equal(closed.reason, 'server shutting down; reconnect', 'the same reason as the sockets the drain closed');
  t.same(socket.frames, [], 'like every drained socket, it is told by the close alone');
  const slots = await stack.redisClient.zcard(`${stack.config.redis.prefix}:{s:${sessionId}}:sockets`);
  t.equal(slots, 0, 'the slot its checks claimed was released');
});

t.test('worker close waits for the turn in flight to complete', async (t) => {
  const stack = await startInProcessStack(t, { offline: { ttftMs: 200, tokensPerSecond: 100, answerTokens: 40 } });
  const sessionId = await createSession(stack.httpUrl());
  const socket = await TestSocket.open(stack.wsUrl(sessionId, 'c'));
  t.teardown(() => socket.close());
  socket.send({ message: 'Can you help me with my booking?' });
  await socket.waitFor((f) => f.type === 'chunk', 'first chunk');
  await stack.workers[0]!.close();
  const { end, chunks } = await socket.turn(null, 2000);
  t.equal(end.type, 'complete', 'the answer in flight finished before the worker stopped');
  t.equal(chunks.map((c) => c.content).join(''), end.content);
});
