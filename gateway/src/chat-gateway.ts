import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import {
  Tracing,
  trackRedis,
  GatewayMetrics,
  GatewayRateLimits,
  RedisKeys,
  SessionStore,
  TurnCustody,
  parsePublicWsOrigins,
  TurnLog,
  ChannelSubscriber,
  TurnQueues,
  cacheRedisTarget,
  createLogger,
  createMetricsRegistry,
  openRedis,
  isCluster,
  closeRedis,
  createCanaryQueue,
  type CanaryQueue,
  runShutdownSteps,
  turnWatchdogPeriodMs,
  queueRedisTarget,
  type Config,
  type Logger,
  type RedisClient,
} from '@chat/shared';
import { SessionAccess } from './auth/session-access.js';
import { CorsPolicy } from './http/cors.js';
import { fallbackRoute } from './http/fallback-route.js';
import { restRoute, type RestHandler } from './http/rest-route.js';
import { RouteTable, recordRoutes } from './http/route-table.js';
import { cancelTurnHandler, sendMessageHandler } from './routes/message-routes.js';
import { healthHandler, metricsHandler, readyHandler, statsHandler } from './routes/ops-routes.js';
import { OpsAccess } from './routes/ops-page-access.js';
import { listDeadLettersHandler, replayDeadLetterHandler } from './routes/dead-letter-routes.js';
import { createSessionHandler, createTicketHandler, getSessionHandler } from './routes/session-routes.js';
import { deleteSessionHandler, transcriptHandler } from './routes/session-erasure-routes.js';
import { SESSION_ERASED_CLOSE, SessionErasure } from './session-erasure.js';
import { StaticSite, findWebRoot, registerStaticRoutes } from './routes/static-routes.js';
import { findPolicyDir, loadPolicyPages, registerPolicyDocRoutes } from './routes/policy-doc-routes.js';
import { ReadinessCanary } from './readiness-canary.js';
import { SubscriptionProbe } from './subscription-probe.js';
import { RedisAvailability } from './redis-availability.js';
import { SessionRelay } from './session-relay.js';
import { TurnCanceller } from './turn-canceller.js';
import { TurnIntake } from './turn-intake.js';
import { TurnWatchdog } from './turn-watchdog.js';
import { QueueDepth } from './queue-depth.js';
import { DeadGateways } from './ws/dead-gateways.js';
import { loadUws, type UwsBuild } from './uws-loader.js';
import type { TemplatedApp, us_listen_socket } from './uws-types.js';
import { chatSocketBehavior } from './ws/chat-socket-handler.js';
import { SlowClients } from './ws/slow-clients.js';
import { SocketResume } from './ws/socket-resume.js';
import { SocketRegistry } from './ws/socket-registry.js';
import { SHUTDOWN_CLOSE_REASON } from './ws/socket-data.js';

export interface ChatGatewayOptions {
  config: Readonly<Config>;
  /** Default: a pino logger at config.log.level. */
  logger?: Logger;
  /** Default: `<hostname>-<pid>-<random>`; names this gateway's socket slots in Redis. */
  gatewayId?: string;
  /** Traces. Default: OTLP export when OTEL_EXPORTER_OTLP_ENDPOINT is set, else off. */
  tracing?: Tracing;
}

/**
 * One gateway process: a uWS app serving REST and the chat WebSocket on one port, shared with
 * other gateway processes on the host (SO_REUSEPORT), relaying session channels to its sockets.
 * Holds no state another gateway would need: sessions live in Redis.
 */
export class ChatGateway {
  readonly config: Readonly<Config>;
  readonly logger: Logger;
  readonly metrics: GatewayMetrics;
  readonly gatewayId: string;
  readonly uwsBuild: UwsBuild;
  private readonly app: TemplatedApp;
  private readonly redis: RedisClient;
  private readonly subscriber: ChannelSubscriber;
  private readonly queueConnection: RedisClient;
  private readonly queues: TurnQueues;
  private readonly queueDepth: QueueDepth;
  private readonly tracing: Tracing;
  private readonly relay: SessionRelay;
  private readonly turnLog: TurnLog;
  private readonly keys: RedisKeys;
  private readonly canaryQueue: CanaryQueue;
  readonly readiness: ReadinessCanary;
  /** On a cluster: the subscriber connections to the masters the canary does not travel through. */
  private readonly subscriptionProbe: SubscriptionProbe | null;
  private readonly watchdog: TurnWatchdog;
  private readonly custody: TurnCustody;
  private readonly keySafeGatewayId: string;
  private readonly slowClients: SlowClients;
  private readonly sockets: SocketRegistry;
  /** DELETE /chat/session/:id (see SessionErasure); its background removals finish on close. */
  private readonly erasure: SessionErasure;
  private readonly limits: GatewayRateLimits;
  private readonly canceller: TurnCanceller;
  private readonly access: SessionAccess;
  private readonly availability: RedisAvailability;
  private listenSocket: us_listen_socket | null = null;
  private draining = false;
  private closing: Promise<void> | null = null;
  port: number | null = null;

  constructor(options: ChatGatewayOptions) {
    const config = options.config;
    // Before any connection is opened: AUTH_REQUIRED without AUTH_SECRETS stops the gateway here.
    SessionAccess.assertConfig(config);
    this.config = config;
    this.logger = options.logger ?? createLogger('gateway', config.log.level);
    this.gatewayId = options.gatewayId ?? `${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`;
    this.uwsBuild = loadUws({ allowShim: config.gateway.allowUwsShim });
    if (!this.uwsBuild.native) this.logger.warn({ skipped: this.uwsBuild.skipped }, 'uWebSockets.js JavaScript shim in use: performance will be poor');

    const keys = new RedisKeys(config.redis.prefix);
    this.keys = keys;
    this.metrics = new GatewayMetrics(createMetricsRegistry('gateway'));
    this.tracing = options.tracing ?? Tracing.fromEndpoint('chat-gateway', config.tracing.otlpEndpoint);
    this.redis = openRedis(cacheRedisTarget(config), { name: `gateway-${this.gatewayId}`, logger: this.logger });
    // Session channels: sharded pub/sub, one subscriber connection per master on a cluster.
    this.subscriber = ChannelSubscriber.open(cacheRedisTarget(config), isCluster(this.redis) ? this.redis : null, {
      name: `gateway-sub-${this.gatewayId}`,
      logger: this.logger,
    });
    this.queueConnection = openRedis(queueRedisTarget(config), { name: `gateway-queue-${this.gatewayId}`, logger: this.logger });
    this.queues = TurnQueues.open(config, this.queueConnection);
    this.queueDepth = new QueueDepth(this.queues);
    this.metrics.trackQueueDepth(() => this.queueDepth.read());
    trackRedis(this.metrics.registry, { cache: this.redis, queue: this.queueConnection });
    this.canaryQueue = createCanaryQueue(config, this.queueConnection);
    // Gateway ids name Redis keys and channels: the key alphabet only.
    const keySafeGatewayId = this.gatewayId.replace(/[^A-Za-z0-9_.-]/g, '-').slice(0, 128);
    this.keySafeGatewayId = keySafeGatewayId;
    this.custody = new TurnCustody(this.redis, keys, keySafeGatewayId);
    this.readiness = new ReadinessCanary(this.canaryQueue, this.subscriber, keys, this.metrics, this.logger, {
      gatewayId: keySafeGatewayId,
      intervalMs: config.gateway.canaryIntervalMs,
      maxAgeMs: config.gateway.canaryMaxAgeMs,
    }, (sinceMs) => this.relay.markMissingSince(sinceMs));
    this.subscriptionProbe = isCluster(this.redis)
      ? new SubscriptionProbe(this.redis, this.subscriber, keys, this.metrics, this.logger, {
          gatewayId: keySafeGatewayId,
          intervalMs: config.gateway.canaryIntervalMs,
          maxAgeMs: config.gateway.canaryMaxAgeMs,
        }, (sinceMs, channels) => this.relay.markMissingSince(sinceMs, channels))
      : null;

    this.availability = new RedisAvailability([this.redis, this.queueConnection], REDIS_AWAY_GRACE_MS);
    const store = new SessionStore(this.redis, keys, config.session.ttlSeconds);
    this.limits = new GatewayRateLimits(this.redis, keys, config.limits);
    this.canceller = new TurnCanceller(
      this.redis,
      keys,
      this.logger,
      (sessionId, messageId) => this.watchdog.cancelQueued(sessionId, messageId),
      // Which session a queued turn belongs to: a message id may be in use in any queue shard.
      async (messageId) => {
        const jobs = await Promise.all(this.queues.shards.map((queue) => queue.getJob(messageId)));
        return jobs.find((job) => job)?.data.session_id ?? null;
      },
    );
    this.access = SessionAccess.fromConfig(config, this.redis, keys);
    this.app = this.uwsBuild.uws.App();
    this.turnLog = new TurnLog(this.redis, keys, { ttlSeconds: config.turn.resumeWindowSeconds, maxFrames: config.turn.logMaxFrames });
    this.slowClients = new SlowClients((sessionId) => this.sockets.ofSession(sessionId), this.metrics, {
      softLimitBytes: config.gateway.slowClientBytes,
      hardLimitBytes: config.gateway.maxBackpressureBytes,
      sweepEveryMs: 200,
    });
    this.relay = new SessionRelay({
      tracing: this.tracing,
      slowClients: this.slowClients,
      subscriber: this.subscriber,
      keys,
      app: this.app,
      metrics: this.metrics,
      logger: this.logger,
      turnLog: this.turnLog,
      store,
      // An erased session's sockets end with 4410 once its frame reached them (see SessionErasure).
      onSessionEnded: (sessionId) => this.sockets.endSession(sessionId, SESSION_ERASED_CLOSE.code, SESSION_ERASED_CLOSE.reason),
    });
    this.watchdog = new TurnWatchdog(
      this.queues,
      this.custody,
      store,
      this.turnLog,
      this.metrics,
      this.logger,
      {
        deadlineMs: config.turn.deadlineMs,
        checkEveryMs: turnWatchdogPeriodMs(config),
        custodyLeaseMs: config.gateway.custodyLeaseMs,
      },
      { endedHere: (messageId) => this.relay.relayedEndingOf(messageId), lastSeq: (sessionId, messageId) => this.relay.lastSeqRelayed(sessionId, messageId) },
    );
    this.sockets = new SocketRegistry(store, this.metrics, this.logger, config.gateway.socketLeaseMs);
    this.erasure = new SessionErasure({
      redis: this.redis,
      keys,
      queues: this.queues,
      canceller: this.canceller,
      forgetTurns: (sessionId) => this.watchdog.forgetSession(sessionId),
      logger: this.logger,
    });
    const intake = new TurnIntake(
      store,
      this.queues,
      this.metrics,
      this.logger,
      {
        maxMessageLength: config.gateway.maxMessageLength,
        sessionTtlSeconds: config.session.ttlSeconds,
        tokenBudget: config.session.tokenBudget,
        pipelineTimings: config.tracing.pipelineTimings,
      },
      { points: config.limits.turnsPerMinute, windowSeconds: 60 },
      { watch: (data) => this.watchdog.watch(data), unwatch: (messageId) => this.watchdog.unwatch(messageId) },
      () => this.availability.assertReachable(),
      this.tracing,
    );
    this.routes(store, intake);
  }

  private routes(store: SessionStore, intake: TurnIntake): void {
    const { config, metrics, logger } = this;
    const cors = new CorsPolicy(config.auth.allowedOrigins);
    const deps = { metrics, logger, trustProxyHops: config.gateway.trustProxyHops, cors };
    // Every route registered through `app` is recorded, so the catch-all knows each path's methods.
    const routeTable = new RouteTable();
    const app = recordRoutes(this.app, routeTable);
    const access = this.access;
    const sessionDeps = { store, turnLog: this.turnLog, sessionLimit: this.limits.sessions, maxBodyBytes: config.gateway.maxBodyBytes, historyMaxTurns: config.session.historyMaxTurns, tokenBudget: config.session.tokenBudget, maxMessageLength: config.gateway.maxMessageLength, access };
    const opsDeps = {
      redis: this.redis,
      metrics,
      registry: this.sockets,
      gatewayId: this.gatewayId,
      uwsBuild: this.uwsBuild,
      draining: () => this.draining,
      readiness: () => this.readiness.status(),
    };
    // The chat page (/), the operator view (/ops) and their assets, read from web/ once, here.
    const opsAccess = new OpsAccess(config.ops.token, config.ops.enabled, config.auth.required);
    const deadLetterDeps = {
      queues: this.queues,
      store,
      redis: this.redis,
      keys: this.keys,
      sessionTtlSeconds: config.session.ttlSeconds,
      replayAllowed: opsAccess.tokenRequired,
    };
    const erasureDeps = {
      store,
      access,
      historyMaxTurns: config.session.historyMaxTurns,
      erasure: this.erasure,
    };
    // Routes that need Redis answer 503 at once while it has been away past the grace.
    const needsStore =
      (handler: RestHandler): RestHandler =>
      (exchange, request) => {
        this.availability.assertReachable();
        return handler(exchange, request);
      };
    const webRoot = findWebRoot();
    const site = webRoot ? StaticSite.load(webRoot, { ops: config.ops.enabled }) : new StaticSite();
    registerStaticRoutes(app, { site, opsAccess, opsEnabled: config.ops.enabled, metrics, logger, publicWsOrigins: parsePublicWsOrigins(config.gateway.publicWsOrigins) });
    // The policy documents that answers cite, as pages their sources link to.
    registerPolicyDocRoutes(app, loadPolicyPages(findPolicyDir()), metrics);
    app
      .post('/chat/session', restRoute('POST /chat/session', 0, needsStore(createSessionHandler(sessionDeps)), deps))
      .get('/chat/session/:id', restRoute('GET /chat/session/:id', 1, needsStore(getSessionHandler(sessionDeps)), deps))
      .del('/chat/session/:id', restRoute('DELETE /chat/session/:id', 1, needsStore(deleteSessionHandler(erasureDeps)), deps))
      .get('/chat/session/:id/transcript', restRoute('GET /chat/session/:id/transcript', 1, needsStore(transcriptHandler(erasureDeps)), deps))
      .post('/chat/ticket', restRoute('POST /chat/ticket', 0, needsStore(createTicketHandler(sessionDeps)), deps))
      .post(
        '/chat/message',
        restRoute(
          'POST /chat/message',
          0,
          needsStore(sendMessageHandler({ intake, relay: this.relay, turnLog: this.turnLog, maxBodyBytes: config.gateway.maxBodyBytes, waitTimeoutMs: config.gateway.waitTimeoutMs, access })),
          deps,
        ),
      )
      .post(
        '/chat/cancel',
        restRoute('POST /chat/cancel', 0, needsStore(cancelTurnHandler({ canceller: this.canceller, access, maxBodyBytes: config.gateway.maxBodyBytes })), deps),
      )
      .get('/health', restRoute('GET /health', 0, healthHandler(opsDeps), deps))
      .get('/ready', restRoute('GET /ready', 0, readyHandler(opsDeps), deps))
      .get('/metrics', restRoute('GET /metrics', 0, metricsHandler(opsDeps), deps))
      .get('/stats', opsAccess.guard('GET /stats', restRoute('GET /stats', 0, statsHandler(opsDeps), deps), metrics))
      .get('/ops/dead-letters', opsAccess.guard('GET /ops/dead-letters', restRoute('GET /ops/dead-letters', 0, needsStore(listDeadLettersHandler(deadLetterDeps)), deps), metrics))
      .post(
        '/ops/dead-letters/:messageId/replay',
        opsAccess.guard('POST /ops/dead-letters/:id/replay', restRoute('POST /ops/dead-letters/:id/replay', 1, needsStore(replayDeadLetterHandler(deadLetterDeps)), deps), metrics),
      )
      .ws(
        '/ws/:sessionId/:clientId',
        chatSocketBehavior(
          {
            uws: this.uwsBuild.uws,
            store,
            relay: this.relay,
            registry: this.sockets,
            intake,
            metrics,
            logger,
            accepting: () => !this.draining,
            storeReachable: () => {
              try {
                this.availability.assertReachable();
                return true;
              } catch {
                return false;
              }
            },
            connectLimit: this.limits.connects,
            canceller: this.canceller,
            access,
            resume: new SocketResume({ relay: this.relay, turnLog: this.turnLog, redis: this.redis, keys: this.keys, metrics, logger }),
            slowClients: this.slowClients,
            deadGateways: new DeadGateways(this.custody, this.keySafeGatewayId, config.gateway.socketLeaseMs),
          },
          {
            // The id custody knows it by: dead gateways are found by their slots' member prefix.
            gatewayId: this.keySafeGatewayId,
            maxConnectionsPerSession: config.gateway.maxConnectionsPerSession,
            maxFrameBytes: config.gateway.maxFrameBytes,
            idleTimeoutSeconds: config.gateway.idleTimeoutSeconds,
            maxBackpressureBytes: config.gateway.maxBackpressureBytes,
            framesPerSecond: config.gateway.framesPerSecond,
            socketLeaseMs: config.gateway.socketLeaseMs,
            custodyLeaseMs: config.gateway.custodyLeaseMs,
            sessionTtlSeconds: config.session.ttlSeconds,
            trustProxyHops: config.gateway.trustProxyHops,
          },
        ),
      )
      .any('/*', fallbackRoute({ table: routeTable, cors, metrics }));
  }

  /** Turn jobs by state (waiting, paused, prioritized, active, delayed, failed), summed over every queue shard. */
  queueCounts(): Promise<Record<string, number>> {
    return this.queueDepth.total();
  }

  /** Listens on config.gateway.host:port (0 = a free port); resolves with the bound port. */
  async start(): Promise<number> {
    const { host, port } = this.config.gateway;
    await Promise.all([this.redis, this.subscriber].map((connection) => waitForReady(connection, 10_000)));
    await this.tracing.ready();
    // On the custody roster before any socket is admitted: a gateway holding socket slots but
    // off the roster would be taken for dead by a gateway admitting into a full session.
    await this.watchdog.start();
    const listenSocket = await new Promise<us_listen_socket>((resolve, reject) => {
      this.app.listen(host, port, (socket) => (socket ? resolve(socket) : reject(new Error(`could not listen on ${host}:${port}`))));
    });
    this.listenSocket = listenSocket;
    this.port = this.uwsBuild.uws.us_socket_local_port(listenSocket);
    this.sockets.startLeaseRenewal();
    await this.readiness.start();
    this.subscriptionProbe?.start();
    this.logger.info({ port: this.port, host, gateway_id: this.gatewayId, uws: this.uwsBuild.source }, 'gateway listening');
    return this.port;
  }

  /**
   * Drains and stops, in order, each step on its own so one failure does not skip the rest:
   * stop accepting (health turns 503, the listen socket closes) → close client sockets with
   * 1001 and a reconnect hint → unsubscribe and close Redis. Safe to call twice.
   */
  close(): Promise<void> {
    this.closing ??= this.doClose();
    return this.closing;
  }

  private async doClose(): Promise<void> {
    this.draining = true;
    await runShutdownSteps(this.logger, [
      {
        name: 'stop accepting',
        run: () => {
          if (this.listenSocket) this.uwsBuild.uws.us_listen_socket_close(this.listenSocket);
          this.listenSocket = null;
        },
      },
      { name: 'close sockets', run: () => this.sockets.closeAll(SHUTDOWN_CLOSE_REASON) },
      { name: 'stop readiness canary', run: () => this.readiness.close() },
      { name: 'stop subscription probe', run: () => this.subscriptionProbe?.close() },
      // Its turns are watched to their end by the gateways that stay.
      { name: 'hand watched turns over', run: () => this.watchdog.handOver(), timeoutMs: 2000 },
      { name: 'stop slow-client sweep', run: () => this.slowClients.close() },
      { name: 'close relay', run: () => this.relay.close() },
      // An erasure still waiting for a worker to let go of a job: its last pass, if time allows.
      { name: 'finish erasures', run: () => this.erasure.settled(), timeoutMs: 2000 },
      { name: 'close queue', run: () => this.queues.close(), timeoutMs: 2000 },
      { name: 'close canary queue', run: () => this.canaryQueue.close(), timeoutMs: 2000 },
      { name: 'close subscriber', run: () => this.subscriber.close(), timeoutMs: 2000 },
      ...[this.redis, this.queueConnection].map((connection) => ({ name: 'close redis', run: () => closeRedis(connection), timeoutMs: 2000 })),
      // Anything left (keep-alive HTTP connections) goes with the app.
      { name: 'close app', run: () => this.app.close?.() },
      { name: 'flush traces', run: () => this.tracing.close(), timeoutMs: 2000 },
    ]);
    this.logger.info('gateway stopped');
  }
}

/**
 * How long Redis may be away before requests that need it are refused at once: longer than a
 * reconnect after a dropped connection (tens of ms), shorter than a restart.
 */
const REDIS_AWAY_GRACE_MS = 1000;

function waitForReady(redis: RedisClient | ChannelSubscriber, timeoutMs: number): Promise<void> {
  if (redis.status === 'ready') return Promise.resolve();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      redis.off('ready', onReady);
      reject(new Error(`Redis not reachable within ${timeoutMs} ms`));
    }, timeoutMs);
    const onReady = () => {
      clearTimeout(timer);
      resolve();
    };
    redis.once('ready', onReady);
  });
}
