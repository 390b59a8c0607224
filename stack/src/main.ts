import { parseArgs } from 'node:util';
import { RedisBinaryMissingError } from '@chat/shared/dev';
import { LOCAL_REDIS_DATA_DIR, LocalStack } from './local-stack.js';

/**
 * `pnpm start`: the whole service on this machine. Never imported.
 *   --gateways N   gateway processes sharing the port (default 1)
 *   --workers N    worker processes (default 1)
 */
async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      gateways: { type: 'string', default: '1' },
      workers: { type: 'string', default: '1' },
    },
  });
  const gateways = Number(values.gateways);
  const workers = Number(values.workers);
  if (!Number.isInteger(gateways) || gateways < 1 || !Number.isInteger(workers) || workers < 1) {
    process.stderr.write('--gateways and --workers take whole numbers ≥ 1\n');
    process.exit(2);
  }
  const stack = new LocalStack({ gateways, workers, redisDataDir: LOCAL_REDIS_DATA_DIR });
  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    process.stdout.write('\nstopping the local stack…\n');
    stack.stop().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  let running;
  try {
    running = await stack.start();
  } catch (err) {
    if (err instanceof RedisBinaryMissingError) process.stderr.write(`\n${err.message}\n`);
    else process.stderr.write(`\nthe local stack failed to start: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  }
  const lines = [
    '',
    'scalable-chatbot-svc is running',
    `  REST       ${running.httpUrl}  (POST /chat/session, POST /chat/message, GET /health, GET /metrics)`,
    `  WebSocket  ${running.wsUrl}/ws/<sessionId>/<clientId>`,
    `  Redis      ${running.redisUrl}${running.spawnedRedis ? ` (spawned for this run; data kept in ${LOCAL_REDIS_DATA_DIR})` : ''}`,
    `  LLM        ${running.offlineLlmUrl ? `offline model at ${running.offlineLlmUrl} (no OPENAI_API_KEY set)` : 'OpenAI-compatible API from OPENAI_API_KEY / OPENAI_BASE_URL'}`,
    `  parts      ${running.gateways.length} gateway(s), ${running.workers.length} worker(s)`,
    'Press Ctrl-C to stop everything.',
    '',
  ];
  process.stdout.write(lines.join('\n'));
  // If a part dies, say so and take the rest down: a half-running stack only confuses.
  for (const part of [...running.gateways, ...running.workers]) {
    void part.exited.then((code) => {
      if (stopping) return;
      process.stderr.write(`\n${part.name} exited unexpectedly (code ${code}); stopping the stack\n`);
      stop();
    });
  }
}

void main();
