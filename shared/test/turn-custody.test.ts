/** The fleet-wide custody of watched turns (TurnCustody) against a real Redis spawned for this file. */
import { randomBytes } from 'node:crypto';
import t from 'tap';
import { spawnRedisServer } from '../src/dev/redis-server.js';
import { createRedisConnection } from '../src/redis/connection.js';
import { RedisKeys } from '../src/redis/redis-keys.js';
import { TurnCustody } from '../src/redis/turn-custody.js';
import type { TurnJobData } from '../src/protocol/schemas.js';

const redisServer = await spawnRedisServer();
const redis = createRedisConnection(redisServer.url, { name: 'turn-custody-test' });
t.teardown(async () => {
  redis.disconnect();
  await redisServer.stop();
});

function fleet(...gatewayIds: string[]): TurnCustody[] {
  const keys = new RedisKeys(`t${randomBytes(4).toString('hex')}`);
  return gatewayIds.map((id) => new TurnCustody(redis, keys, id));
}

function turn(messageId: string): TurnJobData {
  return { session_id: 's1', message_id: messageId, client_id: null, message: 'Is my flight on time?', accepted_at: 1_700_000_000_000 };
}

t.test('a lapsed gateway: its turns go to the first gateway that adopts them, whole and once', async (t) => {
  const [a, b, c] = fleet('gw-a', 'gw-b', 'gw-c');
  const now = 1_000_000;
  t.same(await a!.renew(1000, now), { rejoined: true, lapsed: [] }, 'a newcomer joins the roster');
  t.same(await a!.renew(1000, now + 10), { rejoined: false, lapsed: [] }, 'and renews from then on');
  await a!.hold([turn('m1'), turn('m2'), turn('m3')]);
  await a!.release(['m2']);
  await b!.renew(1000, now);

  t.same((await b!.renew(1000, now + 500)).lapsed, [], 'not lapsed before its lease ends');
  t.same(await b!.adopt('gw-a', now + 500), [], 'and nothing can be adopted from it then');
  const renewal = await b!.renew(5000, now + 2000);
  t.same(renewal.lapsed, ['gw-a'], 'lapsed once its lease ended');

  const adopted = await b!.adopt('gw-a', now + 2000);
  t.same(adopted.map((x) => x.message_id).sort(), ['m1', 'm3'], 'the turns it held, not the one it released');
  t.same(adopted.find((x) => x.message_id === 'm1'), turn('m1'), 'with their job data intact');
  t.same(await c!.adopt('gw-a', now + 2000), [], 'a second adopter gets nothing');
  t.same((await c!.renew(5000, now + 2000)).lapsed, [], 'and the lapsed gateway is off the roster');

  // The adopter now holds them: if it lapses too, they move on again.
  const again = await c!.adopt('gw-b', now + 8000);
  t.same(again.map((x) => x.message_id).sort(), ['m1', 'm3'], 'the adopted turns move on when the adopter lapses');
});

t.test('a gateway that renewed in time keeps its turns', async (t) => {
  const [a, b] = fleet('gw-a', 'gw-b');
  await a!.renew(1000, 1000);
  await a!.hold([turn('m1')]);
  const seenLapsed = await b!.renew(1000, 2500);
  t.same(seenLapsed.lapsed, ['gw-a']);
  await a!.renew(1000, 2600); // it comes back before b acts on what it saw
  t.same(await b!.adopt('gw-a', 2700), [], 'the adoption is refused: its lease is current again');
  t.same((await b!.adopt('gw-a', 3700)).map((x) => x.message_id), ['m1'], 'until it really lapses');
});

t.test('resigning hands the turns over at once; Redis losing the roster makes a gateway rejoin', async (t) => {
  const [a, b] = fleet('gw-a', 'gw-b');
  const now = Date.now();
  await a!.renew(60_000, now);
  await a!.hold([turn('m1')]);
  await a!.resign();
  t.same((await b!.renew(60_000, now + 1)).lapsed, ['gw-a'], 'a resigned gateway is lapsed at once');
  t.same((await b!.adopt('gw-a', now + 1)).map((x) => x.message_id), ['m1']);

  await redis.flushall();
  t.equal((await b!.renew(60_000, now + 2)).rejoined, true, 'after Redis restarted empty the gateway knows to record its turns again');
});

t.test('records that are not turn job data are dropped, not adopted', async (t) => {
  const keys = new RedisKeys(`t${randomBytes(4).toString('hex')}`);
  const [a, b] = [new TurnCustody(redis, keys, 'gw-a'), new TurnCustody(redis, keys, 'gw-b')];
  await a.renew(10, 0);
  await a.hold([turn('m1')]);
  await redis.hset(keys.turnCustody('gw-a').held, 'bogus', '{"session_id": 42}', 'garbled', 'not json');
  const adopted = await b.adopt('gw-a', 100);
  t.same(adopted.map((x) => x.message_id), ['m1']);
  t.same(await redis.hkeys(keys.turnCustody('gw-b').held), ['m1'], 'and the bad records are gone from the adopter');
});

t.test('gateway ids are checked before they name a key', async (t) => {
  const keys = new RedisKeys('t');
  t.throws(() => new TurnCustody(redis, keys, 'gw a/b'), /invalid gateway id/);
  t.throws(() => keys.turnCustody('x'.repeat(129)), /invalid gateway id/);
});

t.test("leases are stamped and judged by the Redis server's clock, not the gateways' own", async (t) => {
  const [a, b] = fleet('gw-a', 'gw-b');
  const realNow = Date.now;
  try {
    // Gateway a's clock runs ten minutes behind: stamped by it, its lease would look long over.
    Date.now = () => realNow() - 600_000;
    await a!.renew(5000);
  } finally {
    Date.now = realNow;
  }
  t.same((await b!.renew(5000)).lapsed, [], 'a gateway with a skewed clock is not taken for dead');
  t.same(await b!.adopt('gw-a'), [], 'and its turns cannot be adopted');
});

t.test('a gateway that resigned passes later turns on: on the roster as lapsed even after it was adopted', async (t) => {
  const [a, b] = fleet('gw-a', 'gw-b');
  await a!.renew(60_000, 1000);
  await a!.hold([turn('m1')]);
  await a!.resign();
  await b!.renew(60_000, 2000);
  t.same((await b!.adopt('gw-a', 2000)).map((x) => x.message_id), ['m1'], 'its record moved');
  // A request in flight when it stopped is accepted now.
  await a!.passOn([turn('m2')]);
  t.same((await b!.renew(60_000, 3000)).lapsed, ['gw-a'], 'back on the roster, lapsed');
  t.same((await b!.adopt('gw-a', 3000)).map((x) => x.message_id), ['m2'], 'and the late turn is adopted too');
});

t.test('a held-turns record expires unless its gateway keeps renewing', async (t) => {
  const keys = new RedisKeys(`t${randomBytes(4).toString('hex')}`);
  const a = new TurnCustody(redis, keys, 'gw-a');
  await a.hold([turn('m1')]);
  await a.renew(5000);
  const ttl = await redis.pttl(keys.turnCustody('gw-a').held);
  t.ok(ttl > 3600_000, `the record lives on while renewed (${Math.round(ttl / 3600_000)} h left), and goes when nobody renews it`);
});

t.test('lapsedAmong: a gateway is known dead when its lease lapsed or it is off the roster, by the server clock', async (t) => {
  const [a, b] = fleet('gw-live', 'gw-lapsing');
  await a!.renew(60_000);
  await b!.renew(1);
  await new Promise((resolve) => setTimeout(resolve, 20));
  t.same(await a!.lapsedAmong(['gw-live', 'gw-lapsing', 'gw-adopted-and-gone']), ['gw-lapsing', 'gw-adopted-and-gone']);
  t.same(await a!.lapsedAmong([]), []);
});
