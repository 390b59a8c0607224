import {
  BrokenCircuitError,
  CircuitState,
  ConsecutiveBreaker,
  IsolatedCircuitError,
  TaskCancelledError,
  TimeoutStrategy,
  circuitBreaker,
  handleWhen,
  timeout,
  type CircuitBreakerPolicy,
  type TimeoutPolicy,
} from 'cockatiel';
import { SourceHttpError, SourceResponseError } from './http-json.js';

/**
 * Resilience for one context source: every call to a remote source gets a timeout, and a circuit
 * breaker stops calling a source that keeps failing (cockatiel 3); an in-process source only has
 * its throws caught (`inProcess`). A call never throws: it resolves to
 * `ok` with the value, or `degraded` with the reason, so that a failing source degrades the
 * answer and never fails the turn.
 *
 *   caller ──▶ breaker (open? → degraded "circuit_open" at once, no request)
 *                 └──▶ timeout (aborts the request's signal, → degraded "timeout")
 *                         └──▶ source call (HTTP status / bad body → degraded)
 *
 * The caller's own abort (the turn was cancelled) is reported as `aborted` and does not count
 * against the source.
 */

export type DegradedReason =
  /** The source did not answer within the timeout. */
  | 'timeout'
  /** The breaker is open after repeated failures: the source was not called. */
  | 'circuit_open'
  /** The source answered with an error status. */
  | 'unavailable'
  /** The source answered 2xx with a body that breaks the contract. */
  | 'bad_response'
  /** The caller aborted (the turn was cancelled). */
  | 'aborted'
  /** Anything else: network error, bug in the source. */
  | 'error';

export type Guarded<T> =
  | { status: 'ok'; value: T; ms: number }
  | { status: 'degraded'; reason: DegradedReason; detail: string; ms: number };

export type BreakerState = 'closed' | 'open' | 'half_open' | 'isolated';

export interface SourceGuardOptions {
  /** Name used in details and events (`policy`, `flight`). */
  name: string;
  /** Longest wait for one call, ms; default 1500. */
  timeoutMs?: number;
  /** Consecutive failures (timeouts included) that open the breaker; default 5. */
  breakerThreshold?: number;
  /** How long an open breaker waits before letting one trial call through, ms; default 10000. */
  halfOpenAfterMs?: number;
  /** Called when the breaker changes state (for logs and metrics); default none. */
  onBreakerStateChange?: (name: string, state: BreakerState) => void;
  /**
   * The source runs on this thread with no I/O (the bundled data): no timeout and no breaker.
   * A timer cannot stop code that holds the thread, and a breaker spares a remote that keeps
   * failing, which an in-process call is not; their machinery (a timer, an abort controller and
   * a promise race per call) was ~30 µs a call, two calls a turn. A throw is still `degraded`.
   * Default false.
   */
  inProcess?: boolean;
}

/** The caller's signal was aborted: not the source's fault, so the breaker ignores it. */
class CallerAbortedError extends Error {
  constructor() {
    super('aborted by the caller');
    this.name = 'CallerAbortedError';
  }
}

export class SourceGuard {
  readonly name: string;
  readonly timeoutMs: number;
  private readonly breaker: CircuitBreakerPolicy;
  private readonly timeout: TimeoutPolicy;
  private readonly inProcess: boolean;

  constructor(options: SourceGuardOptions) {
    this.name = options.name;
    this.timeoutMs = options.timeoutMs ?? 1500;
    this.breaker = circuitBreaker(
      handleWhen((err) => !(err instanceof CallerAbortedError)),
      {
        halfOpenAfter: options.halfOpenAfterMs ?? 10_000,
        breaker: new ConsecutiveBreaker(options.breakerThreshold ?? 5),
      },
    );
    // Aggressive: the call settles at the deadline even if the source ignores the signal.
    this.timeout = timeout(this.timeoutMs, TimeoutStrategy.Aggressive);
    this.inProcess = options.inProcess ?? false;
    const listener = options.onBreakerStateChange;
    if (listener) this.breaker.onStateChange((state) => listener(this.name, breakerState(state)));
  }

  get state(): BreakerState {
    return breakerState(this.breaker.state);
  }

  /** Runs `call` with the timeout's signal (which also follows `signal`); never throws. */
  async run<T>(call: (signal: AbortSignal) => Promise<T>, signal?: AbortSignal): Promise<Guarded<T>> {
    const started = performance.now();
    const ms = () => Math.round(performance.now() - started);
    if (signal?.aborted) return { status: 'degraded', reason: 'aborted', detail: `${this.name}: aborted before the call`, ms: ms() };
    if (this.inProcess) return this.runInProcess(call, signal, ms);
    try {
      const value = await this.breaker.execute(async () => {
        try {
          return await this.timeout.execute((context) => call(context.signal), signal);
        } catch (err) {
          if (signal?.aborted) throw new CallerAbortedError();
          throw err;
        }
      });
      return { status: 'ok', value, ms: ms() };
    } catch (err) {
      const [reason, detail] = classify(err, this.timeoutMs);
      return { status: 'degraded', reason, detail: `${this.name}: ${detail}`, ms: ms() };
    }
  }

  /** `run` for an in-process source (see `SourceGuardOptions.inProcess`): the call, its throw as `degraded`. */
  private async runInProcess<T>(call: (signal: AbortSignal) => Promise<T>, signal: AbortSignal | undefined, ms: () => number): Promise<Guarded<T>> {
    try {
      const value = await call(signal ?? NEVER_ABORTED);
      if (signal?.aborted) return { status: 'degraded', reason: 'aborted', detail: `${this.name}: aborted by the caller`, ms: ms() };
      return { status: 'ok', value, ms: ms() };
    } catch (err) {
      const [reason, detail] = signal?.aborted ? (['aborted', 'aborted by the caller'] as const) : classify(err, this.timeoutMs);
      return { status: 'degraded', reason, detail: `${this.name}: ${detail}`, ms: ms() };
    }
  }
}

/** The signal of a call nobody can abort. */
const NEVER_ABORTED = new AbortController().signal;

function classify(err: unknown, timeoutMs: number): [DegradedReason, string] {
  if (err instanceof CallerAbortedError) return ['aborted', err.message];
  if (err instanceof BrokenCircuitError || err instanceof IsolatedCircuitError) return ['circuit_open', 'circuit open after repeated failures'];
  if (err instanceof TaskCancelledError) return ['timeout', `no answer within ${timeoutMs} ms`];
  if (err instanceof SourceHttpError) return ['unavailable', err.message];
  if (err instanceof SourceResponseError) return ['bad_response', err.message];
  if (err instanceof Error) {
    const cause = err.cause instanceof Error ? `: ${err.cause.message}` : '';
    return ['error', `${err.message}${cause}`];
  }
  return ['error', String(err)];
}

function breakerState(state: CircuitState): BreakerState {
  switch (state) {
    case CircuitState.Open:
      return 'open';
    case CircuitState.HalfOpen:
      return 'half_open';
    case CircuitState.Isolated:
      return 'isolated';
    default:
      return 'closed';
  }
}
