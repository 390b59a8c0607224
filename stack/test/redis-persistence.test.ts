/**
 * The start command's Redis keeps its data (issue 16): a restart of it loses no session, no
 * history and no queued turn. The launcher's layout with a data folder, as `pnpm start` runs it
 * (the tests' own Redis stays throwaway):
 *
 *   client ──▶ gateway ──▶ redis-server --appendonly yes --dir <data>
 *                               │ SIGKILL, then a new redis-server on the same port and folder
 *                               ▼
 *   client ──▶ gateway (reconnected) ──▶ the session, its history, its queued turn: all there
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { spawnRedisServer } from '@chat/shared/dev';
import { eventually } from './helpers/eventually.js';
import { createSession, getJson, postJson } from './helpers/http-client.js';
import { startLocalStack } from './helpers/local-stack.js';

// A four-process stack and a Redis restart: minutes on a loaded 2-core box, past the default limit.
t.setTimeout(600_000);

interface SessionView {
  session_id: string;
  history: Array<{ message_id: string; user: string }>;
  in_progress: Array<{ message_id: string }>;
}

t.test("a restart of the launcher's Redis keeps the session, its history and its queued turn", async (t) => {
  const dataDir = mkdtempSync(join(tmpdir(), 'chat-redis-data-'));
  t.teardown(() => rmSync(dataDir, { recursive: true, force: true }));
  const stack = await startLocalStack(t, { gateways: 1, workers: 1, redisDataDir: dataDir });
  const sessionId = await createSession(stack.httpUrl);
  const answered = await postJson<{ status?: string }>(`${stack.httpUrl}/chat/message?wait=1`, { session_id: sessionId, message: 'Can I bring a guitar on board?', message_id: 'before-restart' });
  t.equal(answered.status, 200, 'answered before the restart');
  // The worker files the answer just after `complete` (which ends the wait): let it, before pausing it.
  await eventually(
    () => getJson<SessionView>(`${stack.httpUrl}/chat/session/${sessionId}`),
    (reply) => reply.body.history.some((entry) => entry.message_id === 'before-restart'),
    20_000,
  );
  // A turn still queued when Redis goes: the worker is paused, so it waits in the queue.
  const worker = stack.workers[0]!.child;
  worker.kill('SIGSTOP');
  t.teardown(() => void worker.kill('SIGCONT'));
  t.equal((await postJson(`${stack.httpUrl}/chat/message`, { session_id: sessionId, message: 'And a cello?', message_id: 'queued-over-restart' })).status, 200);

  // Killed outright: nothing flushed at shutdown. Every acknowledged write was already appended.
  const redis = stack.spawnedRedis!;
  redis.process.kill('SIGKILL');
  await new Promise((resolve) => redis.process.once('exit', resolve));
  const restarted = await spawnRedisServer({ port: redis.port, dataDir });
  t.teardown(() => restarted.stop());

  const view = await eventually(
    () => getJson<SessionView>(`${stack.httpUrl}/chat/session/${sessionId}`).catch(() => null),
    (r) => r?.status === 200,
    60_000,
  );
  t.equal(view?.status, 200, 'the session is found after the restart');
  t.same(view?.body.history.map((entry) => entry.message_id), ['before-restart'], 'with its history');
  t.same(view?.body.in_progress.map((turn) => turn.message_id), ['queued-over-restart'], 'and its queued turn');

  // The queued turn is answered once the worker runs again.
  worker.kill('SIGCONT');
  const after = await eventually(
    () => getJson<SessionView>(`${stack.httpUrl}/chat/session/${sessionId}`),
    (r) => r.body.history.length === 2,
    60_000,
  );
  t.same(after.body.history.map((entry) => entry.message_id), ['before-restart', 'queued-over-restart']);
});

t.test('a data folder is used by one Redis at a time; the tests\' Redis persists nothing', async (t) => {
  const dataDir = mkdtempSync(join(tmpdir(), 'chat-redis-data-'));
  t.teardown(() => rmSync(dataDir, { recursive: true, force: true }));
  const first = await spawnRedisServer({ dataDir });
  t.teardown(() => first.stop());
  await t.rejects(spawnRedisServer({ dataDir }), /already keeps its data in/);
  const throwaway = await spawnRedisServer();
  t.teardown(() => throwaway.stop());
  const { createRedisConnection } = await import('@chat/shared');
  const client = createRedisConnection(throwaway.url, { name: 'persistence-check' });
  t.teardown(() => client.disconnect());
  t.same(await client.config('GET', 'appendonly'), ['appendonly', 'no']);
  t.same(await client.config('GET', 'save'), ['save', '']);
});
