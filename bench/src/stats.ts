/** Percentiles of a sample, as the report shows them (ms, one decimal). */
export interface Percentiles {
  count: number;
  p50: number | null;
  p95: number | null;
  p99: number | null;
  max: number | null;
}

/** Nearest-rank percentiles of `values` (not modified). */
export function percentiles(values: readonly number[]): Percentiles {
  if (values.length === 0) return { count: 0, p50: null, p95: null, p99: null, max: null };
  const sorted = Float64Array.from(values).sort();
  const at = (q: number) => round1(sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!);
  return { count: sorted.length, p50: at(0.5), p95: at(0.95), p99: at(0.99), max: round1(sorted[sorted.length - 1]!) };
}

export function round1(value: number): number {
  return Math.round(value * 10) / 10;
}

export function round2(value: number): number {
  return Math.round(value * 100) / 100;
}

/** Success rate in %, two decimals; 100 when nothing was sent (nothing failed). */
export function successPercent(ok: number, sent: number): number {
  if (sent === 0) return 100;
  return Math.floor((ok / sent) * 10_000) / 100;
}
