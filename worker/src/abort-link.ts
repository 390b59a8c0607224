/**
 * Aborts `target` with `source`'s reason when `source` aborts (at once if it already has), until
 * the returned unlink is called: a piece of a turn's work with a stop of its own (an idle
 * timeout, "not needed after all") that the turn's stop ends too.
 *
 * Linked by hand rather than with `AbortSignal.any`: Node 20's tracks its sources and dependants
 * through weak references that every garbage collection must process, and a turn made one per
 * answer (docs/performance.md, round 19).
 */
export function forwardAbort(source: AbortSignal, target: AbortController): () => void {
  const forward = (): void => target.abort(source.reason);
  if (source.aborted) {
    forward();
    return () => {};
  }
  source.addEventListener('abort', forward, { once: true });
  return () => source.removeEventListener('abort', forward);
}
