import type { GatewayMetrics } from '@chat/shared';
import type { HttpRequest, HttpResponse } from '../uws-types.js';
import type { CorsPolicy } from './cors.js';
import { respondError, type HttpExchange } from './respond.js';
import type { RouteTable } from './route-table.js';

/**
 * The catch-all route (`/*`): what no route took. One rule for every path: a path no route has
 * is 404 `not_found`; a path that exists with another method is 405 `method_not_allowed` with
 * an `Allow` header naming its methods; with ALLOWED_ORIGINS set, a CORS preflight (`OPTIONS`
 * with `Access-Control-Request-Method`) from a listed origin gets 204 and the path's methods.
 */
export function fallbackRoute(deps: { table: RouteTable; cors: CorsPolicy; metrics: GatewayMetrics }) {
  const { table, cors, metrics } = deps;
  return (res: HttpResponse, req: HttpRequest): void => {
    const path = req.getUrl();
    const method = req.getMethod().toUpperCase();
    const origin = req.getHeader('origin');
    const requestMethod = req.getHeader('access-control-request-method');
    const requestHeaders = req.getHeader('access-control-request-headers');
    const exchange: HttpExchange = { res, aborted: false, responded: false, status: 0, headers: cors.responseHeaders(origin) };
    res.onAborted(() => {
      exchange.aborted = true;
    });
    const methods = table.methodsFor(path);
    if (!methods) {
      metrics.errorReturned('not_found');
      respondError(exchange, 'not_found');
      metrics.httpRequest('unmatched', exchange.status);
      return;
    }
    if (method === 'OPTIONS' && cors.enabled && requestMethod !== '') {
      const verdict = cors.preflight(origin, requestMethod, requestHeaders, methods);
      if (verdict.ok) {
        res.cork(() => {
          res.writeStatus('204 No Content');
          for (const [name, value] of Object.entries(verdict.headers)) res.writeHeader(name, value);
          res.endWithoutBody();
        });
        metrics.httpRequest('preflight', 204);
        return;
      }
      exchange.headers = verdict.headers;
      metrics.errorReturned('forbidden');
      const why =
        verdict.reason === 'origin'
          ? 'This origin is not in ALLOWED_ORIGINS.'
          : verdict.reason === 'method'
            ? `This path takes ${methods.join(', ')}.`
            : 'Only the Authorization, Content-Type and Accept request headers are allowed.';
      respondError(exchange, 'forbidden', `CORS preflight refused: ${why}`);
      metrics.httpRequest('preflight', exchange.status);
      return;
    }
    metrics.errorReturned('method_not_allowed');
    respondError(exchange, 'method_not_allowed', `${path} takes ${methods.join(', ')}.`, undefined, { headers: { allow: methods.join(', ') } });
    metrics.httpRequest('method_not_allowed', exchange.status);
  };
}
