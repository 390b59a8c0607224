import { RedisBinaryMissingError } from '@chat/shared/dev';
import { LOCAL_REDIS_DATA_DIR, LocalStack } from './local-stack.js';
import { PortInUseError } from './port-probe.js';
import { startBanner } from './start-banner.js';
import { parseStartOptions } from './start-options.js';

/**
 * `pnpm start`: the whole service on this machine (options: `start-options.ts`). Never imported.
 *
 * Ctrl-C ends it with exit code 0: the terminal sends SIGINT to pnpm, to this process and to its
 * children; this process stops the parts in order and exits 0. The start script `exec`s node, so
 * no shell sits between pnpm and this process: a shell killed by the SIGINT is what made pnpm
 * print `ELIFECYCLE Command failed`.
 */
async function main(): Promise<void> {
  const command = parseStartOptions(process.argv.slice(2));
  if (command.kind === 'help') {
    process.stdout.write(command.text);
    process.exit(0);
  }
  if (command.kind === 'error') {
    process.stderr.write(`${command.message}\n\n${command.text}`);
    process.exit(2);
  }
  // A patient start-up limit: on a busy laptop or CI box a worker can take many seconds to be ready.
  const stack = new LocalStack({ gateways: command.gateways, workers: command.workers, redisCluster: command.redisCluster, redisDataDir: LOCAL_REDIS_DATA_DIR, readyTimeoutMs: 90_000 });
  let stopping = false;
  /** Stops everything, then exits with `code` (0 for a stop asked for, 1 when a part died). */
  const stop = (code = 0) => {
    if (stopping) return;
    stopping = true;
    process.stdout.write('\nstopping the local stack…\n');
    stack.stop().then(
      () => {
        process.stdout.write('stopped.\n');
        process.exit(code);
      },
      () => process.exit(1),
    );
  };
  process.on('SIGINT', () => stop());
  process.on('SIGTERM', () => stop());
  let running;
  try {
    running = await stack.start();
  } catch (err) {
    if (stopping) return; // Ctrl-C during start-up: stop() exits
    if (err instanceof RedisBinaryMissingError || err instanceof PortInUseError) process.stderr.write(`\n${err.message}\n`);
    else process.stderr.write(`\nthe local stack failed to start: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  }
  process.stdout.write(startBanner(running));
  // If a part dies, say so and take the rest down: a half-running stack only confuses.
  for (const part of [...running.gateways, ...running.workers]) {
    void part.exited.then((code) => {
      if (stopping) return;
      process.stderr.write(`\n${part.name} exited unexpectedly (code ${code}); stopping the stack\n`);
      stop(1);
    });
  }
}

void main();
