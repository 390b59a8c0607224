import { createRedisConnection } from '@chat/shared';
import type { BenchStack } from './bench-stack.js';

/** Redis's calls per command name (`INFO commandstats`), summed over the stack's masters. */
export type CommandCounts = Map<string, number>;

/** Calls per unit of work (a second, a turn), by command, with their total. */
export interface CommandRates {
  total: number;
  byCommand: Record<string, number>;
}

/**
 * `INFO commandstats` of the stack's Redis (or each master of its cluster), summed per command.
 * Redis counts the commands a script runs as well as the script's call (EVALSHA): the total is
 * Redis's work, and `evalsha` alone is the scripts' round trips.
 */
export class CommandStatsReader {
  private readonly clients;

  constructor(stack: BenchStack) {
    const running = stack.running;
    const urls = running.spawnedRedis
      ? [running.spawnedRedis.url]
      : (running.spawnedCluster?.nodes ?? []).slice(0, (running.spawnedCluster?.nodes.length ?? 0) / 2).map((node) => node.url);
    this.clients = urls.map((url) => createRedisConnection(url, { name: 'bench-commandstats' }));
  }

  async read(): Promise<CommandCounts> {
    const totals: CommandCounts = new Map();
    for (const client of this.clients) {
      const text = await client.info('commandstats');
      for (const match of text.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) totals.set(match[1]!, (totals.get(match[1]!) ?? 0) + Number(match[2]));
    }
    return totals;
  }

  close(): void {
    for (const client of this.clients) client.disconnect();
  }
}

/** The calls between two readings divided by `units` (seconds, turns), one decimal; the reader's own INFO left out. */
export function commandRates(before: CommandCounts, after: CommandCounts, units: number): CommandRates {
  const byCommand: Record<string, number> = {};
  let total = 0;
  if (units <= 0) return { total: 0, byCommand };
  for (const [name, calls] of after) {
    if (name === 'info') continue;
    const delta = calls - (before.get(name) ?? 0);
    if (delta <= 0) continue;
    byCommand[name] = Math.round((delta / units) * 10) / 10;
    total += delta / units;
  }
  return { total: Math.round(total * 10) / 10, byCommand };
}

/** `evalsha 6, hset 2.1, …`: the largest few commands, largest first. */
export function largestCommands(rates: CommandRates, top = 6): string {
  return Object.entries(rates.byCommand)
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)
    .map(([name, n]) => `${name} ${n}`)
    .join(', ');
}

/** `12.4 (evalsha 6, hset 2.1, …)`: the total and the largest few. */
export function formatCommandRates(rates: CommandRates, top = 6): string {
  return `${rates.total} (${largestCommands(rates, top)})`;
}
