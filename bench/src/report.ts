import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { RunReferences } from './calibration.js';
import type { ServiceBudget } from './cpu-budget.js';
import type { FloorFigures } from './floor/floor.js';
import type { MachineInfo, Versions } from './machine.js';

/** One target of the issue, checked against what a scenario measured. */
export interface TargetCheck {
  name: string;
  target: string;
  measured: string;
  /** null when the run was too small to judge (e.g. fewer sessions than the target names). */
  met: boolean | null;
  /**
   * With `--floor`: whether the floor (bare processes on the same transports, measured in the
   * same run) meets the target itself. False: nothing built on these transports meets it on this
   * box, so a miss there says more about the box than about the service. Absent without
   * `--floor`; null when the floor has no figure for it.
   */
  floorMet?: boolean | null;
}

export interface Table {
  columns: string[];
  rows: string[][];
}

/** What one scenario reports: its parameters, the stack it ran on, its steps, the verdicts. */
export interface ScenarioReport {
  scenario: string;
  title: string;
  parameters: Record<string, unknown>;
  /** Layout and environment of the stack(s) the scenario ran on. */
  stacks: Array<{ gateways: number; workers: number; env: Record<string, string> }>;
  /** Machine-readable figures per step. */
  steps: Array<Record<string, unknown>>;
  table: Table;
  targets: TargetCheck[];
  notes: string[];
  /** turn-rate with --floor: the floor at its best step's concurrency (overhead keeps one per step). */
  floor?: FloorFigures;
  /** turn-rate: the CPU per turn its target leaves the service on this box (cpu-budget.ts), at the best step's model and client cost per turn. */
  serviceBudget?: ServiceBudget;
  /** turn-rate with --floor: the same at the model's and clients' cost per turn in the floor's run (a higher rate: the larger bound). */
  serviceBudgetAtFloorCosts?: ServiceBudget;
}

export interface BenchReport {
  tool: '@chat/bench';
  startedAt: string;
  finishedAt: string;
  /** The command line, to run it again. */
  command: string;
  machine: MachineInfo;
  /** Measured in this run: what a rate here is to be divided by before it is compared with another box's. */
  references: RunReferences;
  versions: Versions;
  loadClients: { processes: number; sourceAddresses: string[] };
  scenarios: ScenarioReport[];
  /** Top functions by self time per profiled process, when run with --cpu-prof. */
  profiles?: Array<{ file: string; role: string; summary: string[] }>;
}

/** Renders a table with aligned columns (numbers right-aligned). */
export function renderTable(table: Table): string {
  const widths = table.columns.map((column, i) => Math.max(column.length, ...table.rows.map((row) => (row[i] ?? '').length)));
  const numeric = table.columns.map((_, i) => table.rows.every((row) => /^[-\d.,%× ]*$/.test(row[i] ?? '')));
  const line = (cells: string[]) =>
    cells.map((cell, i) => (numeric[i] ? cell.padStart(widths[i]!) : cell.padEnd(widths[i]!))).join('  ').trimEnd();
  return [line(table.columns), widths.map((w) => '-'.repeat(w)).join('  '), ...table.rows.map(line)].join('\n');
}

export function renderScenario(report: ScenarioReport): string {
  const lines = [`## ${report.title}`, '', renderTable(report.table), ''];
  if (report.targets.length > 0) {
    lines.push('targets:');
    for (const t of report.targets) {
      const verdict = t.met === null ? 'n/a ' : t.met ? 'MET ' : 'MISS';
      lines.push(`  [${verdict}] ${t.name}: target ${t.target}; measured ${t.measured}`);
      if (t.floorMet === true) lines.push('         the floor meets it: within reach on this box');
      // "Too" only beside a miss: a service that met what its floor missed this run met it by noise or the floor's.
      if (t.floorMet === false) lines.push(t.met === false ? '         the floor misses it too: out of reach on this box for anything on these transports' : '         the floor misses it in this run');
    }
    lines.push('');
  }
  for (const note of report.notes) lines.push(`note: ${note}`);
  if (report.notes.length > 0) lines.push('');
  return lines.join('\n');
}

/** The run's references, one line (they head the printed tables). */
export function renderReferences(references: RunReferences): string {
  const loop = references.cpuLoop;
  const drift = loop.end ? ` → ${fmtInt(loop.end.opsPerSecond)} at the end (${Math.round((loop.end.opsPerSecond / loop.start.opsPerSecond - 1) * 100)} %)` : '';
  const publish = references.redisPublish ? `; redis-benchmark PUBLISH ${fmtInt(references.redisPublish.opsPerSecond)} ops/s` : '';
  const trip = references.roundTrip
    ? `; Redis round trip p50 ${references.roundTrip.awake.p50Ms} ms awake, ${references.roundTrip.afterIdle.p50Ms} ms after ${references.roundTrip.afterIdle.idleMs} ms idle`
    : '';
  return `references: CPU loop ${fmtInt(loop.start.opsPerSecond)} ops/s${drift}${publish}${trip}\n`;
}

/** Writes the report as `bench-<scenario names>.json` in `dir`; returns the path. */
export function writeReport(dir: string, report: BenchReport): string {
  mkdirSync(dir, { recursive: true });
  const path = join(dir, `bench-${report.scenarios.map((s) => s.scenario).join('+') || 'empty'}.json`);
  writeFileSync(path, `${JSON.stringify(report, null, 2)}\n`);
  return path;
}

/** `p50 / p95 / p99` of a percentile set, ms. */
export function fmtPct(p: { p50: number | null; p95: number | null; p99: number | null }): string {
  const f = (v: number | null) => (v === null ? '-' : v.toFixed(1));
  return `${f(p.p50)} / ${f(p.p95)} / ${f(p.p99)}`;
}

export function fmtInt(value: number): string {
  return Math.round(value).toLocaleString('en-US');
}
