import { spawn } from 'node:child_process';

/** Bytes of a typical chunk envelope on the channel (9-byte header + a chunk frame of a few tokens). */
export const CHUNK_ENVELOPE_BYTES = 180;

export interface PublishReference {
  /** The exact command run. */
  command: string;
  opsPerSecond: number;
  p50Ms: number | null;
  p99Ms: number | null;
}

/**
 * `redis-benchmark`'s PUBLISH rate on a Redis: the physical reference for the relay scenario.
 * redis-benchmark 7 has no built-in `-t publish` test, so PUBLISH is given as its command, with
 * a payload the size of a real chunk envelope. 50 clients, no pipelining (like the workers'
 * publishers, which send one PUBLISH per chunk on one connection each).
 */
export function redisPublishBenchmark(port: number, payloadBytes: number, requests = 200_000, pipeline = 1): Promise<PublishReference> {
  const payload = 'x'.repeat(payloadBytes);
  const args = ['-h', '127.0.0.1', '-p', String(port), '-c', '50', '-n', String(requests), '-P', String(pipeline), '--csv', 'publish', 'chat:{s:bench-reference}:events', payload];
  const command = `redis-benchmark ${args.slice(0, -1).join(' ')} <${payloadBytes}-byte payload>`;
  return new Promise((resolve, reject) => {
    const child = spawn('redis-benchmark', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (part: Buffer) => (out += part.toString()));
    child.on('error', reject);
    child.on('exit', (code) => {
      // "test","rps","avg_latency_ms","min_latency_ms","p50_latency_ms","p95_latency_ms","p99_latency_ms","max_latency_ms"
      const line = out.split('\n').find((l) => l.startsWith('"publish'));
      const cells = line ? [...line.matchAll(/"([^"]*)"/g)].map((m) => m[1]!) : [];
      const rps = Number(cells[1]);
      if (code !== 0 || !Number.isFinite(rps)) {
        reject(new Error(`redis-benchmark failed (code ${code}): ${out.slice(0, 300)}`));
        return;
      }
      resolve({ command, opsPerSecond: Math.round(rps), p50Ms: Number(cells[4]) || null, p99Ms: Number(cells[6]) || null });
    });
  });
}
