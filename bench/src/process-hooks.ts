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
 */
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import { join } from 'node:path';

const profileDir = process.env.BENCH_CPU_PROF_DIR;
const gcOnSignal = process.env.BENCH_GC_ON_SIGUSR2 === '1';

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
