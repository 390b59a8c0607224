import http from 'node:http';
import https from 'node:https';
import { Readable } from 'node:stream';
import { urlToHttpOptions } from 'node:url';
import zlib from 'node:zlib';
import { LruMap } from './lru-map.js';

/**
 * The `fetch` the worker gives the `openai` client: requests over `node:http`/`node:https` with
 * keep-alive agents, and responses whose body can be taken as a Node stream (`takeNodeBody`).
 *
 * Why: Node 20's built-in `fetch` (undici) was a fifth of the worker's CPU in the turn-rate
 * profile — a fetch controller, a web `ReadableStream` and promise hops per network read, for a
 * request that is one small JSON body and an SSE stream back. The SDK's own logic (retries off,
 * status errors, timeouts, abort) is unchanged: only the transport underneath is.
 *
 * What it supports is what an OpenAI-compatible API needs: http(s), any method, a string or
 * byte body, gzip/deflate/br responses, abort via `signal`. A streamed or form body goes to the
 * global `fetch`. Redirects are not followed (APIs answer in place): a 3xx reaches the SDK as
 * the status error it is.
 */
export interface NodeHttpFetchOptions {
  /**
   * Close a pooled connection after it has been idle this long, ms (a shorter `Keep-Alive:
   * timeout` from the server wins). Default: none, the server closes it (an LLM provider keeps
   * connections for minutes, and a new one costs a TLS handshake).
   */
  idleSocketTimeoutMs?: number;
  /**
   * Send a request once more, on a new connection, when the reused connection it went out on was
   * reset before any response: the server closed it, idle, as the request left, so the request
   * never reached it. Only for requests that are safe to repeat (lookups). Default: false.
   */
  resendOnStaleConnection?: boolean;
}

export function createNodeHttpFetch(options: NodeHttpFetchOptions = {}): typeof fetch {
  // As many connections as streams in flight (the worker's concurrency bounds them); the most
  // recently used idle one first, so the rest can time out.
  const agentOptions = {
    keepAlive: true,
    maxSockets: Infinity,
    scheduling: 'lifo' as const,
    ...(options.idleSocketTimeoutMs !== undefined ? { timeout: options.idleSocketTimeoutMs } : {}),
  };
  const agents = { 'http:': new http.Agent(agentOptions), 'https:': new https.Agent(agentOptions) };
  // Bounded: a client whose URLs all differ (query strings) keeps only the recent ones.
  const targets = new LruMap<string, RequestTarget | null>(256);

  return async function nodeHttpFetch(input: string | URL | Request, init: RequestInit = {}): Promise<Response> {
    const target = typeof input === 'string' ? targetOfString(input, targets) : input instanceof URL ? targetOf(input) : null;
    const body = init.body;
    const plainBody = body === undefined || body === null || typeof body === 'string' || body instanceof Uint8Array;
    if (target === null || !(target.protocol in agents) || !plainBody) return fetch(input, init);
    const signal = init.signal ?? undefined;
    if (signal?.aborted) throw abortError(signal);
    const transport = target.protocol === 'https:' ? https : http;
    const agent = agents[target.protocol as 'http:' | 'https:'];
    const method = init.method ?? 'GET';
    const headers = headerRecord(init.headers);
    // The closures below (the request's listeners, the abort) live as long as the response does
    // (a streamed answer: seconds to minutes): they reach the body only through `unsent`, which
    // lets go of it once it is sent for the last time, so a prompt's JSON is not held for the
    // whole answer. Nothing of `init` is referenced from them.
    let unsent = (body ?? undefined) as string | Uint8Array | undefined;
    let resendsLeft = options.resendOnStaleConnection === true ? 1 : 0;
    return new Promise<Response>((resolve, reject) => {
      let request: http.ClientRequest;
      let responseBody: Readable | null = null;
      const onAbort = (): void => {
        const reason = abortError(signal);
        request.destroy(reason);
        responseBody?.destroy(reason);
        reject(reason);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      const forgetSignal = (): void => signal?.removeEventListener('abort', onAbort);
      const send = (): void => {
        request = transport.request({ ...target.options, method, headers, agent });
        request.on('error', (err: NodeJS.ErrnoException) => {
          const stale = responseBody === null && request.reusedSocket && (err.code === 'ECONNRESET' || err.code === 'EPIPE');
          if (resendsLeft > 0 && stale && !signal?.aborted) {
            resendsLeft--;
            return send();
          }
          unsent = undefined;
          forgetSignal();
          reject(err);
        });
        request.on('response', (incoming) => {
          unsent = undefined;
          responseBody = decoded(incoming);
          // The body's end, error or destroy all close it: the abort listener lives until then.
          responseBody.once('close', forgetSignal);
          resolve(responseOver(incoming, responseBody));
        });
        request.end(unsent);
        if (resendsLeft === 0) unsent = undefined;
      };
      send();
    });
  };
}

/** Where a request goes: the URL's protocol and its `http.request` options (host, port, path, auth). */
interface RequestTarget {
  protocol: string;
  options: http.RequestOptions;
}

function targetOf(url: URL): RequestTarget {
  return { protocol: url.protocol, options: urlToHttpOptions(url) };
}

/**
 * The target of a URL string, or null when it is not a URL, remembered in `known`: a client asks
 * for the same few URLs again and again (one per API path), and parsing one into request options
 * was ~1 % of a request's instructions (docs/performance.md, round 21).
 */
function targetOfString(url: string, known: LruMap<string, RequestTarget | null>): RequestTarget | null {
  let target = known.get(url);
  if (target === undefined) {
    target = URL.canParse(url) ? targetOf(new URL(url)) : null;
    known.set(url, target);
  }
  return target;
}

/**
 * The body of a response made by `createNodeHttpFetch`, as the Node stream it is, unless its web
 * `body` was read already (then null, as for any other response). Whoever takes it reads it to
 * its end or destroys it.
 */
export function takeNodeBody(response: Response): Readable | null {
  return response instanceof NodeBodyResponse ? response.takeNodeStream() : null;
}

/** A response body as a Node stream, and who reads it: nobody yet, the Node reader, or the web bridge. */
interface NodeBody {
  stream: Readable;
  claimedBy: 'node' | 'web' | null;
}

/**
 * `Response` as a base class whose body members a subclass may redefine (the DOM typings declare
 * them as properties, which TypeScript will not let a subclass turn into methods or accessors).
 */
type ResponseWithoutBody = new (body: null, init: ResponseInit) => Omit<Response, 'body' | 'bodyUsed' | 'text' | 'json' | 'arrayBuffer' | 'blob' | 'formData' | 'clone' | 'bytes'>;

/**
 * A standard `Response` (a subclass: `instanceof Response` holds) whose web body exists only if
 * someone asks for it: `body`, `text()`, `json()` and the other readers build it on first use, a
 * bridge to the Node stream (the SDK reads an error response's text). The SSE reader takes the
 * Node stream itself with `takeNodeBody`, so a streamed answer never builds one: a web
 * `ReadableStream` and the `Response` around it were ~2 % of a worker's CPU at the turn rate.
 */
class NodeBodyResponse extends (Response as ResponseWithoutBody) {
  /** The same response with its web body, once anyone asked for it. */
  #withBody: Response | null = null;

  constructor(
    private readonly nodeBody: NodeBody,
    init: ResponseInit,
  ) {
    super(null, init);
  }

  /** The Node stream, once, while the web body is unread (see `takeNodeBody`). */
  takeNodeStream(): Readable | null {
    if (this.nodeBody.claimedBy !== null) return null;
    this.nodeBody.claimedBy = 'node';
    return this.nodeBody.stream;
  }

  /** The response over a web bridge to the Node stream, built on first use. */
  #webResponse(): Response {
    this.#withBody ??= new Response(webBridge(this.nodeBody), { status: this.status, statusText: this.statusText, headers: this.headers });
    return this.#withBody;
  }

  get body(): ReadableStream<Uint8Array> | null {
    return this.#webResponse().body;
  }

  get bodyUsed(): boolean {
    return this.#withBody?.bodyUsed ?? false;
  }

  text(): Promise<string> {
    return this.#webResponse().text();
  }

  json(): Promise<unknown> {
    return this.#webResponse().json();
  }

  arrayBuffer(): Promise<ArrayBuffer> {
    return this.#webResponse().arrayBuffer();
  }

  blob(): Promise<Blob> {
    return this.#webResponse().blob();
  }

  formData(): Promise<FormData> {
    return this.#webResponse().formData();
  }

  /** `Response.bytes()`, where the runtime has it (Node 20.16 on). */
  bytes(): Promise<Uint8Array> {
    return (this.#webResponse() as Response & { bytes(): Promise<Uint8Array> }).bytes();
  }

  clone(): Response {
    return this.#webResponse().clone();
  }
}

/**
 * A web stream that reads the Node stream when pulled: nothing is set up unless someone reads it,
 * and once it is read the Node stream is no longer offered to `takeNodeBody`.
 */
function webBridge(body: NodeBody): ReadableStream<Uint8Array> {
  let reader: ReadableStreamDefaultReader<Uint8Array> | null = null;
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        if (reader === null) {
          if (body.claimedBy === 'node') throw new TypeError('the body was taken as a Node stream');
          body.claimedBy = 'web';
          reader = (Readable.toWeb(body.stream) as ReadableStream<Uint8Array>).getReader();
        }
        const { value, done } = await reader.read();
        if (done) controller.close();
        else controller.enqueue(value);
      },
      async cancel(reason) {
        if (reader !== null) await reader.cancel(reason);
        else if (body.claimedBy === null) body.stream.destroy();
      },
    },
    // Pull only when read: an unread body costs nothing.
    { highWaterMark: 0 },
  );
}

/** The response over `incoming`'s (decoded) body `stream`, which `takeNodeBody` can take. */
function responseOver(incoming: http.IncomingMessage, stream: Readable): Response {
  const status = incoming.statusCode ?? 0;
  const init = { status, statusText: incoming.statusMessage ?? '', headers: responseHeaders(incoming) };
  if (status === 204 || status === 205 || status === 304) {
    // Null-body statuses: nothing to read, and the socket goes back to the pool.
    stream.resume();
    return new Response(null, init);
  }
  // Every member of Response is there (its own, or redefined above).
  return new NodeBodyResponse({ stream, claimedBy: null }, init) as unknown as Response;
}

/** The response body with its content encoding undone, as fetch would. */
function decoded(incoming: http.IncomingMessage): Readable {
  const encoding = incoming.headers['content-encoding']?.trim().toLowerCase();
  const decoder =
    encoding === 'gzip' || encoding === 'x-gzip'
      ? zlib.createGunzip()
      : encoding === 'deflate'
        ? zlib.createInflate()
        : encoding === 'br'
          ? zlib.createBrotliDecompress()
          : null;
  if (decoder === null) return incoming;
  incoming.on('error', (err) => decoder.destroy(err));
  decoder.on('close', () => incoming.destroy());
  return incoming.pipe(decoder);
}

function headerRecord(headers: RequestInit['headers']): Record<string, string> {
  if (headers === undefined) return {};
  const record: Record<string, string> = {};
  if (headers instanceof Headers) headers.forEach((value, name) => (record[name] = value));
  else if (Array.isArray(headers)) for (const [name, value] of headers) record[name!.toLowerCase()] = value!;
  else for (const [name, value] of Object.entries(headers)) if (value !== undefined) record[name.toLowerCase()] = String(value);
  return record;
}

function responseHeaders(incoming: http.IncomingMessage): Headers {
  const headers = new Headers();
  const raw = incoming.rawHeaders;
  for (let i = 0; i + 1 < raw.length; i += 2) headers.append(raw[i]!, raw[i + 1]!);
  return headers;
}

/** What fetch rejects with on abort: the signal's reason, or an `AbortError` DOMException. */
function abortError(signal: AbortSignal | undefined): Error {
  const reason: unknown = signal?.reason;
  if (reason instanceof Error && reason.name === 'AbortError') return reason;
  return new DOMException('This operation was aborted', 'AbortError');
}
