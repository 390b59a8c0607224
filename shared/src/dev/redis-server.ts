import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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
 */
export async function spawnRedisServer(options: SpawnRedisOptions = {}): Promise<SpawnedRedis> {
  if (!redisServerAvailable()) throw new RedisBinaryMissingError();
  const port = options.port ?? (await findFreePort());
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
  const child = spawn('redis-server', args, { stdio: options.stdio ?? 'ignore', detached: options.detached ?? false });
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
  await waitForPort(port, 10_000, () => exited);
  let stopped: Promise<void> | null = null;
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    process: child,
    stop() {
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
    },
  };
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

/** Resolves once something accepts TCP connections on 127.0.0.1:port. */
export async function waitForPort(port: number, timeoutMs: number, gaveUp: () => boolean = () => false): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (gaveUp()) throw new Error(`the process meant to listen on port ${port} exited`);
    const open = await new Promise<boolean>((resolve) => {
      const socket = createConnection({ port, host: '127.0.0.1' });
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (open) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`nothing listened on port ${port} within ${timeoutMs} ms`);
}
