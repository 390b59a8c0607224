/**
 * Holes in a gateway's session subscriptions that its subscriber connection leaves behind:
 *
 * - a turn that starts and ends while the subscriber connection is down (a short or cached
 *   answer inside a reconnect) still reaches the session's sockets once it is back, from the
 *   turn's log, and an older turn that ended before the socket connected is not replayed;
 * - a SUBSCRIBE that fails (the connection is down, or Redis refuses it) does not leave the
 *   session broken on that gateway: a later message on its socket is answered.
 *
 * The subscriber connection is held down deterministically: new connections are refused
 * (`ACL SETUSER default off`: connections already open keep working), then the gateway's
 * subscriber connection, and only it, is killed. Turning the user back on lets it reconnect.
 */
import t from 'tap';
import { RedisKeys, type RedisClient } from '@chat/shared';
import { eventually } from './helpers/eventually.js';
import { createSession, postJson } from './helpers/http-client.js';
import { startInProcessStack, type InProcessStack } from './helpers/stack-harness.js';
import { readTurn } from './helpers/turn-transcript.js';
import { TestSocket, type Frame } from './helpers/ws-client.js';

/** The id of the gateway's subscriber connection (named `gateway-sub-<gatewayId>`), if connected. */
async function subscriberClientId(redis: RedisClient, gatewayId: string): Promise<string | null> {
  const list = String(await redis.call('CLIENT', 'LIST', 'TYPE', 'pubsub'));
  const line = list.split('\n').find((l) => l.includes(` name=gateway-sub-${gatewayId} `));
  return line ? (/^id=(\d+)/.exec(line)?.[1] ?? null) : null;
}

/** Cuts the gateway's subscriber connection and keeps it from reconnecting until `restore`. */
async function holdSubscriberDown(stack: InProcessStack, gatewayId: string): Promise<{ restore(): Promise<void> }> {
  const redis = stack.redisClient;
  const id = await subscriberClientId(redis, gatewayId);
  if (id === null) throw new Error(`gateway ${gatewayId} has no subscriber connection`);
  await redis.call('ACL', 'SETUSER', 'default', 'off');
  await redis.call('CLIENT', 'KILL', 'ID', id);
  let restored = false;
  const restore = async () => {
    if (restored) return;
    restored = true;
    await redis.call('ACL', 'SETUSER', 'default', 'on');
    await eventually(() => subscriberClientId(redis, gatewayId), (found) => found !== null, 10_000);
  };
  return { restore };
}

/** Whether the turn has ended in Redis: its ending is logged and it left the unanswered turns. */
async function turnOver(stack: InProcessStack, keys: RedisKeys, sessionId: string, messageId: string): Promise<boolean> {
  const [done, queued] = await Promise.all([
    stack.redisClient.hexists(keys.turnLog(sessionId, messageId).state, 'done'),
    stack.redisClient.lpos(keys.session(sessionId, 'turns'), messageId),
  ]);
  return done === 1 && queued === null;
}

/** The turn's ending on that socket, or the error that refused it (an error frame with no message id). */
function endOrRefusal(socket: TestSocket, messageId: string, from: number): Promise<Frame> {
  return socket.waitFor(
    (f) => ((f.type === 'complete' || f.type === 'error') && f.message_id === messageId) || (f.type === 'error' && f.message_id === undefined),
    `end or refusal of ${messageId}`,
    20_000,
    from,
  );
}

t.test('a turn that starts and ends while the subscriber connection is down reaches the sockets once it is back', async (t) => {
  const stack = await startInProcessStack(t, { gateways: 1, workers: 1 });
  const keys = new RedisKeys(stack.config.redis.prefix);
  const sessionId = await createSession(stack.httpUrl());

  // A turn answered before any socket of the session was on this gateway: not to be replayed.
  const earlier = await postJson(`${stack.httpUrl()}/chat/message`, { session_id: sessionId, message: 'What is the baggage allowance?', message_id: 'before-the-sockets' });
  t.equal(earlier.status, 200);
  t.ok(await eventually(() => turnOver(stack, keys, sessionId, 'before-the-sockets'), Boolean, 10_000), 'the earlier turn ended');
  // Its ending must lie further back than the relay's allowance for clocks that disagree.
  await new Promise((resolve) => setTimeout(resolve, 600));

  const sockets = await Promise.all(['a', 'b'].map((c) => TestSocket.open(stack.wsUrl(sessionId, c))));
  t.teardown(() => sockets.forEach((s) => s.close()));
  sockets[0]!.send({ message: 'Hello there', message_id: 'warm' });
  for (const socket of sockets) t.equal((await socket.turn('warm')).end.type, 'complete', 'a live turn reaches both sockets');

  const outage = await holdSubscriberDown(stack, 'gw0');
  t.teardown(() => outage.restore());
  sockets[0]!.send({ message: 'Can I bring a pet?', message_id: 'in-the-dark' });
  t.ok(await eventually(() => turnOver(stack, keys, sessionId, 'in-the-dark'), Boolean, 10_000), 'the turn started and ended while the subscriber was down');
  await outage.restore();

  for (const [i, socket] of sockets.entries()) {
    const end = await endOrRefusal(socket, 'in-the-dark', 0);
    t.equal(end.type, 'complete', `socket ${i} gets the turn's ending`);
    const transcript = readTurn(socket.frames, 'in-the-dark');
    t.same(transcript.problems, [], `socket ${i}: every chunk in order, no gap, no duplicate, one ending`);
    t.equal(transcript.lastSeq, Number(end.seq), `socket ${i}: from seq 0 to the ending`);
    t.notOk(
      socket.frames.some((f) => f.message_id === 'before-the-sockets'),
      `socket ${i} is not sent the turn that ended before it connected`,
    );
  }

  // And the channel is live again: the next turn arrives the ordinary way, once.
  const from = sockets.map((s) => s.frames.length);
  sockets[1]!.send({ message: 'Thanks!', message_id: 'after-the-dark' });
  for (const [i, socket] of sockets.entries()) {
    t.equal((await endOrRefusal(socket, 'after-the-dark', from[i]!)).type, 'complete', `socket ${i} gets the next turn`);
    t.same(readTurn(socket.frames, 'after-the-dark').problems, [], `socket ${i}: the next turn is whole`);
    t.same(readTurn(socket.frames, 'in-the-dark').problems, [], `socket ${i}: the recovered turn was sent once`);
  }
});

t.test('a SUBSCRIBE that fails while the subscriber connection is down does not break the session on that gateway', async (t) => {
  const logLines: string[] = [];
  const stack = await startInProcessStack(t, { gateways: 1, workers: 1, logLines, config: { log: { level: 'warn' } } });
  const sessionId = await createSession(stack.httpUrl());

  const outage = await holdSubscriberDown(stack, 'gw0');
  t.teardown(() => outage.restore());
  // Admitted over the gateway's other connection; its SUBSCRIBE waits for the subscriber and fails.
  const socket = await TestSocket.open(stack.wsUrl(sessionId, 'c'));
  t.teardown(() => socket.close());
  const failed = await eventually(() => logLines.some((l) => l.includes('subscribe failed') && l.includes(sessionId)), Boolean, 10_000);
  t.ok(failed, 'the session channel SUBSCRIBE failed');
  await outage.restore();

  socket.send({ message: 'Is my flight on time?', message_id: 'after-a-failed-subscribe' });
  const end = await endOrRefusal(socket, 'after-a-failed-subscribe', 0);
  t.equal(end.type, 'complete', `a message after the subscriber came back is answered (got ${end.type}${end.code ? `:${String(end.code)}` : ''})`);
  t.same(readTurn(socket.frames, 'after-a-failed-subscribe').problems, []);
});

t.test('a SUBSCRIBE that Redis refuses does not break the session: the next message subscribes again', async (t) => {
  const logLines: string[] = [];
  const stack = await startInProcessStack(t, { gateways: 1, workers: 1, logLines, config: { log: { level: 'warn' } } });
  const prefix = stack.config.redis.prefix;
  const sessionId = await createSession(stack.httpUrl());

  // Session channels refused (the canary and cancel channels stay allowed); the connection stays up.
  await stack.redisClient.call('ACL', 'SETUSER', 'default', 'resetchannels', `&${prefix}:canary:*`, `&${prefix}:control:*`);
  t.teardown(() => stack.redisClient.call('ACL', 'SETUSER', 'default', 'allchannels'));
  const socket = await TestSocket.open(stack.wsUrl(sessionId, 'c'));
  t.teardown(() => socket.close());
  const failed = await eventually(() => logLines.some((l) => l.includes('subscribe failed') && l.includes(sessionId)), Boolean, 10_000);
  t.ok(failed, 'the session channel SUBSCRIBE was refused');
  await stack.redisClient.call('ACL', 'SETUSER', 'default', 'allchannels');

  socket.send({ message: 'Is my flight on time?', message_id: 'after-a-refused-subscribe' });
  const end = await endOrRefusal(socket, 'after-a-refused-subscribe', 0);
  t.equal(end.type, 'complete', `the next message is answered (got ${end.type}${end.code ? `:${String(end.code)}` : ''})`);
  t.same(readTurn(socket.frames, 'after-a-refused-subscribe').problems, []);
});
