import type { ErrorCode } from '@chat/shared';
import type { WebSocket } from '../uws-types.js';

/** The close reason of every socket a draining gateway ends: clients read it as "go elsewhere". */
export const SHUTDOWN_CLOSE_REASON = 'server shutting down; reconnect';

/** Why an upgraded socket is refused: it gets one error frame, then this close code. */
export interface SocketRejection {
  code: ErrorCode;
  closeCode: number;
  message?: string;
  /** The close frame's reason; the error code when absent. */
  closeReason?: string;
  /** Sent as the error frame's `retry_after_ms`: when a retry may succeed (clients add jitter). */
  retryAfterMs?: number;
}

/** What the admission checks decided: a refusal (or null), and whether a socket slot was claimed. */
export interface AdmissionVerdict {
  rejection: SocketRejection | null;
  claimed: boolean;
}

/**
 * What the gateway keeps per client socket (uWS user data). uWS copies this object's fields onto
 * the WebSocket at upgrade: `ws.getUserData()` is not the object given to `upgrade`, so nothing
 * may write into that object afterwards expecting the socket to see it.
 */
export interface SocketData {
  sessionId: string;
  clientId: string;
  /** This socket's member in the session's Redis socket set: `<gatewayId>/<connectionId>`. */
  member: string;
  /** Set when admission refused the socket; it only lives to say why. */
  rejection: SocketRejection | null;
  /**
   * The admission checks (drain, ids, connection rate, origin and credentials, the session's
   * socket slot), started during the upgrade.
   */
  checks: Promise<AdmissionVerdict>;
  /** Settles once the socket is admitted (true) or refused or gone (false); frames wait for it. */
  admission: Promise<boolean>;
  /** True once admitted: in the registry, on the session's topic, taking frames. */
  admitted: boolean;
  /**
   * When the socket began taking its session's frames live (ms): at admission, or when its
   * first resume handed it to the topic. Null before. A turn whose ending was relayed here
   * after it had seen it already.
   */
  liveSince: number | null;
  /** True from the close event on: uWS forbids any call on a closed socket. */
  closed: boolean;
  /** Set from the URL (`?resume=<message_id>&seq=<n>`): replay that turn's missed frames on open. */
  resumeFrom: { messageId: string; seq: number } | 'invalid' | null;
  /** True while missed frames are replayed; the socket is off the session topic meanwhile. */
  resuming: boolean;
  /** The socket's last chat turn being accepted: the next one waits for it (send order kept). */
  intake: Promise<void>;
  /** Inbound frame budget (token bucket). Negative = debt run up by a flooding client. */
  tokens: number;
  tokensAt: number;
  /** Epoch ms of the upgrade: how long a socket lived is logged when it is cut. */
  openedAt: number;
}

export type ChatSocket = WebSocket<SocketData>;
