/**
 * What travels on a session's pub/sub channel and sits in a turn's log: a small binary header,
 * then the client frame's JSON exactly as the client will receive it.
 *
 *   byte 0        frame kind (FrameKind)
 *   bytes 1-8     publish time, epoch ms, float64 little-endian
 *   bytes 9-12    seq of the frame within its turn, uint32 little-endian (NO_SEQ outside a turn)
 *   byte 13       length n of the message id (0 outside a turn)
 *   bytes 14-     the message id (n bytes, ASCII), then the frame, UTF-8 JSON, forwarded to
 *                 sockets byte for byte
 *
 * The header lets a gateway route, order and measure a frame (delivery lag, end of turn, the
 * last seq relayed, which frames a resuming socket still needs) without parsing JSON on the
 * per-token path; the body is never re-encoded.
 */
export const FrameKind = {
  chunk: 1,
  complete: 2,
  error: 3,
  /** A new attempt took the turn over: clients drop the partial text they have for it. */
  reset: 4,
  /**
   * Never sent to clients: a marker a gateway publishes on a session channel and waits for, to
   * know that every frame published before it has reached its subscriber connection.
   */
  sync: 5,
  /**
   * A user message accepted into the session (`user_message`): published by the gateway that
   * accepted it, before the turn's job is queued, so every socket of the session sees the
   * question ahead of its answer. Carries the turn's message id but no seq: it is not one of
   * the answer's frames and never sits in the turn's log.
   */
  userMessage: 6,
} as const;
export type FrameKind = (typeof FrameKind)[keyof typeof FrameKind];

/** The seq of a frame that belongs to no turn. */
export const NO_SEQ = 0xffffffff;

const FIXED_HEADER_BYTES = 14;
const MAX_MESSAGE_ID_BYTES = 255;

export function encodeEnvelope(kind: FrameKind, frameJson: string, publishedAtMs: number = Date.now(), seq: number = NO_SEQ, messageId = ''): Buffer {
  const frameBytes = Buffer.byteLength(frameJson);
  const buf = Buffer.allocUnsafe(envelopeLength(messageId, frameBytes));
  writeEnvelope(buf, 0, kind, frameJson, frameBytes, publishedAtMs, seq, messageId);
  return buf;
}

/** Bytes of an envelope whose frame JSON is `frameBytes` long (UTF-8). */
export function envelopeLength(messageId: string, frameBytes: number): number {
  // ids are ASCII (validated id alphabet): one byte per character
  if (messageId.length > MAX_MESSAGE_ID_BYTES) throw new RangeError('message id too long for an envelope');
  return FIXED_HEADER_BYTES + messageId.length + frameBytes;
}

/**
 * Writes an envelope into `target` at `offset` (`envelopeLength` bytes; `frameBytes` is the
 * frame's UTF-8 length): for a caller that sends it inside a larger buffer without a copy.
 */
export function writeEnvelope(target: Buffer, offset: number, kind: FrameKind, frameJson: string, frameBytes: number, publishedAtMs: number, seq: number, messageId: string): void {
  const idBytes = messageId.length;
  if (idBytes > MAX_MESSAGE_ID_BYTES) throw new RangeError('message id too long for an envelope');
  target[offset] = kind;
  target.writeDoubleLE(publishedAtMs, offset + 1);
  target.writeUInt32LE(seq, offset + 9);
  target[offset + 13] = idBytes;
  if (idBytes > 0) target.write(messageId, offset + FIXED_HEADER_BYTES, idBytes, 'latin1');
  target.write(frameJson, offset + FIXED_HEADER_BYTES + idBytes, frameBytes, 'utf8');
}

export interface EnvelopeHeader {
  kind: FrameKind;
  publishedAtMs: number;
  /** Seq within the turn; NO_SEQ for a frame outside a turn. */
  seq: number;
  /** Where the frame's JSON starts. */
  bodyOffset: number;
}

/** Reads the header; returns null for a payload that is not an envelope (too short, bad kind). */
export function readEnvelopeHeader(payload: Buffer): EnvelopeHeader | null {
  if (payload.length <= FIXED_HEADER_BYTES) return null;
  const kind = payload[0];
  if (kind === undefined || kind < FrameKind.chunk || kind > FrameKind.userMessage) return null;
  const bodyOffset = FIXED_HEADER_BYTES + payload[13]!;
  if (payload.length <= bodyOffset) return null;
  return { kind: kind as FrameKind, publishedAtMs: payload.readDoubleLE(1), seq: payload.readUInt32LE(9), bodyOffset };
}

/** The message id of an envelope ('' outside a turn). Decoded only when a caller needs it. */
export function envelopeMessageId(payload: Buffer): string {
  return payload.toString('latin1', FIXED_HEADER_BYTES, FIXED_HEADER_BYTES + payload[13]!);
}

/**
 * The message id bytes of an envelope, copied: safe to keep after the envelope's buffer is
 * gone (ioredis may hand out views of a parser buffer it reuses for later replies).
 */
export function envelopeMessageIdBytes(payload: Buffer): Buffer {
  return Buffer.from(payload.subarray(FIXED_HEADER_BYTES, FIXED_HEADER_BYTES + payload[13]!));
}

/** Whether the envelope's message id is `messageId` (bytes from envelopeMessageIdBytes), compared in place. */
export function hasMessageId(payload: Buffer, messageId: Buffer): boolean {
  const length = payload[13]!;
  return length === messageId.length && payload.compare(messageId, 0, length, FIXED_HEADER_BYTES, FIXED_HEADER_BYTES + length) === 0;
}

/** The frame bytes of an envelope, without copying. */
export function envelopeBody(payload: Buffer, header: EnvelopeHeader | null = readEnvelopeHeader(payload)): Buffer {
  return payload.subarray(header ? header.bodyOffset : payload.length);
}

/** Whether the frame ends its turn. */
export function endsTurn(kind: FrameKind): boolean {
  return kind === FrameKind.complete || kind === FrameKind.error;
}
