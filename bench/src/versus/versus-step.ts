import { cpuMs, machineBusyMs } from '../proc-stats.js';
import { percentiles, round1, successPercent, type Percentiles } from '../stats.js';
import { addCount } from './conversation-messages.js';
import type { ConversationPool } from './conversation-pool.js';
import type { MeasuredProcess, ServiceUnderTest } from './service-under-test.js';

/** The questions of each conversation: three of the original's own load-test messages. */
export const VERSUS_QUESTIONS: readonly string[] = Object.freeze(['Hello, I need help with my flight', 'Is my flight on time?', "What's the baggage policy?"]);

export interface StepSettings {
  turns: number;
  thinkMs: number;
  staggerMs: number;
  turnTimeoutMs: number;
  thresholdPercent: number;
}

/** One session count run against one service: N sessions × `turns` turns. */
export interface VersusStep {
  sessions: number;
  /** Turns planned: sessions × turns (a session that never opened fails all of its turns). */
  turns: number;
  ok: number;
  failed: number;
  successPercent: number;
  passed: boolean;
  /** Why turns failed, with counts: `open: …` for sessions that never opened, else the turn's reason. */
  failures: Record<string, number>;
  sessionsOpened: number;
  fromCache: number;
  /** Question sent → first chunk of model text, of the turns answered whole, ms. */
  firstTextMs: Percentiles;
  /** The same per turn number: the first turns go out together (within the stagger), the later ones spread out. */
  firstTextMsByTurn: Percentiles[];
  /** Question sent → complete answer, of the turns answered whole, ms. */
  completeMs: Percentiles;
  /** Opening the sessions, then their conversations, wall ms. */
  openMs: number;
  talkMs: number;
  /** CPU ms per role over the step (open + talk), service processes, the offline model and the client. */
  cpuMsByRole: Record<string, number>;
  /** The service's processes only (not the offline model), ms over the step. */
  serviceCpuMs: number;
  /** serviceCpuMs ÷ turns answered whole (null when none was). */
  serviceCpuMsPerTurn: number | null;
  /** The same over the conversations alone (session creation and socket opening left out). */
  serviceCpuMsPerTurnTalking: number | null;
  /** The machine's busy time not of any measured process, % of one core over the step. */
  otherCpuPercent: number;
}

/** CPU ms of each process now (0 for one that is gone). */
function readCpu(processes: MeasuredProcess[]): Map<number, number> {
  return new Map(processes.map((p) => [p.pid, cpuMs(p.pid) ?? 0]));
}

/**
 * Runs one step on a freshly started service: opens the sessions, has each send its turns, and
 * reads the service's CPU (its own processes, not the model's) around both phases.
 */
export async function runVersusStep(service: ServiceUnderTest, pool: ConversationPool, sessions: number, settings: StepSettings): Promise<VersusStep> {
  const measured: MeasuredProcess[] = [...service.processes, ...pool.pids.map((pid) => ({ role: 'load client', pid, service: false }))];
  const cpu0 = readCpu(measured);
  const busy0 = machineBusyMs();
  const t0 = performance.now();
  const open = await pool.open({ httpUrl: service.httpUrl, wsUrl: service.wsUrl, sessions });
  const t1 = performance.now();
  const cpu1 = readCpu(measured);
  const talk = await pool.talk({ questions: VERSUS_QUESTIONS.slice(0, settings.turns).concat(extraQuestions(settings.turns)), staggerMs: settings.staggerMs, thinkMs: settings.thinkMs, turnTimeoutMs: settings.turnTimeoutMs });
  const t2 = performance.now();
  const cpu2 = readCpu(measured);
  const busy2 = machineBusyMs();
  await pool.closeSessions();

  const cpuMsByRole: Record<string, number> = {};
  let serviceCpuMs = 0;
  let serviceTalkCpuMs = 0;
  let measuredCpuMs = 0;
  for (const p of measured) {
    const used = (cpu2.get(p.pid) ?? 0) - (cpu0.get(p.pid) ?? 0);
    cpuMsByRole[p.role] = (cpuMsByRole[p.role] ?? 0) + used;
    measuredCpuMs += used;
    if (p.service) {
      serviceCpuMs += used;
      serviceTalkCpuMs += (cpu2.get(p.pid) ?? 0) - (cpu1.get(p.pid) ?? 0);
    }
  }
  const turns = sessions * settings.turns;
  const failures: Record<string, number> = { ...talk.failures };
  for (const [reason, count] of Object.entries(open.failures)) addCount(failures, `open: ${reason}`, count * settings.turns);
  const ok = talk.ok;
  const success = successPercent(ok, turns);
  const wallMs = t2 - t0;
  return {
    sessions,
    turns,
    ok,
    failed: turns - ok,
    successPercent: success,
    passed: success >= settings.thresholdPercent,
    failures,
    sessionsOpened: open.opened,
    fromCache: talk.fromCache,
    firstTextMs: percentiles(talk.firstTextMs),
    firstTextMsByTurn: Array.from({ length: settings.turns }, (_, turn) => percentiles(talk.firstTextMsByTurn[turn] ?? [])),
    completeMs: percentiles(talk.completeMs),
    openMs: Math.round(t1 - t0),
    talkMs: Math.round(t2 - t1),
    cpuMsByRole: Object.fromEntries(Object.entries(cpuMsByRole).map(([role, ms]) => [role, Math.round(ms)])),
    serviceCpuMs: Math.round(serviceCpuMs),
    serviceCpuMsPerTurn: ok > 0 ? round1(serviceCpuMs / ok) : null,
    serviceCpuMsPerTurnTalking: ok > 0 ? round1(serviceTalkCpuMs / ok) : null,
    otherCpuPercent: Math.max(0, Math.round(((busy2 - busy0 - measuredCpuMs) / wallMs) * 100)),
  };
}

/** Questions past the three the original's load test gives (--turns above 3): numbered follow-ups. */
function extraQuestions(turns: number): string[] {
  return Array.from({ length: Math.max(0, turns - VERSUS_QUESTIONS.length) }, (_, i) => `One more question, number ${i + 1}: can I change my seat?`);
}
