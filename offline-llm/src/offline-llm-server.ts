import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { estimatePromptTokens, fillAnswer, fitAnswer } from './answer-budget.js';
import { composeAnswer } from './answer-composer.js';
import { ChunkEncoder, completionBody, usageOf, type CompletionIdentity } from './chunk-encoder.js';
import { parseChatCompletionRequest, parsePacingOverrides, type ChatCompletionRequest } from './completion-request.js';
import { DelayedReply } from './delayed-reply.js';
import { apiError, sendError, sendJson } from './http-responses.js';
import { resolveOptions, type OfflineLlmOptions, type PacingOptions, type ResolvedOfflineLlmOptions } from './options.js';
import { readBody } from './read-body.js';
import { SSE_HEADERS, SseStream, type StreamObserver } from './sse-stream.js';
import { planToolCalls, toolCallBody, toolCallStream, type PlannedToolCall } from './tool-calls.js';
import { TimerWheel } from './timer-wheel.js';
import { tokenize } from './tokenizer.js';

/** Counters served by `GET /stats` (snake_case: it is a wire shape). */
export interface OfflineLlmStats {
  /** `POST /v1/chat/completions` requests received, valid or not. */
  requests: number;
  /** Streamed answers in progress. */
  streams_active: number;
  /** Streamed answers sent to the end (`[DONE]`). */
  streams_completed: number;
  /** Streamed answers stopped because the client disconnected (or shutdown cut them). */
  streams_aborted: number;
  /** Content tokens written, streamed or not. */
  completion_tokens: number;
}

/** How long close() waits for cut answers to notice their connection is gone. */
const CUT_SETTLE_MS = 1000;

/** Pending connections the kernel may queue; load tests open thousands of streams at once. */
const LISTEN_BACKLOG = 4096;

/**
 * The bundled OpenAI-compatible model, used when no OpenAI API key is configured:
 *
 *   POST /v1/chat/completions   stream (SSE) or not; deterministic, paced answers
 *   GET  /v1/models             the model list
 *   GET  /health                {"status":"healthy"}
 *   GET  /stats                 OfflineLlmStats
 *
 * All paced work (streams and delayed non-streamed replies) shares one TimerWheel.
 */
export class OfflineLlmServer {
  private readonly options: ResolvedOfflineLlmOptions;
  /** The server's own pacing; requests use it unless overrides are allowed and sent. */
  private readonly pacing: Readonly<PacingOptions>;
  private readonly server: Server;
  private readonly wheel: TimerWheel;
  private readonly counters: OfflineLlmStats = {
    requests: 0,
    streams_active: 0,
    streams_completed: 0,
    streams_aborted: 0,
    completion_tokens: 0,
  };
  /** Answers in progress, streamed or not: what `close()` waits for. */
  private inFlight = 0;
  private onIdle: (() => void) | undefined;
  private closing: Promise<void> | undefined;
  /** Completion ids: a random per-process prefix and a counter, unique without a syscall each. */
  private readonly idPrefix = randomBytes(6).toString('hex');
  private idSeq = 0;

  constructor(options: OfflineLlmOptions = {}) {
    this.options = resolveOptions(options);
    const { ttftMs, tokensPerSecond, answerTokens, fillToAnswerTokens } = this.options;
    this.pacing = Object.freeze({ ttftMs, tokensPerSecond, answerTokens, fillToAnswerTokens });
    this.wheel = new TimerWheel(this.options.tickMs, (err) => this.options.logger?.error({ err }, 'offline model: a paced answer failed'));
    this.server = createServer({ noDelay: true }, (req, res) => this.route(req, res));
    // Longer than the clients' own idle timeout (undici, under the openai client, drops pooled
    // sockets after 4 s), so the client always closes first: a server closing a socket the client
    // is just reusing would reset a request under load.
    this.server.keepAliveTimeout = 10_000;
  }

  /** Starts listening; resolves with the bound port (pass 0 for a free one). */
  listen(port = 0, host = '127.0.0.1'): Promise<number> {
    return new Promise((resolve, reject) => {
      const onError = (err: Error): void => reject(err);
      this.server.once('error', onError);
      this.server.listen({ port, host, backlog: LISTEN_BACKLOG }, () => {
        this.server.off('error', onError);
        this.server.on('error', (err) => this.options.logger?.error({ err }, 'offline model: server error'));
        resolve((this.server.address() as AddressInfo).port);
      });
    });
  }

  /** The bound port, or undefined before `listen` resolved. */
  get port(): number | undefined {
    const address = this.server.address();
    return typeof address === 'object' && address ? address.port : undefined;
  }

  /** A snapshot of the counters. */
  stats(): OfflineLlmStats {
    return { ...this.counters };
  }

  /**
   * Stops accepting connections, lets answers in progress finish for up to `shutdownGraceMs`,
   * then cuts the rest and closes the listen socket. Safe to call twice (same promise).
   */
  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  private async shutdown(): Promise<void> {
    const log = this.options.logger;
    let closed: Promise<void> = Promise.resolve();
    try {
      // Resolves once every connection is gone; an error only means it was not listening.
      closed = new Promise((resolve) => this.server.close(() => resolve()));
      this.server.closeIdleConnections();
    } catch (err) {
      log?.warn({ err }, 'offline model: stop accepting failed');
    }
    try {
      await this.drain(this.options.shutdownGraceMs);
    } catch (err) {
      log?.warn({ err }, 'offline model: drain failed');
    }
    try {
      if (this.inFlight > 0) log?.warn({ inFlight: this.inFlight }, 'offline model: cutting answers still in progress');
      this.server.closeAllConnections();
    } catch (err) {
      log?.warn({ err }, 'offline model: closing connections failed');
    }
    await closed;
    // The cut answers learn of it from their responses' 'close' events, a tick or two later;
    // wait for them so the counters are final when close() resolves.
    await this.drain(CUT_SETTLE_MS);
    this.wheel.stop();
    log?.info('offline model closed');
  }

  private drain(graceMs: number): Promise<void> {
    if (this.inFlight === 0 || graceMs === 0) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(done, graceMs);
      function done(): void {
        clearTimeout(timer);
        resolve();
      }
      this.onIdle = done;
    });
  }

  private route(req: IncomingMessage, res: ServerResponse): void {
    if (this.closing) {
      sendError(res, apiError(503, 'The offline model is shutting down.', null, 'service_unavailable'), { connection: 'close' });
      return;
    }
    const url = req.url ?? '/';
    const query = url.indexOf('?');
    const path = query === -1 ? url : url.slice(0, query);
    const method = req.method ?? 'GET';
    const allowed = ROUTES.get(path);
    if (!allowed) {
      sendError(res, apiError(404, `Invalid URL (${method} ${path})`, null, 'unknown_url'));
      return;
    }
    if (method !== allowed) {
      sendError(res, apiError(405, `Method ${method} is not allowed on ${path}; use ${allowed}.`, null, 'method_not_allowed'), { allow: allowed });
      return;
    }
    switch (path) {
      case '/v1/chat/completions':
        this.completion(req, res).catch((err: unknown) => {
          this.options.logger?.error({ err }, 'offline model: request failed');
          if (!res.headersSent) sendError(res, apiError(500, 'The offline model failed to answer.', null, 'internal_error'));
          else res.destroy();
        });
        return;
      case '/v1/models':
        sendJson(res, 200, {
          object: 'list',
          data: [{ id: this.options.modelId, object: 'model', created: 0, owned_by: 'offline-llm' }],
        });
        return;
      case '/health':
        sendJson(res, 200, { status: 'healthy' });
        return;
      case '/stats':
        sendJson(res, 200, this.stats());
        return;
    }
  }

  private async completion(req: IncomingMessage, res: ServerResponse): Promise<void> {
    this.counters.requests++;
    // Headers are read before the first await, while `req` is certainly whole.
    const pacing = this.options.allowRequestOverrides
      ? parsePacingOverrides(req.headers, this.pacing)
      : { ok: true as const, value: this.pacing };
    const body = await readBody(req, this.options.maxBodyBytes);
    if (body.kind === 'aborted') return;
    if (body.kind === 'too_large') {
      sendError(res, apiError(413, `The request body is larger than ${this.options.maxBodyBytes} bytes.`, null, 'request_too_large'));
      return;
    }
    if (!pacing.ok) {
      sendError(res, pacing.error);
      return;
    }
    let json: unknown;
    try {
      json = JSON.parse(body.body.toString('utf8'));
    } catch {
      sendError(res, apiError(400, 'We could not parse the JSON body of your request. The API expects a JSON payload.', null, 'invalid_json'));
      return;
    }
    const request = parseChatCompletionRequest(json);
    if (!request.ok) {
      sendError(res, request.error);
      return;
    }
    if (res.destroyed) return; // the client left while we read its body
    this.answer(request.value, pacing.value, res);
  }

  private answer(request: ChatCompletionRequest, pacing: PacingOptions, res: ServerResponse): void {
    const calls = planToolCalls(request.messages, request.tools, `${this.idPrefix}${(this.idSeq + 1).toString(36)}`);
    if (calls) {
      this.answerWithToolCalls(request, calls, res);
      return;
    }
    const fit = pacing.fillToAnswerTokens ? fillAnswer : fitAnswer;
    const fitted = fit(tokenize(composeAnswer(request.messages)), pacing.answerTokens, request.maxTokens);
    const usage = usageOf(estimatePromptTokens(request.messages), fitted.tokens.length);
    const identity: CompletionIdentity = {
      id: `chatcmpl-${this.idPrefix}${(++this.idSeq).toString(36)}`,
      created: Math.floor(Date.now() / 1000),
      model: request.model,
    };
    this.inFlight++;
    if (!request.stream) {
      const body = completionBody(identity, fitted.tokens.join(''), fitted.finishReason, usage);
      const count = fitted.tokens.length;
      const generationMs = pacing.tokensPerSecond > 0 ? (Math.max(0, count - 1) * 1000) / pacing.tokensPerSecond : 0;
      new DelayedReply(res, body, this.wheel, (aborted) => {
        if (!aborted) this.counters.completion_tokens += count;
        this.answerEnded();
      }).start(Math.round(pacing.ttftMs + generationMs));
      return;
    }
    this.counters.streams_active++;
    const stream = new SseStream(
      res,
      new ChunkEncoder(identity, request.includeUsage),
      {
        tokenJson: fitted.tokens.map((token) => JSON.stringify(token)),
        finishReason: fitted.finishReason,
        usage: request.includeUsage ? usage : undefined,
        ttftMs: pacing.ttftMs,
        tokensPerSecond: pacing.tokensPerSecond,
      },
      this.wheel,
      this.streamObserver,
    );
    stream.start();
  }

  /** A tool-call response: sent at once (the calls are short; pacing is for text). */
  private answerWithToolCalls(request: ChatCompletionRequest, calls: PlannedToolCall[], res: ServerResponse): void {
    const identity: CompletionIdentity = { id: `chatcmpl-${this.idPrefix}${(++this.idSeq).toString(36)}`, created: Math.floor(Date.now() / 1000), model: request.model };
    const usage = usageOf(estimatePromptTokens(request.messages), calls.reduce((n, c) => n + tokenize(c.name + c.arguments).length, 0));
    if (!request.stream) {
      sendJson(res, 200, toolCallBody(identity, calls, usage));
      return;
    }
    res.writeHead(200, SSE_HEADERS);
    res.end(toolCallStream(identity, calls, request.includeUsage ? usage : undefined));
  }

  private readonly streamObserver: StreamObserver = {
    tokensWritten: (count) => {
      this.counters.completion_tokens += count;
    },
    ended: (aborted) => {
      this.counters.streams_active--;
      if (aborted) this.counters.streams_aborted++;
      else this.counters.streams_completed++;
      this.answerEnded();
    },
  };

  private answerEnded(): void {
    this.inFlight--;
    if (this.inFlight === 0 && this.onIdle) {
      const onIdle = this.onIdle;
      this.onIdle = undefined;
      onIdle();
    }
  }
}

/** Path → the one method it answers. A Map, so a path like `/constructor` finds nothing. */
const ROUTES: ReadonlyMap<string, string> = new Map([
  ['/v1/chat/completions', 'POST'],
  ['/v1/models', 'GET'],
  ['/health', 'GET'],
  ['/stats', 'GET'],
]);
