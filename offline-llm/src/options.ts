import type { Logger } from '@chat/shared';

/** How the offline model paces one answer. */
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
   * @default 120
   */
  answerTokens: number;
}

/** Options of `OfflineLlmServer`. */
export interface OfflineLlmOptions extends Partial<PacingOptions> {
  /**
   * Honour the per-request pacing headers `x-offline-ttft-ms`, `x-offline-tokens-per-second` and
   * `x-offline-answer-tokens`. Off by default so a client of the service cannot change how the
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

export const DEFAULT_OPTIONS = Object.freeze({
  ttftMs: 400,
  tokensPerSecond: 60,
  answerTokens: 120,
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
    allowRequestOverrides: options.allowRequestOverrides ?? DEFAULT_OPTIONS.allowRequestOverrides,
    modelId: options.modelId ?? DEFAULT_OPTIONS.modelId,
    maxBodyBytes: options.maxBodyBytes ?? DEFAULT_OPTIONS.maxBodyBytes,
    tickMs: options.tickMs ?? DEFAULT_OPTIONS.tickMs,
    shutdownGraceMs: options.shutdownGraceMs ?? DEFAULT_OPTIONS.shutdownGraceMs,
    logger: options.logger,
  };
  requireInteger('ttftMs', resolved.ttftMs, 0);
  requireInteger('tokensPerSecond', resolved.tokensPerSecond, 0);
  requireInteger('answerTokens', resolved.answerTokens, 1);
  requireInteger('maxBodyBytes', resolved.maxBodyBytes, 1);
  requireInteger('tickMs', resolved.tickMs, 1);
  requireInteger('shutdownGraceMs', resolved.shutdownGraceMs, 0);
  if (resolved.modelId.length === 0) throw new RangeError('modelId must not be empty');
  return resolved;
}

function requireInteger(name: string, value: number, min: number): void {
  if (!Number.isSafeInteger(value) || value < min) throw new RangeError(`${name} must be an integer >= ${min} (got ${value})`);
}
