import { CommandStatsReader, commandRates, largestCommands, type CommandCounts, type CommandRates } from '../command-stats.js';
import { sourceAddresses } from '../bench-options.js';
import { cpuPerUnit, formatCpu, runChatWindow, type WindowFigures } from '../chat-window.js';
import { CpuMeter } from '../proc-stats.js';
import { fmtInt, type ScenarioReport } from '../report.js';
import type { RunContext } from '../run-context.js';
import { OVERHEAD_MODEL_ENV, failureNotes } from './overhead.js';

/** Sessions of the "a few people chatting" step (the ten). */
const CHATTING_SESSIONS = 10;


interface IdleStep {
  label: string;
  windowMs: number;
  /** CPU per role, % of one core (one decimal). */
  cpuPercent: Record<string, number>;
  /** The same as ms of CPU per second of wall time, and the service's sum. */
  cpuMsPerSecond: Record<string, number>;
  redis: CommandRates;
  /** Only for the chatting step. */
  chat: WindowFigures | null;
}

/**
 * Scenario idle: what the service costs while it serves (next to) nothing. On a fresh 1 × 1
 * stack: first nothing at all (no socket) for the window, then ten sessions chatting at the
 * overhead scenario's pacing (400 ms to the first token, 60 tokens/s, 120-token answers). Per
 * step: CPU per role as ms per second, Redis commands per second by command (`INFO
 * commandstats`, the bench's own INFO calls left out), and for the chatting step the service's
 * CPU per turn. The background work (canaries, custody renewals, watchdogs, BullMQ's polls)
 * is what the idle step shows; the chatting step shows how much of a quiet service's cost per
 * turn it is.
 */
export async function runIdle(ctx: RunContext): Promise<ScenarioReport> {
  const windowMs = ctx.durationMs(30);
  const steps: IdleStep[] = [];
  await ctx.withStack({ gateways: ctx.options.gateways, workers: ctx.options.workers, env: { ...OVERHEAD_MODEL_ENV } }, 1, async (stack, pool, processes) => {
    const commandStats = new CommandStatsReader(stack);
    try {
      // Start-up work settles first: script loading, the first canaries, the garbage of module
      // loading (a 3 s settle left 5–20 ms/s of it in the worker's and the model's idle figures).
      await new Promise((resolve) => setTimeout(resolve, ctx.options.durationS !== null && ctx.options.durationS < 5 ? ctx.warmupMs : Math.max(ctx.warmupMs, 15_000)));
      ctx.log(`  idle: nothing connected, ${windowMs / 1000} s…`);
      const cpu = new CpuMeter(processes);
      const before = await commandStats.read();
      cpu.begin();
      await new Promise((resolve) => setTimeout(resolve, windowMs));
      const cpuPercent = cpu.end();
      const redis = rates(before, await commandStats.read(), windowMs);
      steps.push({ label: 'idle (nothing connected)', windowMs, cpuPercent, cpuMsPerSecond: msPerSecond(cpuPercent), redis, chat: null });
      ctx.log(`    cpu ${formatCpu(cpuPercent)}; redis ${redis.total} commands/s`);

      ctx.log(`  idle: ${CHATTING_SESSIONS} sessions chatting, ${windowMs / 1000} s…`);
      const open = await pool.open({ httpUrl: stack.running.httpUrl, wsUrl: stack.running.wsUrl, sockets: CHATTING_SESSIONS, localAddresses: sourceAddresses(1) });
      const chatBefore = await commandStats.read();
      const chat = await runChatWindow(pool, processes, { chatting: open.opened, warmupMs: Math.max(ctx.warmupMs, 2500), measureMs: windowMs, staggerMs: 2500 });
      // The command counts span the warm-up too: rates over the whole chat, not the window.
      const chatRedis = rates(chatBefore, await commandStats.read(), windowMs + Math.max(ctx.warmupMs, 2500));
      steps.push({ label: `${CHATTING_SESSIONS} sessions chatting`, windowMs, cpuPercent: chat.cpuPercent, cpuMsPerSecond: msPerSecond(chat.cpuPercent), redis: chatRedis, chat });
      ctx.log(`    ${chat.ok}/${chat.sent} ok, ${chat.turnsPerSecond} turns/s, service ${chat.cpuPerTurnMs.service ?? '-'} ms CPU per turn`);
      await pool.closeSockets();
    } finally {
      commandStats.close();
    }
  });

  const idle = steps[0]!;
  const chatting = steps[1]!;
  const serviceIdle = idle.cpuMsPerSecond.service ?? 0;
  const chatTurnsPerSecond = chatting.chat?.turnsPerSecond ?? 0;
  const backgroundPerTurn = chatTurnsPerSecond > 0 ? Math.round((serviceIdle / chatTurnsPerSecond) * 100) / 100 : null;
  return {
    scenario: 'idle',
    title: `idle cost: nothing connected, then ${CHATTING_SESSIONS} sessions chatting (offline model 400 ms TTFT, 60 tokens/s, 120-token answers)`,
    parameters: { windowMs, chattingSessions: CHATTING_SESSIONS, layout: `${ctx.options.gateways}×${ctx.options.workers}` },
    stacks: [],
    steps: steps.map((s) => ({ label: s.label, windowMs: s.windowMs, cpuPercent: s.cpuPercent, cpuMsPerSecond: s.cpuMsPerSecond, redisCommandsPerSecond: s.redis, ...(s.chat ? { chat: s.chat } : {}) })),
    table: {
      columns: ['step', 'turns/s', 'CPU ms per s by role', 'service CPU ms per turn', 'redis commands/s', 'top commands/s'],
      rows: steps.map((s) => [
        s.label,
        s.chat ? String(s.chat.turnsPerSecond) : '-',
        formatCpu(s.cpuMsPerSecond),
        s.chat ? String(s.chat.cpuPerTurnMs.service ?? '-') : '-',
        String(s.redis.total),
        largestCommands(s.redis),
      ]),
    },
    targets: [
      {
        name: 'idle: a gateway and a worker that serve nothing cost next to nothing',
        target: 'service (gateway + worker + Redis) ≤ 5 ms of CPU per second (0.5 % of a core)',
        measured: `${serviceIdle} ms/s (${formatCpu(idle.cpuMsPerSecond)})`,
        met: serviceIdle <= 5,
      },
    ],
    notes: [
      `background work the idle step shows, spread over the chatting step's turns: ${backgroundPerTurn ?? '-'} ms of service CPU per turn`,
      `chatting: ${fmtInt(chatting.chat?.ok ?? 0)} / ${fmtInt(chatting.chat?.sent ?? 0)} turns ok`,
      ...failureNotes(chatting.chat ? [{ label: 'chatting', failures: chatting.chat.failures, warmup: chatting.chat.warmupFailures }] : []),
    ],
  };
}

/** ms of CPU per second of wall time per role and for the service (`cpuPerUnit` over one second), with the box's `other`. */
function msPerSecond(cpuPercent: Record<string, number>): Record<string, number> {
  return { ...cpuPerUnit(cpuPercent, 1000, 1, 1e3), other: Math.round((cpuPercent.other ?? 0) * 10) };
}

/** Calls per second between two readings. */
function rates(before: CommandCounts, after: CommandCounts, windowMs: number): CommandRates {
  return commandRates(before, after, windowMs / 1000);
}

