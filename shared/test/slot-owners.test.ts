/**
 * The slot map as owner ranges, read from a `CLUSTER SLOTS` reply range by range
 * (`slotOwnersOf`), is the string a client's own map gives slot by slot (`slotOwners`): the
 * watch compares the two to decide which clients re-read their map, so any difference would
 * make every client re-read every 2 s, and a missed one would leave a client on a stale map.
 */
import t from 'tap';
import type { Cluster } from 'ioredis';
import { slotOwners, slotOwnersOf } from '../src/redis/slot-map-watch.js';

type Reply = Array<[number, number, [string, number, string?]]>;

/** A client whose map is what `reply` says, slot by slot (as ioredis builds it). */
function clientOf(reply: Reply): Cluster {
  const slots: string[][] = [];
  for (const [start, end, [host, port]] of reply) for (let slot = start; slot <= end; slot++) slots[slot] = [`${host}:${port}`];
  return { slots } as unknown as Cluster;
}

const A: [string, number] = ['127.0.0.1', 7000];
const B: [string, number] = ['127.0.0.1', 7001];
const C: [string, number] = ['127.0.0.1', 7002];

const cases: Array<[string, Reply]> = [
  ['three masters, in order', [[0, 5460, A], [5461, 10922, B], [10923, 16383, C]]],
  ['out of order, as CLUSTER SLOTS may list them', [[10923, 16383, C], [0, 5460, A], [5461, 10922, B]]],
  ['one master, its slots in several neighbouring ranges (merged)', [[0, 100, A], [101, 16383, A]]],
  ['a migrated slot in the middle of a range', [[0, 99, A], [100, 100, B], [101, 5460, A], [5461, 16383, B]]],
  ['slots with no owner at the start, middle and end', [[10, 5000, A], [6000, 16000, B]]],
  ['no slots at all', []],
  ['a single slot', [[16383, 16383, C]]],
];

for (const [name, reply] of cases) {
  t.test(name, async (t) => {
    t.equal(slotOwnersOf(reply), slotOwners(clientOf(reply)));
  });
}

t.test('a reply no healthy cluster gives (overlapping ranges) is read slot by slot, the later range winning', async (t) => {
  const reply: Reply = [[0, 9000, A], [5000, 16383, B]];
  t.equal(slotOwnersOf(reply), slotOwners(clientOf(reply)));
  t.equal(slotOwnersOf(reply), `0-4999 127.0.0.1:7000;5000-16383 127.0.0.1:7001`);
});

t.test('a replica in the reply does not change the owner', async (t) => {
  const reply = [[0, 16383, ['127.0.0.1', 7000, 'id'], ['127.0.0.1', 7003, 'id2']]] as unknown as Reply;
  t.equal(slotOwnersOf(reply), '0-16383 127.0.0.1:7000');
});
