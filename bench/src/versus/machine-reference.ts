import { spawnRedisServer } from '@chat/shared/dev';
import { redisPublishBenchmark, type PublishReference } from '../redis-benchmark.js';

/**
 * What this box does on fixed work, measured in the same run as the comparison, so its figures
 * can be read on another box: scale a rate by the ratio of the references, or compare CPU per
 * turn directly (it travels better than a rate).
 */
export interface MachineReference {
  /** `redis-benchmark` PUBLISH/s on a fresh redis-server (one core's worth of Redis event loop). */
  publish: PublishReference | { error: string };
  /** A fixed single-threaded JavaScript workload: best of three rounds. */
  cpuLoop: CpuLoopReference;
}

export interface CpuLoopReference {
  workload: string;
  /** Best of the rounds, ms. */
  bestMs: number;
  roundsMs: number[];
  /** Workload items per second at the best round. */
  opsPerSecond: number;
}

/** Items of the CPU loop: each serialises and parses one frame-sized envelope. */
const CPU_LOOP_ITEMS = 200_000;

/** The CPU calibration loop: JSON work the size of a chat frame, the kind both services do per frame. */
export function cpuCalibrationLoop(rounds = 3): CpuLoopReference {
  const roundsMs: number[] = [];
  let sink = 0;
  for (let round = 0; round < rounds; round++) {
    const started = performance.now();
    for (let i = 0; i < CPU_LOOP_ITEMS; i++) {
      const text = JSON.stringify({ type: 'chunk', content: `token ${i} of the answer`, session_id: 'calibration', seq: i, timestamp: 1_700_000_000_000 + i });
      sink += (JSON.parse(text) as { seq: number }).seq & 1;
    }
    roundsMs.push(Math.round((performance.now() - started) * 10) / 10);
  }
  if (sink < 0) throw new Error('unreachable: keeps the loop from being optimised away');
  const bestMs = Math.min(...roundsMs);
  return {
    workload: `${CPU_LOOP_ITEMS} × JSON.stringify + JSON.parse of a chunk-sized frame, one thread`,
    bestMs,
    roundsMs,
    opsPerSecond: Math.round((CPU_LOOP_ITEMS / bestMs) * 1000),
  };
}

/** Both references: PUBLISH/s on a Redis of its own (then stopped), and the CPU loop. */
export async function measureMachineReference(): Promise<MachineReference> {
  let publish: MachineReference['publish'];
  const redis = await spawnRedisServer();
  try {
    // A payload the size of one chunk frame of either service.
    publish = await redisPublishBenchmark(redis.port, 200, 100_000);
  } catch (err) {
    publish = { error: err instanceof Error ? err.message : String(err) };
  } finally {
    await redis.stop();
  }
  return { publish, cpuLoop: cpuCalibrationLoop() };
}
