/**
 * Calls `call` for every item, whatever one of the calls throws; the first error is thrown once
 * all have run. For the places that serve many independent parties in one go (the frames of many
 * turns in one script reply, the hooks of one loop turn's write, the streams of one flush tick),
 * where one party's throwing listener must not leave the others undone.
 */
export function callEach<T>(items: Iterable<T>, call: (item: T, index: number) => void): void {
  let failure: { err: unknown } | null = null;
  let index = 0;
  for (const item of items) {
    try {
      call(item, index++);
    } catch (err) {
      failure ??= { err };
    }
  }
  if (failure) throw failure.err;
}
