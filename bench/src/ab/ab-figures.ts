import type { BenchReport } from '../report.js';

/**
 * The figures an A/B run compares, read from two bench reports of the same command: one made on
 * the base commit, one on the checkout. A box's speed drifts from run to run, so one pair says
 * little; the summary gives each figure's median and range on each side over all pairs, and in
 * how many pairs the checkout did better (a sign test, which drift affects least).
 */

/** A figure: where it sits in a step, and which way is better. */
interface FigureSpec {
  name: string;
  path: readonly string[];
  better: 'higher' | 'lower';
}

/** What an A/B compares, where a step has it (turn-rate, overhead, relay, idle …). */
export const AB_FIGURES: readonly FigureSpec[] = [
  { name: 'turns/s', path: ['turnsPerSecond'], better: 'higher' },
  { name: 'tokens/s', path: ['tokensPerSecond'], better: 'higher' },
  { name: 'service ms CPU/turn', path: ['cpuPerTurnMs', 'service'], better: 'lower' },
  { name: 'worker ms CPU/turn', path: ['cpuPerTurnMs', 'worker'], better: 'lower' },
  { name: 'gateway ms CPU/turn', path: ['cpuPerTurnMs', 'gateway'], better: 'lower' },
  { name: 'redis ms CPU/turn', path: ['cpuPerTurnMs', 'redis'], better: 'lower' },
  { name: 'service µs CPU/token', path: ['cpuPerTokenUs', 'service'], better: 'lower' },
  { name: 'added 1st token p50 ms', path: ['addedFirstMs', 'p50'], better: 'lower' },
  { name: 'added 1st token p99 ms', path: ['addedFirstMs', 'p99'], better: 'lower' },
  { name: 'worker GC pause ms/s', path: ['runtime', 'worker', 'gcPauseMsPerS'], better: 'lower' },
  { name: 'service CPU ms/s', path: ['cpuMsPerSecond', 'service'], better: 'lower' },
];

/** One step's figures in one run, keyed by the step it is (scenario, layout, size). */
export interface StepFigures {
  step: string;
  figures: Record<string, number>;
}

/** One run's steps, and the CPU-loop reference measured at its start (ops/s). */
export interface RunFigures {
  reference: number | null;
  steps: StepFigures[];
}

/** Reads the figures of every step of a report. */
export function runFigures(report: BenchReport): RunFigures {
  const steps: StepFigures[] = [];
  for (const scenario of report.scenarios) {
    for (const step of scenario.steps) {
      // Relay, capacity and scale-out steps keep their chat window's figures under `figures`.
      const source = step.figures !== null && typeof step.figures === 'object' ? { ...step, ...(step.figures as Record<string, unknown>) } : step;
      const figures: Record<string, number> = {};
      for (const spec of AB_FIGURES) {
        const value = spec.path.at(-1) === 'redis' ? redisFigure(at(source, spec.path.slice(0, -1))) : at(source, spec.path);
        if (typeof value === 'number' && Number.isFinite(value)) figures[spec.name] = value;
      }
      // Two steps that nothing above tells apart stay apart by their order.
      const key = stepKey(scenario.scenario, step);
      const seen = steps.filter((s) => s.step === key || s.step.startsWith(`${key} #`)).length;
      steps.push({ step: seen === 0 ? key : `${key} #${seen + 1}`, figures });
    }
  }
  return { reference: report.references?.cpuLoop?.start?.opsPerSecond ?? null, steps };
}

/** `turn-rate 1×2 c=400`, `overhead sessions=100`, `relay 2×2 streams=1000`, `idle idle (nothing connected)`: what tells a scenario's steps apart. */
function stepKey(scenario: string, step: Record<string, unknown>): string {
  const parts = [scenario];
  if (typeof step.kind === 'string') parts.push(step.kind);
  if (typeof step.layout === 'string') parts.push(step.layout);
  else if (typeof step.gateways === 'number' && typeof step.workers === 'number') parts.push(`${step.gateways}×${step.workers}`);
  else if (typeof step.gateways === 'number') parts.push(`gateways=${step.gateways}`);
  for (const size of ['sessions', 'streams', 'sockets', 'chatting', 'concurrency'] as const) {
    if (typeof step[size] === 'number') parts.push(size === 'concurrency' ? `c=${step[size]}` : `${size}=${step[size]}`);
  }
  if (typeof step.label === 'string') parts.push(step.label);
  return parts.join(' ');
}

/**
 * Redis's share in a by-role figure: `redis` on one Redis; on a cluster each master is a role of
 * its own (`redis master <port>`) beside `redis replicas`, and Redis's share is their sum.
 */
function redisFigure(byRole: unknown): number | undefined {
  if (byRole === null || typeof byRole !== 'object') return undefined;
  const roles = byRole as Record<string, unknown>;
  if (typeof roles.redis === 'number') return roles.redis;
  const parts = Object.entries(roles).filter(([role, value]) => role.startsWith('redis ') && typeof value === 'number');
  if (parts.length === 0) return undefined;
  return Math.round(parts.reduce((sum, [, value]) => sum + (value as number), 0) * 1000) / 1000;
}

function at(value: unknown, path: readonly string[]): unknown {
  let current = value;
  for (const key of path) {
    if (current === null || typeof current !== 'object') return undefined;
    current = (current as Record<string, unknown>)[key];
  }
  return current;
}

/** One figure of one step over all pairs. */
export interface FigureComparison {
  step: string;
  figure: string;
  better: 'higher' | 'lower';
  base: Spread;
  head: Spread;
  /** Pairs where the checkout's figure was better, worse, or equal (pairs that have the figure on both sides). */
  pairs: { better: number; worse: number; equal: number };
}

export interface Spread {
  median: number;
  min: number;
  max: number;
}

export interface AbSummary {
  pairs: number;
  reference: { base: Spread | null; head: Spread | null };
  figures: FigureComparison[];
}

/** Compares the runs pair by pair (`base[i]` with `head[i]`). */
export function summarise(base: readonly RunFigures[], head: readonly RunFigures[]): AbSummary {
  if (base.length !== head.length) throw new Error(`unpaired runs: ${base.length} base, ${head.length} head`);
  const figures: FigureComparison[] = [];
  const steps = [...new Set([...base, ...head].flatMap((run) => run.steps.map((s) => s.step)))];
  for (const step of steps) {
    for (const spec of AB_FIGURES) {
      const pairs: Array<[number, number]> = [];
      for (let i = 0; i < base.length; i++) {
        const b = base[i]!.steps.find((s) => s.step === step)?.figures[spec.name];
        const h = head[i]!.steps.find((s) => s.step === step)?.figures[spec.name];
        if (b !== undefined && h !== undefined) pairs.push([b, h]);
      }
      if (pairs.length === 0) continue;
      const count = { better: 0, worse: 0, equal: 0 };
      for (const [b, h] of pairs) {
        if (h === b) count.equal++;
        else if ((h > b) === (spec.better === 'higher')) count.better++;
        else count.worse++;
      }
      figures.push({
        step,
        figure: spec.name,
        better: spec.better,
        base: spread(pairs.map(([b]) => b))!,
        head: spread(pairs.map(([, h]) => h))!,
        pairs: count,
      });
    }
  }
  const references = (runs: readonly RunFigures[]) => spread(runs.map((r) => r.reference).filter((r): r is number => r !== null));
  return { pairs: base.length, reference: { base: references(base), head: references(head) }, figures };
}

function spread(values: readonly number[]): Spread | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  const median = sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
  return { median, min: sorted[0]!, max: sorted.at(-1)! };
}

/** The summary as a table, one line per step and figure. */
export function formatSummary(summary: AbSummary, baseLabel: string, headLabel: string): string {
  const fmt = (s: Spread) => `${num(s.median)} (${num(s.min)}–${num(s.max)})`;
  const lines = [`${summary.pairs} pairs; base = ${baseLabel}, head = ${headLabel}; median (min–max)`];
  if (summary.figures.length === 0) lines.push('no figure was found in both sides of any pair (is the scenario one with figures?)');
  const ref = summary.reference;
  if (ref.base && ref.head) lines.push(`CPU-loop reference ops/s: base ${fmt(ref.base)}, head ${fmt(ref.head)}`);
  const rows = summary.figures.map((f) => [f.step, f.figure, fmt(f.base), fmt(f.head), `${f.pairs.better} better, ${f.pairs.worse} worse, ${f.pairs.equal} equal (${f.better} is better)`]);
  const header = ['step', 'figure', 'base', 'head', 'head in each pair'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  for (const row of [header, ...rows]) lines.push(row.map((cell, i) => cell.padEnd(widths[i]!)).join('  ').trimEnd());
  return lines.join('\n');
}

function num(value: number): string {
  return Math.abs(value) >= 100 ? value.toFixed(0) : Math.abs(value) >= 10 ? value.toFixed(1) : value.toFixed(2);
}
