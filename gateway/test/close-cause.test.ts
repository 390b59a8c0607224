/** Close causes: what uWS hands the close handler, mapped to the metric's closed set of labels. */
import t from 'tap';
import { CLOSE_CAUSES, closeCause } from '../src/ws/close-cause.js';

t.test('close frames are normal (1000, 1001, or no code) or coded; 1006 is read from uWS reason text', async (t) => {
  t.equal(closeCause(1000, ''), 'normal');
  t.equal(closeCause(1001, 'reconnect'), 'normal');
  t.equal(closeCause(1005, ''), 'normal', "a close frame without a code: a browser's plain close()");
  t.equal(closeCause(4404, 'session_not_found'), 'coded');
  t.equal(closeCause(1006, ''), 'connection_lost', 'no reason: the connection died under the gateway');
  // The texts the uWS 20.30 build passes (read off it in stack/test/socket-close-causes.test.ts).
  t.equal(closeCause(1006, 'WebSocket timed out from inactivity'), 'idle_timeout');
  t.equal(closeCause(1006, 'Received too big message'), 'frame_too_big');
  t.equal(closeCause(1006, 'Received invalid UTF-8'), 'invalid_utf8');
  t.equal(closeCause(1006, 'Received invalid close payload'), 'protocol_error', 'any other reason uWS names');
});

t.test('every cause is a label the metric documents', async (t) => {
  const seen = new Set([1000, 4000, 1006].flatMap((code) => ['', 'timed out from inactivity', 'too big message', 'invalid UTF-8', 'x'].map((r) => closeCause(code, r))));
  for (const cause of seen) t.ok(CLOSE_CAUSES.includes(cause), cause);
  t.equal(seen.size, CLOSE_CAUSES.length, 'and each label can occur');
});
