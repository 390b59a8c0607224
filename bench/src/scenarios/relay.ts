import { sourceAddresses } from '../bench-options.js';
import { formatCpu, runChatWindow, type WindowFigures } from '../chat-window.js';
import { CHUNK_ENVELOPE_BYTES, redisPublishBenchmark, type PublishReference } from '../redis-benchmark.js';
import { fmtInt, type ScenarioReport, type TargetCheck } from '../report.js';
import type { RunContext } from '../run-context.js';
import { failureNotes } from './overhead.js';


export interface RelayRun {
  gateways: number;
  workers: number;
  streams: number;
  figures: WindowFigures;
  reference: PublishReference;
  referencePipelined: PublishReference;
  /** Delivered tokens/s ÷ PUBLISH ops/s (no pipelining). */
  tokenRatio: number;
  /** Delivered chunk frames/s ÷ PUBLISH ops/s. */
  frameRatio: number;
}

/**
 * One relay measurement on a fresh stack: the offline model with no delay and `tokens`-token
 * answers, `streams` sessions each asking again as soon as an answer completes; tokens and
 * chunk frames per second that reach the clients. Then, on the same Redis, redis-benchmark's
 * PUBLISH rate as the physical reference.
 */
export async function measureRelay(ctx: RunContext, gateways: number, workers: number): Promise<RelayRun> {
  const { streams, relayTokens } = ctx.options;
  const env = {
    OFFLINE_LLM_TTFT_MS: '0',
    OFFLINE_LLM_TOKENS_PER_SECOND: '0',
    OFFLINE_LLM_ANSWER_TOKENS: String(relayTokens),
    OFFLINE_LLM_FILL: 'true',
    LLM_MAX_TOKENS: String(Math.max(800, relayTokens)),
    WORKER_CONCURRENCY: String(Math.max(200, streams)),
  };
  const clients = ctx.options.clients ?? 2;
  const measureMs = ctx.durationMs(15);
  return ctx.withStack({ gateways, workers, env }, clients, async (stack, pool, processes) => {
    const open = await pool.open({ httpUrl: stack.running.httpUrl, wsUrl: stack.running.wsUrl, sockets: streams, localAddresses: sourceAddresses(1) });
    ctx.log(`  relay ${gateways}×${workers}: ${open.opened}/${streams} streams; ${measureMs / 1000} s window…`);
    const figures = await runChatWindow(pool, processes, { chatting: open.opened, warmupMs: ctx.warmupMs, measureMs, staggerMs: 500 });
    figures.failed += open.failed;
    figures.sent += open.failed;
    await pool.closeSockets();
    // The reference: PUBLISH/s of one Redis (on a cluster, of one master: a shard's own ceiling).
    const port = stack.running.spawnedRedis?.port ?? stack.running.spawnedCluster?.nodes[0]?.port;
    if (!port) throw new Error('the relay scenario needs the Redis the stack spawned');
    ctx.log(`    ${fmtInt(figures.tokensPerSecond)} tokens/s, ${fmtInt(figures.chunkFramesPerSecond)} frames/s; redis-benchmark PUBLISH…`);
    // Tiny runs (the smoke test) take a shorter reference; real runs a few seconds' worth.
    const tiny = measureMs < 5000;
    const reference = await redisPublishBenchmark(port, CHUNK_ENVELOPE_BYTES, tiny ? 20_000 : 200_000);
    const referencePipelined = await redisPublishBenchmark(port, CHUNK_ENVELOPE_BYTES, tiny ? 100_000 : 1_000_000, 16);
    return {
      gateways,
      workers,
      streams,
      figures,
      reference,
      referencePipelined,
      tokenRatio: Math.round((figures.tokensPerSecond / reference.opsPerSecond) * 1000) / 1000,
      frameRatio: Math.round((figures.chunkFramesPerSecond / reference.opsPerSecond) * 1000) / 1000,
    };
  });
}

export function relayRow(run: RelayRun): string[] {
  return [
    `${run.gateways}×${run.workers}`,
    fmtInt(run.streams),
    run.figures.successPercent.toFixed(2),
    fmtInt(run.figures.tokensPerSecond),
    fmtInt(run.figures.chunkFramesPerSecond),
    fmtInt(run.reference.opsPerSecond),
    `${Math.round(run.tokenRatio * 100)} %`,
    `${Math.round(run.frameRatio * 100)} %`,
    formatCpu(run.figures.cpuPercent),
  ];
}

export const RELAY_COLUMNS = ['layout', 'streams', 'success %', 'tokens/s', 'chunk frames/s', 'PUBLISH ops/s', 'tokens ÷ PUBLISH', 'frames ÷ PUBLISH', 'cpu % by role (other = not the benchmark)'];

/** Scenario 2, relay: see `measureRelay`. */
export async function runRelay(ctx: RunContext): Promise<ScenarioReport> {
  const run = await measureRelay(ctx, ctx.options.gateways, ctx.options.workers);
  const targets: TargetCheck[] = [
    {
      name: 'relay throughput vs redis-benchmark PUBLISH on the same Redis',
      target: '≥ 50 %',
      measured: `${Math.round(run.tokenRatio * 100)} % in tokens (${fmtInt(run.figures.tokensPerSecond)} tokens/s ÷ ${fmtInt(run.reference.opsPerSecond)} PUBLISH/s); ${Math.round(run.frameRatio * 100)} % in frames`,
      met: run.tokenRatio >= 0.5,
    },
  ];
  return {
    scenario: 'relay',
    title: `relay: ${run.streams} streams of ${ctx.options.relayTokens}-token answers, no model delay`,
    parameters: { streams: run.streams, tokensPerAnswer: ctx.options.relayTokens, measureMs: run.figures.windowMs, reference: run.reference.command, referencePipelined: run.referencePipelined.command },
    stacks: [],
    steps: [{ ...run }],
    table: { columns: RELAY_COLUMNS, rows: [relayRow(run)] },
    targets,
    notes: [
      `PUBLISH reference: ${run.reference.command} → ${fmtInt(run.reference.opsPerSecond)} ops/s (p50 ${run.reference.p50Ms} ms); pipelined -P 16: ${fmtInt(run.referencePipelined.opsPerSecond)} ops/s`,
      'tokens/s = chunk characters received in the window × tokens per character of the completed answers',
      ...failureNotes([{ label: 'relay', failures: run.figures.failures, warmup: run.figures.warmupFailures }]),
    ],
  };
}
