import { createHash } from 'node:crypto';
import { createRedisConnection } from '@chat/shared';
import { spawnRedisServer } from '@chat/shared/dev';
import { CHUNK_ENVELOPE_BYTES, redisPublishBenchmark, type PublishReference } from './redis-benchmark.js';

/**
 * References measured in the same run as the figures they sit beside, so that a rate read on
 * one box can be compared with a rate read on another: the same code gave 1 148–1 320 turns/s on
 * one box of this kind and 681–823 on another (issue 17). A figure divided by its reference, or
 * given as CPU per turn and per token, travels; a bare rate does not.
 */
export interface RunReferences {
  /**
   * A fixed single-threaded CPU loop in the bench process (what the service's processes do per
   * frame, in miniature: serialise a chunk-sized envelope, parse it back, hash it), ops/s. Taken
   * at the start and at the end of the run: a gap between the two says the box's speed drifted.
   */
  cpuLoop: { start: CpuLoopReading; end: CpuLoopReading | null };
  /** `redis-benchmark` PUBLISH/s (chunk-sized payload, 50 clients) on a throwaway Redis, at the start. */
  redisPublish: PublishReference | null;
  /**
   * One Redis round trip from the bench process (PING on the throwaway Redis), back to back and
   * after the two processes slept: the floor of every step of the first-token path, which is a
   * chain of such hops through processes that were idle (at one session) or busy (at many).
   */
  roundTrip: RoundTripReference | null;
}

export interface RoundTripReference {
  /** PINGs one after another (both processes awake), ms. */
  awake: { p50Ms: number; p99Ms: number; samples: number };
  /** PINGs each after `idleMs` of sleep (both processes woken by it), ms. */
  afterIdle: { p50Ms: number; p99Ms: number; samples: number; idleMs: number };
}

export interface CpuLoopReading {
  opsPerSecond: number;
  /** What one op is, to run it again by hand. */
  op: string;
  at: string;
}

/** One op: the envelope of a streamed chunk through JSON both ways and SHA-256. */
const OP_DESCRIPTION = 'JSON.stringify + JSON.parse of a chunk frame (~170 bytes), then SHA-256 of it (node:crypto)';

const SAMPLE_FRAME = {
  type: 'chunk',
  session_id: '7d0c3f0e-5a1b-4c55-9d0e-2b8f4e6a9c11',
  message_id: 'bench-calibration',
  seq: 0,
  content: ' Your flight NZ123 leaves Auckland at 09:40',
};

/**
 * Runs the fixed loop for about `durationMs` (after a short warm-up so the JIT has settled) and
 * returns ops/s. The result feeds a sink so the work cannot be optimised away.
 */
export function measureCpuLoop(durationMs = 1500): CpuLoopReading {
  let sink = 0;
  const op = (i: number): void => {
    SAMPLE_FRAME.seq = i;
    const text = JSON.stringify(SAMPLE_FRAME);
    const parsed = JSON.parse(text) as { seq: number };
    sink ^= parsed.seq ^ createHash('sha256').update(text).digest()[0]!;
  };
  for (let i = 0; i < 20_000; i++) op(i);
  let ops = 0;
  const started = performance.now();
  let elapsed = 0;
  while (elapsed < durationMs) {
    for (let i = 0; i < 1000; i++) op(ops + i);
    ops += 1000;
    elapsed = performance.now() - started;
  }
  if (sink === Number.MIN_SAFE_INTEGER) process.stdout.write('');
  return { opsPerSecond: Math.round((ops / elapsed) * 1000), op: OP_DESCRIPTION, at: new Date().toISOString() };
}

/**
 * The references taken before the first scenario. `tiny` (the smoke test) skips the Redis one,
 * which alone would take longer than the whole tiny run.
 */
export async function startReferences(options: { tiny: boolean }): Promise<RunReferences> {
  const start = measureCpuLoop(options.tiny ? 200 : 1500);
  let redisPublish: PublishReference | null = null;
  let roundTrip: RoundTripReference | null = null;
  if (!options.tiny) {
    const redis = await spawnRedisServer();
    try {
      roundTrip = await measureRoundTrip(redis.url);
      redisPublish = await redisPublishBenchmark(redis.port, CHUNK_ENVELOPE_BYTES, 100_000);
    } finally {
      await redis.stop();
    }
  }
  return { cpuLoop: { start, end: null }, redisPublish, roundTrip };
}

/**
 * The round trip reference (see `RunReferences.roundTrip`): 2 000 PINGs back to back, 100 after
 * 20 ms of sleep each, on the service's own kind of connection (`createRedisConnection`, whose
 * write waits for the end of its loop turn), so a hop here is a hop of the service.
 */
export async function measureRoundTrip(url: string, idleMs = 20): Promise<RoundTripReference> {
  const redis = createRedisConnection(url, { name: 'bench-round-trip' });
  try {
    await redis.ping();
    const timed = async (): Promise<number> => {
      const started = performance.now();
      await redis.ping();
      return performance.now() - started;
    };
    const awake: number[] = [];
    for (let i = 0; i < 2000; i++) awake.push(await timed());
    const afterIdle: number[] = [];
    for (let i = 0; i < 100; i++) {
      await new Promise((resolve) => setTimeout(resolve, idleMs));
      afterIdle.push(await timed());
    }
    return { awake: { ...percentiles(awake), samples: awake.length }, afterIdle: { ...percentiles(afterIdle), samples: afterIdle.length, idleMs } };
  } finally {
    redis.disconnect();
  }
}

function percentiles(samples: number[]): { p50Ms: number; p99Ms: number } {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (q: number) => Math.round(sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]! * 1000) / 1000;
  return { p50Ms: at(0.5), p99Ms: at(0.99) };
}
