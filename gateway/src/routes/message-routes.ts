import {
  ERRORS,
  FrameKind,
  ServiceError,
  endsTurn,
  restErrorBody,
  validators,
  type CompleteFrame,
  type ErrorCode,
  type ErrorFrame,
  type MessageAcceptedResponse,
  type MessageAnsweredResponse,
  type TurnLog,
  readEnvelopeHeader,
} from '@chat/shared';
import type { SessionAccess } from '../auth/session-access.js';
import { readJsonBody } from '../http/read-body.js';
import { respondJson, statusLine, type HttpExchange } from '../http/respond.js';
import type { RestRequest } from '../http/rest-route.js';
import type { SessionRelay } from '../session-relay.js';
import type { TurnCanceller } from '../turn-canceller.js';
import type { TurnIntake } from '../turn-intake.js';

export interface MessageRoutesDeps {
  intake: TurnIntake;
  relay: SessionRelay;
  /** A resent message id whose turn already ended is answered from its log. */
  turnLog: TurnLog;
  maxBodyBytes: number;
  waitTimeoutMs: number;
  /** With AUTH_REQUIRED, the bearer token must be the body's session's. */
  access: SessionAccess;
}

type Delivery = 'none' | 'wait' | 'sse';

const SSE_EVENT_NAMES: Record<FrameKind, string> = {
  [FrameKind.chunk]: 'chunk',
  [FrameKind.complete]: 'complete',
  [FrameKind.error]: 'error',
  [FrameKind.reset]: 'reset',
  [FrameKind.sync]: 'sync', // never reaches a listener (the relay keeps it for its taps)
  [FrameKind.userMessage]: 'user_message', // never reaches a listener (sockets only)
};

/**
 * `POST /chat/message`: queues a chat turn; the answer streams to every socket of the session.
 * For clients without a socket, `?wait=1` answers with the finished turn as JSON, and
 * `Accept: text/event-stream` streams the turn's frames as Server-Sent Events.
 */
export function sendMessageHandler(deps: MessageRoutesDeps) {
  return async (exchange: HttpExchange, request: RestRequest): Promise<void> => {
    const delivery: Delivery = request.headers.accept.includes('text/event-stream')
      ? 'sse'
      : ['1', 'true', 'yes'].includes(request.query.get('wait') ?? '')
        ? 'wait'
        : 'none';
    const body = await readJsonBody(exchange, request.headers, deps.maxBodyBytes);
    const checked = validators.sendMessage(body);
    if (!checked.ok) throw new ServiceError('validation_failed', 'The message request has invalid fields.', checked.fields);
    const input = checked.value;
    // After the body is read: the session id to check the token against is in it.
    await deps.access.checkRest(request.headers.authorization, input.session_id);

    if (delivery === 'none') {
      const accepted = await deps.intake.accept({
        sessionId: input.session_id,
        clientId: input.client_id ?? null,
        message: input.message,
        messageId: input.message_id,
        via: 'rest',
      });
      const response: MessageAcceptedResponse = { status: 'message_sent', session_id: input.session_id, message_id: accepted.messageId };
      respondJson(exchange, 200, response);
      return;
    }

    // Listen before enqueueing, so not one frame of the answer can be missed.
    let messageId: string | null = null;
    const early: Array<{ kind: FrameKind; frame: Buffer }> = [];
    let onFrame: ((kind: FrameKind, frame: Buffer) => void) | null = null;
    const stop = deps.relay.listen(input.session_id, (kind, frame) => {
      if (onFrame) onFrame(kind, frame);
      else early.push({ kind, frame: Buffer.from(frame) });
    });
    try {
      await deps.relay.ready(input.session_id);
      const accepted = await deps.intake.accept({
        sessionId: input.session_id,
        clientId: input.client_id ?? null,
        message: input.message,
        messageId: input.message_id,
        via: 'rest',
      });
      messageId = accepted.messageId;
      const ownTurn = Buffer.from(`"message_id":${JSON.stringify(messageId)}`);
      // A resend of a turn that already ended: its frames will not come again on the channel.
      const recorded = accepted.ended ? await recordedFrames(deps.turnLog, input.session_id, messageId, delivery) : null;
      await new Promise<void>((resolve) => {
        const streamer = delivery === 'sse' ? new SseStreamer(exchange, input.session_id, messageId!) : null;
        let waitFinished = false;
        const timer = setTimeout(() => {
          if (streamer) streamer.fail('timeout');
          else respondJson(exchange, 504, restErrorBody('timeout'));
          waitFinished = true;
          resolve();
        }, deps.waitTimeoutMs);
        const settle = () => {
          clearTimeout(timer);
          waitFinished = true;
          resolve();
        };
        onFrame = (kind, frame) => {
          // Other turns of the session share the channel; only this turn's frames count.
          if (waitFinished || frame.indexOf(ownTurn) === -1) return;
          if (streamer) {
            streamer.frame(kind, frame);
            if (endsTurn(kind)) {
              streamer.end();
              settle();
            }
            return;
          }
          if (kind === FrameKind.complete) {
            const complete = JSON.parse(frame.toString('utf8')) as CompleteFrame;
            const response: MessageAnsweredResponse = {
              status: 'completed',
              session_id: complete.session_id,
              message_id: complete.message_id,
              content: complete.content,
              metadata: complete.metadata,
            };
            respondJson(exchange, 200, response);
            settle();
          } else if (kind === FrameKind.error) {
            const error = JSON.parse(frame.toString('utf8')) as ErrorFrame;
            const code = (error.code in ERRORS ? error.code : 'internal_error') as ErrorCode;
            respondJson(exchange, ERRORS[code].status, restErrorBody(code, error.content));
            settle();
          }
        };
        if (streamer) streamer.start(messageId!);
        for (const { kind, frame } of recorded ?? early.splice(0)) onFrame(kind, frame);
        // A client that leaves stops the wait: its listener and timer are not kept for nothing.
        if (exchange.aborted) settle();
        else exchange.onAborted = settle;
      });
    } finally {
      stop();
    }
  };
}

/**
 * The frames of an ended turn as its log holds them: all of them for SSE when none was trimmed,
 * else the ending alone (all `?wait=1` needs). Throws `resume_unavailable` when the log expired.
 */
async function recordedFrames(turnLog: TurnLog, sessionId: string, messageId: string, delivery: Delivery): Promise<Array<{ kind: FrameKind; frame: Buffer }>> {
  const read = await turnLog.read(sessionId, messageId, -1);
  const frames: Array<{ kind: FrameKind; frame: Buffer }> = [];
  for (const { envelope } of read.frames) {
    const header = readEnvelopeHeader(envelope);
    if (header && header.kind !== FrameKind.sync && header.kind !== FrameKind.userMessage) frames.push({ kind: header.kind, frame: envelope.subarray(header.bodyOffset) });
  }
  const ending = frames.find((f) => endsTurn(f.kind));
  if (!ending) throw new ServiceError('resume_unavailable');
  return delivery === 'sse' && read.gapless ? frames : [ending];
}

/**
 * Writes a turn's frames as Server-Sent Events: `event: <type>` and `data: <frame JSON>`,
 * the JSON exactly as sockets receive it.
 */
class SseStreamer {
  constructor(
    private readonly exchange: HttpExchange,
    private readonly sessionId: string,
    private readonly messageId: string,
  ) {}

  start(messageId: string): void {
    const { res } = this.exchange;
    if (this.exchange.aborted) return;
    this.exchange.responded = true;
    this.exchange.status = 200;
    res.cork(() => {
      res
        .writeStatus(statusLine(200))
        .writeHeader('content-type', 'text/event-stream')
        .writeHeader('cache-control', 'no-cache')
        .writeHeader('x-accel-buffering', 'no')
        .writeHeader('x-message-id', messageId);
      for (const [name, value] of Object.entries(this.exchange.headers ?? {})) res.writeHeader(name, value);
      res.write(`: turn ${this.messageId} of session ${this.sessionId}\n\n`);
    });
  }

  frame(kind: FrameKind, frame: Buffer): void {
    if (this.exchange.aborted) return;
    const event = SSE_EVENT_NAMES[kind];
    this.exchange.res.cork(() => {
      this.exchange.res.write(`event: ${event}\ndata: `);
      this.exchange.res.write(frame);
      this.exchange.res.write('\n\n');
    });
  }

  fail(code: ErrorCode): void {
    if (this.exchange.aborted) return;
    const frame = { type: 'error', code, content: ERRORS[code].message, session_id: this.sessionId, message_id: this.messageId, timestamp: new Date().toISOString() };
    this.frame(FrameKind.error, Buffer.from(JSON.stringify(frame)));
    this.end();
  }

  end(): void {
    if (this.exchange.aborted) return;
    this.exchange.res.cork(() => this.exchange.res.end());
  }
}

export interface CancelRouteDeps {
  canceller: TurnCanceller;
  access: SessionAccess;
  maxBodyBytes: number;
}

/**
 * `POST /chat/cancel {session_id, message_id}`: stops a turn's generation wherever it runs.
 * 202 once the request is delivered; every socket of the session then sees the turn end with an
 * `error` frame `cancelled` (or its normal end, if it finished first). Nothing to cancel is said
 * as such: 404 `session_not_found`, 404 `not_found` (no message of that id in the session), 403
 * `forbidden` (the id is another session's message).
 */
export function cancelTurnHandler(deps: CancelRouteDeps) {
  return async (exchange: HttpExchange, request: RestRequest): Promise<void> => {
    const body = await readJsonBody(exchange, request.headers, deps.maxBodyBytes);
    const checked = validators.cancelTurn(body);
    if (!checked.ok) throw new ServiceError('validation_failed', 'The cancel request has invalid fields.', checked.fields);
    await deps.access.checkRest(request.headers.authorization, checked.value.session_id);
    await deps.canceller.cancel(checked.value.session_id, checked.value.message_id);
    respondJson(exchange, 202, { status: 'cancel_requested', session_id: checked.value.session_id, message_id: checked.value.message_id });
  };
}
