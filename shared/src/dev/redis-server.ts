import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { findFreePort } from './free-port.js';

/** A `redis-server` child process on a free loopback port, for development and tests. */
export interface SpawnedRedis {
  url: string;
  port: number;
  process: ChildProcess;
  /** Stops the server (SIGTERM, then SIGKILL) and removes its work directory. Safe to call twice. */
  stop(): Promise<void>;
}

export interface SpawnRedisOptions {
  /** Port to listen on; default: a free one. */
  port?: number;
  /** Extra `redis-server` arguments, e.g. ['--maxmemory', '64mb']. */
  extraArgs?: string[];
  /** Where the server's output goes; default: ignored. */
  stdio?: 'ignore' | 'inherit';
  /**
   * Its own process group, so a Ctrl-C in the terminal (which signals the whole group) does not
   * stop it before the parts that use it: the launcher stops it last. It is killed when this
   * process exits if not stopped before. Default: false.
   */
  detached?: boolean;
  /**
   * Keep the data in this folder (created if missing) and load it at start: an append-only file,
   * fsynced every second (the local start command's Redis, so a restart keeps sessions, their
   * history and queued turns). Default: a throwaway folder and no persistence (tests).
   */
  dataDir?: string;
}

export class RedisBinaryMissingError extends Error {
  constructor() {
    super(
      'redis-server was not found on PATH. Install Redis 7 (Debian/Ubuntu: `sudo apt-get install redis-server`; ' +
        'macOS: `brew install redis`), or set REDIS_URL to a Redis you already run.',
    );
    this.name = 'RedisBinaryMissingError';
  }
}

export function redisServerAvailable(): boolean {
  return spawnSync('redis-server', ['--version'], { stdio: 'ignore' }).status === 0;
}

/**
 * Starts `redis-server` bound to 127.0.0.1 only, with `maxmemory-policy noeviction` because
 * BullMQ must never lose a job key to eviction; persisting nothing, unless `dataDir` is given.
 *
 * A port found free can be taken by another process before Redis binds it (a loaded machine,
 * many test files starting servers at once): Redis then exits, and a new free port is tried, up
 * to five times (one try for a port given in `options.port`). And the server is ready only when
 * the one answering on the port is this child (its `INFO` names the child's pid): another
 * process that took the port must not pass for it.
 */
export async function spawnRedisServer(options: SpawnRedisOptions = {}): Promise<SpawnedRedis> {
  if (!redisServerAvailable()) throw new RedisBinaryMissingError();
  const attempts = options.port === undefined ? 5 : 1;
  for (let attempt = 1; ; attempt++) {
    const port = options.port ?? (await findFreePort());
    try {
      return await startRedisServer(port, options);
    } catch (err) {
      if (!(err instanceof PortTakenError) || attempt >= attempts) throw err;
    }
  }
}

/** The port was taken before this server could bind it. */
class PortTakenError extends Error {
  constructor(port: number, detail: string) {
    super(`port ${port} was taken before redis-server could bind it: ${detail}`);
    this.name = 'PortTakenError';
  }
}

async function startRedisServer(port: number, options: SpawnRedisOptions): Promise<SpawnedRedis> {
  const persistent = options.dataDir !== undefined;
  const dir = persistent ? options.dataDir! : mkdtempSync(join(tmpdir(), 'chat-redis-'));
  if (persistent) {
    mkdirSync(dir, { recursive: true });
    assertDataDirFree(dir);
  }
  const args = [
    '--port', String(port),
    '--bind', '127.0.0.1',
    // No RDB snapshots either way: the append-only file alone, when persistent.
    '--save', '',
    ...(persistent
      ? ['--appendonly', 'yes', '--appendfsync', 'everysec', '--pidfile', join(dir, PID_FILE)]
      : ['--appendonly', 'no']),
    '--dir', dir,
    '--maxmemory-policy', 'noeviction',
    '--daemonize', 'no',
    // Many sockets per test gateway: keep the default 10k client limit explicit.
    '--maxclients', '10000',
    ...(options.extraArgs ?? []),
  ];
  // Its log is read (the last lines explain an exit before it was ready) and passed on when asked.
  const child = spawn('redis-server', args, { stdio: ['ignore', 'pipe', 'pipe'], detached: options.detached ?? false });
  const lastLines: string[] = [];
  for (const [stream, forwardTo] of [
    [child.stdout!, process.stdout],
    [child.stderr!, process.stderr],
  ] as const) {
    createInterface({ input: stream }).on('line', (line) => {
      if (options.stdio === 'inherit') forwardTo.write(`${line}\n`);
      lastLines.push(line);
      if (lastLines.length > 20) lastLines.shift();
    });
  }
  // 'close' comes after 'exit', once its output has been read to the end.
  const closed = new Promise<void>((resolve) => child.once('close', () => resolve()));
  let exited = false;
  child.once('exit', () => {
    exited = true;
  });
  if (options.detached) {
    // Out of the terminal's reach, so it goes with this process, however that ends.
    const killOnExit = () => {
      if (!exited) child.kill('SIGKILL');
    };
    process.once('exit', killOnExit);
    child.once('exit', () => process.off('exit', killOnExit));
  }
  let stopped: Promise<void> | null = null;
  const stop = (): Promise<void> => {
    stopped ??= (async () => {
      if (!exited) {
        const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()));
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
        await gone;
        clearTimeout(timer);
      }
      // A data folder stays (it is the point); only its pid file goes, if Redis left it.
      if (persistent) rmSync(join(dir, PID_FILE), { force: true });
      else rmSync(dir, { recursive: true, force: true });
    })();
    return stopped;
  };
  try {
    // A server loading a large append-only file is not ready until it is done: give it longer.
    await waitForOwnServer(port, child, persistent ? 120_000 : 10_000, () => exited, async () => {
      await Promise.race([closed, new Promise((resolve) => setTimeout(resolve, 1000))]);
      return lastLines.join('\n');
    });
  } catch (err) {
    await stop();
    throw err;
  }
  return { url: `redis://127.0.0.1:${port}`, port, process: child, stop };
}

const PID_FILE = 'redis-server.pid';

/**
 * Two servers appending to one file would corrupt it: refuses a data folder whose pid file names
 * a process that still runs (a second `pnpm start` on this checkout).
 */
function assertDataDirFree(dir: string): void {
  const pidFile = join(dir, PID_FILE);
  if (!existsSync(pidFile)) return;
  const pid = Number(readFileSync(pidFile, 'utf8').trim());
  if (!Number.isInteger(pid) || pid <= 0) return;
  try {
    process.kill(pid, 0);
  } catch {
    return; // Gone: a stale pid file from a run that was killed.
  }
  throw new Error(`another redis-server (pid ${pid}) already keeps its data in ${dir}; stop it first`);
}

/**
 * Resolves once the server answering on 127.0.0.1:port is `child` (its `INFO` reports the child's
 * pid) and has loaded its data. Rejects with PortTakenError when the child exits because that
 * port was in use, or another server answers there; with the child's last output when it exits
 * for another reason (a cluster node's bus port in use, say: its caller picks another).
 */
async function waitForOwnServer(port: number, child: ChildProcess, timeoutMs: number, exited: () => boolean, output: () => Promise<string>): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (exited()) {
      const said = await output();
      if (said.includes(`127.0.0.1:${port}: bind: Address already in use`)) throw new PortTakenError(port, 'redis-server exited');
      throw new Error(`redis-server on port ${port} exited before it was ready; its last output:\n${said}`);
    }
    const state = await serverState(port);
    if (state !== null && state.pid !== child.pid) throw new PortTakenError(port, `another server (pid ${state.pid}) answers there`);
    if (state !== null && !state.loading) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`redis-server was not ready on port ${port} within ${timeoutMs} ms`);
}

/**
 * The pid of the Redis answering on 127.0.0.1:port and whether it is still loading its data
 * (`INFO` answers during a load, other commands do not); null when nothing answers (yet), or
 * what answers is no Redis.
 */
async function serverState(port: number): Promise<{ pid: number; loading: boolean } | null> {
  // One try, no reconnects, no queueing: a probe, asked again by the caller's loop.
  const probe = new Redis({ host: '127.0.0.1', port, lazyConnect: true, connectTimeout: 1000, commandTimeout: 1000, maxRetriesPerRequest: 0, retryStrategy: () => null, enableReadyCheck: false, enableOfflineQueue: false });
  probe.on('error', () => {});
  try {
    await probe.connect();
    const info = String(await probe.call('INFO', 'server', 'persistence'));
    const pid = /^process_id:(\d+)\r?$/m.exec(info);
    return pid ? { pid: Number(pid[1]), loading: /^loading:1\r?$/m.test(info) } : null;
  } catch {
    return null;
  } finally {
    probe.disconnect();
  }
}
