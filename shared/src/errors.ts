/**
 * The one catalogue of error codes. REST bodies and WebSocket `error` frames both carry `code`
 * from here, so a client handles a refusal the same way whichever transport it used.
 * The table in docs/protocol.md mirrors this list, and a test keeps them in step.
 */
export const ERRORS = {
  invalid_json: { status: 400, message: 'The body or frame is not valid JSON.' },
  validation_failed: { status: 400, message: 'The request does not match the schema.' },
  binary_not_supported: { status: 400, message: 'Binary frames are not supported; send JSON text.' },
  unknown_frame: { status: 400, message: 'Unknown frame type.' },
  empty_message: { status: 400, message: 'The message is empty.' },
  message_too_long: { status: 400, message: 'The message is longer than the limit.' },
  invalid_id: { status: 400, message: 'Ids must match [A-Za-z0-9_-]{1,64}.' },
  unauthorized: { status: 401, message: 'This needs a valid token (Authorization: Bearer <token>).' },
  forbidden: { status: 403, message: 'This token does not give access to this session.' },
  not_found: { status: 404, message: 'No such route.' },
  method_not_allowed: { status: 405, message: 'Method not allowed on this route.' },
  session_not_found: { status: 404, message: 'Session not found.' },
  session_exists: { status: 409, message: 'A session with this id already exists.' },
  session_erased: { status: 410, message: 'This session was erased at its owner\'s request; start a new one.' },
  payload_too_large: { status: 413, message: 'The body or frame is larger than the limit.' },
  unsupported_media_type: { status: 415, message: 'Send the body as application/json.' },
  too_many_connections: { status: 429, message: 'Too many sockets are open for this session.' },
  rate_limited: { status: 429, message: 'Too many requests; slow down.' },
  token_budget_exhausted: { status: 429, message: 'This session has used its token budget; start a new session.' },
  llm_unavailable: { status: 502, message: 'The language model could not answer; please try again.' },
  cancelled: { status: 409, message: 'The answer was cancelled.' },
  resume_unavailable: { status: 410, message: 'That answer can no longer be resumed; its finished text is in GET /chat/session/:id.' },
  llm_stream_interrupted: { status: 502, message: 'The answer was interrupted; please ask again.' },
  timeout: { status: 504, message: 'The answer took too long.' },
  queue_unavailable: { status: 503, message: 'The service cannot take messages right now.' },
  service_unavailable: { status: 503, message: 'The service is shutting down or not ready.' },
  internal_error: { status: 500, message: 'Internal error.' },
} as const satisfies Record<string, { status: number; message: string }>;

export type ErrorCode = keyof typeof ERRORS;

export function errorStatus(code: ErrorCode): number {
  return ERRORS[code].status;
}

export function errorMessage(code: ErrorCode): string {
  return ERRORS[code].message;
}

/** One invalid field, as listed in a `validation_failed` body. */
export interface FieldError {
  field: string;
  message: string;
}

/**
 * The shape of every REST error body. `detail` repeats the message for clients of the service
 * this one replaces, which read FastAPI-style `{"detail": ...}` bodies.
 */
export interface RestErrorBody {
  error: { code: ErrorCode; message: string; status: number; fields?: FieldError[]; retry_after_ms?: number };
  detail: string;
}

export function restErrorBody(code: ErrorCode, message: string = ERRORS[code].message, fields?: FieldError[], retryAfterMs?: number): RestErrorBody {
  const error: RestErrorBody['error'] = { code, message, status: ERRORS[code].status };
  if (fields && fields.length > 0) error.fields = fields;
  if (retryAfterMs !== undefined) error.retry_after_ms = retryAfterMs;
  return { error, detail: message };
}

/** An error carrying a catalogue code, thrown inside request handling and mapped at the edge. */
export class ServiceError extends Error {
  readonly code: ErrorCode;
  readonly fields: FieldError[] | undefined;
  /** For `rate_limited`: when the client may try again. */
  readonly retryAfterMs: number | undefined;

  constructor(code: ErrorCode, message: string = ERRORS[code].message, fields?: FieldError[], retryAfterMs?: number) {
    super(message);
    this.name = 'ServiceError';
    this.code = code;
    this.fields = fields;
    this.retryAfterMs = retryAfterMs;
  }

  static rateLimited(retryAfterMs: number, message: string = ERRORS.rate_limited.message): ServiceError {
    return new ServiceError('rate_limited', message, undefined, retryAfterMs);
  }

  get status(): number {
    return ERRORS[this.code].status;
  }
}

/**
 * WebSocket close codes. 1000–1015 are the protocol's own; 4000–4999 are ours and mirror the
 * HTTP status of the same condition (4404 ↔ 404) so they read at a glance.
 */
export const CloseCode = {
  normal: 1000,
  goingAway: 1001,
  policyViolation: 1008,
  messageTooBig: 1009,
  internalError: 1011,
  tryAgainLater: 1013,
  badRequest: 4400,
  /** No valid session token or ticket (AUTH_REQUIRED), or the ticket was already used. */
  unauthorized: 4401,
  /** The token or ticket is for another session, or the Origin is not allowed. */
  forbidden: 4403,
  sessionNotFound: 4404,
  /** The session was erased (DELETE /chat/session/:id): its sockets end with this code. */
  sessionErased: 4410,
  tooManyConnections: 4429,
  slowConsumer: 4408,
} as const;

export type CloseCodeName = keyof typeof CloseCode;
