import { ServiceError, isValidId, isoNow, type HistoryEntry, type SessionContext, type SessionStore } from '@chat/shared';
import type { SessionAccess } from '../auth/session-access.js';
import { respond, respondJson, type HttpExchange } from '../http/respond.js';
import type { RestRequest } from '../http/rest-route.js';
import type { SessionErasure } from '../session-erasure.js';

export interface SessionErasureRoutesDeps {
  store: SessionStore;
  erasure: SessionErasure;
  /** With AUTH_REQUIRED, the bearer token must be the session's (401/403 as GET /chat/session/:id). */
  access: SessionAccess;
  historyMaxTurns: number;
}

/** A transcript and an erasure are personal: no browser or proxy may keep them. */
const NO_STORE = { 'cache-control': 'no-store' };

/** One turn of an exported transcript. */
export interface TranscriptTurn {
  message_id: string;
  timestamp: string;
  user: string;
  assistant: string;
}

/** `GET /chat/session/:id/transcript` as JSON. Personal data appears masked, as it is stored. */
export interface TranscriptResponse {
  session_id: string;
  exported_at: string;
  context: SessionContext;
  turns: TranscriptTurn[];
}

function sessionIdOf(request: RestRequest): string {
  const sessionId = request.params[0] ?? '';
  if (!isValidId(sessionId)) throw new ServiceError('invalid_id');
  return sessionId;
}

/**
 * `DELETE /chat/session/:id`: erases the session everywhere (see SessionErasure and
 * docs/privacy.md). 204 when erased, 404 when unknown (or already erased).
 */
export function deleteSessionHandler(deps: SessionErasureRoutesDeps) {
  return async (exchange: HttpExchange, request: RestRequest): Promise<void> => {
    const sessionId = sessionIdOf(request);
    await deps.access.checkRest(request.headers.authorization, sessionId);
    await deps.erasure.erase(sessionId);
    if (exchange.aborted || exchange.responded) return;
    exchange.responded = true;
    exchange.status = 204;
    exchange.res.cork(() => {
      exchange.res.writeStatus('204 No Content');
      exchange.res.writeHeader('cache-control', 'no-store');
      exchange.res.endWithoutBody();
    });
  };
}

/** Whether the client asked for plain text: `?format=text`, or an Accept that prefers text/plain to JSON. */
function wantsText(request: RestRequest): boolean {
  const format = request.query.get('format');
  if (format === 'text' || format === 'txt') return true;
  if (format === 'json') return false;
  const accept = request.headers.accept.toLowerCase();
  return accept.includes('text/plain') && !accept.includes('application/json');
}

/** The plain-text export: a header, then each turn as `Customer:` / `Assistant:` paragraphs. */
export function transcriptText(transcript: TranscriptResponse): string {
  const lines = [`Conversation ${transcript.session_id}`, `Started ${transcript.context.created_at}; exported ${transcript.exported_at}.`];
  if (transcript.context.flight_no) lines.push(`Flight ${transcript.context.flight_no}${transcript.context.date ? ` on ${transcript.context.date}` : ''}.`);
  lines.push('Personal details such as card or phone numbers are shown masked (•••• 1111), as they are stored.', '');
  for (const turn of transcript.turns) {
    lines.push(`[${turn.timestamp}]`, `Customer: ${turn.user}`, `Assistant: ${turn.assistant}`, '');
  }
  if (transcript.turns.length === 0) lines.push('(no messages yet)', '');
  return lines.join('\n');
}

/**
 * `GET /chat/session/:id/transcript`: the session's conversation, JSON by default, plain text
 * with `?format=text` or `Accept: text/plain`. Turns still being answered are not in it yet.
 */
export function transcriptHandler(deps: SessionErasureRoutesDeps) {
  return async (exchange: HttpExchange, request: RestRequest): Promise<void> => {
    const sessionId = sessionIdOf(request);
    await deps.access.checkRest(request.headers.authorization, sessionId);
    const found = await deps.store.getWithHistory(sessionId, deps.historyMaxTurns);
    if (!found) throw new ServiceError('session_not_found');
    const transcript: TranscriptResponse = {
      session_id: sessionId,
      exported_at: isoNow(),
      context: found.session.context,
      turns: found.history.map((entry: HistoryEntry) => ({ message_id: entry.message_id, timestamp: entry.timestamp, user: entry.user, assistant: entry.assistant })),
    };
    if (wantsText(request)) {
      respond(exchange, 200, transcriptText(transcript), 'text/plain; charset=utf-8', NO_STORE);
      return;
    }
    respondJson(exchange, 200, transcript, NO_STORE);
  };
}
