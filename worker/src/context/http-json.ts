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

export async function postJson(url: URL, payload: unknown, signal: AbortSignal, options: PostJsonOptions): Promise<JsonResponse> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json', ...options.headers },
    body: JSON.stringify(payload),
    signal,
    redirect: 'error',
  });
  const accepted = options.acceptStatuses?.includes(response.status) ?? false;
  if (!response.ok && !accepted) {
    await response.body?.cancel().catch(() => undefined);
    throw new SourceHttpError(response.status, url.origin + url.pathname);
  }
  const text = await readCapped(response, options.maxResponseBytes);
  if (!response.ok && text.trim() === '') return { status: response.status, body: undefined };
  try {
    return { status: response.status, body: JSON.parse(text) as unknown };
  } catch {
    throw new SourceResponseError(`${url.pathname}: the response is not JSON`);
  }
}

async function readCapped(response: Response, maxBytes: number): Promise<string> {
  const declared = Number(response.headers.get('content-length') ?? NaN);
  if (declared > maxBytes) {
    await response.body?.cancel().catch(() => undefined);
    throw new SourceResponseError(`the response is larger than ${maxBytes} bytes`);
  }
  if (!response.body) return '';
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > maxBytes) {
      await reader.cancel().catch(() => undefined);
      throw new SourceResponseError(`the response is larger than ${maxBytes} bytes`);
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString('utf8');
}
