import { ConfigError, announceReady, createLogger, loadConfig } from '@chat/shared';
import { ChatWorker } from './chat-worker.js';

/** Process entry point of a worker. Never imported. */
async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
  const logger = createLogger('worker', config.log.level);
  const worker = new ChatWorker({ config, logger });
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'stopping');
    worker.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  await worker.start();
  // The bound metrics port (WORKER_METRICS_PORT=0 lets the OS pick one): a launcher can find it.
  announceReady('worker', worker.metricsPort ?? undefined);
}

main().catch((err: unknown) => {
  process.stderr.write(`worker failed to start: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
