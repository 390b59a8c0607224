/**
 * Entry point of one load-client child process (forked by `ClientPool`). Never imported.
 * Holds its sockets, runs the plans the parent sends, and answers each with its figures.
 */
import type { LoadSocket } from './load-socket.js';
import { PlanClock } from './load-socket.js';
import { emptyChatResult, type ChildMessage, type ParentMessage } from './messages.js';
import { openSockets } from './session-opener.js';

const sockets: LoadSocket[] = [];
const idPrefix = `b${process.pid.toString(36)}`;

function reply(message: ChildMessage): void {
  process.send?.(message);
}

async function handle(message: ParentMessage): Promise<void> {
  switch (message.type) {
    case 'open': {
      const before = sockets.length;
      const result = await openSockets(message, idPrefix, sockets);
      // A refused socket opens, reads an error frame and is closed at once: give that a moment.
      await new Promise((resolve) => setTimeout(resolve, 300));
      const fresh = sockets.splice(before);
      for (const socket of fresh) {
        if (socket.closedCode === null) {
          sockets.push(socket);
          continue;
        }
        result.opened--;
        result.failed++;
        const reason = `socket: closed ${socket.closedCode}${socket.closeError ? ` (${socket.closeError})` : ''}`;
        result.failures[reason] = (result.failures[reason] ?? 0) + 1;
      }
      reply({ type: 'opened', result });
      return;
    }
    case 'chat': {
      const result = emptyChatResult();
      const clock = new PlanClock(message.plan);
      const chatting = sockets.slice(0, message.plan.chatting);
      await Promise.all(chatting.map((socket) => socket.chat(message.plan, clock, result)));
      reply({ type: 'chatted', result });
      return;
    }
    case 'close': {
      // Sockets the server closed before we asked: they should be none.
      const codes: Record<string, number> = {};
      let alreadyClosed = 0;
      for (const socket of sockets) {
        if (socket.closedCode === null) continue;
        alreadyClosed++;
        codes[String(socket.closedCode)] = (codes[String(socket.closedCode)] ?? 0) + 1;
      }
      for (const socket of sockets) socket.close();
      const deadline = Date.now() + 3000;
      while (sockets.some((s) => s.closedCode === null) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
      sockets.length = 0;
      reply({ type: 'closed', alreadyClosed, codes });
      return;
    }
  }
}

process.on('message', (message: ParentMessage) => {
  handle(message).catch((err: unknown) => reply({ type: 'failed', error: err instanceof Error ? err.stack ?? err.message : String(err) }));
});
process.on('disconnect', () => process.exit(0));
reply({ type: 'ready' });
