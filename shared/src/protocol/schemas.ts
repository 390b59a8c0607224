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

// ---------------------------------------------------------------- REST request bodies

export const CreateSessionBody = Type.Object(
  {
    customer_name: Type.String({ minLength: 1, maxLength: 200 }),
    customer_email: Type.String({ format: 'email', maxLength: 254 }),
    flight_no: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9]{2}[0-9]{1,4}[A-Za-z]?$', description: 'e.g. NZ123' })),
    date: Type.Optional(Type.String({ format: 'date', description: 'YYYY-MM-DD' })),
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

export const PongFrame = Type.Object({ type: Type.Literal('pong'), timestamp: Type.String() });
export type PongFrame = Static<typeof PongFrame>;

export const OutFrame = Type.Union([ChunkFrame, CompleteFrame, ErrorFrame, ResetFrame, SnapshotFrame, PongFrame, CancelAckFrame]);
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

export const CreateSessionResponse = Type.Object({
  session_id: Type.String(),
  status: Type.Literal('created'),
  context: SessionContext,
  /** The session token (a JWT whose `sub` is the session id); only when AUTH_SECRETS is set. */
  token: Type.Optional(Type.String()),
  /** When the token expires, ISO 8601; present with `token`. */
  token_expires_at: Type.Optional(Type.String()),
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
});
export type TurnInProgress = Static<typeof TurnInProgress>;

export const GetSessionResponse = Type.Object({
  session_id: Type.String(),
  context: SessionContext,
  history: Type.Array(HistoryEntry),
  /** Unanswered turns, oldest first: lets a client that lost everything pick the answer up. */
  in_progress: Type.Array(TurnInProgress),
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

/** The BullMQ job payload for one chat turn. The job id is the message id. */
export const TurnJobData = Type.Object({
  session_id: Id,
  message_id: Id,
  client_id: Type.Union([Id, Type.Null()]),
  message: Type.String(),
  /** Epoch ms when the gateway accepted the turn; queue wait is measured from here. */
  accepted_at: Type.Number(),
});
export type TurnJobData = Static<typeof TurnJobData>;
