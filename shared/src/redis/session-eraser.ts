import type { RedisClient } from './connection.js';
import type { HistoryEntry } from '../protocol/schemas.js';
import type { RedisKeys, SessionKeySuffix } from './redis-keys.js';

/** What one erasure pass found and deleted. */
export interface ErasedSession {
  /** Whether the session record was there (false: unknown or expired). */
  existed: boolean;
  /** Every message id the session's keys named: their BullMQ jobs are the caller's to remove. */
  messageIds: string[];
  /** Socket tickets issued for the session: their keys live in their own slots (see RedisKeys). */
  tickets: string[];
  /** Number of keys deleted. */
  deletedKeys: number;
}

/** Session keys with a fixed name (see RedisKeys); `events` is a channel, not a key. */
const FIXED_SUFFIXES: readonly SessionKeySuffix[] = ['session', 'history', 'prompt', 'turns', 'parked', 'sockets', 'usage', 'messages', 'cached', 'tickets', 'turn-rate'];

/** Keys deleted per DEL command: bounded, so one erasure never blocks Redis for long. */
const DELETE_BATCH = 256;

/**
 * Deletes every key of one session, without KEYS or SCAN: all of them share the session's hash
 * tag (one slot), and each is either fixed (the record, history, turn order, sockets, recent
 * turns, tracking sets) or named by a message id or a cache hash that the session's own keys
 * list (the `messages` set, the turn order, the recent turns, the history entries; the `cached`
 * set). One read of those lists, then DELs of the whole known set: multi-key commands within
 * one slot are legal on a Redis Cluster.
 */
export class SessionEraser {
  constructor(
    private readonly redis: RedisClient,
    private readonly keys: RedisKeys,
  ) {}

  /**
   * One pass. A turn that was running may write a few keys after it (its state, a frame): the
   * caller stops the session's turns first and runs a last pass once they have stopped.
   */
  async erase(sessionId: string): Promise<ErasedSession> {
    const k = (suffix: SessionKeySuffix) => this.keys.session(sessionId, suffix);
    const recent = this.keys.recentTurns(sessionId);
    const results = await this.redis
      .multi()
      .exists(k('session'))
      .smembers(k('messages'))
      .lrange(k('turns'), 0, -1)
      .zrange(recent, 0, -1)
      .lrange(k('history'), 0, -1)
      .smembers(k('cached'))
      .smembers(k('tickets'))
      .exec();
    if (!results) throw new Error('session read was aborted');
    for (const [err] of results) if (err) throw err;
    const [existed, tracked, unanswered, recentTurns, history, cached, tickets] = results.map(([, reply]) => reply) as [
      number,
      string[],
      string[],
      string[],
      string[],
      string[],
      string[],
    ];
    const messageIds = new Set<string>([...tracked, ...unanswered, ...recentTurns]);
    for (const raw of history) {
      try {
        const entry = JSON.parse(raw) as Partial<HistoryEntry>;
        if (typeof entry.message_id === 'string') messageIds.add(entry.message_id);
      } catch {
        // A malformed entry names no turn; the history list itself goes below.
      }
    }
    const toDelete: string[] = [...FIXED_SUFFIXES.map(k), recent];
    for (const messageId of messageIds) {
      const log = this.keys.turnLog(sessionId, messageId);
      toDelete.push(log.state, log.log, log.text, this.keys.turnTools(sessionId, messageId), this.keys.turnDone(sessionId, messageId), this.keys.turnCancel(sessionId, messageId));
    }
    for (const hash of cached) {
      const entry = this.keys.cachedAnswer(hash, sessionId);
      toDelete.push(entry.answer, entry.lock);
    }
    let deletedKeys = 0;
    for (let at = 0; at < toDelete.length; at += DELETE_BATCH) deletedKeys += await this.redis.del(...toDelete.slice(at, at + DELETE_BATCH));
    return { existed: existed === 1, messageIds: [...messageIds], tickets, deletedKeys };
  }
}
