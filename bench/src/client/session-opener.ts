import { Agent, request } from 'node:http';
import WebSocket from 'ws';
import { LoadSocket } from './load-socket.js';
import type { OpenCommand, OpenResult } from './messages.js';

/** Sockets opened by this process so far: message ids must never repeat (a repeated id is answered once). */
let socketSerial = 0;

const SESSION_BODY = JSON.stringify({ customer_name: 'Bench Traveller', customer_email: 'bench@example.com', flight_no: 'NZ123' });

/**
 * Opens a child's share of the benchmark's sockets: for each, a session over REST (keep-alive,
 * a few connections per source address) and one WebSocket to it, bound to a 127.0.0.x source
 * address so that tens of thousands of sockets do not exhaust one address pair's ephemeral ports.
 */
export async function openSockets(command: OpenCommand, idPrefix: string, into: LoadSocket[]): Promise<OpenResult> {
  const started = performance.now();
  const failures: Record<string, number> = {};
  const fail = (reason: string) => {
    failures[reason] = (failures[reason] ?? 0) + 1;
  };
  const agents = command.localAddresses.map((localAddress) => ({ localAddress, agent: new Agent({ keepAlive: true, maxSockets: 8 }) }));
  let next = 0;
  let opened = 0;
  const runOne = async (): Promise<void> => {
    for (;;) {
      const i = next++;
      if (i >= command.count) return;
      const { localAddress, agent } = agents[i % agents.length]!;
      let sessionId: string;
      try {
        sessionId = await createSession(command.httpUrl, agent, localAddress, command.openTimeoutMs);
      } catch (err) {
        fail(`session: ${err instanceof Error ? err.message : String(err)}`);
        continue;
      }
      try {
        const ws = await openSocket(`${command.wsUrl}/ws/${sessionId}/bench-${i}`, localAddress, command.openTimeoutMs);
        into.push(new LoadSocket(ws, sessionId, `${idPrefix}s${(socketSerial++).toString(36)}`));
        opened++;
      } catch (err) {
        fail(`socket: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(command.concurrency, command.count)) }, runOne));
  for (const { agent } of agents) agent.destroy();
  return { opened, failed: command.count - opened, failures, ms: performance.now() - started };
}

function createSession(httpUrl: string, agent: Agent, localAddress: string, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = request(
      `${httpUrl}/chat/session`,
      {
        method: 'POST',
        agent,
        localAddress,
        timeout: timeoutMs,
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(SESSION_BODY) },
      },
      (res) => {
        const parts: Buffer[] = [];
        res.on('data', (part: Buffer) => parts.push(part));
        res.on('end', () => {
          const text = Buffer.concat(parts).toString('utf8');
          if (res.statusCode !== 200) {
            let code = String(res.statusCode);
            try {
              code = `${res.statusCode} ${(JSON.parse(text) as { error?: { code?: string } }).error?.code ?? ''}`.trim();
            } catch {
              // keep the status alone
            }
            reject(new Error(code));
            return;
          }
          try {
            resolve((JSON.parse(text) as { session_id: string }).session_id);
          } catch {
            reject(new Error('unparsable session body'));
          }
        });
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', (err: NodeJS.ErrnoException) => reject(new Error(err.code ?? err.message)));
    req.end(SESSION_BODY);
  });
}

/** Resolves once the socket is open and the gateway did not refuse it (a refusal is an error frame then a close). */
function openSocket(url: string, localAddress: string, timeoutMs: number): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { localAddress, perMessageDeflate: false, handshakeTimeout: timeoutMs });
    const timer = setTimeout(() => {
      ws.terminate();
      reject(new Error('timeout'));
    }, timeoutMs);
    const settle = (err: Error | null) => {
      clearTimeout(timer);
      ws.off('message', onEarlyFrame);
      if (err) reject(err);
      else resolve(ws);
    };
    // A refused socket gets an error frame at once; an accepted one gets nothing until it chats.
    const onEarlyFrame = (data: WebSocket.RawData) => {
      try {
        const frame = JSON.parse(data.toString()) as { type?: string; code?: string };
        if (frame.type === 'error') settle(new Error(frame.code ?? 'refused'));
      } catch {
        // not ours to judge here
      }
    };
    ws.on('message', onEarlyFrame);
    ws.once('open', () => settle(null));
    ws.once('error', (err: NodeJS.ErrnoException) => settle(new Error(err.code ?? err.message)));
    ws.once('close', (code) => settle(new Error(`closed ${code}`)));
  });
}
