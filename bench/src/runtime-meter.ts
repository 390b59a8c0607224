import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { round2 } from './stats.js';

/** One process's reading, as the preload hook writes it (bench/src/process-hooks.ts). */
export interface RuntimeReading {
  pid: number;
  at: number;
  /** GC pauses since the process started, by kind (minor = scavenge, major = mark-compact, ...). */
  gc: Record<string, { count: number; totalMs: number }>;
  /** The longest pause since the previous reading. */
  longestPauseMs: number;
  /** Event-loop delay beyond the sampling interval since the previous reading; null without samples. */
  loopDelayMs: { samples: number; p50: number; p99: number; max: number } | null;
}

/**
 * What the runtime did to a role's event loop over a window: its GC pauses (all kinds; the
 * minor ones are V8's scavenges of the young generation) and how late its loop ran. Several
 * processes of one role: pauses and their time summed, the longest pause and the worst p99 /
 * max delay of any of them.
 */
export interface RuntimeFigures {
  gcPauses: number;
  /** Time paused in GC, ms per second of window (all processes of the role together). */
  gcPauseMsPerS: number;
  /** Mean and longest pause, ms. */
  gcPauseMeanMs: number;
  gcPauseMaxMs: number;
  /** Minor (scavenge) pauses alone: count and mean, ms. */
  minorPauses: number;
  minorPauseMeanMs: number;
  /** Event-loop delay beyond the sampling interval, p99 and max, ms. */
  loopDelayP99Ms: number | null;
  loopDelayMaxMs: number | null;
}

/** The roles that run Node and so carry the hook; Redis and the load clients do not. */
const PROBED_ROLES = new Set(['gateway', 'worker', 'offline-llm']);
/** How long a reading may take to appear after the signal (a busy process handles it late). */
const READING_TIMEOUT_MS = 5000;

/**
 * Reads the runtime probe of the stack's Node processes: each reading is a SIGWINCH that makes
 * the preload hook write `runtime.<pid>.json` into `dir` (the file is removed first, so whatever
 * appears is the answer). Two readings frame a window (`figures`).
 */
export class RuntimeMeter {
  constructor(
    private readonly dir: string,
    private readonly processes: () => Array<{ role: string; pid: number }>,
  ) {}

  /** A reading of every probed process; a process that does not answer in time is left out. */
  async read(): Promise<Map<number, { role: string; reading: RuntimeReading }>> {
    const probed = this.processes().filter((p) => PROBED_ROLES.has(p.role));
    const out = new Map<number, { role: string; reading: RuntimeReading }>();
    await Promise.all(
      probed.map(async ({ role, pid }) => {
        const file = join(this.dir, `runtime.${pid}.json`);
        rmSync(file, { force: true });
        try {
          process.kill(pid, 'SIGWINCH');
        } catch {
          return; // gone
        }
        const deadline = Date.now() + READING_TIMEOUT_MS;
        while (Date.now() < deadline) {
          const reading = readReading(file);
          if (reading) {
            out.set(pid, { role, reading });
            return;
          }
          await sleep(10);
        }
      }),
    );
    return out;
  }

  /** Per role, what happened between two readings; processes missing from either are left out. */
  static figures(
    start: Map<number, { role: string; reading: RuntimeReading }>,
    end: Map<number, { role: string; reading: RuntimeReading }>,
  ): Record<string, RuntimeFigures> {
    const acc = new Map<string, { pauses: number; pauseMs: number; longest: number; minor: number; minorMs: number; windowMs: number; p99: number | null; max: number | null }>();
    for (const [pid, { role, reading: last }] of end) {
      const first = start.get(pid)?.reading;
      if (!first) continue;
      const a = acc.get(role) ?? { pauses: 0, pauseMs: 0, longest: 0, minor: 0, minorMs: 0, windowMs: 0, p99: null, max: null };
      for (const [kind, totals] of Object.entries(last.gc)) {
        const before = first.gc[kind] ?? { count: 0, totalMs: 0 };
        a.pauses += totals.count - before.count;
        a.pauseMs += totals.totalMs - before.totalMs;
        if (kind === 'minor') {
          a.minor += totals.count - before.count;
          a.minorMs += totals.totalMs - before.totalMs;
        }
      }
      a.longest = Math.max(a.longest, last.longestPauseMs);
      a.windowMs = Math.max(a.windowMs, last.at - first.at);
      if (last.loopDelayMs) {
        a.p99 = Math.max(a.p99 ?? 0, last.loopDelayMs.p99);
        a.max = Math.max(a.max ?? 0, last.loopDelayMs.max);
      }
      acc.set(role, a);
    }
    const out: Record<string, RuntimeFigures> = {};
    for (const [role, a] of acc) {
      out[role] = {
        gcPauses: a.pauses,
        gcPauseMsPerS: round2(a.windowMs > 0 ? (a.pauseMs / a.windowMs) * 1000 : 0),
        gcPauseMeanMs: round2(a.pauses > 0 ? a.pauseMs / a.pauses : 0),
        gcPauseMaxMs: round2(a.longest),
        minorPauses: a.minor,
        minorPauseMeanMs: round2(a.minor > 0 ? a.minorMs / a.minor : 0),
        loopDelayP99Ms: a.p99 === null ? null : round2(a.p99),
        loopDelayMaxMs: a.max === null ? null : round2(a.max),
      };
    }
    return out;
  }
}

/** One line for the log: `worker gc 94 × 6.3 ms (max 22) loop p99 7.1 / max 30 ms · gateway …`. */
export function formatRuntime(figures: Record<string, RuntimeFigures>): string {
  return Object.entries(figures)
    .map(([role, f]) => `${role} gc ${f.gcPauses} × ${f.gcPauseMeanMs} ms (max ${f.gcPauseMaxMs}) loop p99 ${f.loopDelayP99Ms ?? '–'} / max ${f.loopDelayMaxMs ?? '–'} ms`)
    .join(' · ');
}

function readReading(file: string): RuntimeReading | null {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as RuntimeReading;
  } catch {
    return null; // not there yet (or half written: the next poll reads it whole)
  }
}
