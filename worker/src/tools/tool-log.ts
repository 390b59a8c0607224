import { createHash } from 'node:crypto';
import type { RedisClient } from '@chat/shared';
import type { RedisKeys } from '@chat/shared';

/**
 * The turn's record of its tool calls: call (name and arguments) → result, in one hash per turn
 * beside the turn's frame log (same session slot), expiring with the resume window. A retried
 * or resumed attempt asks here before running a tool, so it neither repeats a call's effect nor
 * loses what the call returned, even when the model words the call again (the key is the name
 * and the canonical arguments, not the model's call id, which changes per attempt).
 */
export class ToolLog {
  constructor(
    private readonly redis: RedisClient,
    private readonly keys: RedisKeys,
    private readonly ttlSeconds: number,
  ) {}

  /** The recorded result of this call in this turn, or null. */
  async get(sessionId: string, messageId: string, name: string, args: string): Promise<string | null> {
    return this.redis.hget(this.keys.turnTools(sessionId, messageId), callKey(name, args));
  }

  /** Records a call's result (first writer wins: a second attempt keeps the first result). */
  async record(sessionId: string, messageId: string, name: string, args: string, result: string): Promise<void> {
    const key = this.keys.turnTools(sessionId, messageId);
    await this.redis.multi().hsetnx(key, callKey(name, args), result).expire(key, this.ttlSeconds).exec();
  }

  /** Every call recorded for the turn (call key → result), for logs and tests. */
  async all(sessionId: string, messageId: string): Promise<Record<string, string>> {
    return this.redis.hgetall(this.keys.turnTools(sessionId, messageId));
  }
}

/** `name:` + hash of the arguments with their keys sorted, so `{"a":1,"b":2}` and `{"b":2,"a":1}` meet. */
export function callKey(name: string, args: string): string {
  let canonical = args;
  try {
    const parsed: unknown = JSON.parse(args || '{}');
    if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) {
      canonical = JSON.stringify(Object.fromEntries(Object.entries(parsed as Record<string, unknown>).sort(([a], [b]) => a.localeCompare(b))));
    }
  } catch {
    // Not JSON: the text itself is the key.
  }
  return `${name.slice(0, 64)}:${createHash('sha256').update(canonical).digest('hex').slice(0, 32)}`;
}
