import OpenAI from 'openai';
import type { ChatCompletionChunk, ChatCompletionMessageParam, ChatCompletionTool } from 'openai/resources/chat/completions';
import type { Readable } from 'node:stream';
import { forwardAbort } from './abort-link.js';
import { ContentChunkReader, type ContentChunk } from './content-chunk.js';
import { createNodeHttpFetch, takeNodeBody } from './node-http-fetch.js';
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
  /** Tool calls the model made (their arguments joined from the streamed pieces), in index order; empty when none. */
  toolCalls: LlmToolCall[];
}

/** One tool call of a streamed answer. */
export interface LlmToolCall {
  id: string;
  name: string;
  /** JSON text, as the model wrote it (may be invalid: the runner checks). */
  arguments: string;
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
      fetch: createNodeHttpFetch(),
    });
  }

  get model(): string {
    return this.options.model;
  }

  /**
   * Streams one answer, calling `onToken` per content delta; `signal` aborts the request.
   *
   * The request, its errors (status codes, connection failures, timeouts) and its abort are the
   * `openai` client's; only the streamed body is read here, by `SseReader`, instead of the SDK's
   * `Stream` iterator (an async iterator per event, a byte buffer copied per network read and
   * per event, a line decoder over bytes: a quarter of the worker's CPU at load). The events are
   * handled as the SDK's iterator handles them: `[DONE]` ends the answer, an `error` payload is an
   * `APIError`, malformed JSON throws, a body cut by an abort ends quietly (and the abort is then
   * reported with its reason below).
   */
  async stream(messages: ChatMessage[], signal: AbortSignal, onToken: (text: string) => void, tools?: readonly ChatCompletionTool[]): Promise<StreamResult> {
    const started = performance.now();
    // The request's own signal, aborted by the caller's or by the idle timer (see forwardAbort).
    const request = new AbortController();
    const combined = request.signal;
    const unlink = forwardAbort(signal, request);
    // The idle timeout as a deadline checked when its timer fires: a chunk only notes the time
    // (pushing the timer back on every token, `Timeout.refresh`, was ~1.5 % of a streamed
    // request's instructions: bench/micro/llm-request.mjs --instructions); the timer, when it
    // fires early, is set again for what is left of the silence.
    const idleMs = this.options.idleTimeoutMs;
    let lastChunkAt = started;
    const checkIdle = (): void => {
      const silentMs = performance.now() - lastChunkAt;
      if (silentMs >= idleMs) request.abort(new LlmIdleTimeoutError(idleMs));
      // Whole milliseconds: the loop's clock is coarser than performance.now(), and a fraction would
      // make a timer list of its own.
      else idleTimer = setTimeout(checkIdle, Math.ceil(idleMs - silentMs));
    };
    let idleTimer = setTimeout(checkIdle, idleMs);
    const result: StreamResult = { model: this.options.model, promptTokens: 0, completionTokens: 0, ttftMs: null, finishReason: null, toolCalls: [] };
    // Tool calls arrive as pieces keyed by index (parallel calls interleave): joined here.
    const calls: LlmToolCall[] = [];
    let deltas = 0;
    // The common event, a content token (see ContentChunkReader): the same steps as for a parsed
    // chunk with a model and a non-empty content and nothing else.
    const onContent = (view: ContentChunk): void => {
      lastChunkAt = performance.now();
      if (view.model) result.model = view.model;
      const text = view.content;
      if (text) {
        if (result.ttftMs === null) result.ttftMs = performance.now() - started;
        deltas++;
        onToken(text);
      }
    };
    const onChunk = (chunk: ChatCompletionChunk): void => {
      lastChunkAt = performance.now();
      if (chunk.model) result.model = chunk.model;
      if (chunk.usage) {
        result.promptTokens = chunk.usage.prompt_tokens;
        result.completionTokens = chunk.usage.completion_tokens;
      }
      const choice = chunk.choices[0];
      if (!choice) return;
      const text = choice.delta?.content;
      if (text) {
        if (result.ttftMs === null) result.ttftMs = performance.now() - started;
        deltas++;
        onToken(text);
      }
      const toolDeltas = choice.delta?.tool_calls;
      if (toolDeltas) {
        for (const delta of toolDeltas) {
          const call = (calls[delta.index] ??= { id: '', name: '', arguments: '' });
          if (delta.id) call.id = delta.id;
          if (delta.function?.name) call.name += delta.function.name;
          if (delta.function?.arguments) call.arguments += delta.function.arguments;
        }
      }
      if (choice.finish_reason) result.finishReason = choice.finish_reason;
    };
    try {
      const response = await this.client.chat.completions
        .create(
          {
            model: this.options.model,
            messages: messages as ChatCompletionMessageParam[],
            ...(tools && tools.length > 0 ? { tools: [...tools], parallel_tool_calls: true } : {}),
            stream: true,
            stream_options: { include_usage: true },
            max_tokens: this.options.maxTokens,
            temperature: this.options.temperature,
          },
          { signal: combined },
        )
        .asResponse();
      await readCompletionChunks(response, onChunk, onContent);
    } catch (err) {
      // The client reports an abort as its own error; surface the reason we aborted for.
      if (combined.aborted) throw combined.reason;
      throw err;
    } finally {
      clearTimeout(idleTimer);
      unlink();
    }
    // An aborted body ends the read quietly (as openai's own iterator does): without this check
    // an idle timeout or a cancel would pass for a complete (if short) answer.
    if (combined.aborted) throw combined.reason;
    // Providers that do not send usage: count deltas, which is what most of them are.
    if (result.completionTokens === 0) result.completionTokens = deltas;
    result.toolCalls = calls.filter((c) => c !== undefined && c.name.length > 0);
    return result;
  }
}

/**
 * Reads a streamed chat completion body to its end, calling `onChunk` per chunk, with the
 * semantics of openai's `Stream.fromSSEResponse`: events after `[DONE]` are ignored, a payload
 * with `error` throws `APIError` (status undefined), malformed JSON throws, an abort of the body
 * ends the read without an error. Any other failure cancels the body (closing the connection).
 * A content token's event (`ContentChunkReader`) goes to `onContent` instead, unparsed.
 */
async function readCompletionChunks(response: Response, onChunk: (chunk: ChatCompletionChunk) => void, onContent: (view: ContentChunk) => void): Promise<void> {
  const reader = completionEventReader(response.headers, onChunk, onContent);
  // Taken before anything touches `response.body`, which would build the web body for nothing.
  const nodeBody = takeNodeBody(response);
  if (nodeBody !== null) return readNodeBody(nodeBody, reader);
  const body = response.body;
  if (!body) throw new OpenAI.OpenAIError('Attempted to iterate over a response with no body');
  const bytes = body.getReader();
  const decoder = new TextDecoder();
  let finished = false;
  try {
    for (;;) {
      const { value, done: ended } = await bytes.read();
      if (ended) break;
      reader.feed(decoder.decode(value, { stream: true }));
    }
    reader.feed(decoder.decode());
    reader.end();
    finished = true;
  } catch (err) {
    if (!isAbortError(err)) throw err;
  } finally {
    if (!finished) bytes.cancel().catch(() => {});
  }
}

/**
 * The SSE reader of a chat completion stream: `[DONE]` ends it (later events are ignored),
 * Assistants-API events are skipped, a content token's event goes to `onContent` unparsed
 * (`ContentChunkReader`), every other event is parsed: an `error` payload throws `APIError`,
 * malformed JSON throws, anything else goes to `onChunk`.
 */
export function completionEventReader(headers: Headers, onChunk: (chunk: ChatCompletionChunk) => void, onContent: (view: ContentChunk) => void): SseReader {
  let done = false;
  const view = new ContentChunkReader();
  return new SseReader((event, data) => {
    if (done) return;
    if (data.startsWith('[DONE]')) {
      done = true;
      return;
    }
    // Assistants-API events: never part of a chat completion stream.
    if (event !== null && event.startsWith('thread.')) return;
    if (view.read(data)) {
      onContent(view);
      return;
    }
    const chunk = JSON.parse(data) as ChatCompletionChunk & { error?: unknown };
    if (chunk && chunk.error) throw new OpenAI.APIError(undefined, chunk.error as object, undefined, headers);
    onChunk(chunk);
  });
}

/**
 * The same read over the Node stream of `createNodeHttpFetch`'s responses: a `data` callback per
 * network read, no promise per read. A body that closes before its end (the connection cut)
 * fails the read, as fetch's "terminated" does: a cut answer never passes for a whole one.
 */
function readNodeBody(body: Readable, reader: SseReader): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const fail = (err: unknown): void => {
      body.destroy();
      if (isAbortError(err)) resolve();
      else reject(err);
    };
    body.setEncoding('utf8');
    body.on('data', (text: string) => {
      try {
        reader.feed(text);
      } catch (err) {
        fail(err);
      }
    });
    body.once('end', () => {
      try {
        reader.end();
        resolve();
      } catch (err) {
        reject(err);
      }
    });
    body.once('error', fail);
    body.once('close', () => {
      if (!body.readableEnded) fail(new OpenAI.APIConnectionError({ message: 'The response body ended before the stream did (connection closed).' }));
    });
  });
}

function isAbortError(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as { name?: unknown }).name === 'AbortError';
}

/**
 * A server-sent events parser over decoded text (WHATWG rules, as openai's `SSEDecoder` and
 * `LineDecoder` apply them): lines end with `\n`, `\r\n` or `\r`; a blank line dispatches the
 * event; `:` starts a comment; `data` lines join with `\n`; one space after the colon is dropped.
 * Strings only, no per-event buffers or iterators: the hot path is `indexOf` and `slice`.
 */
export class SseReader {
  private buffer = '';
  private event: string | null = null;
  private data: string | null = null;

  constructor(private readonly onEvent: (event: string | null, data: string) => void) {}

  /** Feeds the next piece of the body; dispatches every event it completes. */
  feed(text: string): void {
    const buf = this.buffer.length > 0 ? this.buffer + text : text;
    let start = 0;
    let cr = buf.indexOf('\r');
    for (;;) {
      if (cr !== -1 && cr < start) cr = buf.indexOf('\r', start);
      const nl = buf.indexOf('\n', start);
      let lineEnd: number;
      let next: number;
      if (cr !== -1 && (nl === -1 || cr < nl)) {
        // A `\r` last in the buffer may be the first half of a `\r\n`: wait for the next piece.
        if (cr === buf.length - 1) break;
        lineEnd = cr;
        next = nl === cr + 1 ? cr + 2 : cr + 1;
      } else if (nl !== -1) {
        lineEnd = nl;
        next = nl + 1;
      } else {
        break;
      }
      this.line(buf, start, lineEnd);
      start = next;
    }
    this.buffer = start === 0 ? buf : buf.slice(start);
  }

  /** The body ended: a last unterminated line counts as a line (an event still needs its blank line). */
  end(): void {
    const rest = this.buffer;
    this.buffer = '';
    if (rest.length === 0) return;
    this.line(rest, 0, rest.endsWith('\r') ? rest.length - 1 : rest.length);
  }

  /** One line, `text` from `start` to `end` (not copied out first: a data line is sliced once). */
  private line(text: string, start: number, end: number): void {
    if (start === end) {
      if (!this.event && this.data === null) return;
      const event = this.event;
      const data = this.data ?? '';
      this.event = null;
      this.data = null;
      this.onEvent(event, data);
      return;
    }
    if (text.charCodeAt(start) === 58 /* : */) return;
    if (text.startsWith('data:', start) && start + 5 <= end) {
      // The line of nearly every event.
      const from = text.charCodeAt(start + 5) === 32 /* space */ && start + 5 < end ? start + 6 : start + 5;
      this.addData(text.slice(from, end));
      return;
    }
    const line = text.slice(start, end);
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? '' : line.slice(colon + 1);
    if (value.charCodeAt(0) === 32 /* space */) value = value.slice(1);
    if (field === 'data') this.addData(value);
    else if (field === 'event') this.event = value;
  }

  private addData(value: string): void {
    this.data = this.data === null ? value : `${this.data}\n${value}`;
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
