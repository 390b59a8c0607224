/**
 * Driving a test's local Redis Cluster from outside its clients: `redis-cli` against one node
 * (INFO, CONFIG SET, CLUSTER FAILOVER), and waiting for a condition rather than a fixed time.
 */
import { spawnSync } from 'node:child_process';

/** What `redis-cli -p <port> <args>` printed ('' when it failed). */
export function redisCli(port: number, ...args: string[]): string {
  return spawnSync('redis-cli', ['-p', String(port), ...args], { encoding: 'utf8' }).stdout ?? '';
}

/** Resolves once `check()` holds (polled every 50 ms); rejects naming `what` after `timeoutMs`. */
export async function until(what: string, check: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
