import { ServiceError } from '@chat/shared';
import type { HttpExchange } from './respond.js';

/**
 * Reads a JSON request body, refusing it as soon as it is known to be too big: from its
 * Content-Length before any byte arrives, or while it streams in. Chunks are copied because
 * uWS reuses their memory after the callback returns.
 *
 * Call synchronously from the route handler (before any await), with the headers already
 * copied out of `req`.
 */
export function readJsonBody(
  exchange: HttpExchange,
  headers: { contentType: string; contentLength: string },
  limitBytes: number,
): Promise<unknown> {
  return new Promise((resolve, reject) => {
    if (!/^application\/(?:[\w.+-]+\+)?json\s*(?:;|$)/i.test(headers.contentType)) {
      reject(new ServiceError('unsupported_media_type'));
      // The body is not read: close the connection rather than leave it half-consumed.
      exchange.res.onData(() => {});
      return;
    }
    const declared = headers.contentLength === '' ? NaN : Number(headers.contentLength);
    if (declared > limitBytes) {
      exchange.res.onData(() => {});
      reject(new ServiceError('payload_too_large', `The body is larger than ${limitBytes} bytes.`));
      return;
    }
    const chunks: Buffer[] = [];
    let received = 0;
    let done = false;
    exchange.res.onData((chunk, isLast) => {
      if (done) return;
      received += chunk.byteLength;
      if (received > limitBytes) {
        done = true;
        reject(new ServiceError('payload_too_large', `The body is larger than ${limitBytes} bytes.`));
        return;
      }
      const copy = Buffer.allocUnsafe(chunk.byteLength);
      copy.set(new Uint8Array(chunk));
      chunks.push(copy);
      if (!isLast) return;
      done = true;
      const text = Buffer.concat(chunks, received).toString('utf8');
      if (text.trim() === '') {
        reject(new ServiceError('invalid_json', 'The body is empty; send a JSON object.'));
        return;
      }
      try {
        resolve(JSON.parse(text));
      } catch {
        reject(new ServiceError('invalid_json'));
      }
    });
  });
}
