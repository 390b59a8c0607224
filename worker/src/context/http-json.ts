import http from 'node:http';
import https from 'node:https';

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
 * Keep-alive agents shared by every source of the process: a turn makes one or two calls, and
 * a new connection per call was a TCP handshake on the turn's path. An idle connection is closed
 * after 4 s (`timeout`; a shorter `Keep-Alive: timeout` the service sends wins), before a Node
 * service's own 5 s default closes it under a request; a request that still meets a connection
 * the service just closed is sent once more on a new one (see `postJson`).
 */
const AGENT_OPTIONS = { keepAlive: true, maxSockets: Infinity, scheduling: 'lifo' as const, timeout: 4_000 };
const agents = { 'http:': new http.Agent(AGENT_OPTIONS), 'https:': new https.Agent(AGENT_OPTIONS) };

/**
 * One POST over `node:http` (`https`), not the built-in `fetch`: undici's fetch costs a fetch
 * controller, a web `ReadableStream` and promise hops per call — about a millisecond of worker
 * CPU for two small JSON exchanges per turn (see docs/performance.md, round 14). Redirects are
 * not followed: a 3xx is a status like any other failure.
 */
export async function postJson(url: URL, payload: unknown, signal: AbortSignal, options: PostJsonOptions): Promise<JsonResponse> {
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new SourceResponseError(`unsupported protocol ${url.protocol}`);
  const body = JSON.stringify(payload);
  try {
    return await postOnce(url, body, signal, options);
  } catch (err) {
    // A kept-alive connection the service closed as this request went out: nothing reached the
    // service, and a lookup is safe to repeat. Once, on a new connection.
    if (!(err instanceof StaleConnectionError)) throw err;
    return postOnce(url, body, signal, options);
  }
}

/** A reused connection failed before any response: the service had closed it. */
class StaleConnectionError extends Error {
  constructor(cause: unknown) {
    super(`kept-alive connection closed by the service: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
    this.name = 'StaleConnectionError';
  }
}

function postOnce(url: URL, body: string, signal: AbortSignal, options: PostJsonOptions): Promise<JsonResponse> {
  if (signal.aborted) return Promise.reject(abortReason(signal));
  const transport = url.protocol === 'https:' ? https : http;
  return new Promise<JsonResponse>((resolve, reject) => {
    let settled = false;
    const settle = (outcome: () => void): void => {
      if (settled) return;
      settled = true;
      signal.removeEventListener('abort', onAbort);
      outcome();
    };
    const request = transport.request(url, {
      method: 'POST',
      agent: agents[url.protocol as 'http:' | 'https:'],
      headers: { 'content-type': 'application/json', accept: 'application/json', 'content-length': Buffer.byteLength(body), ...options.headers },
    });
    const onAbort = (): void => {
      const reason = abortReason(signal);
      request.destroy(reason);
      settle(() => reject(reason));
    };
    signal.addEventListener('abort', onAbort, { once: true });
    let responded = false;
    request.on('error', (err: NodeJS.ErrnoException) => {
      const stale = request.reusedSocket && !responded && (err.code === 'ECONNRESET' || err.code === 'EPIPE');
      settle(() => reject(stale ? new StaleConnectionError(err) : err));
    });
    request.on('response', (response) => {
      responded = true;
      const status = response.statusCode ?? 0;
      const ok = status >= 200 && status < 300;
      const accepted = options.acceptStatuses?.includes(status) ?? false;
      if (!ok && !accepted) {
        response.destroy();
        return settle(() => reject(new SourceHttpError(status, url.origin + url.pathname)));
      }
      const declared = Number(response.headers['content-length'] ?? NaN);
      const tooLarge = () => new SourceResponseError(`the response is larger than ${options.maxResponseBytes} bytes`);
      if (declared > options.maxResponseBytes) {
        response.destroy();
        return settle(() => reject(tooLarge()));
      }
      const chunks: Buffer[] = [];
      let size = 0;
      response.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > options.maxResponseBytes) {
          response.destroy();
          settle(() => reject(tooLarge()));
          return;
        }
        chunks.push(chunk);
      });
      response.on('error', (err) => settle(() => reject(err)));
      // Closed before its end (the service went away mid-body): after 'end' this finds it settled.
      response.on('close', () => settle(() => reject(new SourceResponseError(`${url.pathname}: the response ended early`))));
      response.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        if (!ok && text.trim() === '') return settle(() => resolve({ status, body: undefined }));
        let parsed: unknown;
        try {
          parsed = JSON.parse(text);
        } catch {
          return settle(() => reject(new SourceResponseError(`${url.pathname}: the response is not JSON`)));
        }
        settle(() => resolve({ status, body: parsed }));
      });
    });
    request.end(body);
  });
}

/** The signal's reason as an error, or an AbortError when it has none. */
function abortReason(signal: AbortSignal): Error {
  const reason: unknown = signal.reason;
  return reason instanceof Error ? reason : new DOMException('This operation was aborted', 'AbortError');
}
