/**
 * Re-evaluates `read` until `accept` passes or the timeout ends; returns the last value. For
 * state that settles just after the event a test waited for (counters updated after the
 * frame that ended a turn was sent).
 */
export async function eventually<T>(read: () => Promise<T> | T, accept: (value: T) => boolean, timeoutMs = 3000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let value = await read();
  while (!accept(value) && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 20));
    value = await read();
  }
  return value;
}
