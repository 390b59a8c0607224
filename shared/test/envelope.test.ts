/** The channel envelope: a small header (kind, time, seq, message id), then the frame bytes, untouched. */
import t from 'tap';
import { FrameKind, NO_SEQ, encodeEnvelope, envelopeBody, envelopeMessageId, readEnvelopeHeader } from '../src/protocol/envelope.js';
import { ChunkFrameEncoder, isoNow } from '../src/protocol/frames.js';
import { validators } from '../src/protocol/validators.js';

t.test('round trip keeps kind, time, seq, message id and bytes', async (t) => {
  const json = JSON.stringify({ type: 'chunk', content: 'Kia ora — “quotes” and emoji 🛫' });
  const payload = encodeEnvelope(FrameKind.chunk, json, 1_700_000_000_123.5, 41, 'msg-abc');
  t.equal(payload.length, 14 + 'msg-abc'.length + Buffer.byteLength(json));
  t.same(readEnvelopeHeader(payload), { kind: FrameKind.chunk, publishedAtMs: 1_700_000_000_123.5, seq: 41, bodyOffset: 21 });
  t.equal(envelopeMessageId(payload), 'msg-abc');
  t.equal(envelopeBody(payload).toString('utf8'), json);
  const outside = encodeEnvelope(FrameKind.error, '{"type":"error"}');
  t.equal(readEnvelopeHeader(outside)?.seq, NO_SEQ, 'a frame outside a turn has no seq');
  t.equal(envelopeMessageId(outside), '');
  t.equal(envelopeBody(outside).toString(), '{"type":"error"}');
});

t.test('payloads that are not envelopes are recognised', async (t) => {
  t.equal(readEnvelopeHeader(Buffer.from('{"type":"chunk"}')), null, 'plain JSON');
  t.equal(readEnvelopeHeader(Buffer.alloc(5)), null, 'too short');
  const truncated = encodeEnvelope(FrameKind.chunk, '{}', 1, 0, 'm1').subarray(0, 16);
  t.equal(readEnvelopeHeader(truncated), null, 'cut inside the message id');
  const bad = encodeEnvelope(FrameKind.complete, '{}');
  bad[0] = 99;
  t.equal(readEnvelopeHeader(bad), null, 'unknown kind');
  const question = encodeEnvelope(FrameKind.userMessage, '{"type":"user_message"}', 5, NO_SEQ, 'm1');
  t.same(readEnvelopeHeader(question), { kind: FrameKind.userMessage, publishedAtMs: 5, seq: NO_SEQ, bodyOffset: 16 }, 'a user message: a message id, no seq');
  question[0] = FrameKind.userMessage + 1;
  t.equal(readEnvelopeHeader(question), null, 'the kind after the last is unknown');
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

t.test('isoNow: the ISO time of the given millisecond, whichever was asked before', async (t) => {
  const times = [1_700_000_000_000, 1_700_000_000_000, 1_700_000_000_001, 0, 1_700_000_000_000, 1_764_547_200_999];
  for (const ms of times) t.equal(isoNow(ms), new Date(ms).toISOString(), `at ${ms}`);
  const before = Date.now();
  const now = Date.parse(isoNow());
  t.ok(now >= before && now <= Date.now(), 'without an argument: now');
});
