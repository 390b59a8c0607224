/**
 * Entry point of one conversation-client child process (forked by `ConversationPool`). Never
 * imported. Opens its share of the sessions, has them talk when told, and answers each command
 * with its figures.
 */
import { openConversation, type Conversation } from './conversation.js';
import { addCount, emptyTalkResult, type ChildMessage, type OpenCommand, type OpenResult, type ParentMessage } from './conversation-messages.js';

const conversations: Conversation[] = [];

function reply(message: ChildMessage): void {
  process.send?.(message);
}

async function open(command: OpenCommand): Promise<OpenResult> {
  const result: OpenResult = { opened: 0, failures: {} };
  let next = 0;
  const lane = async () => {
    while (next < command.count) {
      const index = next++;
      // Users are numbered across children so names, emails and flights differ per session.
      const user = command.childIndex * 100_000 + index;
      const tag = `vs-${process.pid.toString(36)}-${index.toString(36)}`;
      try {
        conversations.push(await openConversation(command.httpUrl, command.wsUrl, user, tag, command.openTimeoutMs));
        result.opened++;
      } catch (err) {
        addCount(result.failures, err instanceof Error ? err.message : String(err));
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(command.concurrency, command.count) }, lane));
  return result;
}

async function handle(message: ParentMessage): Promise<void> {
  switch (message.type) {
    case 'open':
      reply({ type: 'opened', result: await open(message) });
      return;
    case 'talk': {
      const result = emptyTalkResult();
      await Promise.all(conversations.map((conversation) => conversation.talk(message, result)));
      reply({ type: 'talked', result });
      return;
    }
    case 'close': {
      const alreadyClosed = conversations.filter((c) => c.isClosed).length;
      for (const conversation of conversations) conversation.close();
      const deadline = Date.now() + 3000;
      while (conversations.some((c) => !c.isClosed) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
      conversations.length = 0;
      reply({ type: 'closed', alreadyClosed });
      return;
    }
  }
}

process.on('message', (message: ParentMessage) => {
  handle(message).catch((err: unknown) => reply({ type: 'failed', error: err instanceof Error ? (err.stack ?? err.message) : String(err) }));
});
process.on('disconnect', () => process.exit(0));
reply({ type: 'ready' });
