/**
 * The floor of a streamed token's CPU on this box: what the service's transports cost a token
 * with none of the service's work. The offline model at the scenario's pacing, a Redis, and
 * three bare processes in place of the service (floor-worker.ts, floor-gateway.ts,
 * floor-clients.ts): the model's socket, Redis's sharded pub/sub and a client's WebSocket, and
 * nothing between them. The service's µs per token over the floor's, from the same box in the
 * same run, is what the service's own work costs; a ratio that travels between boxes where the
 * µs do not (docs/performance.md, round 18).
 */
import { fileURLToPath } from 'node:url';
import { SERVICE_NODE_FLAGS } from '@chat/shared';
import { spawnRedisServer } from '@chat/shared/dev';
import { ManagedProcess } from '@chat/stack';
import { CpuMeter } from '../proc-stats.js';
import { settingsToArgs, type FloorCounts, type FloorReply, type FloorRoleSettings } from './floor-protocol.js';

const ROLE_MAIN = fileURLToPath(new URL(import.meta.url.endsWith('.ts') ? '../../dist/token-floor/floor-role-main.js' : './floor-role-main.js', import.meta.url));
const OFFLINE_MODEL_MAIN = fileURLToPath(new URL('../../../offline-llm/dist/main.js', import.meta.url));

export interface TokenFloorOptions {
  sessions: number;
  warmupMs: number;
  measureMs: number;
  /** The offline model's pacing (OFFLINE_LLM_* settings), the scenario's. */
  modelEnv: Readonly<Record<string, string>>;
  /** The bare worker reads the model's streams and publishes nothing: the read's own floor. */
  readOnly?: boolean;
  /** V8 profiles of the bare worker and gateway into this directory. */
  cpuProfDir?: string | null;
}

/** CPU per token of each process; `floor` is worker + gateway + Redis, the service's three. */
export interface FloorCpuPerToken {
  worker: number;
  gateway: number;
  redis: number;
  floor: number;
  'offline-llm': number;
  clients: number;
}

export interface TokenFloorFigures {
  sessions: number;
  readOnly: boolean;
  windowMs: number;
  tokensPerSecond: number;
  answersPerSecond: number;
  /** Frames published per token (a frame holds a session's tokens of one tick). */
  framesPerToken: number;
  /** Frames the clients received per frame published in the window (≈ 1: every frame arrives). */
  receivedPerFrame: number | null;
  /** Frames that reached another session's socket over the run (must be 0). */
  misrouted: number;
  /** CPU of each process in the window, % of one core. */
  cpuPercent: Record<string, number>;
  cpuPerTokenUs: FloorCpuPerToken;
}

export async function runTokenFloor(options: TokenFloorOptions): Promise<TokenFloorFigures> {
  const redis = await spawnRedisServer();
  const started: ManagedProcess[] = [];
  const start = async (name: string, script: string, args: string[], env: Record<string, string> = {}, profiled = false): Promise<ManagedProcess> => {
    const flags = [...SERVICE_NODE_FLAGS];
    if (profiled && options.cpuProfDir) flags.push('--cpu-prof', '--cpu-prof-dir', options.cpuProfDir, '--cpu-prof-name', `floor-${name}-${options.sessions}.cpuprofile`);
    const child = new ManagedProcess({ name, command: process.execPath, args: [...flags, script, ...args], env: { ...process.env, LOG_LEVEL: 'warn', ...env }, forwardOutput: true, readyTimeoutMs: 60_000 });
    started.push(child);
    await child.ready;
    return child;
  };
  const role = (settings: Omit<FloorRoleSettings, 'sessions' | 'redisUrl'>): FloorRoleSettings => ({ ...settings, sessions: options.sessions, redisUrl: redis.url, readOnly: options.readOnly ?? false });
  try {
    const model = await start('offline-llm', OFFLINE_MODEL_MAIN, [], { ...options.modelEnv, OFFLINE_LLM_HOST: '127.0.0.1', OFFLINE_LLM_PORT: '0' });
    const gateway = await start('floor-gateway', ROLE_MAIN, settingsToArgs(role({ role: 'gateway' })), {}, true);
    const clients = await start('floor-clients', ROLE_MAIN, settingsToArgs(role({ role: 'clients', gatewayPort: gateway.port! })));
    const worker = await start('floor-worker', ROLE_MAIN, settingsToArgs(role({ role: 'worker', modelUrl: `http://127.0.0.1:${model.port}/v1` })), {}, true);
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
    const delta = (key: keyof FloorCounts, which: 0 | 1) => (after[which][key] ?? 0) - (before[which][key] ?? 0);
    const tokens = delta('tokens', 0);
    if (tokens <= 0) throw new Error(`the token floor read no tokens in ${Math.round(windowMs)} ms`);
    const usPerToken = (role: string) => round2(((cpuPercent[role] ?? 0) / 100) * windowMs * 1000 / tokens);
    const cpuPerTokenUs: FloorCpuPerToken = {
      worker: usPerToken('worker'),
      gateway: usPerToken('gateway'),
      redis: usPerToken('redis'),
      floor: 0,
      'offline-llm': usPerToken('offline-llm'),
      clients: usPerToken('clients'),
    };
    cpuPerTokenUs.floor = round2(cpuPerTokenUs.worker + cpuPerTokenUs.gateway + cpuPerTokenUs.redis);
    const frames = delta('frames', 0);
    return {
      sessions: options.sessions,
      readOnly: options.readOnly ?? false,
      windowMs: Math.round(windowMs),
      tokensPerSecond: Math.round((tokens / windowMs) * 1000),
      answersPerSecond: round2((delta('answers', 0) / windowMs) * 1000),
      framesPerToken: round2(frames / tokens),
      receivedPerFrame: frames > 0 ? round2(delta('received', 1) / frames) : null,
      misrouted: after[1].misrouted ?? 0,
      cpuPercent,
      cpuPerTokenUs,
    };
  } finally {
    // The roles first (each writes its profile on SIGTERM), the model, then Redis.
    await Promise.all(started.reverse().map((child) => child.stop(5000)));
    await redis.stop();
  }
}

/** A role's counters, asked over its IPC channel. */
function countsOf(child: ManagedProcess): Promise<FloorCounts> {
  return new Promise((resolve) => {
    const onMessage = (reply: FloorReply) => {
      if (reply?.type !== 'counts') return;
      child.child.off('message', onMessage);
      resolve(reply.counts);
    };
    child.child.on('message', onMessage);
    child.child.send({ type: 'count' });
  });
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function round2(x: number): number {
  return Math.round(x * 100) / 100;
}

/** `worker 15.2 · gateway 4.7 · redis 0.4 = 20.3 µs` */
export function formatFloor(figures: TokenFloorFigures): string {
  const c = figures.cpuPerTokenUs;
  return `worker ${c.worker} · gateway ${c.gateway} · redis ${c.redis} = ${c.floor} µs per token (${figures.tokensPerSecond} tokens/s, ${figures.framesPerToken} frames per token)`;
}
