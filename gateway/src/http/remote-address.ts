import type { HttpResponse } from '../uws-types.js';

/**
 * The peer address of a request, as text. Read synchronously in the handler. The JavaScript
 * shim does not implement it; per-address limits then share one 'unknown' bucket.
 */
export function remoteAddressOf(res: HttpResponse): string {
  try {
    return Buffer.from(res.getRemoteAddressAsText()).toString() || 'unknown';
  } catch {
    return 'unknown';
  }
}
