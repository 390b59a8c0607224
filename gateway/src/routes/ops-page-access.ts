import { createHash, timingSafeEqual } from 'node:crypto';
import type { GatewayMetrics } from '@chat/shared';
import { respondError, type HttpExchange } from '../http/respond.js';
import type { HttpRequest, HttpResponse } from '../uws-types.js';

type UwsHandler = (res: HttpResponse, req: HttpRequest) => void;

export const OPS_UNAUTHORIZED_MESSAGE = 'The operator view needs the ops token (Authorization: Bearer <token>, or ?token=<token>).';

/**
 * Who may read the operator figures and dead letters (`/ops`, `/stats`, `/ops/dead-letters`).
 * With a token (OPS_TOKEN), a request must carry it as `Authorization: Bearer <token>` or, for a
 * browser opening the page, `?token=<token>`. Without one, everyone may while the operator view
 * is on (a laptop), and nobody when it is off (OPS_ENABLED=false, as the deploy manifests set):
 * those routes then answer 404, since dead letters name sessions and their failures. With
 * AUTH_REQUIRED=true and no token they are off too: a service that asks its customers for a
 * token does not show operator data (sessions, failures, load) to anyone without one.
 * `/metrics` (Prometheus) and `/health` (probes) are not guarded: scrapers and orchestrators
 * reach them on the pod network.
 */
export class OpsAccess {
  private readonly digest: Buffer | null;
  /** The `WWW-Authenticate` value of a refusal. */
  readonly challenge = 'Bearer realm="ops"';

  constructor(
    token: string | undefined,
    /** OPS_ENABLED: whether the operator view is served at all. */
    private readonly enabled = true,
    /** AUTH_REQUIRED: without a token, the operator view is then off. */
    private readonly authRequired = false,
  ) {
    this.digest = token ? sha256(token) : null;
  }

  /** Whether anyone may reach operator data without a token (no token set, view on, auth off). */
  private get openWithoutToken(): boolean {
    return this.enabled && !this.authRequired;
  }

  /** Whether the operator view can be reached at all (with its token, or open). */
  get reachable(): boolean {
    return this.digest !== null || this.openWithoutToken;
  }

  get tokenRequired(): boolean {
    return this.digest !== null;
  }

  /** Reads the credentials off `req`; call synchronously in the uWS handler. */
  allows(req: HttpRequest): boolean {
    if (!this.digest) return this.openWithoutToken;
    const authorization = req.getHeader('authorization');
    const bearer = /^Bearer\s+(\S+)\s*$/i.exec(authorization)?.[1];
    const presented = bearer ?? new URLSearchParams(readQuery(req)).get('token');
    // Compared as digests, so the comparison takes the same time whatever the lengths.
    return presented !== null && presented !== undefined && timingSafeEqual(sha256(presented), this.digest);
  }

  /** Answers 401 `unauthorized` with the Bearer challenge (GET: with the error body). */
  refuse(res: HttpResponse, route: string, metrics: GatewayMetrics): void {
    const exchange: HttpExchange = { res, aborted: false, responded: false, status: 0 };
    metrics.errorReturned('unauthorized');
    respondError(exchange, 'unauthorized', OPS_UNAUTHORIZED_MESSAGE, undefined, { headers: { 'www-authenticate': this.challenge, 'cache-control': 'no-store' } });
    metrics.httpRequest(route, exchange.status);
  }

  /** Wraps a uWS handler (e.g. a `restRoute`) so it only runs for a request with the token. */
  guard(route: string, handler: UwsHandler, metrics: GatewayMetrics): UwsHandler {
    if (!this.reachable) {
      const why = this.enabled ? 'AUTH_REQUIRED=true and no OPS_TOKEN' : 'OPS_ENABLED=false';
      return (res) => {
        const exchange: HttpExchange = { res, aborted: false, responded: false, status: 0 };
        metrics.errorReturned('not_found');
        respondError(exchange, 'not_found', `The operator view is off here (${why}); set OPS_TOKEN to reach it with a token.`);
        metrics.httpRequest(route, exchange.status);
      };
    }
    if (!this.digest) return handler;
    return (res, req) => {
      if (this.allows(req)) handler(res, req);
      else this.refuse(res, route, metrics);
    };
  }
}

function sha256(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}

/** The query string; the uWS JavaScript shim's getQuery() throws, so fall back to the URL. */
function readQuery(req: HttpRequest): string {
  try {
    return req.getQuery() ?? '';
  } catch {
    return req.getUrl().split('?')[1] ?? '';
  }
}
