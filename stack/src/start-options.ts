import { parseArgs } from 'node:util';

/** What `pnpm start` was asked to do. */
export type StartCommand =
  | { kind: 'run'; gateways: number; workers: number; redisCluster: boolean }
  | { kind: 'help'; text: string }
  /** A bad command line: print `message` and the usage, exit 2. */
  | { kind: 'error'; message: string; text: string };

export const START_USAGE = `Usage: pnpm start [options]

Starts the whole service on this machine: Redis (spawned unless REDIS_URL is set), the offline
model (unless OPENAI_API_KEY or OPENAI_BASE_URL is set), the gateways and the workers. Ctrl-C
stops everything.

Options:
  --gateways N   gateway processes sharing the port (default 1)
  --workers N    worker processes (default 1)
  --redis-cluster
                 spawn a local Redis Cluster (3 masters + 3 replicas, 3 queue shards) instead
                 of one Redis, unless REDIS_CLUSTER_NODES is set (see docs/redis-cluster.md)
  -h, --help     show this help

Configuration comes from the environment (PORT, HOST, REDIS_URL, OPENAI_API_KEY, ...):
see docs/configuration.md. Examples:
  pnpm start --gateways 3 --workers 4
  PORT=9000 OPENAI_API_KEY=sk-... pnpm start
`;

/**
 * Reads the launcher's command line. Kept apart from main.ts so options can be added (and
 * tested) without touching the start-up code. Never throws: a bad line is a `kind: 'error'`.
 */
export function parseStartOptions(argv: readonly string[]): StartCommand {
  let values: { gateways?: string; workers?: string; help?: boolean; 'redis-cluster'?: boolean };
  try {
    ({ values } = parseArgs({
      args: [...argv],
      options: {
        gateways: { type: 'string', default: '1' },
        workers: { type: 'string', default: '1' },
        help: { type: 'boolean', short: 'h', default: false },
        'redis-cluster': { type: 'boolean', default: false },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (err) {
    // parseArgs says what was wrong (unknown option, missing value) in one line.
    return { kind: 'error', message: err instanceof Error ? err.message : String(err), text: START_USAGE };
  }
  if (values.help) return { kind: 'help', text: START_USAGE };
  const gateways = Number(values.gateways);
  const workers = Number(values.workers);
  if (!Number.isInteger(gateways) || gateways < 1 || !Number.isInteger(workers) || workers < 1) {
    return { kind: 'error', message: '--gateways and --workers take whole numbers ≥ 1', text: START_USAGE };
  }
  return { kind: 'run', gateways, workers, redisCluster: values['redis-cluster'] ?? false };
}
