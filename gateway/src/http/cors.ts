import { parseAllowedOrigins } from '@chat/shared';

/** Request headers a page may send cross-origin: the bearer token and a JSON body. */
const ALLOWED_REQUEST_HEADERS = ['authorization', 'content-type', 'accept'];
/** Response headers a page may read besides the safelisted ones. */
const EXPOSED_HEADERS = 'retry-after, www-authenticate, x-message-id';
/** How long a browser may reuse a preflight answer, seconds (Chromium caps it at 7200). */
export const PREFLIGHT_MAX_AGE_SECONDS = 600;

export type PreflightVerdict =
  | { ok: true; headers: Record<string, string> }
  | { ok: false; reason: 'origin' | 'method' | 'headers'; headers: Record<string, string> };

/**
 * CORS for the REST API (`ALLOWED_ORIGINS`): a page on one of the listed origins may call the
 * API from the browser (preflights answered, `Access-Control-Allow-Origin` echoed to it).
 * Without the list nothing changes: no CORS headers, so browsers keep the API same-origin.
 * No `Access-Control-Allow-Credentials`: the API takes a bearer token, never a cookie.
 */
export class CorsPolicy {
  private readonly origins: ReadonlySet<string>;

  constructor(allowedOrigins: string) {
    this.origins = new Set(parseAllowedOrigins(allowedOrigins));
  }

  get enabled(): boolean {
    return this.origins.size > 0;
  }

  allows(origin: string): boolean {
    return origin !== '' && this.origins.has(normalise(origin));
  }

  /**
   * Headers for an actual (non-preflight) response. With the list set every answer varies by
   * Origin (a cache must not hand one origin's answer to another); only listed origins get the
   * allow header.
   */
  responseHeaders(origin: string): Record<string, string> {
    if (!this.enabled) return {};
    if (!this.allows(origin)) return { vary: 'Origin' };
    return { 'access-control-allow-origin': origin, 'access-control-expose-headers': EXPOSED_HEADERS, vary: 'Origin' };
  }

  /**
   * The answer to `OPTIONS` with `Access-Control-Request-Method` on a route that takes
   * `methods`. Refused when the origin is not listed, the method is not the route's, or a
   * requested header is not one the API reads.
   */
  preflight(origin: string, requestMethod: string, requestHeaders: string, methods: readonly string[]): PreflightVerdict {
    const vary = { vary: 'Origin, Access-Control-Request-Method, Access-Control-Request-Headers' };
    if (!this.allows(origin)) return { ok: false, reason: 'origin', headers: vary };
    if (!methods.includes(requestMethod.toUpperCase())) return { ok: false, reason: 'method', headers: vary };
    const asked = requestHeaders
      .split(',')
      .map((h) => h.trim().toLowerCase())
      .filter((h) => h !== '');
    if (asked.some((h) => !ALLOWED_REQUEST_HEADERS.includes(h))) return { ok: false, reason: 'headers', headers: vary };
    return {
      ok: true,
      headers: {
        'access-control-allow-origin': origin,
        'access-control-allow-methods': methods.join(', '),
        'access-control-allow-headers': 'Authorization, Content-Type, Accept',
        'access-control-max-age': String(PREFLIGHT_MAX_AGE_SECONDS),
        ...vary,
      },
    };
  }
}

function normalise(origin: string): string {
  return origin.trim().toLowerCase().replace(/\/+$/, '');
}
