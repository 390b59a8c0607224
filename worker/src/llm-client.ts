import OpenAI from 'openai';
import type { ChatMessage } from './prompt-builder.js';

export interface LlmClientOptions {
  /** API key; the offline model accepts any. */
  apiKey: string;
  /** OpenAI-compatible endpoint; undefined = OpenAI. */
  baseUrl: string | undefined;
  model: string;
  /** Whole-request timeout, ms. */
  requestTimeoutMs: number;
  /** Longest silence between two streamed chunks before the request is aborted, ms. */
  idleTimeoutMs: number;
  maxTokens: number;
  temperature: number;
}

export interface StreamResult {
  model: string;
  promptTokens: number;
  completionTokens: number;
  /** LLM request start to first content token, ms; null if the answer was empty. */
  ttftMs: number | null;
  finishReason: string | null;
}

/** The stream went silent for longer than the idle timeout. */
export class LlmIdleTimeoutError extends Error {
  constructor(ms: number) {
    super(`no chunk from the LLM for ${ms} ms`);
    this.name = 'LlmIdleTimeoutError';
  }
}

/**
 * Streams chat completions through the official `openai` client, against OpenAI or any
 * compatible endpoint (the bundled offline model included, so the real path always runs).
 * Retries are BullMQ's job, not the client's: `maxRetries: 0`.
 */
export class LlmClient {
  private readonly client: OpenAI;

  constructor(private readonly options: LlmClientOptions) {
    this.client = new OpenAI({
      apiKey: options.apiKey,
      baseURL: options.baseUrl ?? null,
      timeout: options.requestTimeoutMs,
      maxRetries: 0,
    });
  }

  get model(): string {
    return this.options.model;
  }

  /** Streams one answer, calling `onToken` per content delta; `signal` aborts the request. */
  async stream(messages: ChatMessage[], signal: AbortSignal, onToken: (text: string) => void): Promise<StreamResult> {
    const started = performance.now();
    const idle = new AbortController();
    const combined = AbortSignal.any([signal, idle.signal]);
    const idleTimer = setTimeout(() => idle.abort(new LlmIdleTimeoutError(this.options.idleTimeoutMs)), this.options.idleTimeoutMs);
    const result: StreamResult = { model: this.options.model, promptTokens: 0, completionTokens: 0, ttftMs: null, finishReason: null };
    let deltas = 0;
    try {
      const stream = await this.client.chat.completions.create(
        {
          model: this.options.model,
          messages,
          stream: true,
          stream_options: { include_usage: true },
          max_tokens: this.options.maxTokens,
          temperature: this.options.temperature,
        },
        { signal: combined },
      );
      for await (const chunk of stream) {
        idleTimer.refresh();
        if (chunk.model) result.model = chunk.model;
        if (chunk.usage) {
          result.promptTokens = chunk.usage.prompt_tokens;
          result.completionTokens = chunk.usage.completion_tokens;
        }
        const choice = chunk.choices[0];
        if (!choice) continue;
        const text = choice.delta?.content;
        if (text) {
          if (result.ttftMs === null) result.ttftMs = performance.now() - started;
          deltas++;
          onToken(text);
        }
        if (choice.finish_reason) result.finishReason = choice.finish_reason;
      }
    } catch (err) {
      // The client reports an abort as its own error; surface the reason we aborted for.
      if (combined.aborted) throw combined.reason;
      throw err;
    } finally {
      clearTimeout(idleTimer);
    }
    // openai 6 ends an aborted stream's iteration quietly instead of throwing: without this
    // check an idle timeout or a cancel would pass for a complete (if short) answer.
    if (combined.aborted) throw combined.reason;
    // Providers that do not send usage: count deltas, which is what most of them are.
    if (result.completionTokens === 0) result.completionTokens = deltas;
    return result;
  }
}

/** How the worker should treat an LLM error. */
export type LlmErrorClass =
  | { kind: 'rate_limited'; retryAfterMs: number }
  | { kind: 'transient' }
  | { kind: 'permanent' };

/**
 * 429 → wait (a BullMQ rate-limit, no attempt used); 408/409/5xx, timeouts and connection
 * failures → retry with backoff; other 4xx (bad request, auth, unknown model) → fail now.
 */
export function classifyLlmError(err: unknown): LlmErrorClass {
  if (err instanceof LlmIdleTimeoutError) return { kind: 'transient' };
  if (err instanceof OpenAI.APIConnectionError) return { kind: 'transient' }; // includes timeouts
  if (err instanceof OpenAI.APIError) {
    const status = err.status ?? 0;
    if (status === 429) return { kind: 'rate_limited', retryAfterMs: retryAfterMs(err.headers) };
    if (status === 408 || status === 409 || status >= 500) return { kind: 'transient' };
    if (status >= 400) return { kind: 'permanent' };
  }
  return { kind: 'transient' };
}

function retryAfterMs(headers: Headers | undefined): number {
  const ms = Number(headers?.get('retry-after-ms'));
  if (Number.isFinite(ms) && ms > 0) return ms;
  const seconds = Number(headers?.get('retry-after'));
  if (Number.isFinite(seconds) && seconds > 0) return seconds * 1000;
  return 1000;
}
