import { registryAsJson, type GatewayMetrics, type Redis } from '@chat/shared';
import { respond, respondJson, type HttpExchange } from '../http/respond.js';
import type { UwsBuild } from '../uws-loader.js';
import type { SocketRegistry } from '../ws/socket-registry.js';

export interface OpsRoutesDeps {
  redis: Redis;
  metrics: GatewayMetrics;
  registry: SocketRegistry;
  gatewayId: string;
  uwsBuild: UwsBuild;
  draining: () => boolean;
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
    };
    if (!deps.uwsBuild.native) body.warnings = ['uWebSockets.js is running on its slow JavaScript shim (ALLOW_UWS_SHIM=true)'];
    respondJson(exchange, healthy ? 200 : 503, body, { 'cache-control': 'no-store' });
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

async function pingRedis(redis: Redis, timeoutMs: number): Promise<'connected' | 'disconnected'> {
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
