/**
 * The service on a Redis Cluster while a live session's slot moves to another master (issue 12):
 * the documented resharding steps (CLUSTER SETSLOT IMPORTING/MIGRATING, MIGRATE, SETSLOT NODE)
 * on one slot while its session streams. Its frames follow it to the new master (the gateway
 * subscribes its channel there and fills the hole from the turn log), nothing is lost or
 * repeated on any socket, and the session goes on on its new master.
 */
import t from 'tap';
import { clusterSlotOf, createRedisConnection, type Redis } from '@chat/shared';
import { postJson } from './helpers/http-client.js';
import { assertEveryTurnEnded, ownerPort, role, startClusterStack, startTurns } from './helpers/cluster-faults.js';
import { exitIfStillAlive } from './helpers/exit-guard.js';

t.test('a live session moves to another master (slot migration): its frames follow it, nothing is lost', async (t) => {
  const stack = await startClusterStack(t);
  const sessions = await startTurns(stack, 'migrate');
  t.teardown(() => sessions.forEach((s) => s.sockets.forEach((socket) => socket.close())));
  const tag = `{s:${sessions[0]!.sessionId}}`;
  const slot = clusterSlotOf(tag);
  const sourcePort = ownerPort(stack.cluster, tag);
  const masters = stack.cluster.nodes.map((n) => n.port).filter((port) => role(port) === 'master');
  const targetPort = masters.find((port) => port !== sourcePort)!;
  const source: Redis = createRedisConnection(`redis://127.0.0.1:${sourcePort}`, { name: 'test-migrate-source' });
  const target: Redis = createRedisConnection(`redis://127.0.0.1:${targetPort}`, { name: 'test-migrate-target' });
  t.teardown(() => {
    source.disconnect();
    target.disconnect();
  });
  const sourceId = String(await source.call('CLUSTER', 'MYID'));
  const targetId = String(await target.call('CLUSTER', 'MYID'));
  // The documented resharding steps (what `redis-cli --cluster reshard` does), one slot.
  await target.call('CLUSTER', 'SETSLOT', slot, 'IMPORTING', sourceId);
  await source.call('CLUSTER', 'SETSLOT', slot, 'MIGRATING', targetId);
  let moved = 0;
  for (;;) {
    const keys = (await source.call('CLUSTER', 'GETKEYSINSLOT', slot, 100)) as string[];
    if (keys.length === 0) break;
    await source.call('MIGRATE', '127.0.0.1', targetPort, '', 0, 5000, 'REPLACE', 'KEYS', ...keys);
    moved += keys.length;
  }
  for (const port of masters) {
    const node = createRedisConnection(`redis://127.0.0.1:${port}`, { name: 'test-migrate-setslot' });
    await node.call('CLUSTER', 'SETSLOT', slot, 'NODE', targetId);
    node.disconnect();
  }
  t.ok(moved > 0, `the session's keys moved (${moved})`);
  t.equal(ownerPort(stack.cluster, tag), targetPort, 'the slot is served by the other master');
  await assertEveryTurnEnded(t, sessions, 60_000);
  // The moved session goes on on its new master.
  const again = await postJson<{ status: string }>(`${stack.httpUrl}/chat/message?wait=1`, { session_id: sessions[0]!.sessionId, message: 'And for a second bag?' });
  t.equal(again.body.status, 'completed', 'the moved session answers a new turn');
});

// Ends its root test itself, with a guard for a handle left open (see exitIfStillAlive).
t.teardown(exitIfStillAlive);
t.end();
