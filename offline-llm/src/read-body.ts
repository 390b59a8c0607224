import type { IncomingMessage } from 'node:http';

export type BodyResult = { kind: 'ok'; body: Buffer } | { kind: 'too_large' } | { kind: 'aborted' };

/**
 * Reads a request body up to `limit` bytes. Past the limit it answers `too_large` at once and
 * keeps discarding what the client still sends, so the 413 can be written and read without the
 * connection being reset under the client's feet (Node reuses or closes it once drained).
 */
export function readBody(req: IncomingMessage, limit: number): Promise<BodyResult> {
  return new Promise((resolve) => {
    const declared = Number(req.headers['content-length']);
    if (declared > limit) {
      req.resume();
      resolve({ kind: 'too_large' });
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let settled = false;
    const settle = (result: BodyResult): void => {
      if (settled) return;
      settled = true;
      req.off('data', onData);
      resolve(result);
    };
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size > limit) {
        chunks.length = 0;
        settle({ kind: 'too_large' });
        req.resume(); // discard the rest (no 'data' listener left)
        return;
      }
      chunks.push(chunk);
    };
    req.on('data', onData);
    req.once('end', () => settle({ kind: 'ok', body: chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size) }));
    req.on('error', () => settle({ kind: 'aborted' })); // 'on': a late second error must not go unhandled
    req.once('close', () => settle({ kind: 'aborted' })); // after 'end' this is a no-op
  });
}
