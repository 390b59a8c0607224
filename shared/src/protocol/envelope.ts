/**
 * What travels on a session's pub/sub channel: a 9-byte header, then the client frame's JSON
 * exactly as the client will receive it.
 *
 *   byte 0      frame kind (FrameKind)
 *   bytes 1-8   publish time, epoch ms, float64 little-endian
 *   bytes 9-    the frame, UTF-8 JSON, forwarded to sockets byte for byte
 *
 * The header lets a gateway route and measure a frame (delivery lag, end of turn) without
 * parsing JSON on the per-token path; the body is never re-encoded.
 */
export const FrameKind = {
  chunk: 1,
  complete: 2,
  error: 3,
} as const;
export type FrameKind = (typeof FrameKind)[keyof typeof FrameKind];

export const ENVELOPE_HEADER_BYTES = 9;

export function encodeEnvelope(kind: FrameKind, frameJson: string, publishedAtMs: number = Date.now()): Buffer {
  const bodyBytes = Buffer.byteLength(frameJson);
  const buf = Buffer.allocUnsafe(ENVELOPE_HEADER_BYTES + bodyBytes);
  buf[0] = kind;
  buf.writeDoubleLE(publishedAtMs, 1);
  buf.write(frameJson, ENVELOPE_HEADER_BYTES, bodyBytes, 'utf8');
  return buf;
}

export interface EnvelopeHeader {
  kind: FrameKind;
  publishedAtMs: number;
}

/** Reads the header; returns null for a payload that is not an envelope (too short, bad kind). */
export function readEnvelopeHeader(payload: Buffer): EnvelopeHeader | null {
  if (payload.length <= ENVELOPE_HEADER_BYTES) return null;
  const kind = payload[0];
  if (kind !== FrameKind.chunk && kind !== FrameKind.complete && kind !== FrameKind.error) return null;
  return { kind, publishedAtMs: payload.readDoubleLE(1) };
}

/** The frame bytes of an envelope, without copying. */
export function envelopeBody(payload: Buffer): Buffer {
  return payload.subarray(ENVELOPE_HEADER_BYTES);
}
