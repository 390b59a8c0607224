import { parseArgs } from 'node:util';

export const SCENARIOS = ['overhead', 'relay', 'capacity', 'turn-rate', 'scale-out', 'idle'] as const;
export type ScenarioName = (typeof SCENARIOS)[number];

/** Everything `pnpm bench` can be told; each field's default is the issue's full size. */
export interface BenchOptions {
  /** Scenarios to run, in order. Default: all six. */
  scenarios: ScenarioName[];
  /** overhead: concurrent sessions per step. Default: 1, 100, 1000, 5000. */
  sessions: number[];
  /** relay: concurrent streams. Default: 200. */
  streams: number;
  /** relay: tokens per answer. Default: 1000. */
  relayTokens: number;
  /** capacity: sockets on one gateway, per step. Default: 10 000, 19 000. */
  sockets: number[];
  /** capacity: sockets across `multiGateways` gateways. Default: 50 000 (0 = skip). */
  multiSockets: number;
  /** capacity: gateways of the multi-gateway step. Default: 3. */
  multiGateways: number;
  /** capacity: share of sockets that chat, %. Default: 1. */
  chattingPercent: number;
  /** turn-rate: concurrent chatting sessions per step. Default: 50, 100, 200, 400, 800. */
  concurrency: number[];
  /** turn-rate: tokens per answer. Default: 20. */
  turnTokens: number;
  /** Measurement window of each step, s. Default: per scenario (overhead 15 or 5 ms per session if longer, relay 15, capacity 20, turn-rate 10, idle 30 per step). */
  durationS: number | null;
  /** Warm-up before each window, s. Default: 3. */
  warmupS: number;
  /** Load-client processes. Default: 2 (capacity: enough for ≤ 12 500 sockets each). */
  clients: number | null;
  /** Source addresses 127.0.0.2… the sockets bind to. Default: one per 20 000 sockets, at least 1. */
  addresses: number | null;
  /** Gateways × workers of overhead and relay; gateways of turn-rate. Default: 1 × 1. */
  gateways: number;
  workers: number;
  /** turn-rate: one ladder per worker count. Default: 1 and 2 (one worker per core here). */
  turnRateWorkers: number[];
  /** Where the JSON report and the chart go. Default: reports/bench (git-ignored). */
  outDir: string;
  /** Profile the stack's processes with `--cpu-prof` into this directory. */
  cpuProfDir: string | null;
  /** Forward the stack's log lines. */
  logs: boolean;
  /** Run every stack on a local Redis Cluster (3 masters + 3 replicas, 3 queue shards). */
  redisCluster: boolean;
  /**
   * overhead: WORKER_CONCURRENCY of the stack. null (default): the scenario's own, every session
   * at once (the largest step + 100); 'service': the service's default, as `pnpm start` runs it.
   */
  workerConcurrency: number | 'service' | null;
  /** Settings for every stack of the run, over the scenario's own (`--stack-env NAME=VALUE`, repeatable): A/B runs of a knob. */
  stackEnv: Record<string, string>;
  /**
   * Where the workers' context comes from: the bundled data in process (default), or the same
   * data over HTTP (RETRIEVAL_URL, AGENT_URL: a child process, `context-source-server.ts`) with
   * `latencyMs` of service time per answer.
   */
  contextSources: { kind: 'embedded' } | { kind: 'http'; latencyMs: number };
  /**
   * overhead and turn-rate: after the stack, the floor of this box (bench/src/floor) at the same
   * sessions and pacing: bare processes that only carry a question to the model and its answer
   * back over the service's transports, beside the service's figures. Default: off (it adds
   * windows: two per overhead step, one per turn-rate layout).
   */
  floor: boolean;
}

export const HELP = `pnpm bench [options]    (build first: pnpm build)

  --scenario LIST        overhead,relay,capacity,turn-rate,scale-out,idle or all (default all)
  --sessions LIST        overhead: concurrent sessions per step, run in this order on one stack
                         (default 1,100,1000,5000: 1 session is a fresh stack's first turns;
                         100,1 measures 1 session on a warm stack)
  --streams N            relay: concurrent streams (default 200)
  --relay-tokens N       relay: tokens per answer (default 1000)
  --sockets LIST         capacity: sockets on one gateway per step (default 10000,19000)
  --multi-sockets N      capacity: sockets across several gateways (default 50000; 0 skips)
  --multi-gateways N     capacity: gateways of that step (default 3)
  --chatting-percent P   capacity: share of sockets that chat (default 1)
  --concurrency LIST     turn-rate: chatting sessions per step (default 50,100,200,400,800)
  --turn-tokens N        turn-rate: tokens per answer (default 20)
  --duration S           measurement window per step, seconds (default per scenario; overhead: 15 or 5 ms per session; idle: 30)
  --warmup S             warm-up before each window, seconds (default 3)
  --clients N            load-client processes (default 2; capacity: one per 12 500 sockets)
  --addresses N          source addresses 127.0.0.2… (default one per 20 000 sockets)
  --gateways N --workers N   layout of overhead and relay, gateways of turn-rate (default 1 and 1)
  --turn-rate-workers LIST   turn-rate: worker processes, one ladder each (default 1,2: one per core)
  --out DIR              JSON report and chart directory (default reports/bench, git-ignored;
                         --out docs/charts to update the committed figures on purpose)
  --cpu-prof DIR         profile gateways, workers and the offline model (node --cpu-prof)
  --redis-cluster        run on a local Redis Cluster (3 masters + 3 replicas, 3 queue shards)
  --stack-env NAME=VALUE  a setting for every stack of the run, over the scenario's own
                         (repeatable), e.g. --stack-env CHUNK_WINDOW_MS=33 for an A/B run
  --worker-concurrency N|service   overhead: WORKER_CONCURRENCY (default: the largest step + 100;
                         service = the service's own default, as pnpm start runs it)
  --context-sources embedded|http   the workers' context sources: the bundled data in
                         process (default), or the same data served over HTTP as RETRIEVAL_URL
                         and AGENT_URL by a child process (its CPU reported as context-sources)
  --context-latency-ms N  with http: service time each source answer takes (default 0)
  --floor                overhead, turn-rate: then the floor of this box at the same sessions and
                         pacing: bare processes that only carry questions to the model and answers
                         back (WebSocket, a Redis list, sharded pub/sub), and the model's streams
                         read alone; time added to the first token, CPU per token and per turn
                         (one bare gateway, one bare worker, one Redis, whatever the layout)
  --logs                 forward the stack's log lines
  --help
`;

export class UsageError extends Error {}

/**
 * Where reports go unless --out says otherwise: a git-ignored folder, so a run never overwrites
 * the committed figures in docs/charts (that takes `--out docs/charts`, on purpose).
 */
export const DEFAULT_OUT_DIR = ['reports', 'bench'] as const;

export function parseBenchArgs(argv: string[], defaultOutDir: string): BenchOptions {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: {
      scenario: { type: 'string', default: 'all' },
      sessions: { type: 'string', default: '1,100,1000,5000' },
      streams: { type: 'string', default: '200' },
      'relay-tokens': { type: 'string', default: '1000' },
      sockets: { type: 'string', default: '10000,19000' },
      'multi-sockets': { type: 'string', default: '50000' },
      'multi-gateways': { type: 'string', default: '3' },
      'chatting-percent': { type: 'string', default: '1' },
      concurrency: { type: 'string', default: '50,100,200,400,800' },
      'turn-tokens': { type: 'string', default: '20' },
      duration: { type: 'string' },
      warmup: { type: 'string', default: '3' },
      clients: { type: 'string' },
      addresses: { type: 'string' },
      gateways: { type: 'string', default: '1' },
      workers: { type: 'string', default: '1' },
      'turn-rate-workers': { type: 'string', default: '1,2' },
      out: { type: 'string', default: defaultOutDir },
      'cpu-prof': { type: 'string' },
      logs: { type: 'boolean', default: false },
      floor: { type: 'boolean', default: false },
      'redis-cluster': { type: 'boolean', default: false },
      'worker-concurrency': { type: 'string' },
      'stack-env': { type: 'string', multiple: true, default: [] },
      'context-sources': { type: 'string', default: 'embedded' },
      'context-latency-ms': { type: 'string' },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) throw new UsageError(HELP);
  const scenarioList = values.scenario === 'all' ? [...SCENARIOS] : values.scenario.split(',').map((s) => s.trim());
  for (const s of scenarioList) {
    if (!(SCENARIOS as readonly string[]).includes(s)) throw new UsageError(`unknown scenario "${s}"; pick from ${SCENARIOS.join(', ')} or all`);
  }
  return {
    scenarios: scenarioList as ScenarioName[],
    sessions: intList('--sessions', values.sessions, 1),
    streams: int('--streams', values.streams, 1),
    relayTokens: int('--relay-tokens', values['relay-tokens'], 1),
    sockets: intList('--sockets', values.sockets, 1),
    multiSockets: int('--multi-sockets', values['multi-sockets'], 0),
    multiGateways: int('--multi-gateways', values['multi-gateways'], 1),
    chattingPercent: num('--chatting-percent', values['chatting-percent'], 0, 100),
    concurrency: intList('--concurrency', values.concurrency, 1),
    turnTokens: int('--turn-tokens', values['turn-tokens'], 1),
    durationS: values.duration === undefined ? null : num('--duration', values.duration, 0.5, 3600),
    warmupS: num('--warmup', values.warmup, 0, 600),
    clients: values.clients === undefined ? null : int('--clients', values.clients, 1),
    addresses: values.addresses === undefined ? null : int('--addresses', values.addresses, 1, 250),
    gateways: int('--gateways', values.gateways, 1),
    workers: int('--workers', values.workers, 1),
    turnRateWorkers: intList('--turn-rate-workers', values['turn-rate-workers'], 1),
    outDir: values.out,
    cpuProfDir: values['cpu-prof'] ?? null,
    logs: values.logs,
    redisCluster: values['redis-cluster'],
    workerConcurrency:
      values['worker-concurrency'] === undefined ? null : values['worker-concurrency'] === 'service' ? 'service' : int('--worker-concurrency', values['worker-concurrency'], 1, 10_000),
    stackEnv: stackEnv(values['stack-env']),
    contextSources: contextSources(values['context-sources'], values['context-latency-ms']),
    floor: values.floor,
  };
}

function contextSources(kind: string, latency: string | undefined): BenchOptions['contextSources'] {
  if (kind === 'embedded') {
    if (latency !== undefined) throw new UsageError('--context-latency-ms goes with --context-sources http');
    return { kind: 'embedded' };
  }
  if (kind === 'http') return { kind: 'http', latencyMs: latency === undefined ? 0 : num('--context-latency-ms', latency, 0, 60_000) };
  throw new UsageError(`--context-sources takes embedded or http (got "${kind}")`);
}

/** A whole number from a flag's text, in range, or a UsageError naming the flag. */
export function int(flag: string, text: string, min: number, max = Number.MAX_SAFE_INTEGER): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value < min || value > max) throw new UsageError(`${flag} takes a whole number from ${min}${max < Number.MAX_SAFE_INTEGER ? ` to ${max}` : ''} (got "${text}")`);
  return value;
}

/** A number from a flag's text, in range, or a UsageError naming the flag. */
export function num(flag: string, text: string, min: number, max: number): number {
  const value = Number(text);
  if (!Number.isFinite(value) || value < min || value > max) throw new UsageError(`${flag} takes a number from ${min} to ${max} (got "${text}")`);
  return value;
}

function intList(flag: string, text: string, min: number): number[] {
  const list = text.split(',').map((part) => int(flag, part.trim(), min));
  if (list.length === 0) throw new UsageError(`${flag} needs at least one value`);
  return list;
}

function stackEnv(pairs: string[]): Record<string, string> {
  const env: Record<string, string> = {};
  for (const pair of pairs) {
    const match = /^([A-Z][A-Z0-9_]*)=(.*)$/.exec(pair);
    if (!match) throw new UsageError(`--stack-env takes NAME=VALUE with an upper-case NAME (got "${pair}")`);
    env[match[1]!] = match[2]!;
  }
  return env;
}

/** Source addresses 127.0.0.2, 127.0.0.3, … (127.0.0.1 is left to everything else). */
export function sourceAddresses(count: number): string[] {
  return Array.from({ length: count }, (_, i) => `127.0.0.${2 + i}`);
}
