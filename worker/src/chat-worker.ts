import { Worker } from 'bullmq';
import {
  PriceTable,
  Tracing,
  trackRedis,
  RedisKeys,
  RedisRateLimit,
  parseModelPrices,
  SessionStore,
  TURN_QUEUE_NAME,
  TurnLog,
  WorkerMetrics,
  TurnQueues,
  cacheRedisTarget,
  consumedQueueShards,
  createLogger,
  createMetricsRegistry,
  openRedis,
  closeRedis,
  runShutdownSteps,
  llmBaseUrl,
  queueRedisTarget,
  usesOfflineModel,
  offersTools,
  type Config,
  type Logger,
  type RedisClient,
  type TurnJobData,
} from '@chat/shared';
import { ContextAssembler, createContextSources, wallClock, type ContextSources } from './context/index.js';
import { LlmClient } from './llm-client.js';
import { ResponseCache } from './response-cache.js';
import { MetricsServer } from './metrics-server.js';
import { HandoffEvents } from './handoff-events.js';
import { AssistantTools } from './tools/assistant-tools.js';
import { ToolLog } from './tools/tool-log.js';
import { TurnProcessor } from './turn-processor.js';
import { lostTurnGraceMs } from './lost-head-turn.js';
import { stallPolicy } from './stall-policy.js';
import { TurnStops } from './turn-stops.js';
import { CanaryResponder } from './canary-responder.js';
import { workerConcurrency } from './stream-budget.js';

export interface ChatWorkerOptions {
  config: Readonly<Config>;
  /** Default: a pino logger at config.log.level. */
  logger?: Logger;
  /** Serve /metrics and /health on config.worker.metricsPort. Default: true. */
  serveMetrics?: boolean;
  /** Traces. Default: OTLP export when OTEL_EXPORTER_OTLP_ENDPOINT is set, else off. */
  tracing?: Tracing;
}

/**
 * One worker process's worth of turn processing: a BullMQ worker taking jobs from the turn
 * queue, streaming answers through the LLM client, publishing frames on session channels.
 * Stateless: run as many as the LLM load needs, on any host that reaches Redis.
 */
export class ChatWorker {
  readonly config: Readonly<Config>;
  readonly logger: Logger;
  readonly metrics: WorkerMetrics;
  private readonly keys: RedisKeys;
  private readonly queueConnection: RedisClient;
  private readonly workerConnection: RedisClient;
  private readonly publisher: RedisClient;
  /** Subscriber connection: the control channel (cancels). */
  private readonly control: RedisClient;
  private readonly stops: TurnStops;
  private readonly canaries: CanaryResponder;
  private readonly queues: TurnQueues;
  /** One BullMQ worker per queue shard this process consumes (`WORKER_QUEUE_SHARDS`, default all). */
  private workers: Array<Worker<TurnJobData, void, 'turn'>> = [];
  private metricsServer: MetricsServer | null = null;
  private closing: Promise<void> | null = null;
  private readonly serveMetrics: boolean;
  private readonly tracing: Tracing;
  metricsPort: number | null = null;

  constructor(options: ChatWorkerOptions) {
    this.config = options.config;
    const config = options.config;
    this.logger = options.logger ?? createLogger('worker', config.log.level);
    this.keys = new RedisKeys(config.redis.prefix);
    this.metrics = new WorkerMetrics(createMetricsRegistry('worker'));
    this.serveMetrics = options.serveMetrics ?? true;
    this.tracing = options.tracing ?? Tracing.fromEndpoint('chat-worker', config.tracing.otlpEndpoint);
    this.queueConnection = openRedis(queueRedisTarget(config), { name: 'worker-queue', forBullmq: true, logger: this.logger });
    this.workerConnection = openRedis(queueRedisTarget(config), { name: 'worker-bullmq', forBullmq: true, logger: this.logger });
    this.publisher = openRedis(cacheRedisTarget(config), { name: 'worker-publisher', logger: this.logger });
    this.queues = TurnQueues.open(config, this.queueConnection);
    trackRedis(this.metrics.registry, { cache: this.publisher, queue: this.queueConnection });
    // Cancels go on one classic pub/sub channel: low volume, and on a cluster every node hears it.
    this.control = openRedis(cacheRedisTarget(config), { name: 'worker-control', logger: this.logger });
    this.stops = new TurnStops(this.control, this.publisher, this.keys, this.logger);
    this.canaries = new CanaryResponder(this.queueConnection, this.publisher, this.keys, this.logger);
  }

  async start(): Promise<void> {
    const config = this.config;
    await this.tracing.ready();
    const llm = new LlmClient({
      apiKey: config.llm.apiKey ?? 'offline-model-needs-no-key',
      baseUrl: llmBaseUrl(config),
      model: config.llm.model,
      requestTimeoutMs: config.llm.requestTimeoutMs,
      idleTimeoutMs: config.llm.idleTimeoutMs,
      maxTokens: config.llm.maxTokens,
      temperature: config.llm.temperature,
    });
    const turnLog = new TurnLog(this.publisher, this.keys, { ttlSeconds: config.turn.resumeWindowSeconds, maxFrames: config.turn.logMaxFrames });
    // Before the first turn: a turn's frames are pipelined, and a script missing from Redis's
    // cache would make the first of them race (see LuaScript.load).
    await turnLog.preload();
    const sources = this.createContextSources();
    const assembler = this.createContextAssembler(sources);
    const processor = new TurnProcessor(
      {
        store: new SessionStore(this.publisher, this.keys, config.session.ttlSeconds),
        queues: this.queues,
        llm,
        metrics: this.metrics,
        logger: this.logger,
        workers: () => this.workers,
        context: assembler,
        cache: new ResponseCache(this.publisher, this.keys, config.session.cacheTtlSeconds),
        prices: new PriceTable(parseModelPrices(config.llm.prices), usesOfflineModel(config)),
        tracing: this.tracing,
        turnLog,
        stops: this.stops,
        handoffs: new HandoffEvents(this.publisher, this.keys),
        tools: {
          runner: new AssistantTools({
            policy: sources.policy,
            flight: sources.flight,
            schedule: sources.schedule,
            today: () => wallClock(new Date(), 'Pacific/Auckland').date,
            k: config.context.retrievalK,
          }),
          log: new ToolLog(this.publisher, this.keys, config.turn.resumeWindowSeconds),
        },
        tokenBudget:
          config.limits.llmTokensPerMinute > 0
            ? new RedisRateLimit(this.publisher, this.keys.rateLimitPrefix('llm-tokens'), config.limits.llmTokensPerMinute, 60)
            : null,
      },
      {
        promptHistoryTurns: config.worker.promptHistoryTurns,
        promptHistoryTokens: config.worker.promptHistoryTokens,
        historyMaxTurns: config.session.historyMaxTurns,
        sessionTtlSeconds: config.session.ttlSeconds,
        chunkWindowMs: config.worker.chunkWindowMs,
        turnWaitRetryMs: config.worker.turnWaitRetryMs,
        offlineModel: usesOfflineModel(config),
        maxTokens: config.llm.maxTokens,
        fallback: config.llm.fallback,
        tools: offersTools(config),
        deadlineMs: config.turn.deadlineMs,
        lostTurnGraceMs: lostTurnGraceMs(config),
        pipelineTimings: config.tracing.pipelineTimings,
      },
    );
    const shards = consumedQueueShards(config);
    // The process streams at most WORKER_CONCURRENCY turns: shared out over its shards (a
    // session's shard is a hash of its id, so the shards carry even shares of the load).
    const { concurrency, budget } = workerConcurrency(config);
    if (budget) this.logger.info({ concurrency, limited_by: budget.limitedBy, bounds: budget.bounds, inputs: budget.inputs }, 'WORKER_CONCURRENCY derived from what a stream costs');
    this.metrics.setConcurrency(concurrency);
    const perShard = Math.max(1, Math.ceil(concurrency / shards.length));
    this.workers = shards.map((shard) => {
      const worker = new Worker<TurnJobData, void, 'turn'>(TURN_QUEUE_NAME, processor.process, {
        connection: this.workerConnection,
        prefix: this.keys.bullShardPrefix(shard),
        concurrency: perShard,
        autorun: false,
        // A worker killed mid-answer: how soon its turn moves, and how many deaths it survives.
        ...stallPolicy(config),
        // BullMQ's limiter is global to the queue: all workers together start at most this many
        // turns a minute, and the rest wait in the queue rather than fail at the provider. It is
        // always set, because BullMQ honours `worker.rateLimit()` (provider 429s, the token
        // budget) only on a worker that has a limiter; "no limit" is a limit nobody reaches.
        // With several shards each queue has its own limiter: the budget is shared out.
        limiter: {
          max: config.limits.llmRequestsPerMinute > 0 ? Math.max(1, Math.floor(config.limits.llmRequestsPerMinute / config.redis.queueShards)) : 1_000_000_000,
          duration: 60_000,
        },
      });
      worker.on('error', (err) => this.logger.error({ err: err.message, queue_shard: shard }, 'worker error'));
      return worker;
    });
    if (this.serveMetrics) {
      this.metricsServer = new MetricsServer(this.metrics.registry, () => this.health());
      this.metricsPort = await this.metricsServer.listen(config.worker.metricsPort, config.worker.metricsHost);
    }
    await this.stops.start();
    await this.canaries.start();
    await Promise.all(this.workers.map((worker) => worker.waitUntilReady()));
    for (const worker of this.workers) void worker.run().catch((err: unknown) => this.logger.error({ err: String(err) }, 'worker stopped'));
    this.logger.info(
      { concurrency, queue_shards: shards, model: config.llm.model, llm: llmBaseUrl(config) ?? 'https://api.openai.com/v1', metrics_port: this.metricsPort },
      'worker started',
    );
  }

  /**
   * Policy search and flight status: the bundled data sets unless RETRIEVAL_URL / AGENT_URL
   * point to services, each behind a timeout and a circuit breaker.
   */
  private createContextSources(): ContextSources {
    const { context } = this.config;
    return createContextSources({
      ...(context.agentUrl ? { agentUrl: context.agentUrl } : {}),
      ...(context.retrievalUrl ? { retrievalUrl: context.retrievalUrl } : {}),
    });
  }

  private createContextAssembler(sources: ContextSources): ContextAssembler {
    const { context } = this.config;
    return new ContextAssembler({
      policy: sources.policy,
      flight: sources.flight,
      ...(sources.schedule ? { schedule: sources.schedule } : {}),
      k: context.retrievalK,
      policyTimeoutMs: context.policyTimeoutMs,
      flightTimeoutMs: context.flightTimeoutMs,
      breakerThreshold: context.breakerThreshold,
      halfOpenAfterMs: context.breakerHalfOpenMs,
      onBreakerStateChange: (source, state) => this.logger.warn({ source, state }, 'context source circuit breaker changed state'),
    });
  }

  async health(): Promise<{ healthy: boolean; redis_status: string; running: boolean; active_turns: number }> {
    let redisStatus = 'disconnected';
    try {
      redisStatus = (await this.publisher.ping()) === 'PONG' ? 'connected' : 'unexpected reply';
    } catch {
      redisStatus = 'disconnected';
    }
    const running = this.workers.length > 0 && this.workers.every((worker) => worker.isRunning());
    const activeTurns = Number((await this.metrics.registry.getSingleMetric('chat_worker_active_turns')?.get())?.values[0]?.value ?? 0);
    return { healthy: running && redisStatus === 'connected', redis_status: redisStatus, running, active_turns: activeTurns };
  }

  /**
   * Stops taking jobs, lets turns in flight finish for up to `shutdown.timeoutMs`, then gives
   * up on the rest (their locks lapse and another worker picks them up as stalled), and closes
   * connections. Safe to call twice.
   */
  close(): Promise<void> {
    this.closing ??= this.doClose();
    return this.closing;
  }

  private async doClose(): Promise<void> {
    const workers = this.workers;
    const { timeoutMs } = this.config.shutdown;
    await runShutdownSteps(this.logger, [
      // A draining worker stops vouching for the pipeline at once; the others answer canaries.
      { name: 'stop answering canaries', run: () => this.canaries.close(), timeoutMs: 2000 },
      {
        // Take no new jobs and let the turns in flight finish, up to the deadline.
        name: 'drain turns',
        run: () => Promise.all(workers.map((worker) => worker.pause())),
        timeoutMs,
      },
      {
        // Without waiting for what still runs: its lock lapses and another worker picks the
        // turn up as stalled.
        name: 'close worker',
        run: () => Promise.all(workers.map((worker) => worker.close(true))),
        timeoutMs: 2000,
      },
      { name: 'close queue', run: () => this.queues.close(), timeoutMs: 2000 },
      { name: 'stop cancel listener', run: () => this.stops.close() },
      { name: 'close metrics', run: () => this.metricsServer?.close() },
      { name: 'flush traces', run: () => this.tracing.close(), timeoutMs: 2000 },
      ...[this.publisher, this.queueConnection, this.workerConnection, this.control].map((connection) => ({
        name: 'close redis',
        run: () => closeRedis(connection),
        timeoutMs: 2000,
      })),
    ]);
    this.logger.info('worker stopped');
  }
}
