import { Type, type Static } from '@sinclair/typebox';
import { ID_PATTERN_SOURCE, MESSAGE_ID_PATTERN_SOURCE } from '../ids.js';

/**
 * The wire protocol, defined once: each JSON Schema sits beside the TypeScript type derived
 * from it (TypeBox gives both from one definition). `validators.ts` compiles them once with ajv.
 * Field names follow the service this one replaces (snake_case).
 */

const Id = Type.String({ pattern: ID_PATTERN_SOURCE, description: 'letters, digits, _ and -; 1 to 64' });
/** A message id is also its BullMQ job id, and BullMQ refuses ids that read as integers. */
const MessageId = Type.String({ pattern: MESSAGE_ID_PATTERN_SOURCE, description: 'like other ids, but not digits only' });

/** Hard ceiling on message text in any schema; the configured limit (MAX_MESSAGE_LENGTH) is lower. */
export const MESSAGE_HARD_LIMIT = 100_000;

/**
 * Printable text: no control characters (C0, DEL, C1), so no line breaks. The original service
 * took any string for `flight_no` and `date`, and its clients send test flights like `DEBUG001`
 * and dates in their own formats: what a field holds is judged later (an unknown flight is
 * "not in the schedule" in the answer's context, a date that does not parse is kept as given).
 */
export const PRINTABLE_PATTERN = '^[^\\u0000-\\u001F\\u007F-\\u009F]*$';

// ---------------------------------------------------------------- REST request bodies

export const CreateSessionBody = Type.Object(
  {
    customer_name: Type.String({ minLength: 1, maxLength: 200 }),
    customer_email: Type.String({ format: 'email', maxLength: 254 }),
    flight_no: Type.Optional(Type.String({ maxLength: 32, pattern: PRINTABLE_PATTERN, description: 'e.g. NZ123; any printable text' })),
    date: Type.Optional(Type.String({ maxLength: 64, pattern: PRINTABLE_PATTERN, description: 'YYYY-MM-DD best; other formats are parsed when they can be' })),
    session_id: Type.Optional(Id),
  },
  { additionalProperties: false },
);
export type CreateSessionBody = Static<typeof CreateSessionBody>;

export const SendMessageBody = Type.Object(
  {
    session_id: Id,
    message: Type.String({ maxLength: MESSAGE_HARD_LIMIT }),
    client_id: Type.Optional(Id),
    /** Optional idempotency key: a resent message with the same id is answered once. */
    message_id: Type.Optional(MessageId),
  },
  { additionalProperties: false },
);
export type SendMessageBody = Static<typeof SendMessageBody>;

// ---------------------------------------------------------------- WebSocket frames, client → server

/** A chat turn. `type` may be omitted, as the original service's clients do. */
export const ChatInFrame = Type.Object({
  type: Type.Optional(Type.Literal('message')),
  message: Type.String({ maxLength: MESSAGE_HARD_LIMIT }),
  message_id: Type.Optional(MessageId),
});
export type ChatInFrame = Static<typeof ChatInFrame>;

export const PingInFrame = Type.Object({ type: Type.Literal('ping') });
export type PingInFrame = Static<typeof PingInFrame>;

/** Stops a turn's generation, whichever gateway and worker it is on. */
export const CancelInFrame = Type.Object({ type: Type.Literal('cancel'), message_id: MessageId });
export type CancelInFrame = Static<typeof CancelInFrame>;

/**
 * Asks for the frames of a turn after `seq` (the last one this client saw; -1 for none): the
 * gateway replays them from the turn's log, then goes on live. Also accepted as the socket URL
 * parameters `?resume=<message_id>&seq=<n>`.
 */
export const ResumeInFrame = Type.Object({ type: Type.Literal('resume'), message_id: MessageId, seq: Type.Integer({ minimum: -1, maximum: 0xfffffffe }) });
export type ResumeInFrame = Static<typeof ResumeInFrame>;

/** `POST /chat/cancel`. */
export const CancelTurnBody = Type.Object({ session_id: Id, message_id: MessageId }, { additionalProperties: false });
export type CancelTurnBody = Static<typeof CancelTurnBody>;

/** The canceller's acknowledgement (the turn itself then ends with an `error` frame `cancelled`). */
export const CancelAckFrame = Type.Object({
  type: Type.Literal('cancel_ack'),
  session_id: Type.String(),
  message_id: Type.String(),
  timestamp: Type.String(),
});
export type CancelAckFrame = Static<typeof CancelAckFrame>;

// ---------------------------------------------------------------- frames, server → client

export const SessionContext = Type.Object({
  customer_name: Type.String(),
  customer_email: Type.String(),
  flight_no: Type.Union([Type.String(), Type.Null()]),
  date: Type.Union([Type.String(), Type.Null()]),
  created_at: Type.String(),
});
export type SessionContext = Static<typeof SessionContext>;

export const ChunkFrame = Type.Object({
  type: Type.Literal('chunk'),
  content: Type.String(),
  session_id: Type.String(),
  message_id: Type.String(),
  seq: Type.Integer({ minimum: 0 }),
  /** Only on a merged chunk (a slow reader): the first seq it covers; `seq` is the last. */
  first_seq: Type.Optional(Type.Integer({ minimum: 0 })),
  timestamp: Type.String(),
});
export type ChunkFrame = Static<typeof ChunkFrame>;

export const CompleteMetadata = Type.Object({
  model: Type.String(),
  tokens_used: Type.Integer({ minimum: 0 }),
  prompt_tokens: Type.Integer({ minimum: 0 }),
  completion_tokens: Type.Integer({ minimum: 0 }),
  ttft_ms: Type.Number({ minimum: 0 }),
  response_time_ms: Type.Number({ minimum: 0 }),
  queue_wait_ms: Type.Number({ minimum: 0 }),
  chunks: Type.Integer({ minimum: 0 }),
  offline_model: Type.Boolean(),
  /** What this answer's tokens cost in USD by the price table (0: offline model, cache hit, unpriced model). */
  cost_usd: Type.Optional(Type.Number({ minimum: 0 })),
  /** W3C traceparent of the worker's turn span (only while tracing is on): the gateway's relay span joins the trace. */
  traceparent: Type.Optional(Type.String({ pattern: '^00-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$' })),
  /** True when the answer was replayed from the response cache (no LLM call). */
  from_cache: Type.Optional(Type.Boolean()),
  /** policy, flight_status, both or general: which context the question needed. */
  query_type: Type.Optional(Type.String()),
  /** The documents and records the answer was grounded on, numbered as cited ([n]). */
  sources: Type.Optional(Type.Array(Type.Object({ n: Type.Integer(), title: Type.String(), source: Type.String(), score: Type.Number() }))),
  /** Whether each context source answered: ok, degraded (failed or slow; the answer says so) or skipped. */
  context_status: Type.Optional(Type.Record(Type.String(), Type.String())),
  /** Set when the LLM failed and the grounded extractive answer was given instead. */
  fallback: Type.Optional(Type.Boolean()),
  /**
   * Why the turn was handed to a person: `asked` (the customer asked for one) or `unanswered`
   * (a second turn in a row found nothing to answer from). A `handoff_requested` event was
   * emitted (worker/src/handoff-events.ts).
   */
  handoff_requested: Type.Optional(Type.Union([Type.Literal('asked'), Type.Literal('unanswered')])),
  /** True when no document or flight record could ground the answer (two in a row hand off). */
  unanswered: Type.Optional(Type.Boolean()),
  /** Tool calls the model made for this answer (recorded in the turn's tool log). */
  tool_calls: Type.Optional(Type.Integer({ minimum: 0 })),
  /** The language the customer wrote in (English name), when not English. */
  language: Type.Optional(Type.String()),
  /**
   * Where the turn's time to its first token went: each step's stamp, epoch ms with sub-ms
   * precision (shared/src/turn-timings.ts). Only while PIPELINE_TIMINGS is on (the bench sets it).
   */
  timings: Type.Optional(Type.Record(Type.String(), Type.Number())),
});
export type CompleteMetadata = Static<typeof CompleteMetadata>;

export const CompleteFrame = Type.Object({
  type: Type.Literal('complete'),
  content: Type.String(),
  session_id: Type.String(),
  message_id: Type.String(),
  /** Its place in the turn's frames (after the last chunk): what a client resumes from. */
  seq: Type.Optional(Type.Integer({ minimum: 0 })),
  timestamp: Type.String(),
  /** True when the answer was replayed from the response cache, where the original's clients look (also `metadata.from_cache`); absent otherwise. */
  from_cache: Type.Optional(Type.Literal(true)),
  metadata: CompleteMetadata,
});
export type CompleteFrame = Static<typeof CompleteFrame>;

export const ErrorFrame = Type.Object({
  type: Type.Literal('error'),
  code: Type.String(),
  content: Type.String(),
  session_id: Type.Union([Type.String(), Type.Null()]),
  message_id: Type.Optional(Type.String()),
  /** Set when the error ends a turn: its place in the turn's frames. */
  seq: Type.Optional(Type.Integer({ minimum: 0 })),
  timestamp: Type.String(),
  retry_after_ms: Type.Optional(Type.Integer({ minimum: 0 })),
});
export type ErrorFrame = Static<typeof ErrorFrame>;

/**
 * A new attempt took the turn over (its worker died or was replaced): clients drop the text
 * they have for this message id; the chunks that follow are the answer, from its start.
 */
export const ResetFrame = Type.Object({
  type: Type.Literal('reset'),
  session_id: Type.String(),
  message_id: Type.String(),
  seq: Type.Integer({ minimum: 0 }),
  timestamp: Type.String(),
});
export type ResetFrame = Static<typeof ResetFrame>;

/**
 * Sent to a resuming socket when the frames it missed are no longer all in the turn's log:
 * the answer so far (replaces what the client has), as of `seq`; frames after `seq` follow.
 */
export const SnapshotFrame = Type.Object({
  type: Type.Literal('snapshot'),
  session_id: Type.String(),
  message_id: Type.String(),
  content: Type.String(),
  seq: Type.Integer({ minimum: -1 }),
  timestamp: Type.String(),
});
export type SnapshotFrame = Static<typeof SnapshotFrame>;

/**
 * A user message the session accepted, sent to every socket of the session (all tabs and
 * devices), ahead of its answer's frames; also replayed to a socket that resumes the turn from
 * its start (`seq: -1`). `content` is the message as the service stored it. Not one of the
 * answer's frames: it has no `seq`, and clients that already show the message ignore it.
 */
export const UserMessageFrame = Type.Object({
  type: Type.Literal('user_message'),
  session_id: Type.String(),
  message_id: Type.String(),
  content: Type.String(),
  /** Who sent it (the socket's client id), or null for REST. */
  client_id: Type.Union([Type.String(), Type.Null()]),
  timestamp: Type.String(),
});
export type UserMessageFrame = Static<typeof UserMessageFrame>;

export const PongFrame = Type.Object({ type: Type.Literal('pong'), timestamp: Type.String() });
export type PongFrame = Static<typeof PongFrame>;

export const OutFrame = Type.Union([ChunkFrame, CompleteFrame, ErrorFrame, ResetFrame, SnapshotFrame, UserMessageFrame, PongFrame, CancelAckFrame]);
export type OutFrame = Static<typeof OutFrame>;

// ---------------------------------------------------------------- REST responses

export const HistoryEntry = Type.Object({
  message_id: Type.String(),
  client_id: Type.Union([Type.String(), Type.Null()]),
  user: Type.String(),
  assistant: Type.String(),
  timestamp: Type.String(),
  metadata: Type.Optional(CompleteMetadata),
});
export type HistoryEntry = Static<typeof HistoryEntry>;

/** What a client should know before it sends: the gateway's MAX_MESSAGE_LENGTH. */
export const SessionLimits = Type.Object({ max_message_length: Type.Integer({ minimum: 1 }) });
export type SessionLimits = Static<typeof SessionLimits>;

export const CreateSessionResponse = Type.Object({
  session_id: Type.String(),
  status: Type.Literal('created'),
  context: SessionContext,
  /** The session token (a JWT whose `sub` is the session id); only when AUTH_SECRETS is set. */
  token: Type.Optional(Type.String()),
  /** When the token expires, ISO 8601; present with `token`. */
  token_expires_at: Type.Optional(Type.String()),
  limits: Type.Optional(SessionLimits),
});
export type CreateSessionResponse = Static<typeof CreateSessionResponse>;

/** `POST /chat/ticket`: a single-use ticket for the socket URL (`?ticket=`), for browsers. */
export const SocketTicketResponse = Type.Object({
  ticket: Type.String(),
  /** Seconds the ticket stays valid. */
  expires_in: Type.Integer({ minimum: 1 }),
});
export type SocketTicketResponse = Static<typeof SocketTicketResponse>;

/** A turn accepted and not yet finished, as `GET /chat/session/:id` shows it. */
export const TurnInProgress = Type.Object({
  message_id: Type.String(),
  /** queued: waiting for a worker (or for the turn ahead); streaming: frames are going out. */
  state: Type.Union([Type.Literal('queued'), Type.Literal('streaming')]),
  /** The last frame's seq (-1 before the first): resume from here. */
  seq: Type.Integer({ minimum: -1 }),
  /** The answer so far (since the last reset). */
  content: Type.String(),
  /** The user's message, as stored (absent for a turn accepted before the service kept it). */
  user: Type.Optional(Type.String()),
});
export type TurnInProgress = Static<typeof TurnInProgress>;

export const GetSessionResponse = Type.Object({
  session_id: Type.String(),
  context: SessionContext,
  history: Type.Array(HistoryEntry),
  /** Unanswered turns, oldest first: lets a client that lost everything pick the answer up. */
  in_progress: Type.Array(TurnInProgress),
  /** LLM tokens and cost the session's answered turns spent, and its budget (SESSION_TOKEN_BUDGET). */
  usage: Type.Optional(
    Type.Object({
      prompt_tokens: Type.Integer({ minimum: 0 }),
      completion_tokens: Type.Integer({ minimum: 0 }),
      tokens_used: Type.Integer({ minimum: 0 }),
      cost_usd: Type.Number({ minimum: 0 }),
      turns: Type.Integer({ minimum: 0 }),
      /** null: no budget. */
      token_budget: Type.Union([Type.Integer({ minimum: 1 }), Type.Null()]),
    }),
  ),
  limits: Type.Optional(SessionLimits),
});
export type GetSessionResponse = Static<typeof GetSessionResponse>;

export const MessageAcceptedResponse = Type.Object({
  status: Type.Literal('message_sent'),
  session_id: Type.String(),
  message_id: Type.String(),
});
export type MessageAcceptedResponse = Static<typeof MessageAcceptedResponse>;

/** `POST /chat/message?wait=1`: the finished answer. */
export const MessageAnsweredResponse = Type.Object({
  status: Type.Literal('completed'),
  session_id: Type.String(),
  message_id: Type.String(),
  content: Type.String(),
  metadata: CompleteMetadata,
});
export type MessageAnsweredResponse = Static<typeof MessageAnsweredResponse>;

// ---------------------------------------------------------------- queue job

/** A session's flight and travel date, as its record holds them (fixed when the session is made). */
export const SessionFlight = Type.Object({
  flight_no: Type.Union([Type.String(), Type.Null()]),
  date: Type.Union([Type.String(), Type.Null()]),
});
export type SessionFlight = Static<typeof SessionFlight>;

/** The BullMQ job payload for one chat turn. The job id is the message id. */
export const TurnJobData = Type.Object({
  session_id: Id,
  message_id: Id,
  client_id: Type.Union([Id, Type.Null()]),
  message: Type.String(),
  /** Epoch ms when the gateway accepted the turn; queue wait is measured from here. */
  accepted_at: Type.Number(),
  /** W3C traceparent of the gateway's accept span (only while tracing is on). */
  traceparent: Type.Optional(Type.String({ pattern: '^00-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$' })),
  /** The gateway's step stamps (see shared/src/turn-timings.ts); only while PIPELINE_TIMINGS is on. */
  timings: Type.Optional(Type.Record(Type.String(), Type.Number())),
  /**
   * The session's flight as the accept step read it: the worker gathers the turn's context from
   * it while its head check is in flight (checked against the session that check returns).
   * Absent from jobs of older gateways; the worker then gathers it after the check.
   */
  session_flight: Type.Optional(SessionFlight),
});
export type TurnJobData = Static<typeof TurnJobData>;
