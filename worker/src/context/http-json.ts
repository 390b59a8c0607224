import type { Readable } from 'node:stream';
import { createNodeHttpFetch, takeNodeBody } from '../node-http-fetch.js';

/**
 * One JSON POST to a context service, with the caller's signal (the timeout and the caller's
 * abort both arrive through it), a cap on the response size, and typed errors that say what went
 * wrong so the resilience layer can report a precise degraded reason.
 */

/** The service answered with a status that is not a success. */
export class SourceHttpError extends Error {
  constructor(
    readonly status: number,
    url: string,
  ) {
    super(`${url} answered HTTP ${status}`);
    this.name = 'SourceHttpError';
  }
}

/** The service answered 2xx with a body that is not what the contract says. */
export class SourceResponseError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SourceResponseError';
  }
}

export interface PostJsonOptions {
  /** Extra request headers (for example an authorisation header). */
  headers?: Readonly<Record<string, string>>;
  /** Largest response body read, bytes; a larger one is a SourceResponseError. */
  maxResponseBytes: number;
  /** Statuses returned to the caller instead of thrown (for example 404 = not found). */
  acceptStatuses?: readonly number[];
}

export interface JsonResponse {
  status: number;
  /** The parsed body; undefined for an accepted non-2xx status with an empty body. */
  body: unknown;
}

/** `base` + `path`, keeping any path prefix of `base`: (`http://h/api`, `search`) → `http://h/api/search`. */
export function endpoint(base: string, path: string): URL {
  return new URL(path, base.endsWith('/') ? base : `${base}/`);
}

/**
 * The transport of every source of the process: the worker's `node:http` fetch (keep-alive
 * agents, the body as a Node stream), not the built-in `fetch`, whose fetch controller, web
 * `ReadableStream` and promise hops per call were about a millisecond of worker CPU for a turn's
 * two small JSON exchanges (docs/performance.md, round 14). A turn makes one or two calls, and a
 * new connection per call was a TCP handshake on its path. An idle connection is closed after
 * 4 s (a shorter `Keep-Alive: timeout` from the service wins), before a Node service's own 5 s
 * default closes it under a request; a request that still meets a connection the service just
 * closed is sent once more on a new one (a lookup is safe to repeat). Redirects are not followed:
 * a 3xx is a status like any other failure.
 */
const sourceFetch = createNodeHttpFetch({ idleSocketTimeoutMs: 4_000, resendOnStaleConnection: true });

export async function postJson(url: URL, payload: unknown, signal: AbortSignal, options: PostJsonOptions): Promise<JsonResponse> {
  const response = await sourceFetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json', ...options.headers },
    body: JSON.stringify(payload),
    signal,
  });
  const body = takeNodeBody(response);
  const accepted = options.acceptStatuses?.includes(response.status) ?? false;
  if (!response.ok && !accepted) {
    body?.destroy();
    throw new SourceHttpError(response.status, url.origin + url.pathname);
  }
  const text = body ? await readCapped(body, url, options.maxResponseBytes, Number(response.headers.get('content-length') ?? NaN), signal) : '';
  if (!response.ok && text.trim() === '') return { status: response.status, body: undefined };
  try {
    return { status: response.status, body: JSON.parse(text) as unknown };
  } catch {
    throw new SourceResponseError(`${url.pathname}: the response is not JSON`);
  }
}

/** The body as text, at most `maxBytes` of it; a body cut off before its end is a SourceResponseError. */
async function readCapped(body: Readable, url: URL, maxBytes: number, declared: number, signal: AbortSignal): Promise<string> {
  const tooLarge = () => new SourceResponseError(`the response is larger than ${maxBytes} bytes`);
  if (declared > maxBytes) {
    body.destroy();
    throw tooLarge();
  }
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of body as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > maxBytes) {
        body.destroy();
        throw tooLarge();
      }
      chunks.push(chunk);
    }
  } catch (err) {
    if (err instanceof SourceResponseError || signal.aborted) throw err;
    throw new SourceResponseError(`${url.pathname}: the response ended early`);
  }
  return Buffer.concat(chunks).toString('utf8');
}
