import { ServiceError, isRedisUnavailableError, type GatewayMetrics, type Logger } from '@chat/shared';
import type { HttpRequest, HttpResponse } from '../uws-types.js';
import type { CorsPolicy } from './cors.js';
import { clientAddressOf } from './remote-address.js';
import { respondError, type HttpExchange } from './respond.js';
import { REDIS_AWAY_MESSAGE } from '../redis-availability.js';

/** What a REST handler may read: everything copied out of `req` before the first await. */
export interface RestRequest {
  method: string;
  url: string;
  query: URLSearchParams;
  params: string[];
  /** `authorization` carries a bearer credential: read it, never log it. */
  headers: { contentType: string; contentLength: string; accept: string; authorization: string };
  /** The client's IP address as text: the TCP peer, or as trusted proxies name it (TRUST_PROXY_HOPS). */
  remoteAddress: string;
}

export type RestHandler = (exchange: HttpExchange, request: RestRequest) => Promise<void> | void;

/**
 * Wraps an async REST handler for uWS: copies what it needs out of `req` synchronously,
 * registers `onAborted` before any await, maps thrown ServiceErrors to the standard error body,
 * adds the CORS headers for the request's Origin, and counts the request by route and status.
 */
export function restRoute(
  route: string,
  paramCount: number,
  handler: RestHandler,
  deps: { metrics: GatewayMetrics; logger: Logger; trustProxyHops?: number; cors?: CorsPolicy },
) {
  return (res: HttpResponse, req: HttpRequest): void => {
    const exchange: HttpExchange = { res, aborted: false, responded: false, status: 0 };
    // With ALLOWED_ORIGINS, a listed page may read the answer (and every answer varies by Origin).
    if (deps.cors?.enabled) exchange.headers = deps.cors.responseHeaders(req.getHeader('origin'));
    res.onAborted(() => {
      exchange.aborted = true;
      exchange.onAborted?.();
    });
    const params: string[] = [];
    for (let i = 0; i < paramCount; i++) params.push(req.getParameter(i) ?? '');
    const request: RestRequest = {
      method: req.getMethod().toUpperCase(),
      url: req.getUrl(),
      query: new URLSearchParams(readQuery(req)),
      params,
      headers: {
        contentType: req.getHeader('content-type'),
        contentLength: req.getHeader('content-length'),
        accept: req.getHeader('accept'),
        authorization: req.getHeader('authorization'),
      },
      remoteAddress: clientAddressOf(res, req, deps.trustProxyHops ?? 0),
    };
    const finish = () => deps.metrics.httpRequest(route, exchange.aborted && !exchange.responded ? 499 : exchange.status);
    let result: Promise<void> | void;
    try {
      result = handler(exchange, request);
    } catch (err) {
      handleError(exchange, err, deps);
      finish();
      return;
    }
    if (result instanceof Promise) {
      result.then(finish, (err: unknown) => {
        handleError(exchange, err, deps);
        finish();
      });
    } else {
      finish();
    }
  };
}

function handleError(exchange: HttpExchange, err: unknown, deps: { metrics: GatewayMetrics; logger: Logger }): void {
  if (err instanceof ServiceError) {
    deps.metrics.errorReturned(err.code);
    // A refused body may still be arriving: close the connection so it is not parsed as a request.
    const closeConnection = err.code === 'payload_too_large' || err.code === 'unsupported_media_type';
    respondError(exchange, err.code, err.message, err.fields, {
      closeConnection,
      ...(err.retryAfterMs !== undefined ? { retryAfterMs: err.retryAfterMs } : {}),
      // RFC 6750: a 401 names the scheme it wants.
      ...(err.code === 'unauthorized' ? { headers: { 'www-authenticate': 'Bearer realm="chat"', 'cache-control': 'no-store' } } : {}),
    });
    return;
  }
  if (isRedisUnavailableError(err)) {
    deps.metrics.errorReturned('service_unavailable');
    respondError(exchange, 'service_unavailable', REDIS_AWAY_MESSAGE, undefined, { headers: { 'retry-after': '1' } });
    return;
  }
  deps.logger.error({ err: err instanceof Error ? err.stack : String(err) }, 'unhandled error in REST handler');
  deps.metrics.errorReturned('internal_error');
  respondError(exchange, 'internal_error');
}

/**
 * The query string. The JavaScript shim's getQuery() throws on every request (it parses a
 * relative URL); when it does, read the query off the URL instead.
 */
function readQuery(req: HttpRequest): string {
  try {
    return req.getQuery() ?? '';
  } catch {
    return req.getUrl().split('?')[1] ?? '';
  }
}
