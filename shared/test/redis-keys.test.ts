/** Keys: one builder, Cluster hash tags per session, ids validated before they become keys. */
import t from 'tap';
import { RedisKeys } from '../src/redis/redis-keys.js';

const hashTag = (key: string) => /\{([^}]*)\}/.exec(key)?.[1];

t.test('every key and the channel of a session share one hash tag', async (t) => {
  const keys = new RedisKeys('chat');
  const all = [
    keys.session('abc', 'session'),
    keys.session('abc', 'history'),
    keys.session('abc', 'turns'),
    keys.session('abc', 'sockets'),
    keys.turnDone('abc', 'm-1'),
    keys.sessionChannel('abc'),
  ];
  t.same(new Set(all.map(hashTag)), new Set(['s:abc']));
  t.equal(keys.session('abc', 'history'), 'chat:{s:abc}:history');
  t.equal(keys.turnDone('abc', 'm-1'), 'chat:{s:abc}:done:m-1');
  t.equal(new Set(all).size, all.length, 'no two collide');
});

t.test('BullMQ has its own hash-tagged prefix', async (t) => {
  const keys = new RedisKeys('chat');
  t.equal(keys.bullPrefix, '{chat-bull}');
  t.notOk(keys.bullPrefix.startsWith('chat:'), 'not under the service prefix');
});

t.test('ids that could escape their key are refused', async (t) => {
  const keys = new RedisKeys('chat');
  for (const bad of ['', 'a}b', 'a{b', 'a:b', 'a b', 'x'.repeat(65), '../etc']) {
    t.throws(() => keys.session(bad, 'session'), /invalid session id/, JSON.stringify(bad));
  }
  t.throws(() => new RedisKeys('bad prefix'), /invalid Redis key prefix/);
});
