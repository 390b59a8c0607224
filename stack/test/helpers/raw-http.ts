import { connect } from 'node:net';

export interface RawResponse {
  /** Null when the server closed (or the timeout hit) before a status line arrived. */
  status: number | null;
  headers: Record<string, string>;
  body: string;
  /** The server closed the connection. */
  closed: boolean;
  timedOut: boolean;
  /** Socket errors seen (EPIPE / ECONNRESET after the server refused a body are normal). */
  errors: string[];
}

export interface RawRequestOptions {
  /** After writing, half-close (FIN) our side. Default false. */
  endAfterWrite?: boolean;
  /** After writing, reset the connection at once and do not wait for an answer. */
  resetAfterWrite?: boolean;
  /** Body bytes written per chunk, with `chunkDelayMs` between chunks (to stream big bodies). */
  chunkBytes?: number;
  chunkDelayMs?: number;
  timeoutMs?: number;
}

/**
 * One HTTP/1.1 exchange over a raw TCP connection, for requests `fetch` refuses to send:
 * lying Content-Length, truncated bodies, a body that keeps coming after the server answered.
 * Resolves with the first response (status, headers, body by Content-Length) or with what
 * happened instead (closed, timed out).
 */
export function rawHttpRequest(port: number, head: string, body: Buffer = Buffer.alloc(0), options: RawRequestOptions = {}): Promise<RawResponse> {
  return new Promise((resolve) => {
    const result: RawResponse = { status: null, headers: {}, body: '', closed: false, timedOut: false, errors: [] };
    let received = Buffer.alloc(0);
    let settled = false;
    const socket = connect(port, '127.0.0.1');
    const settle = () => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(result);
    };
    const timer = setTimeout(() => {
      result.timedOut = true;
      settle();
    }, options.timeoutMs ?? 5000);
    socket.on('error', (err: NodeJS.ErrnoException) => result.errors.push(err.code ?? err.message));
    socket.on('close', () => {
      result.closed = true;
      parse(true);
      settle();
    });
    socket.on('data', (data: Buffer) => {
      received = Buffer.concat([received, data]);
      parse(false);
    });
    const parse = (final: boolean) => {
      const end = received.indexOf('\r\n\r\n');
      if (end === -1) return;
      const lines = received.subarray(0, end).toString('latin1').split('\r\n');
      result.status = Number(lines[0]!.split(' ')[1]);
      for (const line of lines.slice(1)) {
        const colon = line.indexOf(':');
        if (colon > 0) result.headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
      }
      const length = Number(result.headers['content-length'] ?? NaN);
      const bodyBytes = received.subarray(end + 4);
      if (Number.isFinite(length) && bodyBytes.length >= length) {
        result.body = bodyBytes.subarray(0, length).toString('utf8');
        settle();
      } else if (final) {
        result.body = bodyBytes.toString('utf8');
      }
    };
    socket.on('connect', async () => {
      socket.write(head);
      const chunkBytes = options.chunkBytes ?? (body.length || 1);
      for (let offset = 0; offset < body.length && !settled && !socket.destroyed; offset += chunkBytes) {
        socket.write(body.subarray(offset, offset + chunkBytes));
        if (options.chunkDelayMs) await new Promise((r) => setTimeout(r, options.chunkDelayMs));
      }
      if (options.resetAfterWrite) {
        socket.resetAndDestroy();
        settle();
        return;
      }
      if (options.endAfterWrite && !socket.destroyed) socket.end();
    });
  });
}

/** A request head: method, path and headers (Host and Connection: close added). */
export function requestHead(method: string, path: string, port: number, headers: Record<string, string | number> = {}): string {
  let head = `${method} ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nConnection: close\r\n`;
  for (const [name, value] of Object.entries(headers)) head += `${name}: ${value}\r\n`;
  return `${head}\r\n`;
}
