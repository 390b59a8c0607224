import { createHash } from 'node:crypto';
import { acquireCachedAnswer, storeCachedAnswer, type CompleteMetadata, type RedisClient, type RedisKeys } from '@chat/shared';

/** What the cache keeps of a finished answer: enough to replay it as a fresh one. */
export interface CachedAnswer {
  content: string;
  metadata: Pick<CompleteMetadata, 'model' | 'prompt_tokens' | 'completion_tokens' | 'query_type' | 'sources' | 'context_status'>;
}

/** Everything an answer depends on; any change gives another key. */
export interface CacheKeyParts {
  /** The question after PII scrubbing and normalisation. */
  question: string;
  model: string;
  promptVersion: string;
  /** Versions (content hashes) of the data the answer used: policy corpus, flight record. */
  dataVersions: Record<string, string>;
  /** null: shareable by every session; otherwise the only session that may reuse it. */
  sessionId: string | null;
}

export interface CacheKey {
  answer: string;
  lock: string;
  /**
   * For an answer kept for one session: the session's set of its cache hashes, and this one's,
   * so that erasing the session finds the entry (DELETE /chat/session/:id).
   */
  tracking?: { set: string; hash: string };
}

/** Lower case, whitespace collapsed, trailing punctuation dropped: "How much baggage?? " = "how much baggage". */
export function normaliseQuestion(question: string): string {
  return question.toLowerCase().replace(/\s+/g, ' ').replace(/[\s?!.…]+$/u, '').trim();
}

/**
 * The response cache in Redis, with single flight: of several identical questions arriving at
 * once, one computes (holding a short lock) and the others wait for its answer, so a burst of
 * the same question costs one LLM call.
 */
export class ResponseCache {
  /** Keys whose lock `set` already deleted (their holder's `release` has nothing left to do). */
  private readonly released = new WeakSet<CacheKey>();

  constructor(
    private readonly redis: RedisClient,
    private readonly keys: RedisKeys,
    private readonly ttlSeconds: number,
    /** How long a computing turn holds the lock, and how long others wait for it, ms. */
    private readonly lockMs = 60_000,
    private readonly pollMs = 50,
  ) {}

  key(parts: CacheKeyParts): CacheKey {
    const versions = Object.entries(parts.dataVersions)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([name, version]) => `${name}=${version}`)
      .join(',');
    const hash = createHash('sha256').update(`${parts.model}\n${parts.promptVersion}\n${versions}\n${parts.question}`).digest('hex').slice(0, 40);
    const key: CacheKey = this.keys.cachedAnswer(hash, parts.sessionId);
    if (parts.sessionId !== null) key.tracking = { set: this.keys.session(parts.sessionId, 'cached'), hash };
    return key;
  }

  async get(key: CacheKey): Promise<CachedAnswer | null> {
    const raw = await this.redis.get(key.answer);
    return raw === null ? null : (JSON.parse(raw) as CachedAnswer);
  }

  /**
   * Stores the answer. Only the lock's holder stores, and it releases right after: the lock goes
   * in the same call (one script: `storeCachedAnswer`), and the `release` that follows costs
   * nothing.
   */
  async set(key: CacheKey, answer: CachedAnswer): Promise<void> {
    await storeCachedAnswer(this.redis, key.answer, key.lock, JSON.stringify(answer), this.ttlSeconds, key.tracking);
    this.released.add(key);
  }

  /**
   * Takes the right to compute this answer, or the answer itself. Resolves the cached answer
   * when one is stored (now, or once the caller holding the lock has stored it), else
   * `'compute'` for the one caller that got the lock (it must call `release` when done, cached
   * or not), or `'compute'` anyway when the holder gave up without one.
   * `owner` names the turn (its message id): a retry of the same turn takes over the lock its
   * dead or replaced earlier attempt left, instead of waiting for it to expire.
   */
  async acquire(key: CacheKey, signal?: AbortSignal, owner = '1', onWait?: () => void): Promise<'compute' | CachedAnswer> {
    const deadline = Date.now() + this.lockMs;
    let waited = false;
    for (;;) {
      // One round trip, one script: the answer if one is stored (no lock taken then), else the
      // lock if it is free, else who holds it (the keys share a hash tag: fine on a Cluster).
      // A caller that has no answer yet needs no separate `get` first.
      const found = await acquireCachedAnswer(this.redis, key.answer, key.lock, owner, this.lockMs);
      if (found.kind === 'cached') return JSON.parse(found.answer) as CachedAnswer;
      if (found.kind === 'locked') return 'compute';
      // The lock is this turn's own, taken by an earlier attempt that died or was replaced:
      // waiting for it would wait for a dead worker.
      if (found.holder === owner && owner !== '1') return 'compute';
      if (signal?.aborted || Date.now() > deadline) return 'compute';
      // Another turn computes this answer: this one joins it (single flight), told once.
      if (!waited) {
        waited = true;
        onWait?.();
      }
      await new Promise((resolve) => setTimeout(resolve, this.pollMs));
    }
  }

  async release(key: CacheKey): Promise<void> {
    if (this.released.delete(key)) return; // `set` already dropped the lock
    await this.redis.del(key.lock);
  }
}
