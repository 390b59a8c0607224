/**
 * A turn's frames through TurnFrameWriter (the command bytes built per turn, the envelope written
 * into them) against a real Redis spawned for this file, and against a small Redis Cluster: what
 * the log keeps and what subscribers get is byte for byte the envelope `encodeEnvelope` makes;
 * the ownership and order checks hold; the turn's keys always have a lifetime; a server that lost
 * its script cache still takes the frames. On one Redis the frames of many turns written in one
 * event-loop turn leave as one script call (FrameBatcher), each judged on its own. On the
 * cluster the frames leave as the writer's own bytes too, one call each, and a master that lost
 * its scripts takes them re-sent with the source.
 */
import { randomBytes } from 'node:crypto';
import t from 'tap';
import { spawnRedisCluster } from '../src/dev/redis-cluster.js';
import { spawnRedisServer } from '../src/dev/redis-server.js';
import { createRedisConnection, masterNodes, openRedis, type RedisClient } from '../src/redis/connection.js';
import { RedisKeys } from '../src/redis/redis-keys.js';
import { TurnLog, type AppendMode } from '../src/redis/turn-log.js';
import { MAX_FRAMES_PER_CALL } from '../src/redis/frame-batcher.js';
import { FrameKind, encodeEnvelope } from '../src/protocol/envelope.js';
import { PreEncodedCommand } from '../src/redis/pre-encoded-command.js';
import { Redis, type Command } from 'ioredis';

const redisServer = await spawnRedisServer();
const redis = createRedisConnection(redisServer.url, { name: 'turn-frame-writer-test' });
const subscriber = createRedisConnection(redisServer.url, { name: 'turn-frame-writer-sub' });
t.teardown(async () => {
  redis.disconnect();
  subscriber.disconnect();
  await redisServer.stop();
});

const TTL = 300;

function setup(client: RedisClient = redis): { log: TurnLog; keys: RedisKeys } {
  const keys = new RedisKeys(`t${randomBytes(4).toString('hex')}`);
  return { log: new TurnLog(client, keys, { ttlSeconds: TTL, maxFrames: 100 }), keys };
}

type Frame = [kind: FrameKind, json: string, publishedAtMs: number, seq: number, mode: AppendMode, text: string];

/**
 * A writer whose frames' outcomes are kept in the order told (the script's verdict, or the
 * error of the call); `append` writes frames in this loop turn and resolves with their outcomes.
 */
function writerOf(log: TurnLog, sessionId: string, messageId: string, epoch: number): { outcomes: unknown[]; append: (...frames: Frame[]) => Promise<unknown[]>; write: (...frames: Frame[]) => void; settled: () => Promise<void> } {
  const outcomes: unknown[] = [];
  const writer = log.writer(sessionId, messageId, epoch, (result, error) => outcomes.push(result ?? error));
  const write = (...frames: Frame[]) => {
    for (const frame of frames) writer.append(...frame);
  };
  return {
    outcomes,
    write,
    settled: () => writer.settled(),
    append: async (...frames) => {
      const from = outcomes.length;
      write(...frames);
      await writer.settled();
      return outcomes.slice(from);
    },
  };
}

/** The frame script calls a client is handed: how many frames each carried (-1: a call ioredis encoded, the script-cache fallback). */
function countCalls(client: RedisClient): { calls: number[]; restore: () => void } {
  const calls: number[] = [];
  const send = client.sendCommand.bind(client);
  client.sendCommand = ((command: Command, stream?: unknown) => {
    if (command.name === 'evalsha' || command.name === 'eval') calls.push(command instanceof PreEncodedCommand ? (Number(/^\*(\d+)/.exec(command.toWritable().toString('latin1', 0, 12))![1]) - 3) / 11 : -1);
    return send(command, stream as never);
  }) as typeof client.sendCommand;
  return { calls, restore: () => void (client.sendCommand = send as typeof client.sendCommand) };
}

/** The frames of a turn as a TurnPublisher writes them: JSON per frame, text for chunks. */
const frames: Array<{ kind: FrameKind; json: string; mode: 'chunk' | 'reset' | 'end'; text: string }> = [
  { kind: FrameKind.chunk, json: '{"type":"chunk","content":"Kia ora"}', mode: 'chunk', text: 'Kia ora' },
  { kind: FrameKind.chunk, json: '{"type":"chunk","content":" — é \\"🛫\\""}', mode: 'chunk', text: ' — é "🛫"' },
  { kind: FrameKind.chunk, json: '{"type":"chunk","content":""}', mode: 'chunk', text: '' },
  { kind: FrameKind.complete, json: '{"type":"complete","content":"Kia ora — é \\"🛫\\""}', mode: 'end', text: '' },
];

t.test('frames are logged and published exactly as encodeEnvelope makes them, in order', async (t) => {
  const { log, keys } = setup();
  const claim = await log.claim('s1', 'm1');
  const published: Buffer[] = [];
  const channel = keys.sessionChannel('s1');
  subscriber.on('smessageBuffer', (ch: Buffer, message: Buffer) => {
    if (ch.toString() === channel) published.push(Buffer.from(message));
  });
  await subscriber.ssubscribe(channel);
  const writer = writerOf(log, 's1', 'm1', claim.epoch);
  const at = Date.now();
  const results = await writer.append(...frames.map((f, seq): Frame => [f.kind, f.json, at + seq, seq, f.mode, f.text]));
  t.same(results, ['written', 'written', 'written', 'written']);
  const expected = frames.map((f, seq) => encodeEnvelope(f.kind, f.json, at + seq, seq, 'm1'));
  const read = await log.read('s1', 'm1', -1);
  t.same(read.frames.map((f) => f.seq), [0, 1, 2, 3]);
  t.ok(read.frames.every((f, i) => f.envelope.equals(expected[i]!)), 'the log holds the envelopes byte for byte');
  t.equal(read.text, 'Kia ora — é "🛫"', 'the chunks’ text, UTF-8 intact');
  t.ok(read.ended && read.gapless);
  while (published.length < 4) await new Promise((resolve) => setTimeout(resolve, 5));
  t.ok(published.every((p, i) => p.equals(expected[i]!)), 'subscribers got the same bytes');
  await subscriber.sunsubscribe(channel);
});

t.test('ownership and order: a wrong seq, an older epoch, an ended turn and a lost state are refused', async (t) => {
  const { log, keys } = setup();
  const first = await log.claim('s1', 'm1');
  const old = writerOf(log, 's1', 'm1', first.epoch);
  t.same(await old.append([FrameKind.chunk, '{}', Date.now(), 1, 'chunk', 'x']), ['out_of_order'], 'seq 1 before seq 0');
  t.same(await old.append([FrameKind.chunk, '{}', Date.now(), 0, 'chunk', 'x']), ['written']);
  const second = await log.claim('s1', 'm1');
  t.same(await old.append([FrameKind.chunk, '{}', Date.now(), 1, 'chunk', 'y']), ['superseded'], 'the older attempt is refused');
  const current = writerOf(log, 's1', 'm1', second.epoch);
  t.same(await current.append([FrameKind.reset, '{}', Date.now(), 1, 'reset', '']), ['written']);
  t.same(await current.append([FrameKind.complete, '{}', Date.now(), 2, 'end', '']), ['written']);
  t.same(await current.append([FrameKind.chunk, '{}', Date.now(), 3, 'chunk', 'z']), ['ended']);
  const gone = writerOf(log, 's2', 'm2', 1);
  t.same(await gone.append([FrameKind.chunk, '{}', Date.now(), 0, 'chunk', 'z']), ['missing']);
  t.equal(await redis.get(keys.turnLog('s1', 'm1').text), null, 'the reset cleared the text');
});

t.test('the turn’s keys always have a lifetime, renewed by every ending', async (t) => {
  const { log, keys } = setup();
  const k = keys.turnLog('s1', 'm1');
  const claim = await log.claim('s1', 'm1');
  const writer = writerOf(log, 's1', 'm1', claim.epoch);
  await writer.append([FrameKind.chunk, '{}', Date.now(), 0, 'chunk', 'a']);
  for (const key of [k.state, k.log, k.text]) {
    const ttl = await redis.ttl(key);
    t.ok(ttl > TTL - 5 && ttl <= TTL, `${key.split(':').pop()} expires with the resume window after the first frame (${ttl} s)`);
  }
  // A reset deletes the text; the next chunk (not a renewal: within the period) creates it anew.
  await redis.expire(k.state, 100);
  await writer.append([FrameKind.reset, '{}', Date.now(), 1, 'reset', '']);
  await redis.expire(k.state, 100);
  await writer.append([FrameKind.chunk, '{}', Date.now(), 2, 'chunk', 'b']);
  const textTtl = await redis.ttl(k.text);
  t.ok(textTtl > 90 && textTtl <= 100, `a text a chunk created takes the state's lifetime (${textTtl} s)`);
  t.ok((await redis.ttl(k.state)) <= 100, 'a chunk within the renewal period leaves the lifetimes alone');
  t.same(writer.outcomes, ['written', 'written', 'written']);
  await writer.append([FrameKind.complete, '{}', Date.now(), 3, 'end', '']);
  for (const key of [k.state, k.log, k.text]) {
    const ttl = await redis.ttl(key);
    t.ok(ttl > TTL - 5 && ttl <= TTL, `${key.split(':').pop()} renewed by the ending (${ttl} s)`);
  }
});

t.test('a short resume window is renewed often enough that a streaming turn never expires', async (t) => {
  const keys = new RedisKeys(`t${randomBytes(4).toString('hex')}`);
  const log = new TurnLog(redis, keys, { ttlSeconds: 1, maxFrames: 100 });
  const claim = await log.claim('s1', 'm1');
  const writer = writerOf(log, 's1', 'm1', claim.epoch);
  const until = Date.now() + 1600;
  let seq = 0;
  while (Date.now() < until) {
    t.same(await writer.append([FrameKind.chunk, '{}', Date.now(), seq, 'chunk', 'x']), ['written'], `frame ${seq}`);
    seq++;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  t.same(await writer.append([FrameKind.complete, '{}', Date.now(), seq, 'end', '']), ['written'], 'still owned after more than its TTL of streaming');
});

t.test('a server that lost its script cache still takes the frames, in order', async (t) => {
  const { log } = setup();
  const claim = await log.claim('s1', 'm1');
  const writer = writerOf(log, 's1', 'm1', claim.epoch);
  await redis.script('FLUSH');
  // Three frames in one loop turn (one batch call), then one alone (the single-frame script).
  const results = await writer.append(...[0, 1, 2].map((seq): Frame => [FrameKind.chunk, '{}', Date.now(), seq, 'chunk', String(seq)]));
  t.same(results, ['written', 'written', 'written']);
  await redis.script('FLUSH');
  t.same(await writer.append([FrameKind.chunk, '{}', Date.now(), 3, 'chunk', '3']), ['written']);
  t.equal((await log.read('s1', 'm1', -1)).text, '0123');
});

t.test('a lost script cache with calls of two loop turns in flight: both re-sent, in order', async (t) => {
  const { log } = setup();
  const claims = await Promise.all(['n0', 'n1'].map((s) => log.claim(s, 'm1')));
  const writers = ['n0', 'n1'].map((s, i) => writerOf(log, s, 'm1', claims[i]!.epoch));
  await redis.script('FLUSH');
  // Loop turn 1: a frame of each turn (one call); loop turn 2, before any reply: the next two.
  writers.forEach((w, i) => w.write([FrameKind.chunk, '{}', Date.now(), 0, 'chunk', `a${i}`]));
  await new Promise((resolve) => setImmediate(resolve));
  writers.forEach((w, i) => w.write([FrameKind.chunk, '{}', Date.now(), 1, 'chunk', `b${i}`]));
  await Promise.all(writers.map((w) => w.settled()));
  writers.forEach((w, i) => t.same(w.outcomes, ['written', 'written'], `turn ${i}`));
  for (const [i, s] of ['n0', 'n1'].entries()) t.equal((await log.read(s, 'm1', -1)).text, `a${i}b${i}`);
});

t.test('a client that does not coalesce its writes still sends a loop turn’s frames in one call', async (t) => {
  const plain = new Redis(redisServer.url);
  t.teardown(() => plain.disconnect());
  const { log } = setup(plain);
  await log.preload();
  const claims = await Promise.all(['p0', 'p1', 'p2'].map((s) => log.claim(s, 'm1')));
  const writers = ['p0', 'p1', 'p2'].map((s, i) => writerOf(log, s, 'm1', claims[i]!.epoch));
  const counter = countCalls(plain);
  writers.forEach((w) => w.write([FrameKind.chunk, '{}', Date.now(), 0, 'chunk', 'x']));
  await Promise.all(writers.map((w) => w.settled()));
  counter.restore();
  t.same(counter.calls, [3]);
  writers.forEach((w) => t.same(w.outcomes, ['written']));
});

t.test('a connection that is closed: every frame of the call is told the error, and settled() resolves', async (t) => {
  const closing = createRedisConnection(redisServer.url, { name: 'turn-frame-writer-closed' });
  const { log } = setup(closing);
  await log.preload();
  const claims = await Promise.all(['c0', 'c1'].map((s) => log.claim(s, 'm1')));
  const writers = ['c0', 'c1'].map((s, i) => writerOf(log, s, 'm1', claims[i]!.epoch));
  closing.disconnect();
  writers.forEach((w) => w.write([FrameKind.chunk, '{}', Date.now(), 0, 'chunk', 'x'], [FrameKind.chunk, '{}', Date.now(), 1, 'chunk', 'y']));
  await Promise.all(writers.map((w) => w.settled()));
  for (const w of writers) {
    t.equal(w.outcomes.length, 2);
    t.ok(w.outcomes.every((o) => o instanceof Error), `told: ${String(w.outcomes[0])}`);
  }
});

t.test('one Redis: the frames of many turns written in one loop turn leave in one call each judged on its own', async (t) => {
  const { log } = setup();
  // Loaded (an earlier test flushed the script cache): otherwise the calls below would be
  // refused NOSCRIPT and sent again with the source.
  await log.preload();
  const turns = MAX_FRAMES_PER_CALL + 22;
  const sessions = Array.from({ length: turns }, (_, i) => `b${i}`);
  const claims = await Promise.all(sessions.map((s) => log.claim(s, 'm1')));
  // One turn taken over by a newer attempt meanwhile: its old writer's frames are refused.
  const overtaken = 7;
  await log.claim(sessions[overtaken]!, 'm1');
  const writers = sessions.map((s, i) => writerOf(log, s, 'm1', claims[i]!.epoch));
  const counter = countCalls(redis);
  t.teardown(counter.restore);
  const at = Date.now();
  // Two frames per turn in one loop turn, and a third with a seq that skips one for turn 3.
  writers.forEach((w, i) => w.write([FrameKind.chunk, `{"n":${i}}`, at, 0, 'chunk', `a${i}`], [FrameKind.chunk, '{}', at, 1, 'chunk', `b${i}`]));
  writers[3]!.write([FrameKind.chunk, '{}', at, 5, 'chunk', 'skipped']);
  await Promise.all(writers.map((w) => w.settled()));
  counter.restore();
  const frameCount = turns * 2 + 1;
  t.same(counter.calls, [MAX_FRAMES_PER_CALL, MAX_FRAMES_PER_CALL, frameCount - 2 * MAX_FRAMES_PER_CALL], `${frameCount} frames, ${counter.calls.length} calls`);
  writers.forEach((w, i) => {
    const expected = i === overtaken ? ['superseded', 'superseded'] : i === 3 ? ['written', 'written', 'out_of_order'] : ['written', 'written'];
    t.same(w.outcomes, expected, `turn ${i}`);
  });
  const reads = await Promise.all(sessions.map((s) => log.read(s, 'm1', -1)));
  reads.forEach((read, i) => {
    if (i === overtaken) t.equal(read.frames.length, 0, 'the overtaken attempt wrote nothing');
    else t.equal(read.text, `a${i}b${i}`, `turn ${i}: its own two chunks, in order`);
  });
});

t.test('one Redis: a turn whose keys are broken fails alone; the other frames of its call are written', async (t) => {
  const { log, keys } = setup();
  await log.preload();
  const claims = await Promise.all(['k0', 'k1', 'k2'].map((s) => log.claim(s, 'm1')));
  const writers = ['k0', 'k1', 'k2'].map((s, i) => writerOf(log, s, 'm1', claims[i]!.epoch));
  // The middle turn's log key holds a string: its XADD fails with WRONGTYPE.
  await redis.set(keys.turnLog('k1', 'm1').log, 'not a stream');
  const counter = countCalls(redis);
  t.teardown(counter.restore);
  writers.forEach((w) => w.write([FrameKind.chunk, '{}', Date.now(), 0, 'chunk', 'x']));
  await Promise.all(writers.map((w) => w.settled()));
  counter.restore();
  t.same(counter.calls, [3], 'one call');
  t.same(writers[0]!.outcomes, ['written']);
  t.same(writers[2]!.outcomes, ['written']);
  t.ok(writers[1]!.outcomes[0] instanceof Error, 'the broken turn is told the error');
  t.match(String(writers[1]!.outcomes[0]), /WRONGTYPE/);
  t.equal((await log.read('k2', 'm1', -1)).text, 'x');
});

t.test('on a Redis Cluster: sessions on every master, each turn written whole', async (t) => {
  const cluster = await spawnRedisCluster({ masters: 3, replicasPerMaster: 0 });
  const client = openRedis({ kind: 'cluster', nodes: cluster.nodes.map((n) => ({ host: '127.0.0.1', port: n.port })) }, { name: 'turn-frame-writer-cluster' });
  t.teardown(async () => {
    client.disconnect();
    await cluster.stop();
  });
  const { log } = setup(client);
  await log.preload();
  t.equal(masterNodes(client).length, 3);
  const sessions = Array.from({ length: 12 }, (_, i) => `cs${i}`);
  const claims = await Promise.all(sessions.map((s) => log.claim(s, 'm1')));
  const writers = sessions.map((s, i) => writerOf(log, s, 'm1', claims[i]!.epoch));
  // What each master's connection was handed: the writer's own bytes, or a command ioredis encodes.
  const appends = { preEncoded: 0, other: 0 };
  for (const node of masterNodes(client)) {
    const send = node.sendCommand.bind(node);
    node.sendCommand = ((command: Command, stream?: unknown) => {
      if (command.name === 'evalsha' || command.name === 'eval') appends[command instanceof PreEncodedCommand ? 'preEncoded' : 'other']++;
      return send(command, stream as never);
    }) as typeof node.sendCommand;
  }
  const appendAll = (from: number, to: number) =>
    Promise.all(
      writers.map(async (writer, i) => {
        const results = await writer.append(...frames.slice(from, to).map((f, k): Frame => [f.kind, f.json, Date.now(), from + k, f.mode, f.text]));
        t.same(results, Array(to - from).fill('written'), `session ${sessions[i]}, frames ${from}–${to - 1}`);
      }),
    );
  await appendAll(0, 2);
  t.same(appends, { preEncoded: 24, other: 0 }, 'every frame went to its master as the bytes the writer built');
  // Every master loses its script cache (as a replica promoted in a failover may not have it):
  // the next frames are refused NOSCRIPT and re-sent with the script's source, in order.
  await Promise.all(masterNodes(client).map((node) => node.script('FLUSH')));
  await appendAll(2, 4);
  t.ok(appends.other >= 24, `the refused frames were re-sent through the script's own path (${appends.other} calls)`);
  for (const s of sessions) {
    const read = await log.read(s, 'm1', -1);
    t.equal(read.text, 'Kia ora — é "🛫"');
    t.ok(read.ended && read.frames.length === 4);
  }
});
