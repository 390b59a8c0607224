/**
 * Finds the largest session count a service serves at or above the success threshold: doubling
 * from `min` until a step falls short (or `max` passes), then bisecting between the last count
 * that passed and the first that did not, until the bracket is narrower than the resolution.
 * It only proposes counts; the caller runs them and says whether each passed.
 */
export interface CapacitySearchOptions {
  /** First count tried. */
  min: number;
  /** Largest count tried. */
  max: number;
  /** Stop bisecting once hi − lo ≤ max(resolution, lo × resolutionShare). Default: 10 sessions. */
  resolution?: number;
  /** Default: 0.1 (10 % of the count that passed). */
  resolutionShare?: number;
}

export interface CapacityOutcome {
  /** Largest count that passed, or null when even `min` fell short. */
  largestPassing: number | null;
  /** Smallest count that fell short, or null when `max` passed. */
  smallestFailing: number | null;
  /** Why the search ended: bracket narrow enough, `max` passed, `min` failed, or the time cap. */
  endedBy: 'resolution' | 'max_passed' | 'min_failed' | 'time_cap';
}

export class CapacitySearch {
  private lo: number | null = null;
  private hi: number | null = null;
  private readonly tried = new Map<number, boolean>();

  constructor(private readonly options: CapacitySearchOptions) {
    if (!(options.min >= 1 && options.max >= options.min)) throw new RangeError(`need 1 ≤ min ≤ max (got ${options.min}..${options.max})`);
  }

  /** The next count to run, or null when the search is done. */
  next(): number | null {
    const { min, max } = this.options;
    if (this.lo === null && this.hi === null) return min;
    if (this.hi === null) return this.lo! >= max ? null : Math.min(max, this.lo! * 2);
    if (this.lo === null) return null; // min itself fell short
    const resolution = Math.max(this.options.resolution ?? 10, Math.round(this.lo * (this.options.resolutionShare ?? 0.1)));
    if (this.hi - this.lo <= resolution) return null;
    // A round midpoint (a multiple of 10 where the bracket allows) reads better in a table.
    const mid = Math.round((this.lo + this.hi) / 2);
    const rounded = Math.round(mid / 10) * 10;
    return rounded > this.lo && rounded < this.hi ? rounded : mid;
  }

  /** Records how a count fared. */
  record(count: number, passed: boolean): void {
    this.tried.set(count, passed);
    if (passed) this.lo = Math.max(this.lo ?? 0, count);
    else this.hi = Math.min(this.hi ?? Infinity, count);
  }

  /** The result so far; `stoppedEarly` when the caller ended it (the time cap). */
  outcome(stoppedEarly = false): CapacityOutcome {
    const endedBy: CapacityOutcome['endedBy'] = stoppedEarly
      ? 'time_cap'
      : this.hi === null
        ? 'max_passed'
        : this.lo === null
          ? 'min_failed'
          : 'resolution';
    return { largestPassing: this.lo, smallestFailing: this.hi, endedBy };
  }
}
