import { registryAsJson, type GatewayMetrics, type RedisClient } from '@chat/shared';
import { respond, respondJson, type HttpExchange } from '../http/respond.js';
import type { CanaryStatus } from '../readiness-canary.js';
import type { UwsBuild } from '../uws-loader.js';
import type { SocketRegistry } from '../ws/socket-registry.js';

export interface OpsRoutesDeps {
  redis: RedisClient;
  metrics: GatewayMetrics;
  registry: SocketRegistry;
  gatewayId: string;
  uwsBuild: UwsBuild;
  draining: () => boolean;
  /** The end-to-end readiness canary. */
  readiness: () => CanaryStatus;
}

const SERVICE_NAME = 'scalable-chatbot-svc';

/** `GET /health`: 200 while Redis answers and the gateway is not draining, else 503. */
export function healthHandler(deps: OpsRoutesDeps) {
  return async (exchange: HttpExchange): Promise<void> => {
    const redisStatus = await pingRedis(deps.redis, 1000);
    const draining = deps.draining();
    const healthy = redisStatus === 'connected' && !draining;
    const body: Record<string, unknown> = {
      status: healthy ? 'healthy' : 'unhealthy',
      service: SERVICE_NAME,
      timestamp: new Date().toISOString(),
      redis_status: redisStatus,
      active_connections: deps.registry.openSockets,
      active_sessions: deps.registry.activeSessions,
      gateway_id: deps.gatewayId,
      draining,
      uws: { source: deps.uwsBuild.source, native: deps.uwsBuild.native },
      pipeline: pipelineOf(deps.readiness()),
    };
    if (!deps.uwsBuild.native) body.warnings = ['uWebSockets.js is running on its slow JavaScript shim (ALLOW_UWS_SHIM=true)'];
    respondJson(exchange, healthy ? 200 : 503, body, { 'cache-control': 'no-store' });
  };
}

/**
 * `GET /ready`: 200 only while a readiness canary came back recently (enqueue → a worker → this
 * gateway's subscription), Redis answers and the gateway is not draining; else 503. The
 * orchestrator's readiness probe: a gateway that could accept sockets but not deliver answers
 * is taken out of rotation. (`/health` stays the liveness answer.)
 */
export function readyHandler(deps: OpsRoutesDeps) {
  return async (exchange: HttpExchange): Promise<void> => {
    const canary = deps.readiness();
    const redisStatus = await pingRedis(deps.redis, 1000);
    const draining = deps.draining();
    const ready = canary.ready && redisStatus === 'connected' && !draining;
    const body = {
      status: ready ? 'ready' : 'unready',
      service: SERVICE_NAME,
      timestamp: new Date().toISOString(),
      gateway_id: deps.gatewayId,
      redis_status: redisStatus,
      draining,
      pipeline: pipelineOf(canary),
    };
    respondJson(exchange, ready ? 200 : 503, body, { 'cache-control': 'no-store' });
  };
}

function pipelineOf(canary: CanaryStatus): { status: 'ok' | 'stalled'; last_round_trip_ms: number | null; last_ok_at: string | null } {
  return {
    status: canary.ready ? 'ok' : 'stalled',
    last_round_trip_ms: canary.lastRoundTripMs,
    last_ok_at: canary.lastOkAt === null ? null : new Date(canary.lastOkAt).toISOString(),
  };
}

/** `GET /metrics`: Prometheus text format. */
export function metricsHandler(deps: OpsRoutesDeps) {
  return async (exchange: HttpExchange): Promise<void> => {
    const text = await deps.metrics.registry.metrics();
    respond(exchange, 200, text, deps.metrics.registry.contentType);
  };
}

/** `GET /stats`: the same figures as JSON. */
export function statsHandler(deps: OpsRoutesDeps) {
  return async (exchange: HttpExchange): Promise<void> => {
    respondJson(exchange, 200, {
      service: SERVICE_NAME,
      gateway_id: deps.gatewayId,
      timestamp: new Date().toISOString(),
      active_connections: deps.registry.openSockets,
      active_sessions: deps.registry.activeSessions,
      metrics: await registryAsJson(deps.metrics.registry),
    });
  };
}

async function pingRedis(redis: RedisClient, timeoutMs: number): Promise<'connected' | 'disconnected'> {
  if (redis.status !== 'ready') return 'disconnected';
  let timer: NodeJS.Timeout | undefined;
  try {
    const reply = await Promise.race([
      redis.ping(),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error('ping timed out')), timeoutMs);
      }),
    ]);
    return reply === 'PONG' ? 'connected' : 'disconnected';
  } catch {
    return 'disconnected';
  } finally {
    clearTimeout(timer);
  }
}
