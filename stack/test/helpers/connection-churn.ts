import { Worker } from 'node:worker_threads';

/** How one churn connection behaves. */
export type ChurnMode =
  /** Sends the upgrade request and resets the connection at once, usually mid-upgrade. */
  | 'abort-early'
  /** Waits for `101 Switching Protocols`, then resets the TCP connection (no close frame). */
  | 'abort-after-upgrade'
  /** Waits for 101, sends a close frame (1000) and waits for the server to close. */
  | 'clean-close'
  /** Waits for 101 and reads what the server says before it closes: an error frame and a close code. */
  | 'read-refusal';

export interface ChurnTarget {
  path: string;
  mode: ChurnMode;
}

export interface ChurnStats {
  durationMs: number;
  /** Connections started and finished (any outcome). */
  cycles: number;
  perSecond: number;
  /** HTTP status of the upgrade answer → count (101 when upgraded). */
  statuses: Record<string, number>;
  /** Close codes the server sent (read-refusal and clean-close) → count. */
  closeCodes: Record<string, number>;
  /** `code` of error frames read before the close → count. */
  errorCodes: Record<string, number>;
  /** Socket errors (ECONNRESET while aborting is expected) → count. */
  socketErrors: Record<string, number>;
  /** Connections that did not finish within 5 s. */
  stuck: number;
}

/**
 * Opens and drops WebSocket connections as fast as it can, from a worker thread so that the
 * churn does not compete with the gateway for this thread's event loop (the in-process
 * gateway runs here). Speaks just enough of RFC 6455 over raw TCP to upgrade, read an error
 * frame and a close frame, and send a masked close: far cheaper per connection than a full
 * client, so the box's two cores go to the gateway.
 */
export function runConnectionChurn(options: { port: number; targets: ChurnTarget[]; durationMs: number; concurrency: number }): Promise<ChurnStats> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(CHURN_WORKER_SOURCE, { eval: true, workerData: options });
    worker.once('message', (stats: ChurnStats) => resolve(stats));
    worker.once('error', reject);
    worker.once('exit', (code) => {
      if (code !== 0) reject(new Error(`churn worker exited with ${code}`));
    });
  });
}

const CHURN_WORKER_SOURCE = String.raw`
const { parentPort, workerData } = require('node:worker_threads');
const net = require('node:net');
const crypto = require('node:crypto');
const { port, targets, durationMs, concurrency } = workerData;
const stats = { durationMs: 0, cycles: 0, perSecond: 0, statuses: {}, closeCodes: {}, errorCodes: {}, socketErrors: {}, stuck: 0 };
const bump = (map, key) => { map[key] = (map[key] || 0) + 1; };

function maskedClose(code) {
  const mask = crypto.randomBytes(4);
  const payload = Buffer.from([code >> 8, code & 0xff]);
  for (let i = 0; i < payload.length; i++) payload[i] ^= mask[i % 4];
  return Buffer.concat([Buffer.from([0x88, 0x80 | payload.length]), mask, payload]);
}

/** Parses complete server frames (unmasked) from buf; returns [frames, rest]. */
function parseFrames(buf) {
  const frames = [];
  for (;;) {
    if (buf.length < 2) break;
    const opcode = buf[0] & 0x0f;
    let len = buf[1] & 0x7f;
    let offset = 2;
    if (len === 126) { if (buf.length < 4) break; len = buf.readUInt16BE(2); offset = 4; }
    else if (len === 127) { if (buf.length < 10) break; len = Number(buf.readBigUInt64BE(2)); offset = 10; }
    if (buf.length < offset + len) break;
    frames.push({ opcode, payload: buf.subarray(offset, offset + len) });
    buf = buf.subarray(offset + len);
  }
  return [frames, buf];
}

function once(target) {
  return new Promise((resolve) => {
    let finished = false;
    let upgraded = false;
    let head = Buffer.alloc(0);
    let rest = Buffer.alloc(0);
    const socket = net.connect(port, '127.0.0.1');
    const finish = () => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      stats.cycles++;
      resolve();
    };
    const timer = setTimeout(() => { stats.stuck++; socket.destroy(); finish(); }, 5000);
    socket.on('error', (err) => { bump(stats.socketErrors, err.code || err.message); });
    socket.on('close', finish);
    socket.on('connect', () => {
      const key = crypto.randomBytes(16).toString('base64');
      socket.write('GET ' + target.path + ' HTTP/1.1\r\nHost: 127.0.0.1:' + port + '\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ' + key + '\r\nSec-WebSocket-Version: 13\r\n\r\n');
      if (target.mode === 'abort-early') socket.resetAndDestroy();
    });
    socket.on('data', (data) => {
      if (!upgraded) {
        head = Buffer.concat([head, data]);
        const end = head.indexOf('\r\n\r\n');
        if (end === -1) return;
        const status = head.subarray(0, head.indexOf('\r\n')).toString().split(' ')[1];
        bump(stats.statuses, status);
        if (status !== '101') { socket.destroy(); return; }
        upgraded = true;
        data = head.subarray(end + 4);
        if (target.mode === 'abort-after-upgrade') { socket.resetAndDestroy(); return; }
        if (target.mode === 'clean-close') socket.write(maskedClose(1000));
      }
      let frames;
      [frames, rest] = parseFrames(Buffer.concat([rest, data]));
      for (const frame of frames) {
        if (frame.opcode === 1) {
          try { bump(stats.errorCodes, JSON.parse(frame.payload.toString()).code); } catch { bump(stats.errorCodes, 'unparseable'); }
        } else if (frame.opcode === 8) {
          bump(stats.closeCodes, frame.payload.length >= 2 ? frame.payload.readUInt16BE(0) : 'none');
          if (target.mode === 'read-refusal') socket.end(maskedClose(1000));
          else socket.end();
        }
      }
    });
  });
}

(async () => {
  const started = Date.now();
  const deadline = started + durationMs;
  let next = 0;
  const lanes = [];
  for (let lane = 0; lane < concurrency; lane++) {
    lanes.push((async () => {
      while (Date.now() < deadline) await once(targets[next++ % targets.length]);
    })());
  }
  await Promise.all(lanes);
  stats.durationMs = Date.now() - started;
  stats.perSecond = Math.round((stats.cycles * 1000) / stats.durationMs);
  parentPort.postMessage(stats);
})();
`;
