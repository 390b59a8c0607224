/**
 * The bundled policy documents and flight schedule served over HTTP, as a retrieval service and a
 * flight agent would serve them (`RETRIEVAL_URL`, `AGENT_URL`; contracts in
 * worker/src/context/http-*-source.ts): `--context-sources http` runs the stack against it, so a
 * benchmark measures what remote context sources cost and add to a turn, with
 * `--context-latency-ms` of service time per answer on top.
 *
 *   worker ── POST /search {q, k} ──────────────────▶ EmbeddedPolicySource.search  ─┐ (+ latency)
 *          ── POST /get_flight_context {flight_no} ─▶ EmbeddedFlightSource         ─┘
 *
 * Run as a child process (`node context-source-server.js <latencyMs>`): it listens on a free
 * loopback port and tells its parent the port over IPC.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { EmbeddedFlightSource, EmbeddedPolicySource } from '@chat/worker';

/** What the child sends its parent once it listens. */
export interface ContextSourceReady {
  port: number;
}

const MAX_BODY_BYTES = 64 * 1024;

async function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) throw new Error('body too large');
    chunks.push(chunk);
  }
  const body: unknown = JSON.parse(Buffer.concat(chunks).toString('utf8'));
  if (typeof body !== 'object' || body === null) throw new Error('body is not an object');
  return body as Record<string, unknown>;
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const json = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(json) });
  res.end(json);
}

export function startContextSourceServer(latencyMs: number): Promise<{ port: number; close(): Promise<void> }> {
  const policy = new EmbeddedPolicySource();
  const flights = new EmbeddedFlightSource();
  const server = createServer((req, res) => {
    void (async () => {
      try {
        if (req.method !== 'POST') return send(res, 405, { error: 'POST only' });
        const body = await readJson(req);
        if (latencyMs > 0) await sleep(latencyMs);
        if (req.url === '/search' && typeof body.q === 'string' && typeof body.k === 'number') {
          return send(res, 200, { results: await policy.search(body.q, body.k) });
        }
        if (req.url === '/get_flight_context' && typeof body.flight_no === 'string') {
          const date = typeof body.date === 'string' ? body.date : undefined;
          return send(res, 200, { flight: await flights.getFlightContext({ flight_no: body.flight_no, date }) });
        }
        send(res, 404, { error: `no such endpoint or body: ${req.url}` });
      } catch (err) {
        send(res, 400, { error: err instanceof Error ? err.message : String(err) });
      }
    })();
  });
  // Keep-alive as a real service would: the worker's sources reuse their connections.
  server.keepAliveTimeout = 60_000;
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      resolve({
        port: (server.address() as AddressInfo).port,
        close: () => new Promise((done) => server.close(() => done())),
      });
    });
  });
}

if (process.argv[1] && import.meta.url === new URL(`file://${process.argv[1]}`).href) {
  const latencyMs = Number(process.argv[2] ?? 0);
  const { port } = await startContextSourceServer(Number.isFinite(latencyMs) && latencyMs > 0 ? latencyMs : 0);
  const ready: ContextSourceReady = { port };
  if (process.send) process.send(ready);
  else process.stdout.write(`context sources on http://127.0.0.1:${port} (RETRIEVAL_URL and AGENT_URL)\n`);
  process.on('SIGTERM', () => process.exit(0));
  process.on('disconnect', () => process.exit(0));
}
