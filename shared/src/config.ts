import { Type, type Static, type TSchema } from '@sinclair/typebox';
import { Ajv } from 'ajv';
import { parseClusterNodes, type RedisTarget } from './redis/connection.js';

/**
 * Service configuration: one schema with its defaults, one table from environment variables to
 * config paths, validated once at start (defaults applied, strings coerced to numbers and
 * booleans, unknown keys refused) and then frozen. The table in docs/configuration.md mirrors ENV_TABLE.
 */

const Port = (def: number, description: string) => Type.Integer({ minimum: 0, maximum: 65535, default: def, description });
const PositiveInt = (def: number, description: string, max = 2 ** 31 - 1) =>
  Type.Integer({ minimum: 1, maximum: max, default: def, description });
const NonNegativeInt = (def: number, description: string) => Type.Integer({ minimum: 0, default: def, description });
const Url = (description: string) => Type.Optional(Type.String({ pattern: '^[a-z][a-z0-9+.-]*://', description }));

export const ConfigSchema = Type.Object(
  {
    redis: Type.Object(
      {
        url: Type.String({ pattern: '^rediss?://', default: 'redis://127.0.0.1:6379', description: 'Redis for everything' }),
        queueUrl: Url('Redis for the BullMQ queue (must be noeviction); defaults to redis.url'),
        cacheUrl: Url('Redis for sessions, history and pub/sub; defaults to redis.url'),
        prefix: Type.String({ pattern: '^[A-Za-z0-9_.-]{1,32}$', default: 'chat', description: 'prefix of every key' }),
        clusterNodes: Type.String({
          default: '',
          pattern: '^[^\\s]*$',
          description: 'seed nodes of a Redis Cluster (host:port,host:port,...); set = cluster mode for every connection, REDIS_URL ignored',
        }),
        username: Type.Optional(Type.String({ minLength: 1, description: 'ACL user on every cluster node (single node: in the URL)' })),
        password: Type.Optional(Type.String({ minLength: 1, description: 'password on every cluster node (single node: in the URL)' })),
        tls: Type.Boolean({ default: false, description: 'TLS to every cluster node (single node: rediss:// URL)' }),
        queueShards: PositiveInt(1, 'BullMQ queues the turns are spread over (each in its own hash slot); a session always maps to the same one', 256),
      },
      { additionalProperties: false, default: {} },
    ),
    log: Type.Object(
      {
        level: Type.Union(
          ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].map((l) => Type.Literal(l)),
          { default: 'info' },
        ),
      },
      { additionalProperties: false, default: {} },
    ),
    gateway: Type.Object(
      {
        host: Type.String({ default: '0.0.0.0', description: 'listen address' }),
        port: Port(8088, 'listen port (shared by every gateway process on the host: SO_REUSEPORT)'),
        allowUwsShim: Type.Boolean({ default: false, description: 'start even if uWebSockets.js fell back to its slow JS shim' }),
        maxConnectionsPerSession: PositiveInt(10, 'sockets one session may hold across all gateways', 10_000),
        maxMessageLength: PositiveInt(4000, 'characters in one chat message', 100_000),
        maxFrameBytes: PositiveInt(16 * 1024, 'largest WebSocket frame accepted (bigger: close 1009)', 16 * 1024 * 1024),
        maxBodyBytes: PositiveInt(64 * 1024, 'largest REST body accepted (bigger: 413)', 16 * 1024 * 1024),
        idleTimeoutSeconds: Type.Integer({ minimum: 8, maximum: 960, default: 120, description: 'a socket silent this long is closed; uWS pings it before that (uWS needs ≥ 8)' }),
        maxBackpressureBytes: PositiveInt(1024 * 1024, 'bytes buffered for one slow socket before it is closed'),
        framesPerSecond: PositiveInt(20, 'sustained inbound frames per socket (burst: twice that)'),
        waitTimeoutMs: PositiveInt(120_000, 'how long POST /chat/message?wait=1 and SSE wait for the answer'),
        socketLeaseMs: PositiveInt(60_000, 'lease of a socket slot in Redis, renewed while the socket lives'),
        canaryIntervalMs: PositiveInt(5000, 'how often the readiness canary goes gateway → queue → worker → channel → gateway', 600_000),
        canaryMaxAgeMs: PositiveInt(15_000, 'GET /ready is 503 when no canary came back for this long', 3_600_000),
        slowClientBytes: PositiveInt(64 * 1024, 'bytes buffered for a socket past which its chunks are merged (fewer, larger frames) until it catches up'),
        trustProxyHops: Type.Integer({
          minimum: 0,
          maximum: 10,
          default: 0,
          description: 'reverse proxies in front of the gateway that append to X-Forwarded-For; per-address limits then key on the client they name (0: the TCP peer)',
        }),
        publicWsOrigins: Type.String({
          default: '',
          description:
            "comma-separated ws:// or wss:// origins the chat page may open its socket to, named in its CSP connect-src beside 'self' (for browsers where 'self' does not cover ws/wss: Safari before 16); empty: 'self' only",
        }),
        custodyLeaseMs: PositiveInt(5000, 'a gateway silent this long is taken for dead: another gateway adopts the turns it was watching', 600_000),
      },
      { additionalProperties: false, default: {} },
    ),
    ops: Type.Object(
      {
        enabled: Type.Boolean({ default: true, description: 'serve the operator view at /ops (the deploy manifests turn it off)' }),
        token: Type.Optional(
          Type.String({
            // RFC 6750 b64token characters, so it travels unchanged in a header and a query string.
            pattern: '^[A-Za-z0-9._~+/=-]{16,512}$',
            description: 'when set, /ops and /stats need `Authorization: Bearer <token>` or `?token=<token>`',
          }),
        ),
      },
      { additionalProperties: false, default: {} },
    ),
    auth: Type.Object(
      {
        required: Type.Boolean({
          default: false,
          description: 'sockets, POST /chat/message and GET /chat/session/:id need the session token (the deploy manifests set true)',
        }),
        secrets: Type.Optional(
          Type.String({
            // `kid:base64secret,kid:base64secret`: parsed and checked by parseAuthSecrets, whose
            // messages never repeat a secret.
            minLength: 1,
            description: 'token signing keys by key id; the first signs, all verify (rotation); unset = no tokens issued',
          }),
        ),
        issuer: Type.String({ minLength: 1, default: 'scalable-chatbot-svc', description: 'iss of issued tokens, checked on verify' }),
        audience: Type.String({ minLength: 1, default: 'chat', description: 'aud of issued tokens, checked on verify' }),
        tokenTtlSeconds: PositiveInt(86_400, 'lifetime of a session token', 30 * 86_400),
        ticketTtlSeconds: PositiveInt(30, 'lifetime of a single-use socket ticket', 600),
        allowedOrigins: Type.String({
          default: '',
          description: 'comma-separated origins browser sockets may come from (empty = any)',
        }),
      },
      { additionalProperties: false, default: {} },
    ),
    worker: Type.Object(
      {
        concurrency: Type.Integer({ minimum: 0, maximum: 10_000, default: 0, description: 'turns one worker process streams at once (0 = derived from what a stream costs; see docs/performance.md)' }),
        minStreamTokensPerSecond: PositiveInt(20, 'the slowest pace a stream may drop to when its worker is full, tokens/s: sizes WORKER_CONCURRENCY when that is 0', 100_000),
        metricsHost: Type.String({ default: '0.0.0.0', description: 'metrics/health listen address' }),
        metricsPort: Port(9464, 'worker /metrics and /health port (0 = pick a free one)'),
        chunkWindowMs: NonNegativeInt(10, 'tokens arriving within this window share one chunk (0 = one chunk per token)'),
        jobAttempts: PositiveInt(3, 'attempts per turn for transient LLM errors', 20),
        backoffMs: PositiveInt(500, 'first retry delay; doubles per attempt'),
        promptHistoryTurns: NonNegativeInt(10, 'past turns read for the prompt'),
        promptHistoryTokens: NonNegativeInt(2000, 'token budget of those turns (model tokenizer); older turns are dropped'),
        turnWaitRetryMs: PositiveInt(250, 'a turn behind another of its session is re-checked after this'),
        lockMs: PositiveInt(8000, 'BullMQ job lock, renewed at half; a killed worker\'s turn is retried within about this plus the stalled interval', 600_000),
        queueShards: Type.String({
          default: '',
          pattern: '^(\\d+(,\\d+)*)?$',
          description: 'the queue shards this worker consumes, e.g. 0,2 (empty = every shard)',
        }),
        stalledIntervalMs: PositiveInt(3000, 'how often workers look for turns whose worker died (BullMQ stalled check)', 600_000),
      },
      { additionalProperties: false, default: {} },
    ),
    turn: Type.Object(
      {
        resumeWindowSeconds: PositiveInt(300, 'how long a turn\'s frames stay in its log for clients that reconnect and resume', 86_400),
        logMaxFrames: PositiveInt(4096, 'frames kept in one turn\'s log; a resume past them gets a snapshot', 1_000_000),
        deadlineMs: PositiveInt(120_000, 'a turn not finished this long after it was accepted ends with a timeout error', 3_600_000),
      },
      { additionalProperties: false, default: {} },
    ),
    llm: Type.Object(
      {
        apiKey: Type.Optional(Type.String({ minLength: 1, description: 'OpenAI API key; unset = the offline model' })),
        baseUrl: Url('OpenAI-compatible endpoint; unset = OpenAI, or the offline model without a key'),
        model: Type.String({ minLength: 1, default: 'gpt-4o-mini' }),
        requestTimeoutMs: PositiveInt(60_000, 'whole-request timeout of one LLM call'),
        idleTimeoutMs: PositiveInt(20_000, 'longest silence between two streamed chunks'),
        maxTokens: PositiveInt(800, 'max_tokens of one answer'),
        temperature: Type.Number({ minimum: 0, maximum: 2, default: 0.3 }),
        fallback: Type.Boolean({ default: true, description: 'when the LLM fails, answer with the grounded extractive answer (labelled) instead of an error' }),
        prices: Type.String({
          default: '',
          pattern: '^\\s*([A-Za-z0-9._:-]{1,64}=\\d+(\\.\\d+)?/\\d+(\\.\\d+)?\\s*(,\\s*|$))*$',
          description: 'model=prompt/completion USD per million tokens, comma-separated; added to (or replacing) the built-in OpenAI prices',
        }),
        tools: Type.Union([Type.Literal('auto'), Type.Literal('on'), Type.Literal('off')], {
          default: 'auto',
          description: 'offer the model tools (flight status, schedule search, policy search): auto = with a real LLM (an API key), not the offline model',
        }),
      },
      { additionalProperties: false, default: {} },
    ),
    session: Type.Object(
      {
        ttlSeconds: PositiveInt(3600, 'idle lifetime of a session and its history'),
        historyMaxTurns: PositiveInt(50, 'turns kept per session'),
        cacheTtlSeconds: PositiveInt(1800, 'lifetime of a cached answer'),
        tokenBudget: NonNegativeInt(0, 'LLM tokens (prompt + completion) one session may spend; further turns are refused (0 = no budget)'),
      },
      { additionalProperties: false, default: {} },
    ),
    offlineLlm: Type.Object(
      {
        host: Type.String({ default: '127.0.0.1' }),
        port: Port(8099, 'offline model port'),
        ttftMs: NonNegativeInt(400, 'offline model: delay before the first token'),
        tokensPerSecond: NonNegativeInt(60, 'offline model: pacing (0 = as fast as possible)'),
        answerTokens: PositiveInt(120, 'offline model: tokens per answer (upper bound)', 100_000),
        fillToAnswerTokens: Type.Boolean({ default: false, description: 'offline model: pad every answer to exactly answerTokens (benchmarks)' }),
        allowRequestOverrides: Type.Boolean({ default: false, description: 'offline model: honour x-offline-* pacing headers (benchmarks)' }),
      },
      { additionalProperties: false, default: {} },
    ),
    context: Type.Object(
      {
        agentUrl: Url('flight data service (POST /get_flight_context); unset = the bundled flight schedule'),
        retrievalUrl: Url('policy search service (POST /search); unset = the bundled policy documents (BM25)'),
        retrievalK: PositiveInt(3, 'policy passages retrieved per question', 20),
        policyTimeoutMs: PositiveInt(1500, 'timeout of one policy search'),
        flightTimeoutMs: PositiveInt(1500, 'timeout of one flight lookup'),
        breakerThreshold: PositiveInt(5, 'consecutive failures that open a context source circuit breaker'),
        breakerHalfOpenMs: PositiveInt(10_000, 'how long an open breaker waits before one trial call'),
      },
      { additionalProperties: false, default: {} },
    ),
    limits: Type.Object(
      {
        turnsPerMinute: PositiveInt(30, 'chat turns one session may start per minute, across all gateways'),
        // Lenient on purpose: many customers share one address (airport and hotel Wi-Fi, carrier
        // NAT), most of all in a disruption, and the original service's load runner brings 1000
        // users from one address. The deploy manifests set stricter values (docs/configuration.md).
        connectsPerMinutePerAddress: PositiveInt(5000, 'WebSocket connection attempts per client address per minute'),
        sessionsPerMinutePerAddress: PositiveInt(2000, 'sessions one client address may create per minute'),
        llmRequestsPerMinute: NonNegativeInt(0, 'LLM requests per minute for all workers together; a burst queues (0 = no limit)'),
        llmTokensPerMinute: NonNegativeInt(0, 'LLM tokens per minute for all workers together; a burst queues (0 = no limit)'),
      },
      { additionalProperties: false, default: {} },
    ),
    tracing: Type.Object(
      {
        otlpEndpoint: Url('OpenTelemetry traces go to <endpoint>/v1/traces over OTLP/HTTP; unset = tracing off'),
        pipelineTimings: Type.Boolean({ default: false, description: 'stamp each step of a turn\'s path to its first token into complete.metadata.timings (the bench\'s breakdown)' }),
      },
      { additionalProperties: false, default: {} },
    ),
    shutdown: Type.Object(
      { timeoutMs: PositiveInt(15_000, 'how long SIGTERM waits for in-flight work') },
      { additionalProperties: false, default: {} },
    ),
  },
  { additionalProperties: false },
);

export type Config = Static<typeof ConfigSchema>;

/** Environment variable → config path. The table in docs/configuration.md mirrors this list (a test checks). */
export const ENV_TABLE = [
  ['REDIS_URL', 'redis.url'],
  ['QUEUE_REDIS_URL', 'redis.queueUrl'],
  ['CACHE_REDIS_URL', 'redis.cacheUrl'],
  ['REDIS_PREFIX', 'redis.prefix'],
  ['REDIS_CLUSTER_NODES', 'redis.clusterNodes'],
  ['REDIS_USERNAME', 'redis.username'],
  ['REDIS_PASSWORD', 'redis.password'],
  ['REDIS_TLS', 'redis.tls'],
  ['QUEUE_SHARDS', 'redis.queueShards'],
  ['WORKER_QUEUE_SHARDS', 'worker.queueShards'],
  ['LOG_LEVEL', 'log.level'],
  ['HOST', 'gateway.host'],
  ['PORT', 'gateway.port'],
  ['ALLOW_UWS_SHIM', 'gateway.allowUwsShim'],
  ['MAX_CONNECTIONS_PER_SESSION', 'gateway.maxConnectionsPerSession'],
  ['MAX_MESSAGE_LENGTH', 'gateway.maxMessageLength'],
  ['MAX_FRAME_BYTES', 'gateway.maxFrameBytes'],
  ['MAX_BODY_BYTES', 'gateway.maxBodyBytes'],
  ['WS_IDLE_TIMEOUT_SECONDS', 'gateway.idleTimeoutSeconds'],
  ['WS_MAX_BACKPRESSURE_BYTES', 'gateway.maxBackpressureBytes'],
  ['WS_FRAMES_PER_SECOND', 'gateway.framesPerSecond'],
  ['WAIT_TIMEOUT_MS', 'gateway.waitTimeoutMs'],
  ['SOCKET_LEASE_MS', 'gateway.socketLeaseMs'],
  ['READINESS_CANARY_INTERVAL_MS', 'gateway.canaryIntervalMs'],
  ['READINESS_CANARY_MAX_AGE_MS', 'gateway.canaryMaxAgeMs'],
  ['WS_SLOW_CLIENT_BYTES', 'gateway.slowClientBytes'],
  ['TURN_CUSTODY_LEASE_MS', 'gateway.custodyLeaseMs'],
  ['PUBLIC_WS_ORIGINS', 'gateway.publicWsOrigins'],
  ['TRUST_PROXY_HOPS', 'gateway.trustProxyHops'],
  ['OPS_ENABLED', 'ops.enabled'],
  ['OPS_TOKEN', 'ops.token'],
  ['AUTH_REQUIRED', 'auth.required'],
  ['AUTH_SECRETS', 'auth.secrets'],
  ['AUTH_ISSUER', 'auth.issuer'],
  ['AUTH_AUDIENCE', 'auth.audience'],
  ['AUTH_TOKEN_TTL_SECONDS', 'auth.tokenTtlSeconds'],
  ['AUTH_TICKET_TTL_SECONDS', 'auth.ticketTtlSeconds'],
  ['ALLOWED_ORIGINS', 'auth.allowedOrigins'],
  ['WORKER_CONCURRENCY', 'worker.concurrency'],
  ['WORKER_MIN_STREAM_TOKENS_PER_SECOND', 'worker.minStreamTokensPerSecond'],
  ['WORKER_METRICS_HOST', 'worker.metricsHost'],
  ['WORKER_METRICS_PORT', 'worker.metricsPort'],
  ['CHUNK_WINDOW_MS', 'worker.chunkWindowMs'],
  ['JOB_ATTEMPTS', 'worker.jobAttempts'],
  ['JOB_BACKOFF_MS', 'worker.backoffMs'],
  ['PROMPT_HISTORY_TURNS', 'worker.promptHistoryTurns'],
  ['PROMPT_HISTORY_TOKENS', 'worker.promptHistoryTokens'],
  ['TURN_WAIT_RETRY_MS', 'worker.turnWaitRetryMs'],
  ['WORKER_LOCK_MS', 'worker.lockMs'],
  ['WORKER_STALLED_INTERVAL_MS', 'worker.stalledIntervalMs'],
  ['RESUME_WINDOW_SECONDS', 'turn.resumeWindowSeconds'],
  ['TURN_LOG_MAX_FRAMES', 'turn.logMaxFrames'],
  ['TURN_DEADLINE_MS', 'turn.deadlineMs'],
  ['OPENAI_API_KEY', 'llm.apiKey'],
  ['OPENAI_BASE_URL', 'llm.baseUrl'],
  ['CHAT_MODEL', 'llm.model'],
  ['LLM_TIMEOUT_MS', 'llm.requestTimeoutMs'],
  ['LLM_IDLE_TIMEOUT_MS', 'llm.idleTimeoutMs'],
  ['LLM_MAX_TOKENS', 'llm.maxTokens'],
  ['LLM_TEMPERATURE', 'llm.temperature'],
  ['LLM_FALLBACK', 'llm.fallback'],
  ['LLM_PRICES', 'llm.prices'],
  ['LLM_TOOLS', 'llm.tools'],
  ['SESSION_TTL', 'session.ttlSeconds'],
  ['HISTORY_MAX_TURNS', 'session.historyMaxTurns'],
  ['CACHE_TTL', 'session.cacheTtlSeconds'],
  ['SESSION_TOKEN_BUDGET', 'session.tokenBudget'],
  ['OFFLINE_LLM_HOST', 'offlineLlm.host'],
  ['OFFLINE_LLM_PORT', 'offlineLlm.port'],
  ['OFFLINE_LLM_TTFT_MS', 'offlineLlm.ttftMs'],
  ['OFFLINE_LLM_TOKENS_PER_SECOND', 'offlineLlm.tokensPerSecond'],
  ['OFFLINE_LLM_ANSWER_TOKENS', 'offlineLlm.answerTokens'],
  ['OFFLINE_LLM_FILL', 'offlineLlm.fillToAnswerTokens'],
  ['OFFLINE_LLM_ALLOW_OVERRIDES', 'offlineLlm.allowRequestOverrides'],
  ['AGENT_URL', 'context.agentUrl'],
  ['RETRIEVAL_URL', 'context.retrievalUrl'],
  ['RETRIEVAL_K', 'context.retrievalK'],
  ['CONTEXT_POLICY_TIMEOUT_MS', 'context.policyTimeoutMs'],
  ['CONTEXT_FLIGHT_TIMEOUT_MS', 'context.flightTimeoutMs'],
  ['CONTEXT_BREAKER_THRESHOLD', 'context.breakerThreshold'],
  ['CONTEXT_BREAKER_HALF_OPEN_MS', 'context.breakerHalfOpenMs'],
  ['TURNS_PER_MINUTE', 'limits.turnsPerMinute'],
  ['WS_CONNECTS_PER_MINUTE_PER_ADDRESS', 'limits.connectsPerMinutePerAddress'],
  ['SESSIONS_PER_MINUTE_PER_ADDRESS', 'limits.sessionsPerMinutePerAddress'],
  ['LLM_REQUESTS_PER_MINUTE', 'limits.llmRequestsPerMinute'],
  ['LLM_TOKENS_PER_MINUTE', 'limits.llmTokensPerMinute'],
  ['OTEL_EXPORTER_OTLP_ENDPOINT', 'tracing.otlpEndpoint'],
  ['PIPELINE_TIMINGS', 'tracing.pipelineTimings'],
  ['SHUTDOWN_TIMEOUT_MS', 'shutdown.timeoutMs'],
] as const satisfies ReadonlyArray<readonly [string, string]>;

export class ConfigError extends Error {
  readonly problems: string[];
  constructor(problems: string[]) {
    super(`invalid configuration:\n  - ${problems.join('\n  - ')}`);
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

/** Deep partial of the config, as accepted by `loadConfig` overrides (tests, embedding). */
export type ConfigOverrides = { [K in keyof Config]?: Partial<Config[K]> };

const configAjv = new Ajv({ allErrors: true, useDefaults: true, coerceTypes: true, strict: false });
const validateConfig = configAjv.compile<Config>(ConfigSchema as TSchema);

const envByPath = new Map<string, string>(ENV_TABLE.map(([env, path]) => [path, env]));

/**
 * Reads the environment (and optional overrides, which win), validates, applies defaults and
 * returns a frozen config. Throws ConfigError naming every bad variable at once.
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env, overrides: ConfigOverrides = {}): Readonly<Config> {
  const raw: Record<string, Record<string, unknown>> = {};
  for (const [envName, path] of ENV_TABLE) {
    const value = env[envName];
    if (value === undefined || value === '') continue;
    const [section, key] = path.split('.') as [string, string];
    (raw[section] ??= {})[key] = isBooleanPath(section, key) ? normaliseBoolean(value) : value;
  }
  for (const [section, values] of Object.entries(overrides)) {
    Object.assign((raw[section] ??= {}), values);
  }
  if (!validateConfig(raw)) {
    const problems = (validateConfig.errors ?? []).map((err) => {
      const path = err.instancePath.replace(/^\//, '').replace(/\//g, '.');
      const fullPath = err.keyword === 'additionalProperties' ? `${path}.${String(err.params.additionalProperty)}` : path;
      const envName = envByPath.get(fullPath);
      const shown = envName ? `${envName} (${fullPath})` : fullPath;
      const [section, key] = fullPath.split('.');
      const got = section && key && !SECRET_PATHS.has(fullPath) ? raw[section]?.[key] : undefined;
      return `${shown}: ${err.message ?? 'is invalid'}${got !== undefined ? ` (got ${JSON.stringify(got)})` : ''}`;
    });
    throw new ConfigError(problems);
  }
  const config = raw as unknown as Config;
  const authProblems = [
    ...authSecretsProblems(config.auth.secrets),
    ...allowedOriginsProblems(config.auth.allowedOrigins),
    ...redisTopologyProblems(config),
    ...publicWsOriginsProblems(config.gateway.publicWsOrigins),
  ];
  if (authProblems.length > 0) throw new ConfigError(authProblems);
  return deepFreeze(config);
}

/** Cluster seed nodes that do not parse, and consumed queue shards that do not exist. */
function redisTopologyProblems(config: Config): string[] {
  const problems: string[] = [];
  if (usesRedisCluster(config)) {
    try {
      parseClusterNodes(config.redis.clusterNodes);
    } catch (err) {
      problems.push(`REDIS_CLUSTER_NODES (redis.clusterNodes): ${(err as Error).message}`);
    }
  }
  const missing = consumedQueueShards(config).filter((shard) => shard >= config.redis.queueShards);
  if (missing.length > 0) {
    problems.push(`WORKER_QUEUE_SHARDS (worker.queueShards): shard ${missing.join(', ')} does not exist (QUEUE_SHARDS is ${config.redis.queueShards}: shards 0..${config.redis.queueShards - 1})`);
  }
  return problems;
}

/** Config paths whose values are never repeated in an error message (they would reach logs). */
const SECRET_PATHS = new Set(['auth.secrets', 'ops.token', 'llm.apiKey', 'redis.password']);

/** One key of session tokens: its id (the JWT `kid` header) and its HMAC secret. */
export interface AuthKey {
  kid: string;
  secret: Uint8Array;
}

/** Shortest HMAC secret accepted: the hash size of HS256 (RFC 7518 §3.2). */
export const MIN_AUTH_SECRET_BYTES = 32;

/**
 * Parses AUTH_SECRETS, `kid:base64secret,kid:base64secret`, in order: the first key signs, every
 * key verifies (rotation: add the new key first, drop the old one once its tokens have expired).
 * Secrets may be base64 or base64url. Unset = no keys. Throws ConfigError naming the bad entry by
 * position and key id, never its secret.
 */
export function parseAuthSecrets(text: string | undefined): AuthKey[] {
  const problems = authSecretsProblems(text);
  if (problems.length > 0) throw new ConfigError(problems);
  return splitAuthSecrets(text).map(({ kid, encoded }) => ({ kid, secret: new Uint8Array(Buffer.from(encoded, 'base64')) }));
}

function splitAuthSecrets(text: string | undefined): Array<{ kid: string; encoded: string }> {
  if (text === undefined || text.trim() === '') return [];
  return text.split(',').map((entry) => {
    const colon = entry.indexOf(':');
    return colon === -1 ? { kid: '', encoded: '' } : { kid: entry.slice(0, colon).trim(), encoded: entry.slice(colon + 1).trim() };
  });
}

function authSecretsProblems(text: string | undefined): string[] {
  const problems: string[] = [];
  const seen = new Set<string>();
  splitAuthSecrets(text).forEach(({ kid, encoded }, index) => {
    const where = `AUTH_SECRETS (auth.secrets): entry ${index + 1}`;
    if (!/^[A-Za-z0-9_.-]{1,64}$/.test(kid) || encoded === '') {
      problems.push(`${where}: must be kid:base64secret, the kid of 1-64 of A-Za-z0-9_.-`);
    } else if (seen.has(kid)) {
      problems.push(`${where}: key id ${JSON.stringify(kid)} is listed twice`);
    } else if (!/^[A-Za-z0-9+/_-]+={0,2}$/.test(encoded)) {
      problems.push(`${where} (${kid}): the secret must be base64 or base64url`);
    } else if (Buffer.from(encoded, 'base64').byteLength < MIN_AUTH_SECRET_BYTES) {
      problems.push(`${where} (${kid}): the secret must decode to at least ${MIN_AUTH_SECRET_BYTES} bytes (e.g. openssl rand -base64 32)`);
    }
    seen.add(kid);
  });
  return problems;
}

/**
 * ALLOWED_ORIGINS as a list of normalised origins (`scheme://host[:port]`, lower case, no
 * trailing slash). Empty = every origin is allowed.
 */
export function parseAllowedOrigins(text: string): string[] {
  return text
    .split(',')
    .map((origin) => origin.trim().toLowerCase().replace(/\/+$/, ''))
    .filter((origin) => origin !== '');
}

function allowedOriginsProblems(text: string): string[] {
  return parseAllowedOrigins(text)
    .filter((origin) => !/^[a-z][a-z0-9+.-]*:\/\/[^/\s?#]+$/.test(origin))
    .map((origin) => `ALLOWED_ORIGINS (auth.allowedOrigins): ${JSON.stringify(origin)} is not an origin (scheme://host[:port])`);
}

/**
 * PUBLIC_WS_ORIGINS as a list of `ws://` / `wss://` origins (lower case, no trailing slash). They
 * go into a response header, so only plain origins pass validation (see loadConfig).
 */
export function parsePublicWsOrigins(text: string): string[] {
  return parseAllowedOrigins(text);
}

function publicWsOriginsProblems(text: string): string[] {
  return parsePublicWsOrigins(text)
    .filter((origin) => !/^wss?:\/\/(?:[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?)*|\[[0-9a-f:.]{2,45}\])(?::\d{1,5})?$/.test(origin))
    .map((origin) => `PUBLIC_WS_ORIGINS (gateway.publicWsOrigins): ${JSON.stringify(origin)} is not a ws:// or wss:// origin (scheme://host[:port])`);
}

/**
 * What a gateway refuses to start with: AUTH_REQUIRED without a key to verify tokens with. Checked
 * by the gateway, not by loadConfig, so a worker sharing the gateway's environment is not stopped
 * by a setting it does not use.
 */
export function gatewayAuthProblems(config: Config): string[] {
  if (config.auth.required && splitAuthSecrets(config.auth.secrets).length === 0) {
    return ['AUTH_SECRETS (auth.secrets): must be set when AUTH_REQUIRED=true (kid:base64secret of at least 32 bytes, e.g. main:$(openssl rand -base64 32))'];
  }
  return [];
}

function isBooleanPath(section: string, key: string): boolean {
  const sectionSchema = (ConfigSchema.properties as Record<string, { properties?: Record<string, { type?: unknown }> }>)[section];
  return sectionSchema?.properties?.[key]?.type === 'boolean';
}

/** Environment flags are commonly written 1/0, yes/no, on/off; ajv only coerces true/false. */
function normaliseBoolean(value: string): string {
  const lower = value.trim().toLowerCase();
  if (['1', 'yes', 'on', 'true'].includes(lower)) return 'true';
  if (['0', 'no', 'off', 'false'].includes(lower)) return 'false';
  return value;
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object') {
    for (const child of Object.values(value)) deepFreeze(child);
    Object.freeze(value);
  }
  return value;
}

/** The Redis URL the BullMQ queue uses (single-node mode). */
export function queueRedisUrl(config: Config): string {
  return config.redis.queueUrl ?? config.redis.url;
}

/** The Redis URL for sessions, history, pub/sub and the response cache (single-node mode). */
export function cacheRedisUrl(config: Config): string {
  return config.redis.cacheUrl ?? config.redis.url;
}

/** Whether every connection goes to a Redis Cluster (`REDIS_CLUSTER_NODES` set). */
export function usesRedisCluster(config: Pick<Config, 'redis'>): boolean {
  return config.redis.clusterNodes.trim() !== '';
}

/** Where the BullMQ queues live: the cluster, or `QUEUE_REDIS_URL` / `REDIS_URL`. */
export function queueRedisTarget(config: Config): RedisTarget {
  return usesRedisCluster(config) ? clusterTarget(config) : { kind: 'single', url: queueRedisUrl(config) };
}

/** Where sessions, history, pub/sub and the cache live: the cluster, or `CACHE_REDIS_URL` / `REDIS_URL`. */
export function cacheRedisTarget(config: Config): RedisTarget {
  return usesRedisCluster(config) ? clusterTarget(config) : { kind: 'single', url: cacheRedisUrl(config) };
}

function clusterTarget(config: Config): RedisTarget {
  return {
    kind: 'cluster',
    nodes: parseClusterNodes(config.redis.clusterNodes),
    username: config.redis.username,
    password: config.redis.password,
    tls: config.redis.tls,
  };
}

/**
 * The queue shards a worker consumes: `WORKER_QUEUE_SHARDS`, or all of them. Shards out of range
 * are refused at start by `loadConfig`.
 */
export function consumedQueueShards(config: Pick<Config, 'redis' | 'worker'>): number[] {
  const all = Array.from({ length: config.redis.queueShards }, (_, i) => i);
  if (config.worker.queueShards === '') return all;
  return [...new Set(config.worker.queueShards.split(',').map(Number))].sort((a, b) => a - b);
}

/**
 * How often a gateway's turn watchdog looks at each turn it watches, ms: a quarter of the turn
 * deadline, between 100 ms and 5 s. Workers bound their own waits on the watchdog by it too.
 */
export function turnWatchdogPeriodMs(config: Pick<Config, 'turn'>): number {
  return Math.max(100, Math.min(5000, Math.floor(config.turn.deadlineMs / 4)));
}

/** Whether the worker offers the model tools: `LLM_TOOLS=on`, or `auto` with a real LLM. */
export function offersTools(config: Config): boolean {
  return config.llm.tools === 'on' || (config.llm.tools === 'auto' && !usesOfflineModel(config));
}

/** Whether turns are answered by the bundled offline model (no API key configured). */
export function usesOfflineModel(config: Config): boolean {
  return config.llm.apiKey === undefined;
}

/**
 * The endpoint the worker's OpenAI client talks to. With no API key and no explicit base URL
 * it is the bundled offline model; with a key and no base URL it is OpenAI itself.
 */
export function llmBaseUrl(config: Config): string | undefined {
  if (config.llm.baseUrl) return config.llm.baseUrl;
  if (usesOfflineModel(config)) return `http://${connectHost(config.offlineLlm.host)}:${config.offlineLlm.port}/v1`;
  return undefined;
}

/** A listen address turned into one a client can connect to. */
export function connectHost(host: string): string {
  return host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host;
}
