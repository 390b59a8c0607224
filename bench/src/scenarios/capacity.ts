import { readdirSync } from 'node:fs';
import { sourceAddresses } from '../bench-options.js';
import { formatCpu, runChatWindow, type WindowFigures } from '../chat-window.js';
import type { OpenResult } from '../client/messages.js';
import { rssBytes } from '../proc-stats.js';
import { fmtInt, type ScenarioReport, type TargetCheck } from '../report.js';
import type { RunContext } from '../run-context.js';
import { failureNotes, OVERHEAD_MODEL_ENV } from './overhead.js';

/** Sockets one load-client process holds at most (each is a file descriptor; the cap is 20 000). */
const SOCKETS_PER_CLIENT = 12_500;
/** Sockets per source address (ephemeral ports run out near 28 000 per address pair). */
const SOCKETS_PER_ADDRESS = 20_000;

interface GatewayMemory {
  pid: number;
  /** Open file descriptors before and after the sockets opened (≈ the sockets it holds). */
  fdsBefore: number;
  fdsAfter: number;
  rssBeforeBytes: number;
  rssAfterBytes: number;
}

export interface CapacityStep {
  gateways: number;
  sockets: number;
  open: OpenResult;
  memory: GatewayMemory[];
  /** Gateway memory added per socket held, bytes (all gateways together). */
  bytesPerSocket: number | null;
  chatting: number;
  figures: WindowFigures;
  /** Idle sockets the server closed during the step (should be 0). */
  droppedIdle: number;
  droppedCodes: Record<string, number>;
}

/**
 * Scenario 3, capacity: many open sockets on one gateway process (and then on several sharing
 * the port), opened from several load-client processes and 127.0.0.x source addresses; 1 % of
 * them chat at realistic pacing (400 ms, 60 tokens/s, a second of think time) while the rest stay
 * idle. Reports open success, chat success and the gateway memory each socket costs.
 */
export async function runCapacity(ctx: RunContext): Promise<ScenarioReport> {
  const plan: Array<{ gateways: number; sockets: number }> = ctx.options.sockets.map((sockets) => ({ gateways: 1, sockets }));
  if (ctx.options.multiSockets > 0) plan.push({ gateways: ctx.options.multiGateways, sockets: ctx.options.multiSockets });
  const steps: CapacityStep[] = [];
  for (const { gateways, sockets } of plan) steps.push(await capacityStep(ctx, gateways, sockets));

  const targets: TargetCheck[] = [];
  const check = (gateways: number, sockets: number) => {
    const step = steps.find((s) => s.gateways === gateways && s.sockets === sockets);
    const name = `${fmtInt(sockets)} idle sockets on ${gateways} gateway process${gateways > 1 ? 'es' : ''}, ≤ 4 KiB each, 1 % chatting at 100 %`;
    if (!step) {
      targets.push({ name, target: 'all open, ≤ 4096 B/socket, chat 100 %', measured: 'not run at this size', met: null });
      return;
    }
    const met = step.open.failed === 0 && step.droppedIdle === 0 && (step.bytesPerSocket ?? Infinity) <= 4096 && step.figures.failed === 0 && step.figures.sent > 0;
    targets.push({
      name,
      target: 'all open, ≤ 4096 B/socket, chat 100 %',
      measured: `${fmtInt(step.open.opened)}/${fmtInt(sockets)} open, ${step.droppedIdle} dropped, ${step.bytesPerSocket ?? '-'} B/socket, chat ${step.figures.successPercent} % of ${step.figures.sent}`,
      met,
    });
  };
  check(1, 19_000);
  check(3, 50_000);

  return {
    scenario: 'capacity',
    title: 'capacity: idle sockets per gateway process, 1 % chatting at realistic pacing',
    parameters: { plan, chattingPercent: ctx.options.chattingPercent, measureMs: ctx.durationMs(20), socketsPerClient: SOCKETS_PER_CLIENT, socketsPerAddress: SOCKETS_PER_ADDRESS },
    stacks: [],
    steps: steps.map((s) => ({ ...s })),
    table: {
      columns: ['gateways', 'sockets', 'opened', 'open s', 'dropped', 'B/socket', 'gateway RSS MiB', 'chatting', 'chat success %', 'first chunk p99 ms', 'cpu % by role (other = not the benchmark)'],
      rows: steps.map((s) => [
        String(s.gateways),
        fmtInt(s.sockets),
        fmtInt(s.open.opened),
        (s.open.ms / 1000).toFixed(1),
        String(s.droppedIdle),
        s.bytesPerSocket === null ? '-' : fmtInt(s.bytesPerSocket),
        s.memory.map((m) => Math.round(m.rssAfterBytes / 2 ** 20)).join(' + '),
        fmtInt(s.chatting),
        s.figures.successPercent.toFixed(2),
        String(s.figures.firstChunkMs.p99 ?? '-'),
        formatCpu(s.figures.cpuPercent),
      ]),
    },
    targets,
    notes: [
      'B/socket = (gateway RSS after − before) ÷ (gateway file descriptors after − before), all gateways summed; each reading follows a full GC (SIGUSR2 to the preloaded hook)',
      ...steps.filter((s) => s.open.failed > 0).map((s) => `${fmtInt(s.sockets)} sockets: open failures ${Object.entries(s.open.failures).map(([k, v]) => `${k} × ${v}`).join(', ')}`),
      ...failureNotes(steps.map((s) => ({ label: `${fmtInt(s.sockets)} sockets chat`, failures: s.figures.failures, warmup: s.figures.warmupFailures }))),
    ],
  };
}

async function capacityStep(ctx: RunContext, gateways: number, sockets: number): Promise<CapacityStep> {
  const chatting = Math.max(1, Math.round((sockets * ctx.options.chattingPercent) / 100));
  const env = { ...OVERHEAD_MODEL_ENV, WORKER_CONCURRENCY: String(Math.max(200, chatting + 50)) };
  const clients = ctx.options.clients ?? Math.max(2, Math.ceil(sockets / SOCKETS_PER_CLIENT));
  const addresses = sourceAddresses(ctx.options.addresses ?? Math.max(1, Math.ceil(sockets / SOCKETS_PER_ADDRESS)));
  ctx.log(`  capacity: ${fmtInt(sockets)} sockets on ${gateways} gateway(s) from ${clients} clients × ${addresses.length} source addresses`);
  return ctx.withStack({ gateways, workers: 1, env, gcOnSignal: true }, clients, async (stack, pool, processes) => {
    await new Promise((resolve) => setTimeout(resolve, 1000));
    await collectGarbage(stack.gatewayPids);
    const before = stack.gatewayPids.map((pid) => ({ pid, fds: fdCount(pid), rss: rssBytes(pid) ?? 0 }));
    const open = await pool.open({ httpUrl: stack.running.httpUrl, wsUrl: stack.running.wsUrl, sockets, localAddresses: addresses, concurrencyPerClient: 100 });
    ctx.log(`    opened ${fmtInt(open.opened)}/${fmtInt(sockets)} in ${(open.ms / 1000).toFixed(1)} s`);
    // Let the REST connections of the opening phase close, then collect the garbage the opening
    // left, so the reading is what the sockets themselves hold.
    await new Promise((resolve) => setTimeout(resolve, 2000));
    await collectGarbage(stack.gatewayPids);
    const memory: GatewayMemory[] = before.map((b) => ({
      pid: b.pid,
      fdsBefore: b.fds,
      fdsAfter: fdCount(b.pid),
      rssBeforeBytes: b.rss,
      rssAfterBytes: rssBytes(b.pid) ?? 0,
    }));
    const heldDelta = memory.reduce((n, m) => n + (m.fdsAfter - m.fdsBefore), 0);
    const rssDelta = memory.reduce((n, m) => n + (m.rssAfterBytes - m.rssBeforeBytes), 0);
    const bytesPerSocket = heldDelta > 0 ? Math.round(rssDelta / heldDelta) : null;
    ctx.log(`    gateway fds +${fmtInt(heldDelta)}, RSS +${Math.round(rssDelta / 2 ** 20)} MiB → ${bytesPerSocket ?? '-'} B/socket; ${chatting} chatting…`);
    const figures = await runChatWindow(pool, processes, {
      chatting: Math.min(chatting, open.opened),
      warmupMs: Math.max(ctx.warmupMs, 3000),
      measureMs: ctx.durationMs(20),
      staggerMs: 3000,
      thinkMs: 1000,
    });
    const closed = await pool.closeSockets();
    ctx.log(`    chat ${figures.ok}/${figures.sent} ok; ${closed.alreadyClosed} sockets dropped by the server`);
    return { gateways, sockets, open, memory, bytesPerSocket, chatting, figures, droppedIdle: closed.alreadyClosed, droppedCodes: closed.codes };
  });
}

/** A full GC in each process (the preload hook answers SIGUSR2), then a moment for it to run. */
async function collectGarbage(pids: number[]): Promise<void> {
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGUSR2');
    } catch {
      // gone: nothing to collect
    }
  }
  await new Promise((resolve) => setTimeout(resolve, 1500));
}

function fdCount(pid: number): number {
  try {
    return readdirSync(`/proc/${pid}/fd`).length;
  } catch {
    return 0;
  }
}
