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
