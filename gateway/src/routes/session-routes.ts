import {
  ServiceError,
  isValidId,
  isoNow,
  newSessionId,
  validators,
  type CreateSessionResponse,
  type GetSessionResponse,
  type RedisRateLimit,
  type SessionStore,
  type SocketTicketResponse,
  type TurnInProgress,
  type TurnLog,
} from '@chat/shared';
import type { SessionAccess } from '../auth/session-access.js';
import { readJsonBody } from '../http/read-body.js';
import { respondJson, type HttpExchange } from '../http/respond.js';
import type { RestRequest } from '../http/rest-route.js';

export interface SessionRoutesDeps {
  store: SessionStore;
  /** Turns in progress: how far each got. */
  turnLog: TurnLog;
  /** Session creations per client address. */
  sessionLimit: RedisRateLimit;
  maxBodyBytes: number;
  historyMaxTurns: number;
  /** SESSION_TOKEN_BUDGET, shown with the session's usage (0 = none). Default 0. */
  tokenBudget?: number;
  /** MAX_MESSAGE_LENGTH: told to clients (`limits`), so they can say so before sending. */
  maxMessageLength: number;
  /** Tokens, tickets and who may read a session. */
  access: SessionAccess;
}

/** Credentials must not be cached by browsers or proxies. */
const NO_STORE = { 'cache-control': 'no-store' };

/**
 * `POST /chat/session`: creates a session; 409 if the requested id is taken. With AUTH_SECRETS
 * set the answer also carries the session's token (`token`, `token_expires_at`).
 */
export function createSessionHandler(deps: SessionRoutesDeps) {
  return async (exchange: HttpExchange, request: RestRequest): Promise<void> => {
    const body = await readJsonBody(exchange, request.headers, deps.maxBodyBytes);
    const checked = validators.createSession(body);
    if (!checked.ok) throw new ServiceError('validation_failed', 'The session request has invalid fields.', checked.fields);
    const input = checked.value;
    const verdict = await deps.sessionLimit.consume(request.remoteAddress);
    if (!verdict.allowed) throw ServiceError.rateLimited(verdict.retryAfterMs, 'Too many sessions created from this address; try again shortly.');
    const sessionId = input.session_id ?? newSessionId();
    const context = {
      customer_name: input.customer_name.trim(),
      customer_email: input.customer_email.trim().toLowerCase(),
      // Any printable text, as the original took it (its smoke test uses `DEBUG001`): the worker
      // looks it up and an unknown flight reads "not found in the schedule" in the context.
      flight_no: input.flight_no?.trim() ? input.flight_no.trim().toUpperCase() : null,
      // Kept as given; the worker parses what it can (2025-01-17, 17/01/2025, 17 January 2025).
      date: input.date?.trim() ? input.date.trim() : null,
      created_at: isoNow(),
    };
    const created = await deps.store.create({ session_id: sessionId, context });
    // Never overwrite: the id may belong to someone else's live session.
    if (!created) throw new ServiceError('session_exists');
    const response: CreateSessionResponse = { session_id: sessionId, status: 'created', context, limits: { max_message_length: deps.maxMessageLength } };
    const issued = await deps.access.issueToken(sessionId);
    if (!issued) {
      respondJson(exchange, 200, response);
      return;
    }
    response.token = issued.token;
    response.token_expires_at = issued.expiresAt.toISOString();
    respondJson(exchange, 200, response, NO_STORE);
  };
}

/** `GET /chat/session/:id`: the session's context and history. */
export function getSessionHandler(deps: SessionRoutesDeps) {
  return async (exchange: HttpExchange, request: RestRequest): Promise<void> => {
    const sessionId = request.params[0] ?? '';
    if (!isValidId(sessionId)) throw new ServiceError('invalid_id');
    await deps.access.checkRest(request.headers.authorization, sessionId);
    const found = await deps.store.getWithHistory(sessionId, deps.historyMaxTurns);
    if (!found) throw new ServiceError('session_not_found');
    const [inProgress, usage] = await Promise.all([turnsInProgress(deps, sessionId), deps.store.usage(sessionId)]);
    const budget = deps.tokenBudget ?? 0;
    const response: GetSessionResponse = {
      session_id: sessionId,
      context: found.session.context,
      history: found.history,
      in_progress: inProgress,
      usage: { ...usage, token_budget: budget > 0 ? budget : null },
      limits: { max_message_length: deps.maxMessageLength },
    };
    respondJson(exchange, 200, response);
  };
}

/**
 * The session's unanswered turns, oldest first, with how far each got: a client that lost its
 * socket and its state resumes from `seq` (or just shows `content`).
 */
async function turnsInProgress(deps: Pick<SessionRoutesDeps, 'store' | 'turnLog'>, sessionId: string): Promise<TurnInProgress[]> {
  const messageIds = await deps.store.unansweredTurns(sessionId);
  return Promise.all(
    messageIds.map(async (messageId): Promise<TurnInProgress> => {
      const progress = await deps.turnLog.peek(sessionId, messageId);
      const turn: TurnInProgress = { message_id: messageId, state: progress.nextSeq > 0 ? 'streaming' : 'queued', seq: progress.nextSeq - 1, content: progress.text };
      if (progress.question !== undefined) turn.user = progress.question;
      return turn;
    }),
  );
}

/** `POST /chat/ticket` (Authorization: Bearer <token>): a single-use ticket for the socket URL. */
export function createTicketHandler(deps: Pick<SessionRoutesDeps, 'access'>) {
  return async (exchange: HttpExchange, request: RestRequest): Promise<void> => {
    const { ticket, expiresIn } = await deps.access.issueTicket(request.headers.authorization);
    const response: SocketTicketResponse = { ticket, expires_in: expiresIn };
    respondJson(exchange, 200, response, NO_STORE);
  };
}
