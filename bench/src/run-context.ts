import { startBenchStack, type BenchStack } from './bench-stack.js';
import type { BenchOptions } from './bench-options.js';
import { ClientPool } from './client/client-pool.js';

/** Stops what is running now (a stack and its load clients); used on SIGINT / SIGTERM. */
const activeCleanups = new Set<() => Promise<void>>();

export async function stopEverything(): Promise<void> {
  await Promise.allSettled([...activeCleanups].map((cleanup) => cleanup()));
}

export interface StackLayout {
  gateways: number;
  workers: number;
  env: Record<string, string>;
  /** Let SIGUSR2 run a full GC in the stack's processes. */
  gcOnSignal?: boolean;
  /** Preload the runtime probe (GC pauses, event-loop delay per role in each window). */
  runtimeProbe?: boolean;
}

/** What every scenario gets: the options, a logger, and a way to run on a fresh stack. */
export class RunContext {
  /** Every stack started in this run, for the report. */
  readonly stacks: Array<{ gateways: number; workers: number; env: Record<string, string> }> = [];
  /** pid → role of every stack process started (to name the CPU profiles). */
  readonly roles = new Map<number, string>();
  /** Most load-client processes used at once. */
  maxClients = 0;

  constructor(
    readonly options: BenchOptions,
    readonly log: (line: string) => void,
  ) {}

  /** Measurement window of a step, ms: --duration, else the scenario's default. */
  durationMs(defaultS: number): number {
    return (this.options.durationS ?? defaultS) * 1000;
  }

  get warmupMs(): number {
    return this.options.warmupS * 1000;
  }

  /**
   * Starts a stack and `clients` load-client processes, runs `body`, then stops both whatever
   * happened. `processes()` lists every process to sample CPU of, clients included.
   */
  async withStack<T>(
    layout: StackLayout,
    clients: number,
    body: (stack: BenchStack, pool: ClientPool, processes: () => Array<{ role: string; pid: number }>) => Promise<T>,
  ): Promise<T> {
    this.log(`  starting ${layout.gateways} gateway(s) × ${layout.workers} worker(s), ${clients} load client(s)…`);
    const stack = await startBenchStack({
      gateways: layout.gateways,
      workers: layout.workers,
      // --stack-env last: an A/B run's knob wins over the scenario's setting.
      env: { ...layout.env, ...this.options.stackEnv },
      logs: this.options.logs,
      cpuProfDir: this.options.cpuProfDir ?? undefined,
      gcOnSignal: layout.gcOnSignal ?? false,
      runtimeProbe: layout.runtimeProbe ?? false,
      redisCluster: this.options.redisCluster,
      contextSources: this.options.contextSources,
    });
    this.stacks.push({ gateways: layout.gateways, workers: layout.workers, env: stack.env });
    for (const p of stack.processes) this.roles.set(p.pid, p.role);
    let pool: ClientPool | null = null;
    const cleanup = async () => {
      await pool?.stop();
      await stack.stop();
    };
    activeCleanups.add(cleanup);
    try {
      pool = await ClientPool.start(clients);
      this.maxClients = Math.max(this.maxClients, clients);
      const clientPids = pool.pids;
      const processes = () => [...stack.processes, ...clientPids.map((pid) => ({ role: 'load clients', pid }))];
      return await body(stack, pool, processes);
    } finally {
      activeCleanups.delete(cleanup);
      await cleanup();
    }
  }
}
