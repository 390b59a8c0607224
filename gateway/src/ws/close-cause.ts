/**
 * Why a client socket closed, from what uWS hands the close handler. A close frame from either
 * side arrives as its code; a connection uWS cut itself (or that died under it) arrives as 1006
 * with uWS's own reason text, which is the only place the cause is told. The causes are a
 * closed set so that they can label a metric.
 */
export type CloseCause =
  /** A close frame with 1000/1001, or none (1005, what a browser's plain `close()` sends): the client left, or the gateway drained. */
  | 'normal'
  /** A close frame with any other code (a refusal, a flood, a policy close, a client's own code). */
  | 'coded'
  /** uWS: no frame arrived for `WS_IDLE_TIMEOUT_SECONDS`, and the ping it sent got no answer. */
  | 'idle_timeout'
  /** uWS: a frame over twice `WS_MAX_FRAME_BYTES` (cut without being read). */
  | 'frame_too_big'
  /** uWS: a text frame that is not UTF-8. */
  | 'invalid_utf8'
  /** uWS: any other protocol violation it names. */
  | 'protocol_error'
  /** The TCP connection ended with no close frame and no reason: the client vanished or reset it. */
  | 'connection_lost';

export const CLOSE_CAUSES: readonly CloseCause[] = ['normal', 'coded', 'idle_timeout', 'frame_too_big', 'invalid_utf8', 'protocol_error', 'connection_lost'];

/** The reason texts uWS passes with 1006 (uWS `WebSocketProtocol.h` error strings). */
const UWS_REASONS: readonly (readonly [string, CloseCause])[] = [
  ['timed out from inactivity', 'idle_timeout'],
  ['too big message', 'frame_too_big'],
  ['invalid UTF-8', 'invalid_utf8'],
];

export function closeCause(code: number, reason: string): CloseCause {
  if (code === 1000 || code === 1001 || code === 1005) return 'normal';
  if (code !== 1006) return 'coded';
  if (reason === '') return 'connection_lost';
  for (const [text, cause] of UWS_REASONS) if (reason.includes(text)) return cause;
  return 'protocol_error';
}
