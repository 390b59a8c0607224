import { machineInfo, versions } from '../machine.js';
import { ConversationPool } from './conversation-pool.js';
import { measureMachineReference } from './machine-reference.js';
import { checkOriginal, startOriginalService } from './original-service.js';
import { startOurService, VERSUS_MODEL_ENV, type ServiceUnderTest } from './service-under-test.js';
import type { Side, VersusOptions } from './versus-options.js';
import { renderVersus, writeVersusReport, type VersusReport } from './versus-report.js';
import { runSide, stopRunningServices, type SidePlan, type SideReport, type UnavailableSide } from './versus-side.js';
import { VERSUS_QUESTIONS, type StepSettings } from './versus-step.js';

export interface VersusOutcome {
  report: VersusReport;
  reportPath: string;
  text: string;
  /** Sides asked for that could not run (the original without a checkout): the exit code says so. */
  unavailable: Side[];
}

/** Stops what is running now (the load clients, the service of the step); used on SIGINT / SIGTERM. */
let activePool: ConversationPool | null = null;
export async function stopVersus(): Promise<void> {
  await Promise.allSettled([activePool?.stop(), stopRunningServices()]);
}

/**
 * The comparison: the machine reference, then each side in turn with the same load client.
 * A side that cannot run (no checkout of the original, a missing Python module) is reported
 * with the reason, and the others still run.
 */
export async function runVersus(options: VersusOptions, command: string, log: (line: string) => void = () => {}): Promise<VersusOutcome> {
  const startedAt = new Date();
  const original = options.sides.includes('original') ? checkOriginal(options.originalDir, options.python, options.pythonPath) : null;
  if (original && !original.available) log(`ORIGINAL SERVICE NOT AVAILABLE: ${original.reason}`);

  log('machine reference (redis-benchmark PUBLISH, CPU loop)…');
  const reference = await measureMachineReference();
  log(`  PUBLISH ${'opsPerSecond' in reference.publish ? reference.publish.opsPerSecond : 'failed'} ops/s, CPU loop ${reference.cpuLoop.opsPerSecond} ops/s`);

  const settings: StepSettings = {
    turns: options.turns,
    thinkMs: options.thinkMs,
    staggerMs: options.staggerMs,
    turnTimeoutMs: options.turnTimeoutMs,
    thresholdPercent: options.thresholdPercent,
  };
  const plan: SidePlan = { sessions: options.sessions, min: options.min, max: options.max, timeCapMs: options.timeCapMs, settings };
  const sides: Array<SideReport | UnavailableSide> = [];
  const pool = await ConversationPool.start(options.clients);
  activePool = pool;
  try {
    for (const side of options.sides) {
      let start: (sessions: number) => Promise<ServiceUnderTest>;
      if (side === 'ours') {
        log('this service');
        start = startOurService;
      } else if (original?.available) {
        log(`the original (${original.serviceDir})`);
        start = () => startOriginalService(original);
      } else {
        sides.push({ side: 'original', available: false, reason: original && !original.available ? original.reason : 'not checked' });
        continue;
      }
      try {
        sides.push(await runSide(side, start, pool, plan, log));
      } catch (err) {
        // A service that would not start (or a client that broke) ends its side, not the run:
        // the other side and the report still come.
        const reason = `failed: ${err instanceof Error ? err.message : String(err)}`;
        log(`  ${side}: ${reason}`);
        sides.push({ side, available: false, reason });
      }
    }
  } finally {
    activePool = null;
    await pool.stop();
  }

  const report: VersusReport = {
    tool: '@chat/bench versus-original',
    startedAt: startedAt.toISOString(),
    finishedAt: new Date().toISOString(),
    command,
    machine: machineInfo(),
    versions: versions(),
    reference,
    settings: {
      ...settings,
      questions: [...VERSUS_QUESTIONS].slice(0, settings.turns),
      clients: options.clients,
      model: { ...VERSUS_MODEL_ENV },
      search: options.sessions ? { sessions: options.sessions } : { min: options.min, max: options.max, timeCapMs: options.timeCapMs },
    },
    original: original?.available ? { serviceDir: original.serviceDir, versions: original.versions, sourceDigest: original.sourceDigest } : null,
    sides,
  };
  const reportPath = writeVersusReport(options.outDir, report);
  return { report, reportPath, text: renderVersus(report), unavailable: sides.filter((s) => !s.available).map((s) => s.side) };
}
