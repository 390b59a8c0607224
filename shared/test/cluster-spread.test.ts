/**
 * Sessions spread evenly over a cluster's masters (issue 12): a session's keys hash by its tag
 * `{s:<sessionId>}`, and `redis-cli --cluster create` gives 3 masters equal slot ranges. Turns
 * spread evenly over the queue shards too (`queueShardOf`). 3 000 random session ids, as the
 * gateway makes them.
 */
import { randomUUID } from 'node:crypto';
import t from 'tap';
import { queueShardOf } from '../src/queue.js';
import { RedisKeys, clusterSlotOf } from '../src/redis/redis-keys.js';

const SESSIONS = 3000;
const keys = new RedisKeys('chat');
const ids = Array.from({ length: SESSIONS }, () => randomUUID());

t.test('session keys spread over 3 masters within a few per cent of a third each', async (t) => {
  // The slot ranges `redis-cli --cluster create` assigns to 3 masters.
  const ranges = [
    [0, 5460],
    [5461, 10922],
    [10923, 16383],
  ] as const;
  const perMaster = [0, 0, 0];
  let channelsApart = 0;
  for (const id of ids) {
    const slot = clusterSlotOf(keys.session(id, 'session'));
    if (clusterSlotOf(keys.sessionChannel(id)) !== slot) channelsApart++;
    perMaster[ranges.findIndex(([from, to]) => slot >= from && slot <= to)]!++;
  }
  t.equal(channelsApart, 0, "every session's channel is in its keys' slot (sharded pub/sub from its master)");
  for (const [master, count] of perMaster.entries()) {
    t.ok(count > SESSIONS * 0.29 && count < SESSIONS * 0.38, `master ${master}: ${count} of ${SESSIONS} sessions`);
  }
});

t.test('turns spread over the queue shards, and a session always maps to the same shard', async (t) => {
  for (const shards of [2, 3, 8]) {
    const counts = new Array<number>(shards).fill(0);
    for (const id of ids) counts[queueShardOf(id, shards)]!++;
    const expected = SESSIONS / shards;
    t.ok(counts.every((n) => n > expected * 0.8 && n < expected * 1.2), `${shards} shards: ${counts.join(', ')}`);
    t.equal(queueShardOf(ids[0]!, shards), queueShardOf(ids[0]!, shards), 'stable');
  }
  t.equal(queueShardOf(ids[0]!, 1), 0, 'one shard: always shard 0');
});
