/**
 * The floor of this box for the service's shape: what a turn and its tokens cost when they only
 * cross the service's transports, with none of the service's work. The offline model at the
 * scenario's pacing, a Redis, and three bare processes in place of the service
 * (floor-worker.ts, floor-gateway.ts, floor-clients.ts): a question goes client → WebSocket →
 * gateway → a Redis list → worker → the model, and the answer model → worker → sharded pub/sub
 * → gateway → the client's socket, and nothing happens between them. The service's figures over
 * the floor's, from the same box in the same run, are what the service's own work costs: a
 * ratio that travels between boxes where the milliseconds and microseconds do not
 * (docs/performance.md, round 18).
 */
import { fileURLToPath } from 'node:url';
import { SERVICE_NODE_FLAGS } from '@chat/shared';
import { spawnRedisServer } from '@chat/shared/dev';
import { ManagedProcess } from '@chat/stack';
import { CpuMeter } from '../proc-stats.js';
import { percentiles, round2, type Percentiles } from '../stats.js';
import { settingsToArgs, type FloorCounts, type FloorMode, type FloorReply, type FloorRoleSettings } from './floor-protocol.js';

const ROLE_MAIN = fileURLToPath(new URL(import.meta.url.endsWith('.ts') ? '../../dist/floor/floor-role-main.js' : './floor-role-main.js', import.meta.url));
const OFFLINE_MODEL_MAIN = fileURLToPath(new URL('../../../offline-llm/dist/main.js', import.meta.url));

export interface FloorOptions {
  sessions: number;
  warmupMs: number;
  measureMs: number;
  /** The offline model's pacing (OFFLINE_LLM_* settings): the scenario's. */
  modelEnv: Readonly<Record<string, string>>;
  /** Default `turns`; `read-only` measures the model's streams read alone. */
  mode?: FloorMode;
  /** V8 profiles of the bare worker and gateway into this directory. */
  cpuProfDir?: string | null;
}

/** CPU of each process per unit of work; `floor` is worker + gateway + Redis, the service's three. */
export interface FloorCpu {
  worker: number;
  gateway: number;
  redis: number;
  floor: number;
  'offline-llm': number;
  clients: number;
}

export interface FloorFigures {
  mode: FloorMode;
  sessions: number;
  windowMs: number;
  /** Answers the clients received whole, per second (0 in read-only). */
  turnsPerSecond: number;
  tokensPerSecond: number;
  /** Frames published per token (a frame holds a session's tokens of one tick). */
  framesPerToken: number;
  /** Frames the clients received per frame published in the window (≈ 1: every frame arrives); null when none was published. */
  receivedPerFrame: number | null;
  /** Frames that reached another session's socket, or another turn's, over the run (must be 0). */
  misrouted: number;
  /** Question sent → its first frame, less the model's own time, of the answers whose first frame came in the window; null in read-only. */
  addedFirstMs: Percentiles | null;
  /** CPU of each process in the window, % of one core. */
  cpuPercent: Record<string, number>;
  cpuPerTokenUs: FloorCpu;
  /** null in read-only. */
  cpuPerTurnMs: FloorCpu | null;
}

export async function runFloor(options: FloorOptions): Promise<FloorFigures> {
  const mode = options.mode ?? 'turns';
  const redis = await spawnRedisServer();
  const started: ManagedProcess[] = [];
  const start = async (name: string, script: string, args: string[], env: Record<string, string> = {}, profiled = false): Promise<ManagedProcess> => {
    const flags = [...SERVICE_NODE_FLAGS];
    if (profiled && options.cpuProfDir) flags.push('--cpu-prof', '--cpu-prof-dir', options.cpuProfDir, '--cpu-prof-name', `${name}-${mode}-${options.sessions}.cpuprofile`);
    const child = new ManagedProcess({ name, command: process.execPath, args: [...flags, script, ...args], env: { ...process.env, LOG_LEVEL: 'warn', ...env }, forwardOutput: true, readyTimeoutMs: 60_000 });
    started.push(child);
    await child.ready;
    return child;
  };
  const role = (settings: Pick<FloorRoleSettings, 'role' | 'modelUrl' | 'gatewayPort'>): FloorRoleSettings => ({ ...settings, mode, sessions: options.sessions, redisUrl: redis.url });
  try {
    const model = await start('offline-llm', OFFLINE_MODEL_MAIN, [], { ...options.modelEnv, OFFLINE_LLM_HOST: '127.0.0.1', OFFLINE_LLM_PORT: '0' });
    const gateway = await start('floor-gateway', ROLE_MAIN, settingsToArgs(role({ role: 'gateway' })), {}, true);
    const worker = await start('floor-worker', ROLE_MAIN, settingsToArgs(role({ role: 'worker', modelUrl: `http://127.0.0.1:${model.port}/v1` })), {}, true);
    // Last: in `turns` the clients ask their first questions as soon as they are all subscribed.
    const clients = await start('floor-clients', ROLE_MAIN, settingsToArgs(role({ role: 'clients', gatewayPort: gateway.port! })));
    const processes = [
      { role: 'worker', pid: worker.child.pid! },
      { role: 'gateway', pid: gateway.child.pid! },
      { role: 'redis', pid: redis.process.pid! },
      { role: 'offline-llm', pid: model.child.pid! },
      { role: 'clients', pid: clients.child.pid! },
    ];
    await sleep(options.warmupMs);
    const meter = new CpuMeter(() => processes);
    meter.begin();
    const before = await Promise.all([countsOf(worker), countsOf(clients)]);
    const startedAt = performance.now();
    await sleep(options.measureMs);
    const after = await Promise.all([countsOf(worker), countsOf(clients)]);
    const windowMs = performance.now() - startedAt;
    const cpuPercent = meter.end();
    const delta = (key: 'tokens' | 'frames' | 'turns' | 'received', which: 0 | 1) => (after[which][key] ?? 0) - (before[which][key] ?? 0);
    const tokens = delta('tokens', 0);
    const turns = delta('turns', 1);
    if (tokens <= 0) throw new Error(`the floor read no tokens in ${Math.round(windowMs)} ms`);
    if (mode === 'turns' && turns <= 0) throw new Error(`the floor answered no turn in ${Math.round(windowMs)} ms`);
    // CPU ms in the window per unit, by role (cpuPercent is % of one core over the window).
    const per = (units: number, scale: number): FloorCpu => {
      const of = (role: string) => round2((((cpuPercent[role] ?? 0) / 100) * windowMs * scale) / units);
      const cpu = { worker: of('worker'), gateway: of('gateway'), redis: of('redis'), floor: 0, 'offline-llm': of('offline-llm'), clients: of('clients') };
      cpu.floor = round2(cpu.worker + cpu.gateway + cpu.redis);
      return cpu;
    };
    const frames = delta('frames', 0);
    return {
      mode,
      sessions: options.sessions,
      windowMs: Math.round(windowMs),
      turnsPerSecond: round2((turns / windowMs) * 1000),
      tokensPerSecond: Math.round((tokens / windowMs) * 1000),
      framesPerToken: round2(frames / tokens),
      receivedPerFrame: frames > 0 ? round2(delta('received', 1) / frames) : null,
      misrouted: after[1].misrouted ?? 0,
      addedFirstMs: mode === 'turns' ? percentiles(after[1].addedFirstMs ?? []) : null,
      cpuPercent,
      cpuPerTokenUs: per(tokens, 1000),
      cpuPerTurnMs: mode === 'turns' ? per(turns, 1) : null,
    };
  } finally {
    // In the reverse order of their start, one after the other: the clients stop asking before
    // the worker goes, the worker stops reading before the model goes (a stream cut under it
    // would be its failure). Each role writes its profile on SIGTERM. Then Redis.
    for (const child of started.reverse()) await child.stop(5000);
    await redis.stop();
  }
}

/** A role's counters, asked over its IPC channel; a role that has exited fails the floor (its output says why). */
function countsOf(child: ManagedProcess): Promise<FloorCounts> {
  return new Promise((resolve, reject) => {
    const onExit = (code: number | null) => {
      child.child.off('message', onMessage);
      reject(new Error(`${child.name} exited (code ${code}) during the floor's window`));
    };
    const onMessage = (reply: FloorReply) => {
      if (reply?.type !== 'counts') return;
      child.child.off('message', onMessage);
      child.child.off('exit', onExit);
      resolve(reply.counts);
    };
    if (!child.running) {
      onExit(child.child.exitCode);
      return;
    }
    child.child.on('message', onMessage);
    child.child.once('exit', onExit);
    child.child.send({ type: 'count' });
  });
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** `added to 1st token p50 0.9 ms · worker 15.2 · gateway 4.7 · redis 0.4 = 20.3 µs per token (…)` */
export function formatFloor(figures: FloorFigures): string {
  const c = figures.cpuPerTokenUs;
  const first = figures.addedFirstMs ? `added to 1st token p50 / p99 ${figures.addedFirstMs.p50} / ${figures.addedFirstMs.p99} ms · ` : '';
  const turns = figures.cpuPerTurnMs ? `, ${figures.cpuPerTurnMs.floor} ms per turn at ${figures.turnsPerSecond} turns/s` : '';
  return `${first}worker ${c.worker} · gateway ${c.gateway} · redis ${c.redis} = ${c.floor} µs per token (${figures.tokensPerSecond} tokens/s, ${figures.framesPerToken} frames per token${turns})`;
}
