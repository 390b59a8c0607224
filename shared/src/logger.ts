import { pino, type Logger, type LoggerOptions } from 'pino';

export type { Logger } from 'pino';

/**
 * Paths that may carry message text or personal data. They are redacted from every log line;
 * log the ids (session_id, message_id) instead.
 */
export const REDACTED_LOG_PATHS = [
  'message',
  'content',
  'customer_name',
  'customer_email',
  '*.message',
  '*.content',
  '*.customer_name',
  '*.customer_email',
  'req.headers.authorization',
  'headers.authorization',
  // Session tokens and socket tickets are credentials (nothing logs them; this is the backstop).
  'authorization',
  'token',
  'ticket',
  '*.authorization',
  '*.token',
  '*.ticket',
];

/** The pino logger of one process: JSON lines, bound to the service and process role. */
export function createLogger(role: string, level: string, destination?: pino.DestinationStream): Logger {
  const options: LoggerOptions = {
    level,
    base: { service: 'scalable-chatbot-svc', role, pid: process.pid },
    timestamp: pino.stdTimeFunctions.isoTime,
    redact: { paths: REDACTED_LOG_PATHS, censor: '[redacted]' },
    formatters: { level: (label) => ({ level: label }) },
  };
  return destination ? pino(options, destination) : pino(options);
}

const LEVEL_METHODS: ReadonlySet<string> = new Set(['trace', 'debug', 'info', 'warn', 'error', 'fatal']);

function noop(): void {}

/**
 * `parent.child(bindings)`, made the first time it is used for anything but a call at a level
 * the parent does not log. For a logger per unit of work (a worker's per-turn logger): pino
 * serialises and redacts the bindings when a child is made, which was 2 % of everything a loaded
 * worker allocated, while most turns log nothing at the levels enabled.
 */
export function lazyChild(parent: Logger, bindings: pino.Bindings): Logger {
  let child: Logger | null = null;
  const made = (): Logger => (child ??= parent.child(bindings));
  return new Proxy(parent, {
    get(_parent, property) {
      if (child === null && typeof property === 'string' && LEVEL_METHODS.has(property) && !parent.isLevelEnabled(property)) return noop;
      const logger = made();
      const value: unknown = Reflect.get(logger, property, logger);
      return typeof value === 'function' ? value.bind(logger) : value;
    },
    set(_parent, property, value) {
      return Reflect.set(made(), property, value);
    },
  });
}
