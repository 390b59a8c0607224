/**
 * Honest health (issue 5): `GET /ready` is an end-to-end canary (enqueue → a worker → this
 * gateway's subscription), not a ping; and a gateway whose subscriber connection drops restores
 * its subscriptions and fills the hole from the turn logs, so an answer in progress loses nothing.
 */
import t from 'tap';
import { ChatGateway } from '@chat/gateway';
import { eventually } from './helpers/eventually.js';
import { createSession, getJson } from './helpers/http-client.js';
import { startInProcessStack } from './helpers/stack-harness.js';
import { TcpFaultProxy } from './helpers/tcp-fault-proxy.js';
import { readTurn } from './helpers/turn-transcript.js';
import { TestSocket } from './helpers/ws-client.js';

interface ReadyBody {
  status: string;
  pipeline: { status: string; last_round_trip_ms: number | null };
}

t.test('/ready follows the canary: ready with a worker, unready without one while /health stays up', async (t) => {
  const stack = await startInProcessStack(t, { config: { gateway: { canaryIntervalMs: 100, canaryMaxAgeMs: 800 } } });
  const ready = await eventually(() => getJson<ReadyBody>(`${stack.httpUrl()}/ready`), (r) => r.status === 200, 5000);
  t.equal(ready.status, 200, 'ready once a canary came back');
  t.equal(ready.body.pipeline.status, 'ok');
  t.ok((ready.body.pipeline.last_round_trip_ms ?? -1) >= 0, `round trip ${ready.body.pipeline.last_round_trip_ms} ms`);
  const health = await getJson<{ pipeline: { status: string } }>(`${stack.httpUrl()}/health`);
  t.equal(health.body.pipeline.status, 'ok', '/health shows the pipeline too');

  // No worker left: Redis still answers pings, but nothing would be answered.
  await Promise.all(stack.workers.map((w) => w.close()));
  const unready = await eventually(() => getJson<ReadyBody>(`${stack.httpUrl()}/ready`), (r) => r.status === 503, 5000);
  t.equal(unready.status, 503, 'unready without a worker');
  t.equal(unready.body.pipeline.status, 'stalled');
  t.equal((await getJson(`${stack.httpUrl()}/health`)).status, 200, 'while /health (liveness: Redis and not draining) stays 200');
  const metrics = await (await fetch(`${stack.httpUrl()}/metrics`)).text();
  t.match(metrics, /chat_gateway_ready\{[^}]*\} 0/, 'the chat_gateway_ready gauge says so');
});

t.test('the subscriber connection is killed mid-answer: subscriptions come back, the hole is filled from the log', async (t) => {
  const logLines: string[] = [];
  t.teardown(() => {
    if (process.env.READINESS_DEBUG) for (const line of logLines) t.comment(line);
  });
  const stack = await startInProcessStack(t, {
    logLines,
    offline: { ttftMs: 20, tokensPerSecond: 300, answerTokens: 240, fillToAnswerTokens: true },
    config: { gateway: { canaryIntervalMs: 100, canaryMaxAgeMs: 800 }, log: { level: 'info' } },
  });
  const sessionId = await createSession(stack.httpUrl());
  const socket = await TestSocket.open(stack.wsUrl(sessionId, 'c'));
  t.teardown(() => socket.close());
  socket.send({ message: 'Tell me about delays and compensation', message_id: 'through-the-outage' });
  await socket.waitFor((f) => f.type === 'chunk' && Number(f.seq) >= 10, 'some chunks');
  // Every pub/sub connection is cut (the gateway's subscriber among them); ioredis reconnects.
  const killed = Number(await stack.redisClient.client('KILL', 'TYPE', 'pubsub'));
  t.ok(killed >= 1, `${killed} pub/sub connections killed`);
  const { end } = await socket.turn('through-the-outage', 20_000);
  t.equal(end.type, 'complete');
  const transcript = readTurn(socket.frames, 'through-the-outage');
  t.same(transcript.problems, [], 'no gap, no duplicate: the frames published while it was away came from the log');
  if (transcript.problems.length > 0) t.comment(`seqs: ${socket.frames.map((f) => f.seq).join(',')}`);
  const metrics = await (await fetch(`${stack.httpUrl()}/metrics`)).text();
  const recovered = Number(/chat_gateway_frames_recovered_total\{[^}]*why="resubscribe"[^}]*\} (\d+)/.exec(metrics)?.[1] ?? 0);
  t.ok(recovered > 0, `${recovered} frames were filled in from the turn log`);

  // And the channel is live again: a new turn arrives the ordinary way.
  socket.send({ message: 'Thanks for the info!', message_id: 'after-the-outage' });
  t.equal((await socket.turn('after-the-outage', 20_000)).end.type, 'complete');
  const ready = await eventually(() => getJson<ReadyBody>(`${stack.httpUrl()}/ready`), (r) => r.status === 200, 5000);
  t.equal(ready.status, 200, 'ready again');
});

t.test('a deaf subscription (its connection open, nothing arriving): the canary notices, the gateway reopens it, no turn loses a frame', async (t) => {
  const stack = await startInProcessStack(t, {
    gateways: 0,
    // About 0.4 s per answer: one turn is caught mid-answer, another begins and ends while deaf.
    offline: { ttftMs: 20, tokensPerSecond: 600, answerTokens: 240, fillToAnswerTokens: true },
    config: { gateway: { canaryIntervalMs: 100, canaryMaxAgeMs: 800 } },
  });
  // This gateway reaches Redis through a proxy that can silence its pub/sub connection.
  const proxy = await TcpFaultProxy.start({ host: '127.0.0.1', port: stack.redis.port });
  const gateway = new ChatGateway({ config: { ...stack.config, redis: { ...stack.config.redis, url: proxy.url } }, gatewayId: 'deaf-gw' });
  t.teardown(async () => {
    await gateway.close();
    await proxy.close();
  });
  const port = await gateway.start();
  const httpUrl = `http://127.0.0.1:${port}`;
  await eventually(() => getJson<ReadyBody>(`${httpUrl}/ready`), (r) => r.status === 200, 5000);

  const open = async (client: string) => {
    const sessionId = await createSession(httpUrl);
    const socket = await TestSocket.open(`ws://127.0.0.1:${port}/ws/${sessionId}/${client}`);
    t.teardown(() => socket.close());
    return socket;
  };
  const midway = await open('midway');
  const inside = await open('inside');
  // Its session's channel is subscribed before the silence (the first turn waits for that).
  inside.send({ message: 'Hello!', message_id: 'before-the-silence' });
  await inside.turn('before-the-silence');

  midway.send({ message: 'Tell me about delays and compensation', message_id: 'through-the-silence' });
  await midway.waitFor((f) => f.type === 'chunk' && Number(f.seq) >= 5, 'some chunks');
  t.equal(proxy.silenceSubscribers(), 1, "the gateway's subscriber connection goes silent, still open");
  inside.send({ message: 'Can I bring my bike?', message_id: 'inside-the-silence' });

  for (const [socket, messageId] of [
    [midway, 'through-the-silence'],
    [inside, 'inside-the-silence'],
  ] as const) {
    const { end } = await socket.turn(messageId, 20_000);
    t.equal(end.type, 'complete', `${messageId}: completes`);
    t.same(readTurn(socket.frames, messageId).problems, [], `${messageId}: no gap, no duplicate: what the silence swallowed came from the log`);
  }
  const metrics = await (await fetch(`${httpUrl}/metrics`)).text();
  t.match(metrics, /chat_gateway_subscriber_reopened_total\{[^}]*\} [1-9]/, 'the subscriber connection was reopened');
  const ready = await eventually(() => getJson<ReadyBody>(`${httpUrl}/ready`), (r) => r.status === 200, 5000);
  t.equal(ready.status, 200, 'and the gateway is ready again');
});

t.test('without a worker the canary queue holds at most one canary per gateway', async (t) => {
  const stack = await startInProcessStack(t, { workers: 0, config: { gateway: { canaryIntervalMs: 50, canaryMaxAgeMs: 400 } } });
  await new Promise((resolve) => setTimeout(resolve, 1500));
  const waiting = await stack.redisClient.llen(`{${stack.config.redis.prefix}-bull}:canary:wait`);
  t.ok(waiting <= 2, `canaries waiting after ~30 intervals: ${waiting} (the newest, and at most one being replaced)`);
  t.ok(waiting >= 1, 'the newest canary waits for a worker');
  const metrics = await (await fetch(`${stack.httpUrl()}/metrics`)).text();
  t.match(metrics, /chat_gateway_subscriber_reopened_total\{[^}]*\} 0\n/, 'no worker is not a deaf subscription: nothing reopened');
});
