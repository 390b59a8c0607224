/**
 * A TurnProcessor wired as ChatWorker wires it, against a real Redis of its own and a real
 * BullMQ queue and worker, with a scripted LLM and empty context sources: for tests of how turns
 * are ordered, ended and filed. Helpers accept turns as the gateway does (session order, then
 * the job under the message id) and read back what clients and history see.
 */
import { Queue, Worker } from 'bullmq';
import {
  FrameKind,
  RedisKeys,
  SessionStore,
  TURN_QUEUE_NAME,
  TurnLog,
  TurnQueues,
  WorkerMetrics,
  closeRedis,
  createLogger,
  createMetricsRegistry,
  createRedisConnection,
  envelopeBody,
  readEnvelopeHeader,
  type HistoryEntry,
  type SessionFlight,
  type Redis,
  type TurnJobData,
} from '@chat/shared';
import { spawnRedisServer, type SpawnedRedis } from '@chat/shared/dev';
import { ContextAssembler } from '../../src/context/index.js';
import { LlmClient, type StreamResult } from '../../src/llm-client.js';
import type { ChatMessage } from '../../src/prompt-builder.js';
import { ResponseCache } from '../../src/response-cache.js';
import { TurnProcessor, type TurnProcessorOptions } from '../../src/turn-processor.js';
import { TurnStops } from '../../src/turn-stops.js';

/** An LLM that answers every question with the same few tokens, at once. */
export class ScriptedLlm extends LlmClient {
  constructor(private readonly tokens: readonly string[] = ['The ', 'answer ', 'is ', 'forty-two.']) {
    super({ apiKey: 'unused', baseUrl: 'http://127.0.0.1:9', model: 'scripted', requestTimeoutMs: 1000, idleTimeoutMs: 1000, maxTokens: 50, temperature: 0 });
  }

  override async stream(_messages: ChatMessage[], signal: AbortSignal, onToken: (text: string) => void): Promise<StreamResult> {
    signal.throwIfAborted();
    for (const token of this.tokens) onToken(token);
    return { model: 'scripted', promptTokens: 10, completionTokens: this.tokens.length, ttftMs: 1, finishReason: 'stop', toolCalls: [] };
  }

  get answer(): string {
    return this.tokens.join('');
  }
}

/** The ending of a turn as its log holds it: the last frame, parsed. */
export type TurnEnding = { type: 'complete'; content: string } | { type: 'error'; code: string } | null;

export interface TurnHarness {
  redis: Redis;
  keys: RedisKeys;
  store: SessionStore;
  turnLog: TurnLog;
  queue: Queue<TurnJobData, void, 'turn'>;
  processor: TurnProcessor;
  llm: ScriptedLlm;
  /** The processor's metrics registry. */
  metrics: ReturnType<typeof createMetricsRegistry>;
  /** Starts the BullMQ worker (tests set the stage first). */
  startWorker(): Promise<void>;
  /** A session with no flight on file, or with `flight`. */
  createSession(sessionId: string, flight?: SessionFlight): Promise<void>;
  /** Queues the turn in its session's order, as the gateway's intake does; `enqueue: false` leaves its job out (lost). */
  acceptTurn(sessionId: string, messageId: string, options?: { enqueue?: boolean }): Promise<TurnJobData>;
  /** Enqueues a turn's job under its message id, as the gateway's watchdog does for a lost one. */
  enqueue(data: TurnJobData): Promise<void>;
  ending(sessionId: string, messageId: string): Promise<TurnEnding>;
  /** The turn's endings in its log (a turn must have exactly one). */
  endings(sessionId: string, messageId: string): Promise<number>;
  history(sessionId: string): Promise<HistoryEntry[]>;
  unanswered(sessionId: string): Promise<string[]>;
}

export interface TurnHarnessOptions {
  /** Overrides of the processor's options. */
  processor?: Partial<TurnProcessorOptions>;
  /** Changes the session store before the processor gets it (fault injection at the seam). */
  adjustStore?: (store: SessionStore) => void;
  attempts?: number;
  /** The LLM the processor streams from; default a `ScriptedLlm` answering at once. */
  llm?: ScriptedLlm;
  /** The context sources; default empty ones. */
  context?: ContextAssembler;
}

/** Builds the harness; everything it started is stopped at the test's teardown. */
export async function startTurnHarness(t: { teardown(fn: () => unknown): void }, options: TurnHarnessOptions = {}): Promise<TurnHarness> {
  const server: SpawnedRedis = await spawnRedisServer();
  const logger = createLogger('worker-test', 'silent');
  const keys = new RedisKeys(`t${Date.now().toString(36)}`);
  const redis = createRedisConnection(server.url, { name: 'test-publisher' });
  const control = createRedisConnection(server.url, { name: 'test-control' });
  const queueConnection = createRedisConnection(server.url, { name: 'test-queue', forBullmq: true });
  const workerConnection = createRedisConnection(server.url, { name: 'test-worker', forBullmq: true });
  const queue = new Queue<TurnJobData, void, 'turn'>(TURN_QUEUE_NAME, {
    connection: queueConnection,
    prefix: keys.bullPrefix,
    defaultJobOptions: { attempts: options.attempts ?? 3, backoff: { type: 'fixed', delay: 10 } },
  });
  const store = new SessionStore(redis, keys, 3600);
  options.adjustStore?.(store);
  const turnLog = new TurnLog(redis, keys, { ttlSeconds: 300, maxFrames: 1000 });
  await turnLog.preload();
  const stops = new TurnStops(control, redis, keys, logger);
  await stops.start();
  const llm = options.llm ?? new ScriptedLlm();
  let worker: Worker<TurnJobData, void, 'turn'> | null = null;
  const metrics = createMetricsRegistry('worker-test', false);
  const processor = new TurnProcessor(
    {
      store,
      queues: new TurnQueues([queue]),
      llm,
      metrics: new WorkerMetrics(metrics),
      logger,
      workers: () => (worker ? [worker] : []),
      tokenBudget: null,
      context: options.context ?? new ContextAssembler({ policy: { search: async () => [] }, flight: { getFlightContext: async () => null } }),
      cache: new ResponseCache(redis, keys, 60),
      turnLog,
      stops,
    },
    {
      promptHistoryTurns: 10,
      promptHistoryTokens: 2000,
      historyMaxTurns: 50,
      sessionTtlSeconds: 3600,
      chunkWindowMs: 0,
      turnWaitRetryMs: 20,
      offlineModel: true,
      maxTokens: 50,
      fallback: false,
      deadlineMs: 120_000,
      lostTurnGraceMs: 60_000,
      ...options.processor,
    },
  );
  t.teardown(async () => {
    try {
      await worker?.close(true);
      await queue.close();
      await stops.close();
      for (const connection of [redis, control, queueConnection, workerConnection]) await closeRedis(connection);
    } finally {
      // Whatever failed above, the server must not outlive the test.
      await server.stop();
    }
  });

  return {
    redis,
    keys,
    store,
    turnLog,
    queue,
    processor,
    llm,
    metrics,
    async startWorker() {
      worker = new Worker<TurnJobData, void, 'turn'>(TURN_QUEUE_NAME, processor.process, { connection: workerConnection, prefix: keys.bullPrefix, concurrency: 4 });
      worker.on('error', () => {});
      await worker.waitUntilReady();
    },
    async createSession(sessionId, flight = { flight_no: null, date: null }) {
      const context = { customer_name: 'Test', customer_email: 'test@example.com', ...flight, created_at: new Date().toISOString() };
      await store.create({ session_id: sessionId, context });
    },
    async acceptTurn(sessionId, messageId, { enqueue = true } = {}) {
      const outcome = await store.scripts.acceptTurn(sessionId, messageId, 3600);
      if (outcome !== 'queued') throw new Error(`turn ${messageId} not queued: ${outcome}`);
      const data: TurnJobData = { session_id: sessionId, message_id: messageId, client_id: null, message: `question ${messageId}`, accepted_at: Date.now() };
      if (enqueue) await queue.add('turn', data, { jobId: messageId });
      return data;
    },
    async enqueue(data) {
      await queue.add('turn', data, { jobId: data.message_id });
    },
    async ending(sessionId, messageId) {
      const frames = await endingFrames(turnLog, sessionId, messageId);
      return frames.at(-1) ?? null;
    },
    async endings(sessionId, messageId) {
      return (await endingFrames(turnLog, sessionId, messageId)).length;
    },
    async history(sessionId) {
      return (await store.getWithHistory(sessionId, 50))?.history ?? [];
    },
    unanswered: (sessionId) => store.unansweredTurns(sessionId),
  };
}

async function endingFrames(turnLog: TurnLog, sessionId: string, messageId: string): Promise<Exclude<TurnEnding, null>[]> {
  const { frames } = await turnLog.read(sessionId, messageId, -1);
  const endings: Exclude<TurnEnding, null>[] = [];
  for (const { envelope } of frames) {
    const header = readEnvelopeHeader(envelope);
    if (!header || (header.kind !== FrameKind.complete && header.kind !== FrameKind.error)) continue;
    const frame = JSON.parse(envelopeBody(envelope, header).toString('utf8')) as { type: 'complete'; content: string } | { type: 'error'; code: string };
    endings.push(frame.type === 'complete' ? { type: 'complete', content: frame.content } : { type: 'error', code: frame.code });
  }
  return endings;
}

/** Re-reads until `accept` passes; the test runner's timeout is the only bound. */
export async function until<T>(read: () => Promise<T>, accept: (value: T) => boolean): Promise<T> {
  for (;;) {
    const value = await read();
    if (accept(value)) return value;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
