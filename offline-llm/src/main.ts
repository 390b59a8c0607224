/**
 * Process entry of the offline model: `node dist/main.js`. Reads the shared config
 * (offlineLlm.*, log.level, llm.model, shutdown.timeoutMs), listens, and closes gracefully on
 * SIGTERM / SIGINT (a second signal exits at once). Never imported by anything else.
 */
import { ConfigError, announceReady, connectHost, createLogger, loadConfig, type Config } from '@chat/shared';
import { OfflineLlmServer } from './offline-llm-server.js';

function readConfig(): Readonly<Config> {
  try {
    return loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
}

const config = readConfig();
const logger = createLogger('offline-llm', config.log.level);
const { host, port, ttftMs, tokensPerSecond, answerTokens, fillToAnswerTokens, allowRequestOverrides } = config.offlineLlm;

const server = new OfflineLlmServer({
  ttftMs,
  tokensPerSecond,
  answerTokens,
  fillToAnswerTokens,
  allowRequestOverrides,
  // List the model the worker asks for, so a client that checks /v1/models finds it.
  modelId: config.llm.model,
  shutdownGraceMs: config.shutdown.timeoutMs,
  logger,
});

let boundPort: number;
try {
  boundPort = await server.listen(port, host);
} catch (err) {
  logger.fatal({ err, host, port }, 'offline model could not listen');
  process.exit(1);
}
logger.info(
  { url: `http://${connectHost(host)}:${boundPort}/v1`, ttftMs, tokensPerSecond, answerTokens, fillToAnswerTokens, allowRequestOverrides },
  'offline model listening',
);
announceReady('offline-llm', boundPort);

let stopping = false;
function stop(signal: NodeJS.Signals): void {
  if (stopping) {
    logger.warn({ signal }, 'second signal: exiting now');
    process.exit(1);
  }
  stopping = true;
  logger.info({ signal }, 'offline model shutting down');
  server.close().then(
    () => process.exit(0),
    (err: unknown) => {
      logger.error({ err }, 'offline model shutdown failed');
      process.exit(1);
    },
  );
}
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
