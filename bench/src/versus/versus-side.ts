import { CapacitySearch, type CapacityOutcome } from './capacity-search.js';
import type { ConversationPool } from './conversation-pool.js';
import type { ServiceUnderTest } from './service-under-test.js';
import type { Side } from './versus-options.js';
import { runVersusStep, type StepSettings, type VersusStep } from './versus-step.js';

/** What one service did across its steps. */
export interface SideReport {
  side: Side;
  available: true;
  /** How the service was started (the last step's configuration; only the session-sized settings vary). */
  config: Record<string, string>;
  steps: VersusStep[];
  /** The search's result; null when fixed session counts were run. */
  search: CapacityOutcome | null;
  wallMs: number;
}

export interface UnavailableSide {
  side: Side;
  available: false;
  reason: string;
}

/** Services running now, so a Ctrl-C can stop them (the run's own cleanup is its `finally`). */
const runningServices = new Set<ServiceUnderTest>();

export async function stopRunningServices(): Promise<void> {
  await Promise.allSettled([...runningServices].map((service) => service.stop()));
}

export interface SidePlan {
  /** Fixed session counts, or a search over [min, max]. */
  sessions: number[] | null;
  min: number;
  max: number;
  /** No step starts after this much of the side's wall time, ms. */
  timeCapMs: number;
  settings: StepSettings;
}

/**
 * Runs one side: each step on a freshly started service (nothing carried over from the step
 * before: sessions, cached answers, queued work), either the fixed counts or the search.
 */
export async function runSide(
  side: Side,
  start: (sessions: number) => Promise<ServiceUnderTest>,
  pool: ConversationPool,
  plan: SidePlan,
  log: (line: string) => void,
): Promise<SideReport> {
  const started = performance.now();
  const steps: VersusStep[] = [];
  let config: Record<string, string> = {};
  const runStep = async (sessions: number): Promise<VersusStep> => {
    log(`  ${side}: ${sessions} sessions × ${plan.settings.turns} turns…`);
    const service = await start(sessions);
    runningServices.add(service);
    config = service.config;
    try {
      const step = await runVersusStep(service, pool, sessions, plan.settings);
      steps.push(step);
      log(
        `    ${step.ok}/${step.turns} answered whole (${step.successPercent} %, ${step.passed ? 'pass' : 'short'}), first model text p50 ${step.firstTextMs.p50 ?? '-'} / p99 ${step.firstTextMs.p99 ?? '-'} ms, ` +
          `service CPU ${step.serviceCpuMsPerTurn ?? '-'} ms/turn${Object.keys(step.failures).length > 0 ? `, failures ${JSON.stringify(step.failures)}` : ''}`,
      );
      return step;
    } finally {
      runningServices.delete(service);
      await service.stop();
    }
  };

  let search: CapacityOutcome | null = null;
  if (plan.sessions) {
    for (const sessions of plan.sessions) await runStep(sessions);
  } else {
    const searcher = new CapacitySearch({ min: plan.min, max: plan.max });
    let stoppedEarly = false;
    for (let sessions = searcher.next(); sessions !== null; sessions = searcher.next()) {
      if (performance.now() - started > plan.timeCapMs) {
        stoppedEarly = true;
        log(`  ${side}: time cap reached; the search stops here`);
        break;
      }
      const step = await runStep(sessions);
      searcher.record(sessions, step.passed);
    }
    search = searcher.outcome(stoppedEarly);
  }
  return { side, available: true, config, steps, search, wallMs: Math.round(performance.now() - started) };
}
