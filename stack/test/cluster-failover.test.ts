/**
 * The service on a Redis Cluster when a master dies (issue 12), on real processes: a local
 * cluster (3 masters + 3 replicas), the offline model, a gateway and two workers as
 * `pnpm start --redis-cluster` runs them, the turns spread over 3 queue shards.
 *
 *   SIGKILL a master mid-run → its replica is promoted; gateway and workers go on by themselves;
 *                              every turn ends per the invariant on every socket of its session,
 *                              and new turns on every queue shard are answered afterwards
 *
 * The invariant (helpers/turn-ledger.ts): chunks in order with no gap and no duplicate, then
 * exactly one `complete` equal to them, or exactly one `error` with a catalogue code.
 */
import { spawnSync } from 'node:child_process';
import t from 'tap';
import { eventually } from './helpers/eventually.js';
import { assertEveryTurnEnded, assertServesEveryShard, ownerPort, role, startClusterStack, startTurns } from './helpers/cluster-faults.js';
import { exitIfStillAlive } from './helpers/exit-guard.js';

t.test('SIGKILL a master mid-run: its replica takes over, and every turn ends per the invariant on every socket', async (t) => {
  const stack = await startClusterStack(t);
  const sessions = await startTurns(stack, 'failover');
  t.teardown(() => sessions.forEach((s) => s.sockets.forEach((socket) => socket.close())));
  // The master of the first session: its frames, turn log and history go through the victim.
  const victimPort = ownerPort(stack.cluster, `{s:${sessions[0]!.sessionId}}`);
  const victim = stack.cluster.node(victimPort)!;
  t.equal(role(victimPort), 'master', 'the victim is a master');
  // Sessions whose keys live elsewhere lose nothing and must be answered in full.
  const unaffected = sessions.filter((s) => ownerPort(stack.cluster, `{s:${s.sessionId}}`) !== victimPort);
  victim.process.kill('SIGKILL');
  // Its replica is promoted (cluster-node-timeout 2 s, then an election).
  const survivors = stack.cluster.nodes.filter((n) => n !== victim).map((n) => n.port);
  await eventually(
    () => spawnSync('redis-cli', ['-p', String(survivors[0]), 'cluster', 'info'], { encoding: 'utf8' }).stdout ?? '',
    (info) => info.includes('cluster_state:ok') && ownerPort(stack.cluster, `{s:${sessions[0]!.sessionId}}`) !== victimPort,
    30_000,
  );
  t.pass('a replica was promoted and the cluster serves every slot again');
  await assertEveryTurnEnded(t, sessions, 60_000, unaffected);
  await assertServesEveryShard(t, stack);
});

// Ends its root test itself, with a guard for a handle left open (see exitIfStillAlive).
t.teardown(exitIfStillAlive);
t.end();
