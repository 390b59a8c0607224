import type { RedisClient } from '@chat/shared';
import type { RedisKeys } from '@chat/shared';

/**
 * `handoff_requested` events: a turn that ends with an offer of a person (the customer asked
 * for one, or a second turn in a row found nothing to answer from) is appended to one capped
 * Redis stream, `<prefix>:{h}:handoffs`, which an operator's desk or another service reads with
 * XREAD / XREADGROUP (one key: one slot on a cluster).
 *
 *   worker ── XADD {h}:handoffs * type handoff_requested session_id … message_id … reason … at … ──▶ consumers
 *
 * A retried turn may append its event twice: consumers key on `message_id`.
 */

export type HandoffReason = 'asked' | 'unanswered';

export interface HandoffEvent {
  session_id: string;
  message_id: string;
  reason: HandoffReason;
  /** ISO time the event was emitted. */
  at: string;
  /** The customer's message, scrubbed of personal data. */
  message: string;
}

/** Events kept in the stream, about; older ones are trimmed. */
export const HANDOFF_STREAM_MAX = 10_000;

export class HandoffEvents {
  constructor(
    private readonly redis: RedisClient,
    private readonly keys: RedisKeys,
  ) {}

  /** Appends one event; resolves with its stream id. */
  async emit(event: HandoffEvent): Promise<string> {
    const id = await this.redis.xadd(
      this.keys.handoffStream,
      'MAXLEN',
      '~',
      String(HANDOFF_STREAM_MAX),
      '*',
      'type',
      'handoff_requested',
      'session_id',
      event.session_id,
      'message_id',
      event.message_id,
      'reason',
      event.reason,
      'at',
      event.at,
      'message',
      event.message,
    );
    return id ?? '';
  }
}

/**
 * The system prompt's note for a handed-off turn: the model offers the contact options from the
 * passages. The bundled offline model reads it too (offline-llm/src/answer-composer.ts).
 */
export const HANDOFF_NOTE =
  'Hand-off: this conversation is being passed to a person. Say so plainly and offer the contact options from the passages, with their citations.';
