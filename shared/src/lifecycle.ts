import type { Logger } from 'pino';
import type { RedisClient } from './redis/connection.js';

export interface ShutdownStep {
  name: string;
  run: () => unknown;
  /** Longest this step may take before shutdown moves on, ms. Default: 5000. */
  timeoutMs?: number;
}

/**
 * Runs shutdown steps in order, each in its own try/catch and under its own time limit, so a
 * step that fails or hangs (a Redis that is gone, say) never stops the ones after it.
 */
export async function runShutdownSteps(logger: Logger, steps: ShutdownStep[]): Promise<void> {
  for (const step of steps) {
    let timer: NodeJS.Timeout | undefined;
    try {
      const outcome = await Promise.race([
        Promise.resolve().then(step.run).then(() => 'done' as const),
        new Promise<'timeout'>((resolve) => {
          timer = setTimeout(() => resolve('timeout'), step.timeoutMs ?? 5000);
        }),
      ]);
      if (outcome === 'timeout') logger.warn({ step: step.name }, 'shutdown step timed out; moving on');
    } catch (err) {
      logger.warn({ err: err instanceof Error ? err.message : String(err), step: step.name }, 'shutdown step failed');
    } finally {
      clearTimeout(timer);
    }
  }
}

/** Closes a Redis connection: politely (QUIT) when it is up, at once when it is not. */
export async function closeRedis(redis: RedisClient): Promise<void> {
  if (redis.status === 'ready') {
    try {
      await redis.quit();
      return;
    } catch {
      // fall through to disconnect
    }
  }
  redis.disconnect();
}

/** The message a part sends its parent (the local stack launcher) once it serves. */
export interface ReadyMessage {
  type: 'ready';
  role: string;
  port?: number;
}

/**
 * Tells a parent process, if there is one with an IPC channel, that this part is ready. The
 * launcher waits for this rather than for a log line, which depends on the log level.
 */
export function announceReady(role: string, port?: number): void {
  const message: ReadyMessage = port === undefined ? { type: 'ready', role } : { type: 'ready', role, port };
  process.send?.(message);
}
