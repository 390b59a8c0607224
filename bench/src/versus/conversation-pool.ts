import { fileURLToPath } from 'node:url';
import { split } from '../client/client-pool.js';
import {
  addCount,
  emptyTalkResult,
  mergeTalkResult,
  type ChildMessage,
  type OpenResult,
  type ParentMessage,
  type TalkCommand,
  type TalkResult,
} from './conversation-messages.js';
import { forkRequestChildren, type RequestChild } from '../client/request-child.js';

/** The child's entry point beside this file: `.js` when built, `.ts` under tsx (tests). */
const CHILD_ENTRY = fileURLToPath(new URL(`./conversation-client-main${import.meta.url.endsWith('.ts') ? '.ts' : '.js'}`, import.meta.url));


export interface OpenSessionsSpec {
  httpUrl: string;
  wsUrl: string;
  /** Sessions across all children. */
  sessions: number;
  /** Sessions being opened at once per child. Default: 50 (the original's load runner's wave). */
  concurrencyPerChild?: number;
  /** Default: 30 000 ms. */
  openTimeoutMs?: number;
}

/**
 * The one load client of the comparison, the same for both services: N sessions spread over a
 * few child processes (so the client is not one core's bottleneck), each session a REST create,
 * one socket and a conversation of a few turns in the original's client protocol.
 */
export class ConversationPool {
  private constructor(private readonly children: Array<RequestChild<ParentMessage, ChildMessage>>) {}

  static async start(count: number): Promise<ConversationPool> {
    return new ConversationPool(await forkRequestChildren<ParentMessage, ChildMessage>(CHILD_ENTRY, count, 'conversation client'));
  }

  get pids(): number[] {
    return this.children.map((child) => child.process.pid ?? 0);
  }

  async open(spec: OpenSessionsSpec): Promise<OpenResult> {
    const shares = split(spec.sessions, this.children.length);
    const replies = await Promise.all(
      this.children.map((child, i) =>
        child.request({
          type: 'open',
          httpUrl: spec.httpUrl,
          wsUrl: spec.wsUrl,
          count: shares[i]!,
          childIndex: i,
          concurrency: spec.concurrencyPerChild ?? 50,
          openTimeoutMs: spec.openTimeoutMs ?? 30_000,
        }),
      ),
    );
    const merged: OpenResult = { opened: 0, failures: {} };
    for (const reply of replies) {
      if (reply.type !== 'opened') throw new Error(`unexpected reply ${reply.type}`);
      merged.opened += reply.result.opened;
      for (const [key, count] of Object.entries(reply.result.failures)) addCount(merged.failures, key, count);
    }
    return merged;
  }

  /** Every open session talks; resolves when the last turn has ended. */
  async talk(command: Omit<TalkCommand, 'type'>): Promise<TalkResult> {
    const replies = await Promise.all(this.children.map((child) => child.request({ type: 'talk', ...command })));
    const merged = emptyTalkResult();
    for (const reply of replies) {
      if (reply.type !== 'talked') throw new Error(`unexpected reply ${reply.type}`);
      mergeTalkResult(merged, reply.result);
    }
    return merged;
  }

  /** Closes every socket (the children stay for the next step). */
  async closeSessions(): Promise<void> {
    await Promise.all(this.children.map((child) => child.request({ type: 'close' })));
  }

  /** Ends the children. Safe to call twice. */
  async stop(): Promise<void> {
    await Promise.all(this.children.map((child) => child.stop()));
  }
}
