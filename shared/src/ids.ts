import { randomUUID } from 'node:crypto';

/**
 * Session, client and message ids become parts of Redis keys, channel names and URL paths, so
 * they are restricted to a small alphabet: no braces (they would break Redis Cluster hash tags),
 * no colons (key separators), no slashes (URL paths).
 */
export const ID_PATTERN_SOURCE = '^[A-Za-z0-9_-]{1,64}$';
const ID_PATTERN = new RegExp(ID_PATTERN_SOURCE);
/** Message ids double as BullMQ job ids, which must not read as integers. */
export const MESSAGE_ID_PATTERN_SOURCE = '^(?![0-9]+$)[A-Za-z0-9_-]{1,64}$';

export function isValidId(value: unknown): value is string {
  return typeof value === 'string' && ID_PATTERN.test(value);
}

/** Throws when `value` is not a valid id; used where an invalid id is a programming error. */
export function assertValidId(value: string, what: string): string {
  if (!ID_PATTERN.test(value)) throw new TypeError(`invalid ${what}: ${JSON.stringify(value)}`);
  return value;
}

export function newSessionId(): string {
  return randomUUID();
}

export function newMessageId(): string {
  return randomUUID();
}
