import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { MachineInfo, Versions } from '../machine.js';
import { renderTable, type Table } from '../report.js';
import type { MachineReference } from './machine-reference.js';
import type { SideReport, UnavailableSide } from './versus-side.js';
import type { StepSettings } from './versus-step.js';

/**
 * The report's file name: versus-original.json for a run of both sides, versus-original-<side>.json
 * for a run of one (so a search run per side, each within the box's time slot, keeps both files).
 */
export function reportFileName(sides: readonly string[]): string {
  return sides.length === 1 ? `versus-original-${sides[0]}.json` : 'versus-original.json';
}

export interface VersusReport {
  tool: '@chat/bench versus-original';
  startedAt: string;
  finishedAt: string;
  /** The command line, to run it again. */
  command: string;
  machine: MachineInfo;
  versions: Versions;
  /** Fixed work measured in the same run, so the figures can be read on another box. */
  reference: MachineReference;
  settings: StepSettings & { questions: string[]; clients: number; model: Record<string, string>; search: { min: number; max: number; timeCapMs: number } | { sessions: number[] } };
  /** The original as found: its Python packages and a digest of its source files. */
  original: { serviceDir: string; versions: Record<string, string>; sourceDigest: string } | null;
  sides: Array<SideReport | UnavailableSide>;
}

export function writeVersusReport(dir: string, report: VersusReport): string {
  mkdirSync(dir, { recursive: true });
  const path = join(dir, reportFileName(report.sides.map((s) => s.side)));
  writeFileSync(path, `${JSON.stringify(report, null, 2)}\n`);
  return path;
}

/** One row per step of each side, in the order run. */
export function versusTable(sides: Array<SideReport | UnavailableSide>): Table {
  const rows: string[][] = [];
  for (const side of sides) {
    if (!side.available) {
      rows.push([side.side, '-', '-', 'not run', '-', '-', '-', '-', '-', side.reason]);
      continue;
    }
    for (const step of side.steps) {
      const cpu = Object.entries(step.cpuMsByRole)
        .filter(([role]) => role !== 'load client' && role !== 'offline-llm')
        .map(([role, ms]) => `${role} ${ms}`)
        .join(' · ');
      rows.push([
        side.side,
        String(step.sessions),
        `${step.ok}/${step.turns}`,
        step.successPercent.toFixed(2),
        `${step.firstTextMs.p50 ?? '-'} / ${step.firstTextMs.p99 ?? '-'}`,
        `${step.completeMs.p50 ?? '-'} / ${step.completeMs.p99 ?? '-'}`,
        step.serviceCpuMsPerTurn === null ? '-' : step.serviceCpuMsPerTurn.toFixed(1),
        cpu,
        String(step.otherCpuPercent),
        Object.entries(step.failures).map(([k, v]) => `${k} × ${v}`).join(', '),
      ]);
    }
  }
  return {
    columns: ['service', 'sessions', 'answered', 'success %', 'first model text p50 / p99 ms', 'complete p50 / p99 ms', 'service CPU ms/turn', 'service CPU ms by process', 'other CPU %', 'failures'],
    rows,
  };
}

/** The verdict line per side: the largest session count at or above the threshold. */
export function capacityLines(sides: Array<SideReport | UnavailableSide>, thresholdPercent: number): string[] {
  return sides.map((side) => {
    if (!side.available) return `${side.side}: not run: ${side.reason}`;
    if (!side.search) return `${side.side}: fixed session counts (no search)`;
    const { largestPassing, smallestFailing, endedBy } = side.search;
    const lo = largestPassing === null ? 'none of the counts tried' : `${largestPassing} sessions`;
    const hi = smallestFailing === null ? '' : `; ${smallestFailing} fell short`;
    return `${side.side}: largest N at ≥ ${thresholdPercent} %: ${lo}${hi} (search ended: ${endedBy})`;
  });
}

export function renderVersus(report: VersusReport): string {
  return [
    renderTable(versusTable(report.sides)),
    '',
    ...capacityLines(report.sides, report.settings.thresholdPercent),
    '',
    `reference: ${'opsPerSecond' in report.reference.publish ? `redis-benchmark PUBLISH ${report.reference.publish.opsPerSecond} ops/s` : `redis-benchmark failed (${report.reference.publish.error})`}; CPU loop ${report.reference.cpuLoop.opsPerSecond} ops/s (best of ${report.reference.cpuLoop.roundsMs.join(', ')} ms)`,
  ].join('\n');
}
