import {
  CloseCode,
  ServiceError,
  errorFrame,
  isValidId,
  isoNow,
  pongFrame,
  validators,
  type CancelAckFrame,
  type ErrorCode,
  type GatewayMetrics,
  type Logger,
  type RedisRateLimit,
  type SessionStore,
  type Validator,
} from '@chat/shared';
import type { SessionAccess, SocketCredentials } from '../auth/session-access.js';
import { clientAddressOf } from '../http/remote-address.js';
import type { SessionRelay } from '../session-relay.js';
import type { TurnCanceller } from '../turn-canceller.js';
import type { TurnIntake } from '../turn-intake.js';
import type { Uws } from '../uws-loader.js';
import type { HttpRequest, HttpResponse, WebSocketBehavior, us_socket_context_t } from '../uws-types.js';
import { closeCause } from './close-cause.js';
import { InboundBudget } from './inbound-budget.js';
import { SHUTDOWN_CLOSE_REASON } from './socket-data.js';
import type { AdmissionVerdict, ChatSocket, SocketData, SocketRejection } from './socket-data.js';
import type { SocketRegistry } from './socket-registry.js';
import type { DeadGateways } from './dead-gateways.js';
import type { SlowClients } from './slow-clients.js';
import type { ResumePoint, SocketResume } from './socket-resume.js';
import { REDIS_AWAY_MESSAGE } from '../redis-availability.js';

export interface ChatSocketOptions {
  gatewayId: string;
  maxConnectionsPerSession: number;
  maxFrameBytes: number;
  idleTimeoutSeconds: number;
  maxBackpressureBytes: number;
  framesPerSecond: number;
  socketLeaseMs: number;
  /**
   * The custody lease (TURN_CUSTODY_LEASE_MS): how soon a dead gateway is known dead, so how
   * soon a session full of its sockets has room again. The retry hint of a 4429.
   */
  custodyLeaseMs: number;
  sessionTtlSeconds: number;
  /** TRUST_PROXY_HOPS: see clientAddressOf. */
  trustProxyHops: number;
}

export interface ChatSocketDeps {
  uws: Uws;
  store: SessionStore;
  relay: SessionRelay;
  registry: SocketRegistry;
  intake: TurnIntake;
  metrics: GatewayMetrics;
  logger: Logger;
  /** False while the gateway drains: new sockets are turned away with 1001. */
  accepting: () => boolean;
  /** False while Redis has been away past the grace (see RedisAvailability). */
  storeReachable: () => boolean;
  /** Connection attempts per client address. */
  connectLimit: RedisRateLimit;
  canceller: TurnCanceller;
  /** Origin allow-list and, with AUTH_REQUIRED, the session token or ticket. */
  access: SessionAccess;
  /** Replays the frames a reconnecting socket missed. */
  resume: SocketResume;
  /** Sockets reading slower than the stream. */
  slowClients: SlowClients;
  /** Gateways known dead: their socket slots are freed before a session's limit is judged. */
  deadGateways: DeadGateways;
}

/**
 * The WebSocket route `/ws/:sessionId/:clientId`: upgrades at once and admits the socket when
 * its checks are done (a slot claimed in Redis), then joins the session's topic, turns inbound
 * frames into chat turns or pongs (frames sent before admission wait for it, in order), and
 * cleans up on close. Refusals (bad ids, unknown session, session full, a missing or wrong
 * token or ticket: 4401/4403, an Origin not on ALLOWED_ORIGINS: 4403) still upgrade, so the
 * client reads a clear error frame before the 4xxx close code: a browser cannot read the HTTP
 * status of a refused upgrade. A refused socket never joins its session's topic nor claims a slot.
 *
 * Admission checks, in order: draining → ids → connection attempts per address → origin and
 * credentials → the session's socket slot (existence, per-session limit).
 */
const DRAINING: SocketRejection = {
  code: 'service_unavailable',
  closeCode: CloseCode.goingAway,
  message: 'This gateway is shutting down; reconnect.',
  // The same reason as the sockets closed by the drain itself, whichever side of it a socket was admitted on.
  closeReason: SHUTDOWN_CLOSE_REASON,
};
// One wording whether the availability check or a failed command noticed it first.
const STORE_UNAVAILABLE: SocketRejection = { code: 'service_unavailable', closeCode: CloseCode.tryAgainLater, message: REDIS_AWAY_MESSAGE };

export function chatSocketBehavior(deps: ChatSocketDeps, options: ChatSocketOptions): WebSocketBehavior<SocketData> {
  const budget = new InboundBudget(options.framesPerSecond);
  let connectionCounter = 0;

  /**
   * Upgrades at once, inside uWS's own request callback, and runs the admission checks
   * meanwhile (`open` finishes admission when they are done). Upgrading later from an async
   * callback, even corked as uWS advises, lets the uWS build in use here read the socket as an
   * HTTP response after it became a WebSocket, and it occasionally closed a fresh socket right
   * after its 101 (the client saw 1006). The synchronous upgrade is uWS's own well-trodden path.
   */
  const upgrade = (res: HttpResponse, req: HttpRequest, context: us_socket_context_t): void => {
    // Everything from req is copied first: uWS invalidates it when this callback returns.
    const sessionId = req.getParameter(0) ?? '';
    const clientId = req.getParameter(1) ?? '';
    const secKey = req.getHeader('sec-websocket-key');
    const secProtocol = req.getHeader('sec-websocket-protocol');
    const secExtensions = req.getHeader('sec-websocket-extensions');
    const query = new URLSearchParams(readQuery(req));
    // Credentials: read, checked, never logged, not kept.
    const credentials: SocketCredentials = {
      origin: req.getHeader('origin'),
      authorization: req.getHeader('authorization'),
      ticket: query.get('ticket'),
    };
    const resumeFrom = resumePointOf(query);
    const remoteAddress = clientAddressOf(res, req, options.trustProxyHops);
    const member = `${options.gatewayId}/${(++connectionCounter).toString(36)}`;
    const now = Date.now();
    const data: SocketData = {
      sessionId,
      clientId,
      member,
      rejection: null,
      checks: admissionChecks({ sessionId, clientId, member }, credentials, remoteAddress),
      // Set by open(), which uWS calls from within upgrade().
      admission: Promise.resolve(false),
      admitted: false,
      liveSince: null,
      closed: false,
      resumeFrom,
      resuming: false,
      intake: Promise.resolve(),
      openedAt: now,
      ...budget.initial(now),
    };
    res.upgrade(data, secKey, secProtocol, secExtensions, context);
  };

  /**
   * The admission checks, in order; resolves to the refusal (if any) and whether a slot was
   * claimed. It returns its verdict rather than writing into the socket's user data: uWS copies
   * that object's fields onto the WebSocket at upgrade, so later writes to it are never seen.
   */
  const admissionChecks = async (ids: { sessionId: string; clientId: string; member: string }, credentials: SocketCredentials, remoteAddress: string): Promise<AdmissionVerdict> => {
    const verdict = await runChecks(ids, credentials, remoteAddress);
    deps.metrics.connectionAttempt(connectionResult(verdict.rejection));
    return verdict;
  };

  const runChecks = async (ids: { sessionId: string; clientId: string; member: string }, credentials: SocketCredentials, remoteAddress: string): Promise<AdmissionVerdict> => {
    const refuse = (rejection: SocketRejection): AdmissionVerdict => ({ rejection, claimed: false });
    if (!deps.accepting()) return refuse(DRAINING);
    // Redis away a while: say so at once rather than after the claim's reconnect attempts.
    if (!deps.storeReachable()) return refuse(STORE_UNAVAILABLE);
    if (!isValidId(ids.sessionId) || !isValidId(ids.clientId)) return refuse({ code: 'invalid_id', closeCode: CloseCode.badRequest });
    const rateRefusal = await connectRefusal(remoteAddress);
    if (rateRefusal) return refuse(rateRefusal);
    const accessRefusal = await accessRefusalOf(ids.sessionId, credentials);
    if (accessRefusal) return refuse(accessRefusal);
    try {
      const claimSlot = (dead: readonly string[]) =>
        deps.store.scripts.openSocket(ids.sessionId, ids.member, options.socketLeaseMs, options.maxConnectionsPerSession, options.sessionTtlSeconds, dead);
      let claim = await claimSlot(deps.deadGateways.remembered());
      if (!claim.ok && claim.reason === 'too_many_connections') {
        // Full: maybe of sockets a dead gateway held (killed, it could not free them). The
        // roster says which holders are dead; their slots go, and the claim is tried again.
        const dead = await deps.deadGateways.newlyDeadAmong(claim.holders).catch((err: unknown) => {
          deps.logger.warn({ err: String(err) }, 'could not read the gateway roster');
          return [];
        });
        if (dead.length > 0) {
          deps.logger.info({ session_id: ids.sessionId, dead_gateways: dead }, 'freed the socket slots of dead gateways');
          claim = await claimSlot(deps.deadGateways.remembered());
        }
      }
      if (claim.ok) return { rejection: null, claimed: true };
      if (claim.reason === 'session_not_found') return refuse({ code: 'session_not_found', closeCode: CloseCode.sessionNotFound });
      return refuse({
        code: 'too_many_connections',
        closeCode: CloseCode.tooManyConnections,
        message: `A session may hold at most ${options.maxConnectionsPerSession} sockets.`,
        // A slot frees when a socket of the session closes, or when a gateway holding some is
        // known dead: within a custody lease. Clients wait about that long, with jitter.
        retryAfterMs: options.custodyLeaseMs,
      });
    } catch (err) {
      deps.logger.warn({ err: String(err), session_id: ids.sessionId }, 'socket slot claim failed');
      return refuse(STORE_UNAVAILABLE);
    }
  };

  /** Per-address limit on connection attempts: the refusal, or null when allowed. */
  const connectRefusal = async (remoteAddress: string): Promise<SocketRejection | null> => {
    try {
      const verdict = await deps.connectLimit.consume(remoteAddress);
      if (verdict.allowed) return null;
      return {
        code: 'rate_limited',
        closeCode: CloseCode.tryAgainLater,
        message: `Too many connection attempts from this address; retry in ${Math.ceil(verdict.retryAfterMs / 1000)} s.`,
        retryAfterMs: verdict.retryAfterMs,
      };
    } catch (err) {
      deps.logger.warn({ err: String(err) }, 'connection rate limit unavailable');
      return STORE_UNAVAILABLE;
    }
  };

  /** Origin allow-list and (AUTH_REQUIRED) token or ticket: the refusal, or null when allowed. */
  const accessRefusalOf = async (sessionId: string, credentials: SocketCredentials): Promise<SocketRejection | null> => {
    try {
      await deps.access.checkSocket(sessionId, credentials);
      return null;
    } catch (err) {
      if (err instanceof ServiceError && (err.code === 'unauthorized' || err.code === 'forbidden')) {
        return { code: err.code, closeCode: err.code === 'unauthorized' ? CloseCode.unauthorized : CloseCode.forbidden, message: err.message };
      }
      deps.logger.warn({ err: String(err), session_id: sessionId }, 'socket ticket check failed');
      return STORE_UNAVAILABLE;
    }
  };

  const open = (ws: ChatSocket): void => {
    const data = ws.getUserData();
    deps.registry.admissionStarted(ws, data);
    data.admission = data.checks.then(
      (verdict) => admit(ws, data, verdict),
      (err: unknown) => {
        deps.logger.error({ err: String(err), session_id: data.sessionId }, 'socket admission failed');
        return admit(ws, data, { rejection: { code: 'internal_error', closeCode: CloseCode.tryAgainLater }, claimed: false });
      },
    );
  };

  /** Once the checks are done: refuses the socket with its error frame and close code, or admits it. */
  const admit = (ws: ChatSocket, data: SocketData, verdict: AdmissionVerdict): boolean => {
    deps.registry.admissionEnded(ws);
    if (data.closed) {
      // The client left while it was being checked.
      if (verdict.claimed) deps.registry.releaseSlot(data.sessionId, data.member);
      return false;
    }
    data.rejection = verdict.rejection;
    if (!data.rejection && !deps.accepting()) {
      // The gateway began draining while this socket was being checked.
      if (verdict.claimed) deps.registry.releaseSlot(data.sessionId, data.member);
      data.rejection = DRAINING;
    }
    if (data.rejection) {
      const rejection = data.rejection;
      ws.cork(() => {
        sendError(ws, rejection.code, rejection.message, rejection.retryAfterMs === undefined ? {} : { retryAfterMs: rejection.retryAfterMs });
        ws.end(rejection.closeCode, rejection.closeReason ?? rejection.code);
      });
      return false;
    }
    data.admitted = true;
    deps.registry.add(ws);
    deps.relay.retain(data.sessionId);
    const resumeFrom = data.resumeFrom;
    if (resumeFrom === null || resumeFrom === 'invalid') {
      ws.subscribe(data.sessionId);
      data.liveSince = Date.now();
      if (resumeFrom === 'invalid') ws.cork(() => sendError(ws, 'validation_failed', 'resume needs ?resume=<message_id>&seq=<integer ≥ -1>; streaming live instead.'));
      return true;
    }
    deps.metrics.frameIn('resume');
    void deps.resume.resume(ws, resumeFrom);
    return true;
  };

  const message = (ws: ChatSocket, raw: ArrayBuffer, isBinary: boolean): void => {
    const data = ws.getUserData();
    if (data.rejection) return;
    const verdict = budget.take(data, Date.now());
    if (!verdict.allowed) {
      deps.metrics.frameIn('rate_limited');
      if (verdict.disconnect) {
        ws.end(CloseCode.policyViolation, 'flooding');
        return;
      }
      sendError(ws, 'rate_limited', 'Too many frames; slow down.', { retryAfterMs: verdict.retryAfterMs });
      return;
    }
    if (raw.byteLength > options.maxFrameBytes) {
      deps.metrics.frameIn('invalid');
      sendError(ws, 'payload_too_large', `Frames are limited to ${options.maxFrameBytes} bytes.`);
      ws.end(CloseCode.messageTooBig, 'frame too large');
      return;
    }
    if (!data.admitted) {
      // Sent before admission finished: handled, in order, once it has (uWS reuses `raw`). If
      // the client leaves first, it is dropped unaccepted: a resume then truthfully answers
      // resume_unavailable, and the client sends it again.
      const copy = raw.slice(0);
      void data.admission.then((admitted) => {
        if (admitted && !data.closed) ws.cork(() => handleFrame(ws, data, copy, isBinary));
      });
      return;
    }
    handleFrame(ws, data, raw, isBinary);
  };

  /** A frame within the budget and size limit, of an admitted socket. */
  const handleFrame = (ws: ChatSocket, data: SocketData, raw: ArrayBuffer, isBinary: boolean): void => {
    if (isBinary) {
      deps.metrics.frameIn('invalid');
      sendError(ws, 'binary_not_supported');
      return;
    }
    let frame: unknown;
    try {
      frame = JSON.parse(Buffer.from(raw).toString('utf8'));
    } catch {
      deps.metrics.frameIn('invalid');
      sendError(ws, 'invalid_json');
      return;
    }
    if (typeof frame !== 'object' || frame === null || Array.isArray(frame)) {
      deps.metrics.frameIn('invalid');
      sendError(ws, 'validation_failed', 'A frame is a JSON object.');
      return;
    }
    const type = (frame as { type?: unknown }).type;
    if (type === 'ping') {
      deps.metrics.frameIn('ping');
      ws.send(JSON.stringify(pongFrame()), false);
      return;
    }
    if (type === 'cancel') {
      const cancel = validOrRefuse(ws, validators.cancelFrame(frame));
      if (!cancel) return;
      deps.metrics.frameIn('cancel');
      // After the socket's earlier messages are accepted: a cancel sent right behind its message
      // finds that turn, rather than `not_found`.
      void data.intake.then(() => cancelTurn(ws, data, cancel.message_id));
      return;
    }
    if (type === 'resume') {
      const resume = validOrRefuse(ws, validators.resumeFrame(frame));
      if (!resume) return;
      deps.metrics.frameIn('resume');
      // Served off the topic (SocketResume takes it off, one resume after another per socket).
      deps.slowClients.forget(ws);
      void deps.resume.resume(ws, { messageId: resume.message_id, seq: resume.seq });
      return;
    }
    if (type !== undefined && type !== 'message') {
      deps.metrics.frameIn('invalid');
      sendError(ws, 'unknown_frame', `Unknown frame type ${JSON.stringify(type).slice(0, 40)}; expected "message", "ping", "cancel" or "resume".`);
      return;
    }
    const checked = validOrRefuse(ws, validators.chatFrame(frame));
    if (!checked) return;
    deps.metrics.frameIn('message');
    // One socket's turns are queued in the order it sent them: each waits for the one before.
    data.intake = data.intake.then(() => acceptTurn(ws, data, checked.message, checked.message_id));
  };

  /** Whether the turn's ending went out on the session's topic while this socket was on it. */
  function sawEnding(data: SocketData, messageId: string): boolean {
    const endedAt = deps.relay.endingRelayedAt(messageId);
    return endedAt !== undefined && data.liveSince !== null && endedAt >= data.liveSince;
  }

  /** The frame's typed value, or null after telling the client which fields are wrong. */
  function validOrRefuse<T>(ws: ChatSocket, checked: ReturnType<Validator<T>>): T | null {
    if (checked.ok) return checked.value;
    deps.metrics.frameIn('invalid');
    sendError(ws, 'validation_failed', describeFields(checked.fields));
    return null;
  }

  const acceptTurn = async (ws: ChatSocket, data: SocketData, text: string, messageId: string | undefined): Promise<void> => {
    try {
      // The gateway must be listening on the session channel before a worker can publish.
      await deps.relay.ready(data.sessionId);
      const accepted = await deps.intake.accept({ sessionId: data.sessionId, clientId: data.clientId, message: text, messageId, via: 'ws' });
      if (accepted.ended && !data.closed && !sawEnding(data, accepted.messageId)) {
        // A resend of a turn that already ended, which this socket has not seen end: its frames
        // will not come again on the channel, so it gets them from the turn log (or a clear
        // resume_unavailable), as a resume.
        deps.slowClients.forget(ws);
        await deps.resume.resume(ws, { messageId: accepted.messageId, seq: -1 });
      }
    } catch (err) {
      if (data.closed) return;
      if (err instanceof ServiceError) {
        deps.metrics.errorReturned(err.code);
        ws.cork(() => sendError(ws, err.code, err.message, err.retryAfterMs === undefined ? {} : { retryAfterMs: err.retryAfterMs }));
      } else {
        deps.logger.error({ err: String(err), session_id: data.sessionId }, 'turn intake failed');
        ws.cork(() => sendError(ws, 'internal_error'));
      }
    }
  };

  /** Cancels a turn of this socket's session and acknowledges to this socket only. */
  const cancelTurn = async (ws: ChatSocket, data: SocketData, messageId: string): Promise<void> => {
    try {
      await deps.canceller.cancel(data.sessionId, messageId);
      if (data.closed) return;
      const ack: CancelAckFrame = { type: 'cancel_ack', session_id: data.sessionId, message_id: messageId, timestamp: isoNow() };
      ws.cork(() => ws.send(JSON.stringify(ack), false));
    } catch (err) {
      if (data.closed) return;
      const code = err instanceof ServiceError ? err.code : 'internal_error';
      ws.cork(() => sendError(ws, code, err instanceof ServiceError ? err.message : undefined));
    }
  };

  const close = (ws: ChatSocket, code: number, message: ArrayBuffer): void => {
    const data = ws.getUserData();
    data.closed = true;
    const reason = Buffer.from(message).toString('utf8').slice(0, 120);
    const cause = closeCause(code, reason);
    deps.metrics.socketClosedBy(cause);
    const fields = { session_id: data.sessionId, client_id: data.clientId, code, reason, cause, open_ms: Date.now() - data.openedAt, resuming: data.resuming };
    // A cut connection (1006) is the one close nobody else reports: uWS's reason is only here.
    if (code === 1006 && cause !== 'connection_lost') deps.logger.info(fields, 'socket cut by the gateway');
    else deps.logger.debug(fields, 'socket closed');
    deps.slowClients.forget(ws);
    // Refused, or closed before admission finished (admit() then frees the slot it claimed).
    if (!data.admitted) return;
    if (deps.registry.remove(ws)) deps.logger.debug({ session_id: data.sessionId }, 'last socket of session left');
    deps.relay.release(data.sessionId);
  };

  function sendError(ws: ChatSocket, code: ErrorCode, content?: string, extra: { retryAfterMs?: number } = {}): void {
    const data = ws.getUserData();
    if (data.closed) return;
    const frame = errorFrame(code, data.rejection?.code === 'invalid_id' ? null : data.sessionId, {
      ...(content !== undefined ? { content } : {}),
      ...extra,
    });
    ws.send(JSON.stringify(frame), false);
  }

  return {
    compression: deps.uws.DISABLED,
    // Frames up to twice the limit are read and refused with an error frame and 1009; beyond
    // that uWS cuts the connection itself without reading them.
    maxPayloadLength: options.maxFrameBytes * 2,
    idleTimeout: options.idleTimeoutSeconds,
    maxBackpressure: options.maxBackpressureBytes,
    // A socket that cannot keep up is closed rather than silently skipped: a skipped frame
    // would leave a gap in its stream, and an unbounded buffer would grow without limit.
    closeOnBackpressureLimit: true,
    sendPingsAutomatically: true,
    maxLifetime: 0,
    upgrade,
    open,
    message,
    drain: (ws: ChatSocket) => deps.slowClients.onDrain(ws),
    close,
  };
}

function connectionResult(rejection: SocketRejection | null) {
  if (!rejection) return 'accepted' as const;
  switch (rejection.code) {
    case 'session_not_found':
      return 'session_not_found' as const;
    case 'too_many_connections':
      return 'too_many_connections' as const;
    case 'invalid_id':
      return 'bad_request' as const;
    case 'rate_limited':
      return 'rate_limited' as const;
    case 'unauthorized':
      return 'unauthorized' as const;
    case 'forbidden':
      return 'forbidden' as const;
    default:
      return 'unavailable' as const;
  }
}

/** The query string; the uWS JavaScript shim's getQuery() throws, so fall back to the URL. */
function readQuery(req: HttpRequest): string {
  try {
    return req.getQuery() ?? '';
  } catch {
    return req.getUrl().split('?')[1] ?? '';
  }
}

/** `?resume=<message_id>&seq=<n>` (seq defaults to -1: the whole turn); null when absent. */
function resumePointOf(query: URLSearchParams): ResumePoint | 'invalid' | null {
  const messageId = query.get('resume');
  if (messageId === null) return null;
  const seqText = query.get('seq') ?? '-1';
  const seq = /^-?\d{1,10}$/.test(seqText) ? Number(seqText) : Number.NaN;
  const checked = validators.resumeFrame({ type: 'resume', message_id: messageId, seq });
  return checked.ok ? { messageId: checked.value.message_id, seq: checked.value.seq } : 'invalid';
}

function describeFields(fields: { field: string; message: string }[]): string {
  return fields.map((f) => `${f.field} ${f.message}`).join('; ');
}
