import { fileURLToPath } from 'node:url';
import {
  emptyChatResult,
  mergeChatResult,
  mergeCounts,
  type ChatPlan,
  type ChatResult,
  type ChildMessage,
  type OpenResult,
  type ParentMessage,
} from './messages.js';
import { forkRequestChildren, type RequestChild } from './request-child.js';

/** The child's entry point beside this file: `.js` when built, `.ts` under tsx (tests). */
const CHILD_ENTRY = fileURLToPath(new URL(`./client-main${import.meta.url.endsWith('.ts') ? '.ts' : '.js'}`, import.meta.url));

export interface OpenSpec {
  httpUrl: string;
  wsUrl: string;
  /** Sockets to open across all children (one session each). */
  sockets: number;
  /** Source addresses, spread over the children's sockets round robin. */
  localAddresses: string[];
  /** Upgrades in flight per child. Default: 64. */
  concurrencyPerClient?: number;
  /** Default: 15 000 ms. */
  openTimeoutMs?: number;
}

/**
 * The benchmark's load: N child processes of plain `ws` sockets, so the client side uses more
 * than one core and each process stays under the 20 000 file-descriptor cap.
 */
export class ClientPool {
  private constructor(private readonly children: Array<RequestChild<ParentMessage, ChildMessage>>) {}

  static async start(count: number): Promise<ClientPool> {
    return new ClientPool(await forkRequestChildren<ParentMessage, ChildMessage>(CHILD_ENTRY, count, 'load client', 'advanced'));
  }

  get pids(): number[] {
    return this.children.map((child) => child.process.pid ?? 0);
  }

  get size(): number {
    return this.children.length;
  }

  /** Opens `spec.sockets` sockets, split evenly across the children. */
  async open(spec: OpenSpec): Promise<OpenResult> {
    const shares = split(spec.sockets, this.children.length);
    const started = performance.now();
    const replies = await Promise.all(
      this.children.map((child, i) =>
        child.request({
          type: 'open',
          httpUrl: spec.httpUrl,
          wsUrl: spec.wsUrl,
          count: shares[i]!,
          // Each child takes its own slice of the addresses first, so they do not all crowd one.
          localAddresses: rotate(spec.localAddresses, i),
          concurrency: spec.concurrencyPerClient ?? 64,
          openTimeoutMs: spec.openTimeoutMs ?? 15_000,
        }),
      ),
    );
    const merged: OpenResult = { opened: 0, failed: 0, failures: {}, ms: performance.now() - started };
    for (const reply of replies) {
      if (reply.type !== 'opened') throw new Error(`unexpected reply ${reply.type}`);
      merged.opened += reply.result.opened;
      merged.failed += reply.result.failed;
      mergeCounts(merged.failures, reply.result.failures);
    }
    return merged;
  }

  /** Runs `plan` in every child; `chatting` is the total, split like the sockets. */
  async chat(plan: ChatPlan): Promise<ChatResult> {
    const shares = split(plan.chatting, this.children.length);
    const replies = await Promise.all(this.children.map((child, i) => child.request({ type: 'chat', plan: { ...plan, chatting: shares[i]! } })));
    const merged = emptyChatResult();
    for (const reply of replies) {
      if (reply.type !== 'chatted') throw new Error(`unexpected reply ${reply.type}`);
      mergeChatResult(merged, reply.result);
    }
    return merged;
  }

  /**
   * Closes every socket (the children stay up for the next step). Returns how many the server
   * had closed before, by close code.
   */
  async closeSockets(): Promise<{ alreadyClosed: number; codes: Record<string, number> }> {
    const replies = await Promise.all(this.children.map((child) => child.request({ type: 'close' })));
    const merged = { alreadyClosed: 0, codes: {} as Record<string, number> };
    for (const reply of replies) {
      if (reply.type !== 'closed') throw new Error(`unexpected reply ${reply.type}`);
      merged.alreadyClosed += reply.alreadyClosed;
      mergeCounts(merged.codes, reply.codes);
    }
    return merged;
  }

  /** Ends the children. Safe to call twice. */
  async stop(): Promise<void> {
    await Promise.all(this.children.map((child) => child.stop()));
  }
}

/** `total` split into `parts` nearly equal whole shares. */
export function split(total: number, parts: number): number[] {
  const base = Math.floor(total / parts);
  return Array.from({ length: parts }, (_, i) => base + (i < total % parts ? 1 : 0));
}

function rotate<T>(items: T[], by: number): T[] {
  if (items.length === 0) return items;
  const k = by % items.length;
  return [...items.slice(k), ...items.slice(0, k)];
}
