/**
 * The `redis-server` the start command, the bench and the tests spawn: it is ready only when the
 * server answering on its port is that child, and a port taken by another process is reported as
 * such (with a free port picked for it, a new one is tried) instead of passing for a server.
 */
import { createServer, type Server } from 'node:net';
import t, { type Test } from 'tap';
import { Redis } from 'ioredis';
import { spawnRedisServer } from '../src/dev/redis-server.js';

/** A TCP server on a port the OS picks (bound at once: no race), answering like a Redis of pid 1. */
async function impostor(t: Test): Promise<number> {
  const server: Server = createServer((socket) => {
    const info = '# Server\r\nprocess_id:1\r\n\r\n# Persistence\r\nloading:0\r\n';
    socket.on('data', () => socket.write(`$${Buffer.byteLength(info)}\r\n${info}\r\n`));
    socket.on('error', () => {});
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const address = server.address();
  return typeof address === 'object' && address ? address.port : 0;
}

t.test('a spawned server is the one that answers on its port, and stops cleanly', async (t) => {
  const server = await spawnRedisServer();
  const client = new Redis(server.port, '127.0.0.1', { lazyConnect: true, maxRetriesPerRequest: 0 });
  await client.connect();
  const info = await client.info('server');
  t.match(info, new RegExp(`process_id:${server.process.pid}\\r?\\n`), "the server on the port is the spawned child");
  t.equal(await client.set('k', 'v'), 'OK');
  client.disconnect();
  await server.stop();
  t.ok(server.process.exitCode !== null || server.process.signalCode !== null, 'the child exited');
  await server.stop(); // safe twice
});

t.test('a port another process holds is refused as taken, not mistaken for the server', async (t) => {
  const port = await impostor(t);
  const started = Date.now();
  const err = await spawnRedisServer({ port }).then(
    () => null,
    (e: unknown) => e,
  );
  t.type(err, Error, 'the spawn fails');
  t.match((err as Error).message, new RegExp(`port ${port} was taken`), 'and says the port was taken');
  t.ok(Date.now() - started < 10_000, 'without waiting for the readiness timeout');
});

t.test("a cluster node whose bus port is taken fails as such, not as its own port taken (its caller picks another bus port)", async (t) => {
  const busPort = await impostor(t);
  const err = await spawnRedisServer({ extraArgs: ['--cluster-enabled', 'yes', '--cluster-config-file', 'nodes.conf', '--cluster-port', String(busPort)] }).then(
    () => null,
    (e: unknown) => e,
  );
  t.type(err, Error, 'the spawn fails');
  t.match((err as Error).message, /exited before it was ready/, 'as an exit before ready');
  t.match((err as Error).message, new RegExp(`Failed listening on port ${busPort} \\(cluster\\)`), "with Redis's own words for it");
  t.notMatch((err as Error).message, /was taken before redis-server could bind it/, 'not retried as a taken main port');
});
