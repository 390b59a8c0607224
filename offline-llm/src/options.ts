import type { Logger } from '@chat/shared';

/** How the offline model paces and sizes one answer (each may be overridden per request). */
export interface PacingOptions {
  /**
   * Delay between the request and the first content token, ms. The role chunk is sent at once
   * (as OpenAI does), so clients see headers immediately and wait this long for content.
   * @default 400
   */
  ttftMs: number;
  /**
   * Content tokens per second after the first one. 0 = as fast as possible: tokens are written
   * in batches, yielding to the event loop every `FAST_BATCH_TOKENS`, to measure relay throughput.
   * @default 60
   */
  tokensPerSecond: number;
  /**
   * Upper bound on the tokens of one answer; the composed answer is trimmed to the last whole
   * sentence that fits. A request's `max_tokens` caps it further (and then finishes "length").
   * At most `MAX_ANSWER_TOKENS`.
   * @default 120
   */
  answerTokens: number;
  /**
   * Make every answer exactly `answerTokens` tokens long (benchmarks and tests that need long
   * answers without a long prompt): a shorter composed answer is followed by numbered padding
   * sentences ("Further detail 1 from the offline model: …"), a longer one is cut at exactly
   * `answerTokens`. Deterministic, like the answer itself. A request's `max_tokens` still cuts
   * it (and then finishes "length").
   * @default false
   */
  fillToAnswerTokens: boolean;
}

/** Options of `OfflineLlmServer`. */
export interface OfflineLlmOptions extends Partial<PacingOptions> {
  /**
   * Honour the per-request pacing headers `x-offline-ttft-ms`, `x-offline-tokens-per-second`,
   * `x-offline-answer-tokens` and `x-offline-fill` (`1` or `0`). Off by default so a client of the service cannot change how the
   * shared model behaves; benchmarks turn it on.
   * @default false
   */
  allowRequestOverrides?: boolean;
  /**
   * The model id listed by `GET /v1/models`. Requests may name any model; responses echo it.
   * @default 'offline-llm'
   */
  modelId?: string;
  /**
   * Largest request body accepted, bytes; bigger bodies are answered 413.
   * @default 1048576 (1 MiB)
   */
  maxBodyBytes?: number;
  /**
   * Resolution of the shared pacing ticker, ms. Every active stream is advanced by one timer
   * wheel that turns this often, instead of a timer per token per stream.
   * @default 10
   */
  tickMs?: number;
  /**
   * How long `close()` lets in-flight answers finish before it cuts their connections, ms.
   * @default 5000
   */
  shutdownGraceMs?: number;
  /**
   * Where lifecycle events and errors are logged (never per request or per token).
   * @default undefined (nothing is logged)
   */
  logger?: Logger;
}

/** Options with every default applied. */
export interface ResolvedOfflineLlmOptions extends PacingOptions {
  allowRequestOverrides: boolean;
  modelId: string;
  maxBodyBytes: number;
  tickMs: number;
  shutdownGraceMs: number;
  logger: Logger | undefined;
}

/**
 * Upper bound of `answerTokens`: with `fillToAnswerTokens` an answer is built that long, so the
 * bound keeps one misconfiguration from allocating gigabytes.
 */
export const MAX_ANSWER_TOKENS = 1_000_000;

export const DEFAULT_OPTIONS = Object.freeze({
  ttftMs: 400,
  tokensPerSecond: 60,
  answerTokens: 120,
  fillToAnswerTokens: false,
  allowRequestOverrides: false,
  modelId: 'offline-llm',
  maxBodyBytes: 1024 * 1024,
  tickMs: 10,
  shutdownGraceMs: 5000,
});

/** Applies defaults and refuses values that would make the server misbehave (throws RangeError). */
export function resolveOptions(options: OfflineLlmOptions = {}): ResolvedOfflineLlmOptions {
  const resolved: ResolvedOfflineLlmOptions = {
    ttftMs: options.ttftMs ?? DEFAULT_OPTIONS.ttftMs,
    tokensPerSecond: options.tokensPerSecond ?? DEFAULT_OPTIONS.tokensPerSecond,
    answerTokens: options.answerTokens ?? DEFAULT_OPTIONS.answerTokens,
    fillToAnswerTokens: options.fillToAnswerTokens ?? DEFAULT_OPTIONS.fillToAnswerTokens,
    allowRequestOverrides: options.allowRequestOverrides ?? DEFAULT_OPTIONS.allowRequestOverrides,
    modelId: options.modelId ?? DEFAULT_OPTIONS.modelId,
    maxBodyBytes: options.maxBodyBytes ?? DEFAULT_OPTIONS.maxBodyBytes,
    tickMs: options.tickMs ?? DEFAULT_OPTIONS.tickMs,
    shutdownGraceMs: options.shutdownGraceMs ?? DEFAULT_OPTIONS.shutdownGraceMs,
    logger: options.logger,
  };
  requireInteger('ttftMs', resolved.ttftMs, 0);
  requireInteger('tokensPerSecond', resolved.tokensPerSecond, 0);
  requireInteger('answerTokens', resolved.answerTokens, 1, MAX_ANSWER_TOKENS);
  requireInteger('maxBodyBytes', resolved.maxBodyBytes, 1);
  requireInteger('tickMs', resolved.tickMs, 1);
  requireInteger('shutdownGraceMs', resolved.shutdownGraceMs, 0);
  if (resolved.modelId.length === 0) throw new RangeError('modelId must not be empty');
  return resolved;
}

function requireInteger(name: string, value: number, min: number, max = Number.MAX_SAFE_INTEGER): void {
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    const range = max === Number.MAX_SAFE_INTEGER ? `>= ${min}` : `from ${min} to ${max}`;
    throw new RangeError(`${name} must be an integer ${range} (got ${value})`);
  }
}
