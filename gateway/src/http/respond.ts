import { restErrorBody, type ErrorCode, type FieldError } from '@chat/shared';
import type { HttpResponse, RecognizedString } from '../uws-types.js';

const STATUS_TEXT: Record<number, string> = {
  200: '200 OK',
  202: '202 Accepted',
  204: '204 No Content',
  400: '400 Bad Request',
  401: '401 Unauthorized',
  403: '403 Forbidden',
  404: '404 Not Found',
  405: '405 Method Not Allowed',
  409: '409 Conflict',
  413: '413 Payload Too Large',
  415: '415 Unsupported Media Type',
  429: '429 Too Many Requests',
  500: '500 Internal Server Error',
  502: '502 Bad Gateway',
  503: '503 Service Unavailable',
  504: '504 Gateway Timeout',
};

export function statusLine(status: number): string {
  return STATUS_TEXT[status] ?? String(status);
}

/**
 * The state of one REST exchange. uWS invalidates `res` once the client aborts, so every write
 * after an `await` goes through `respond`, which checks `aborted` and corks the writes into one
 * syscall.
 */
export interface HttpExchange {
  res: HttpResponse;
  aborted: boolean;
  /** Set once a response has been started; a second response is ignored. */
  responded: boolean;
  /** Status sent, for metrics. */
  status: number;
  /** Called once when the client goes away before the response (a long wait stops early). */
  onAborted?: (() => void) | undefined;
  /** Sent with whatever response this exchange gets (CORS headers for the request's Origin). */
  headers?: Record<string, string> | undefined;
}

export function respond(
  exchange: HttpExchange,
  status: number,
  body: RecognizedString,
  contentType: string,
  headers: Record<string, string> = {},
  closeConnection = false,
): void {
  if (exchange.aborted || exchange.responded) return;
  exchange.responded = true;
  exchange.status = status;
  exchange.res.cork(() => {
    exchange.res.writeStatus(statusLine(status)).writeHeader('content-type', contentType);
    for (const [name, value] of Object.entries({ ...exchange.headers, ...headers })) exchange.res.writeHeader(name, value);
    exchange.res.end(body, closeConnection);
  });
}

export function respondJson(exchange: HttpExchange, status: number, body: unknown, headers?: Record<string, string>, closeConnection = false): void {
  respond(exchange, status, JSON.stringify(body), 'application/json', headers, closeConnection);
}

export function respondError(
  exchange: HttpExchange,
  code: ErrorCode,
  message?: string,
  fields?: FieldError[],
  options: { closeConnection?: boolean; headers?: Record<string, string>; retryAfterMs?: number } = {},
): void {
  const body = restErrorBody(code, message, fields, options.retryAfterMs);
  const headers = { ...options.headers };
  if (options.retryAfterMs !== undefined) headers['retry-after'] = String(Math.max(1, Math.ceil(options.retryAfterMs / 1000)));
  respondJson(exchange, body.error.status, body, headers, options.closeConnection ?? false);
}
