import { fork, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { LocalStack, type RunningStack } from '@chat/stack';
import type { BenchOptions } from './bench-options.js';
import type { ContextSourceReady } from './context-source-server.js';
import { childProcesses } from './proc-stats.js';

/**
 * The per-client abuse limits of the service, raised for benchmarks: every benchmark socket
 * comes from a handful of loopback addresses and chats far more than a person would, so with
 * the defaults the limiter, not the pipeline, would be measured. The offline model has no
 * provider quota to protect.
 */
export const BENCH_LIMITS_ENV: Readonly<Record<string, string>> = Object.freeze({
  TURNS_PER_MINUTE: '1000000000',
  WS_CONNECTS_PER_MINUTE_PER_ADDRESS: '1000000000',
  SESSIONS_PER_MINUTE_PER_ADDRESS: '1000000000',
  LLM_REQUESTS_PER_MINUTE: '1000000000',
  LLM_TOKENS_PER_MINUTE: '1000000000',
});

/**
 * The preload hooks, built (process-hooks.js): the stack's processes run plain `node`, which
 * cannot load TypeScript, also when the benchmark itself runs from its sources (the tests).
 */
const PROCESS_HOOKS = new URL(import.meta.url.endsWith('.ts') ? '../dist/process-hooks.js' : './process-hooks.js', import.meta.url).href;

export interface BenchStackOptions {
  gateways: number;
  workers: number;
  /** Scenario settings (offline model pacing, worker concurrency, ...), on top of the bench defaults. */
  env: Record<string, string>;
  /** Forward the parts' log lines. Default: false. */
  logs?: boolean;
  /** Write a V8 CPU profile of every gateway, worker and the offline model into this directory. */
  cpuProfDir?: string | undefined;
  /** Let SIGUSR2 run a full GC in the stack's processes (the capacity scenario's memory reading). */
  gcOnSignal?: boolean;
  /** Preload the runtime probe (GC pauses, event-loop delay) into the Node processes: `runtimeDir`. */
  runtimeProbe?: boolean;
  /** On a local Redis Cluster (3 masters + 3 replicas, 3 queue shards) instead of one Redis. */
  redisCluster?: boolean;
  /** The workers' context sources (see BenchOptions.contextSources); default the bundled data in process. */
  contextSources?: BenchOptions['contextSources'];
}

/** Role and pid of each process of the stack (what the CPU meter and the memory figures read). */
export interface StackProcess {
  /** gateway, worker, offline-llm, redis, context-sources; on a cluster `redis master <port>` and `redis replicas`. */
  role: string;
  pid: number;
}

export interface BenchStack {
  running: RunningStack;
  /** The environment every part got (reported, so a run can be reproduced). */
  env: Record<string, string>;
  processes: StackProcess[];
  gatewayPids: number[];
  /** Where the runtime probe writes its readings (`RuntimeMeter`); null without the probe. */
  runtimeDir: string | null;
  stop(): Promise<void>;
}

/**
 * The service as `pnpm start` runs it (LocalStack: its own Redis, the offline model, N gateways
 * on one port, M workers, each a process running its built dist/ entry point), with the
 * benchmark's settings. Logs at warn, so nothing is logged per turn.
 */
export async function startBenchStack(options: BenchStackOptions): Promise<BenchStack> {
  const sources = options.contextSources?.kind === 'http' ? await startContextSources(options.contextSources.latencyMs) : null;
  try {
    return await startServiceStack(options, sources);
  } catch (err) {
    sources?.child.kill();
    throw err;
  }
}

/** The stack itself, pointed at `sources` when there are any; its `stop` stops them too, whatever else fails. */
async function startServiceStack(options: BenchStackOptions, sources: { url: string; child: ChildProcess } | null): Promise<BenchStack> {
  const env: Record<string, string> = {
    HOST: '127.0.0.1',
    // 0: LocalStack picks the port and starts the first gateway again on another if its pick was
    // taken before the gateway bound it (a port picked here and bound later failed the smoke test
    // on a loaded box: "could not listen"). The URLs come from what it bound.
    PORT: '0',
    WORKER_METRICS_PORT: '0',
    LOG_LEVEL: 'warn',
    ...BENCH_LIMITS_ENV,
    // Node flags for the stack's processes only (a GC setting, a preload), reported with the rest.
    ...(process.env.BENCH_NODE_OPTIONS ? { NODE_OPTIONS: process.env.BENCH_NODE_OPTIONS } : {}),
    ...options.env,
    ...(sources ? { RETRIEVAL_URL: sources.url, AGENT_URL: sources.url } : {}),
  };
  const childEnv: NodeJS.ProcessEnv = { PATH: process.env.PATH, ...env };
  if (options.cpuProfDir) {
    // `--cpu-prof` is refused in NODE_OPTIONS; the hook drives the same V8 profiler from inside.
    mkdirSync(options.cpuProfDir, { recursive: true });
    childEnv.BENCH_CPU_PROF_DIR = resolve(options.cpuProfDir);
  }
  if (options.gcOnSignal) childEnv.BENCH_GC_ON_SIGUSR2 = '1';
  const runtimeDir = options.runtimeProbe ? mkdtempSync(join(tmpdir(), 'bench-runtime-')) : null;
  if (runtimeDir) childEnv.BENCH_RUNTIME_DIR = runtimeDir;
  // The hooks beside BENCH_NODE_OPTIONS, not instead of them (an A/B run of a GC flag reads the probe).
  if (options.cpuProfDir || options.gcOnSignal || runtimeDir) childEnv.NODE_OPTIONS = [env.NODE_OPTIONS, `--import=${PROCESS_HOOKS}`].filter(Boolean).join(' ');
  const stack = new LocalStack({
    gateways: options.gateways,
    workers: options.workers,
    env: childEnv,
    forwardOutput: options.logs ?? false,
    redisCluster: options.redisCluster ?? false,
  });
  const running: RunningStack = await stack.start();
  const processes: StackProcess[] = [
    ...running.gateways.map((g) => ({ role: 'gateway' as const, pid: g.child.pid ?? 0 })),
    ...running.workers.map((w) => ({ role: 'worker' as const, pid: w.child.pid ?? 0 })),
  ];
  const offline = childProcesses().find((child) => child.cmdline.includes('offline-llm/dist/main.js'));
  if (offline) processes.push({ role: 'offline-llm', pid: offline.pid });
  if (sources?.child.pid) processes.push({ role: 'context-sources', pid: sources.child.pid });
  if (running.spawnedRedis?.process.pid) processes.push({ role: 'redis', pid: running.spawnedRedis.process.pid });
  if (running.spawnedCluster) {
    // Each master apart (its shard's CPU), the replicas together (they only apply the masters' writes).
    const created = running.spawnedCluster.nodes;
    const masters = created.slice(0, created.length / 2);
    for (const node of created) {
      if (!node.process.pid) continue;
      processes.push({ role: masters.includes(node) ? `redis master ${node.port}` : 'redis replicas', pid: node.process.pid });
    }
  }
  return {
    running,
    env,
    processes,
    gatewayPids: processes.filter((p) => p.role === 'gateway').map((p) => p.pid),
    runtimeDir,
    stop: async () => {
      try {
        await stack.stop();
      } finally {
        sources?.child.kill();
        if (runtimeDir) rmSync(runtimeDir, { recursive: true, force: true });
      }
    },
  };
}

/** The context-source server as a child process (so its CPU is its own role); resolves once it listens. */
async function startContextSources(latencyMs: number): Promise<{ url: string; child: ChildProcess }> {
  const script = new URL(import.meta.url.endsWith('.ts') ? '../dist/context-source-server.js' : './context-source-server.js', import.meta.url);
  const child = fork(script, [String(latencyMs)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const ready = once(child, 'message') as Promise<[ContextSourceReady]>;
  const exited = once(child, 'exit').then(() => {
    throw new Error('the context-source server exited before it listened');
  });
  const [{ port }] = await Promise.race([ready, exited]);
  // Neither the child nor its IPC channel keeps the benchmark running: it is killed at `stop`,
  // and leaves by itself when its parent goes (its channel disconnects).
  child.channel?.unref();
  child.unref();
  return { url: `http://127.0.0.1:${port}`, child };
}
