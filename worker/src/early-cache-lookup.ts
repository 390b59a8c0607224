import type { AcquireAnswerResult } from '@chat/shared';
import type { AssembledContext } from './context/index.js';
import type { EarlyContext } from './early-context.js';
import type { CacheKey, ResponseCache } from './response-cache.js';

/** A lookup made early that the turn takes over: its key (this object, for `set` and `release`) and its step. */
export interface TakenLookup {
  key: CacheKey;
  firstStep: Promise<AcquireAnswerResult>;
}

/** What an early lookup tells its turn's worker, for its metrics and log. */
export interface EarlyLookupHooks {
  /** A step was sent and nobody took it. */
  unused: () => void;
  /** The lock of an unused step could not be given back: it lapses after the cache's lock time, as a dead holder's does. */
  releaseFailed: (err: unknown) => void;
}

/** The key and the step of a lookup that was sent. */
interface SentLookup {
  key: CacheKey;
  step: Promise<AcquireAnswerResult>;
}

/**
 * The response cache's first step (`ResponseCache.step`: the stored answer, or the lock), sent as
 * soon as the turn's early context is gathered, while the head check may still be in flight,
 * instead of after the check, the prompt and the key: one Redis round trip less on the way to
 * the model's first token.
 *
 * It is a guess, checked. The key is made from the early context and the question alone; the
 * turn makes its key again from what it finally uses (the confirmed context, and a vault that
 * may have grown with the past turns' personal data) and `take`s the early step only when the
 * two keys are the same. Otherwise, and when the run does not answer at all (parked behind its
 * session's head turn, already ended, cancelled, failed), `drop` gives back the lock the step
 * took, so single flight never waits on a lock nobody computes under. A lock held by a run that is
 * about to drop it can make another turn asking the same question wait one poll of the cache
 * (`ResponseCache` `pollMs`), once.
 */
export class EarlyCacheLookup {
  private taken = false;
  private stopped = false;

  private constructor(
    private readonly cache: ResponseCache,
    private readonly sent: Promise<SentLookup | null>,
    private readonly hooks: EarlyLookupHooks,
  ) {}

  /**
   * Sends the step once `early` has gathered its context, for the key `keyFor` makes of it (null:
   * not cacheable, nothing sent). `owner` is the turn's message id, as for `ResponseCache.acquire`.
   */
  static start(
    early: EarlyContext,
    keyFor: (context: AssembledContext) => CacheKey | null,
    cache: ResponseCache,
    owner: string,
    hooks: EarlyLookupHooks,
  ): EarlyCacheLookup {
    let lookup: EarlyCacheLookup | undefined = undefined;
    const sent = early.unconfirmed().then((gathered): SentLookup | null => {
      if (!gathered || lookup?.stopped) return null;
      const key = keyFor(gathered.context);
      if (!key) return null;
      const step = cache.step(key, owner);
      // Whoever takes the step gets its failure; one nobody takes must not be an unhandled rejection.
      step.catch(() => {});
      return { key, step };
    })
      // A key that cannot be made early is made (and fails, if it must) on the turn's own path.
      .catch(() => null);
    lookup = new EarlyCacheLookup(cache, sent, hooks);
    return lookup;
  }

  /**
   * The early step, when it was sent for the same key as `key` (the turn then uses the returned
   * key object); null when it was not sent or was sent for another key (its lock, if it took
   * one, is given back).
   */
  async take(key: CacheKey): Promise<TakenLookup | null> {
    const sent = await this.sent;
    if (!sent || this.stopped) return null;
    if (sent.key.answer !== key.answer) {
      // Off the turn's path: the turn looks up its own key meanwhile.
      void this.drop();
      return null;
    }
    this.taken = true;
    return { key: sent.key, firstStep: sent.step };
  }

  /**
   * Gives back the lock of a step nobody took (its run did not answer, or used another key);
   * nothing after `take`. Never rejects (see `EarlyLookupHooks.releaseFailed`).
   */
  async drop(): Promise<void> {
    if (this.taken || this.stopped) return;
    this.stopped = true;
    const sent = await this.sent;
    if (!sent) return;
    this.hooks.unused();
    const found = await sent.step.catch(() => null);
    if (found?.kind !== 'locked') return;
    await this.cache.release(sent.key).catch(this.hooks.releaseFailed);
  }
}
