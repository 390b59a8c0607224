/**
 * TurnStops against a real Redis: a cancel stops the turn it names whether it arrives as a
 * message or only as its marker (published while the control connection was away, or missed
 * some other way), and only that turn.
 */
import t from 'tap';
import { RedisKeys, closeRedis, createLogger, createRedisConnection, type Redis } from '@chat/shared';
import { spawnRedisServer } from '@chat/shared/dev';
import { TurnStopped, TurnStops } from '../src/turn-stops.js';
import { cancelWhileControlIsCut } from './helpers/lost-cancel.js';

const logger = createLogger('worker-test', 'silent');

async function setUp(t: { teardown(fn: () => unknown): void }, recheckEveryMs = 0): Promise<{ redis: Redis; control: Redis; keys: RedisKeys; stops: TurnStops }> {
  const server = await spawnRedisServer();
  const redis = createRedisConnection(server.url, { name: 'test' });
  const control = createRedisConnection(server.url, { name: 'test-control' });
  const keys = new RedisKeys(`t${Date.now().toString(36)}`);
  // By default no periodic re-check: what most tests see is the reconnect path or an explicit sweep.
  const stops = new TurnStops(control, redis, keys, logger, { recheckEveryMs });
  t.teardown(async () => {
    try {
      await stops.close();
      await closeRedis(control);
      await closeRedis(redis);
    } finally {
      await server.stop();
    }
  });
  // Both connections ready first: a 'ready' arriving after start() would run a resync sweep
  // concurrently with a test's own sweep, and the two would split the count between them.
  await Promise.all([control, redis].map((c) => (c.status === 'ready' ? undefined : new Promise((resolve) => c.once('ready', resolve)))));
  await stops.start();
  return { redis, control, keys, stops };
}

function aborted(signal: AbortSignal): Promise<unknown> {
  return new Promise((resolve) => (signal.aborted ? resolve(signal.reason) : signal.addEventListener('abort', () => resolve(signal.reason), { once: true })));
}

t.test('a cancel published while the control connection is away is read from its marker once it is back', async (t) => {
  const { redis, control, keys, stops } = await setUp(t);
  const cancelled = new AbortController();
  const other = new AbortController();
  t.teardown(stops.track('s1', 'm1', cancelled, Date.now() + 600_000));
  t.teardown(stops.track('s2', 'm2', other, Date.now() + 600_000));

  const reconnected = new Promise((resolve) => control.once('ready', resolve));
  const { reached } = await cancelWhileControlIsCut(redis, keys, 's1', 'm1');
  t.equal(reached, 0, 'the message reached no subscriber');
  await reconnected;

  const reason = await aborted(cancelled.signal);
  t.ok(reason instanceof TurnStopped && reason.code === 'cancelled', 'stopped as a cancel message would');
  t.notOk(other.signal.aborted, 'a turn with no marker runs on');

  // And the subscription is back: a cancel message stops a turn again.
  await redis.set(keys.turnCancel('s2', 'm2'), '1', 'EX', 3600);
  await redis.publish(keys.cancelChannel, 's2/m2');
  t.ok((await aborted(other.signal)) instanceof TurnStopped);
});

t.test('sweep stops the marked turns it runs, once, and nothing else', async (t) => {
  const { redis, keys, stops } = await setUp(t);
  t.equal(await stops.sweep(), 0, 'nothing running: nothing read');
  const marked = new AbortController();
  const unmarked = new AbortController();
  const untrackMarked = stops.track('s1', 'm1', marked, Date.now() + 600_000);
  t.teardown(stops.track('s1', 'm2', unmarked, Date.now() + 600_000));
  await redis.set(keys.turnCancel('s1', 'm1'), '1', 'EX', 3600);
  // A marker of a turn not running here (another worker's) is none of this worker's business.
  await redis.set(keys.turnCancel('s3', 'm3'), '1', 'EX', 3600);

  t.equal(await stops.sweep(), 1, 'one turn stopped');
  t.ok(marked.signal.reason instanceof TurnStopped && (marked.signal.reason as TurnStopped).code === 'cancelled');
  t.notOk(unmarked.signal.aborted);
  t.equal(await stops.sweep(), 0, 'a stopped turn is not stopped twice');
  untrackMarked();
  t.equal(await stops.sweep(), 0);
});

t.test('the periodic re-check reads a marker no message announced, and runs only while turns run here', async (t) => {
  const { redis, keys, stops } = await setUp(t, 20);
  const timer = () => (stops as unknown as { timer: NodeJS.Timeout | null }).timer;
  t.equal(timer(), null, 'nothing running: no timer wakes the worker');
  const turn = new AbortController();
  const untrack = stops.track('s1', 'm1', turn, Date.now() + 600_000);
  t.not(timer(), null, 'a turn runs: the re-check is on');
  // Set without a message (as when the publish reached no subscriber): only the re-check finds it.
  await redis.set(keys.turnCancel('s1', 'm1'), '1', 'EX', 3600);
  const reason = await aborted(turn.signal);
  t.ok(reason instanceof TurnStopped && reason.code === 'cancelled', 'found by the re-check and stopped');
  untrack();
  while (timer() !== null) await new Promise((resolve) => setTimeout(resolve, 10));
  t.pass('its last turn gone, the re-check stops by itself');
  const again = new AbortController();
  t.teardown(stops.track('s2', 'm2', again, Date.now() + 600_000));
  t.not(timer(), null, 'and starts again with the next turn');
});
