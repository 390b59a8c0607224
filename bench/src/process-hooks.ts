/**
 * Preloaded into the stack's processes by the benchmark (NODE_OPTIONS=--import=<this file>);
 * never imported by the benchmark itself. Two opt-in hooks, both through node:inspector:
 *
 * - BENCH_CPU_PROF_DIR: the same V8 sampling profiler as `node --cpu-prof` (which Node refuses in
 *   NODE_OPTIONS), started at load and written on exit as `CPU.<time>.<pid>.0.001.cpuprofile`,
 *   node's own naming. BENCH_CPU_PROF_AFTER_MS starts it that long after load instead, so that
 *   a profile of an idle process is not all start-up.
 * - BENCH_GC_ON_SIGUSR2=1: a full garbage collection on SIGUSR2, so the capacity scenario reads
 *   a gateway's memory without the garbage its opening phase left behind.
 * - BENCH_RUNTIME_DIR: the runtime probe (`RuntimeMeter`, bench/src/runtime-meter.ts): every GC
 *   pause (perf_hooks), and the event loop's delay sampled every RUNTIME_LOOP_RESOLUTION_MS; on
 *   SIGWINCH (ignored by default, and by every part of the service) a reading is written to
 *   `runtime.<pid>.json`, and the window figures (the longest pause, the delay histogram) start
 *   anew, so two readings frame a window.
 */
import { renameSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import { join } from 'node:path';
import { PerformanceObserver, constants as perfConstants, monitorEventLoopDelay } from 'node:perf_hooks';

const profileDir = process.env.BENCH_CPU_PROF_DIR;
const gcOnSignal = process.env.BENCH_GC_ON_SIGUSR2 === '1';
const runtimeDir = process.env.BENCH_RUNTIME_DIR;

/** The probe's delay sampling, ms: fine enough for a scheduling hiccup, coarse enough to cost nothing. */
const RUNTIME_LOOP_RESOLUTION_MS = 20;

if (runtimeDir) {
  const kinds: Record<number, string> = {
    [perfConstants.NODE_PERFORMANCE_GC_MINOR]: 'minor',
    [perfConstants.NODE_PERFORMANCE_GC_MAJOR]: 'major',
    [perfConstants.NODE_PERFORMANCE_GC_INCREMENTAL]: 'incremental',
    [perfConstants.NODE_PERFORMANCE_GC_WEAKCB]: 'weakcb',
  };
  // Since load: a window's counts are the difference of two readings.
  const gc: Record<string, { count: number; totalMs: number }> = {};
  // Since the last reading.
  let longestPauseMs = 0;
  new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      const kind = kinds[(entry as { detail?: { kind?: number } }).detail?.kind ?? -1] ?? 'other';
      const totals = (gc[kind] ??= { count: 0, totalMs: 0 });
      totals.count++;
      totals.totalMs += entry.duration;
      longestPauseMs = Math.max(longestPauseMs, entry.duration);
    }
  }).observe({ entryTypes: ['gc'] });
  const delay = monitorEventLoopDelay({ resolution: RUNTIME_LOOP_RESOLUTION_MS });
  delay.enable();
  process.on('SIGWINCH', () => {
    // The histogram holds the whole interval between samples; the delay is what exceeds the resolution.
    const excessMs = (ns: number): number => Math.max(0, ns / 1e6 - RUNTIME_LOOP_RESOLUTION_MS);
    const reading = {
      pid: process.pid,
      at: Date.now(),
      gc,
      longestPauseMs,
      loopDelayMs: delay.count > 0 ? { samples: delay.count, p50: excessMs(delay.percentile(50)), p99: excessMs(delay.percentile(99)), max: excessMs(delay.max) } : null,
    };
    // Written aside and renamed: the reader never sees half a file.
    const file = join(runtimeDir, `runtime.${process.pid}.json`);
    writeFileSync(`${file}.tmp`, JSON.stringify(reading));
    renameSync(`${file}.tmp`, file);
    longestPauseMs = 0;
    delay.reset();
  });
}

if (profileDir || gcOnSignal) {
  const session = new Session();
  session.connect();
  if (gcOnSignal) {
    process.on('SIGUSR2', () => session.post('HeapProfiler.collectGarbage'));
  }
  if (profileDir) {
    session.post('Profiler.enable');
    session.post('Profiler.setSamplingInterval', { interval: 1000 });
    const afterMs = Number(process.env.BENCH_CPU_PROF_AFTER_MS ?? 0);
    if (afterMs > 0) setTimeout(() => session.post('Profiler.start'), afterMs).unref();
    else session.post('Profiler.start');
    let written = false;
    // In-process inspector sessions answer synchronously, so this works inside 'exit'.
    process.on('exit', () => {
      if (written) return;
      written = true;
      session.post('Profiler.stop', (err, result) => {
        if (err || !result) return;
        const stamp = new Date().toISOString().replace(/[-:]/g, '').replace('T', '.').slice(0, 15);
        writeFileSync(join(profileDir, `CPU.${stamp}.${process.pid}.0.001.cpuprofile`), JSON.stringify(result.profile));
      });
    });
  }
}
