import { request } from 'node:http';
import OpenAI from 'openai';
import { OfflineLlmServer, type OfflineLlmOptions } from '../src/index.js';

/**
 * How long any single awaited event may take before the test fails with a message: a guard
 * against a hang, not a speed check, so it allows for a loaded 2-core box (a CI run with other
 * work beside it took over 10 s to stream 60 000 unpaced tokens and to start a process).
 */
export const EVENT_TIMEOUT_MS = 60_000;

/** Resolves like `promise`, or rejects with `message` after `ms`. */
export function withTimeout<T>(promise: Promise<T>, message: string, ms = EVENT_TIMEOUT_MS): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${message}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** Polls `check` until it returns true, or fails with `message`. */
export async function waitUntil(check: () => boolean, message: string, ms = EVENT_TIMEOUT_MS): Promise<void> {
  await withTimeout(
    (async () => {
      while (!check()) await new Promise((resolve) => setTimeout(resolve, 5));
    })(),
    message,
    ms,
  );
}

export interface Running {
  server: OfflineLlmServer;
  port: number;
  /** `http://127.0.0.1:<port>/v1` */
  baseURL: string;
  client: OpenAI;
}

interface Teardown {
  teardown(fn: () => unknown): void;
}

/** An OfflineLlmServer on a free loopback port, closed when the test ends. */
export async function startServer(t: Teardown, options: OfflineLlmOptions = {}): Promise<Running> {
  const server = new OfflineLlmServer({ shutdownGraceMs: 0, ...options });
  const port = await withTimeout(server.listen(0, '127.0.0.1'), 'server listening');
  t.teardown(() => server.close());
  const baseURL = `http://127.0.0.1:${port}/v1`;
  // The worker's settings: no retries (a retry would hide a failure and double the request count).
  const client = new OpenAI({ apiKey: 'offline', baseURL, maxRetries: 0, timeout: EVENT_TIMEOUT_MS });
  return { server, port, baseURL, client };
}

export interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** One plain HTTP request, for what the official client hides (raw SSE, odd bodies, 404s). */
export function rawRequest(
  port: number,
  method: string,
  path: string,
  body?: string | Buffer,
  headers: Record<string, string> = {},
): Promise<RawResponse> {
  const sent = new Promise<RawResponse>((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method, path, headers: { 'content-type': 'application/json', ...headers } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
  return withTimeout(sent, `${method} ${path} answered`);
}

/** Parses an SSE body into its `data:` payloads, checking the framing on the way. */
export function sseData(body: string): string[] {
  if (!body.endsWith('\n\n')) throw new Error('SSE body does not end with a blank line');
  return body
    .slice(0, -2)
    .split('\n\n')
    .map((event) => {
      if (!event.startsWith('data: ') || event.includes('\n')) throw new Error(`not a single-line data event: ${event}`);
      return event.slice('data: '.length);
    });
}

export const SYSTEM_PROMPT = 'You are the customer support assistant of an airline. Answer briefly.';

/** A prompt with retrieved passages, as the worker will send them. */
export const CONTEXT_PROMPT = [
  SYSTEM_PROMPT,
  '',
  'Context:',
  '[1] Checked baggage: Each passenger may check two bags of up to 23 kg each. Extra bags cost 50 EUR per bag.',
  '[2] Cancellations: Tickets cancelled within 24 hours of booking are refunded in full. After that, refunds depend on the fare.',
  '[3] Pets: Small pets travel in the cabin in a carrier under 8 kg.',
].join('\n');
