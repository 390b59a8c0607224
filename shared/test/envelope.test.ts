/** The channel envelope: a 9-byte header, then the frame bytes, untouched. */
import t from 'tap';
import { ENVELOPE_HEADER_BYTES, FrameKind, encodeEnvelope, envelopeBody, readEnvelopeHeader } from '../src/protocol/envelope.js';
import { ChunkFrameEncoder } from '../src/protocol/frames.js';
import { validators } from '../src/protocol/validators.js';

t.test('round trip keeps kind, time and bytes', async (t) => {
  const json = JSON.stringify({ type: 'chunk', content: 'Kia ora — “quotes” and emoji 🛫' });
  const payload = encodeEnvelope(FrameKind.chunk, json, 1_700_000_000_123.5);
  t.equal(payload.length, ENVELOPE_HEADER_BYTES + Buffer.byteLength(json));
  t.same(readEnvelopeHeader(payload), { kind: FrameKind.chunk, publishedAtMs: 1_700_000_000_123.5 });
  t.equal(envelopeBody(payload).toString('utf8'), json);
});

t.test('payloads that are not envelopes are recognised', async (t) => {
  t.equal(readEnvelopeHeader(Buffer.from('{"type":"chunk"}')), null, 'plain JSON');
  t.equal(readEnvelopeHeader(Buffer.alloc(5)), null, 'too short');
  const bad = encodeEnvelope(FrameKind.complete, '{}');
  bad[0] = 99;
  t.equal(readEnvelopeHeader(bad), null, 'unknown kind');
});

t.test('the chunk encoder writes valid frames with any content', async (t) => {
  const encoder = new ChunkFrameEncoder('sess-1', 'msg-1');
  for (const content of ['plain', 'quote " backslash \\ newline \n tab \t', '\u0000\u001f', '日本語 🚀', '']) {
    const json = encoder.encode(content, 7, Date.UTC(2026, 0, 2, 3, 4, 5, 6));
    const frame = JSON.parse(json);
    t.same(frame, { type: 'chunk', content, session_id: 'sess-1', message_id: 'msg-1', seq: 7, timestamp: '2026-01-02T03:04:05.006Z' });
    t.ok(validators.outFrame(frame).ok);
  }
});
