/** Summary statistics over repeated measurements. */

function requireValues(values: readonly number[]): void {
  if (values.length === 0) throw new RangeError("statistics: no values");
}

function sorted(values: readonly number[]): number[] {
  requireValues(values);
  return [...values].sort((a, b) => a - b);
}

/**
 * The `p`-th percentile (0..100) with linear interpolation between closest ranks, so the p50
 * of [1, 2, 3, 4] is 2.5, as most tools report it.
 */
export function percentile(values: readonly number[], p: number): number {
  if (!(p >= 0 && p <= 100)) throw new RangeError(`percentile: p must be in [0, 100], got ${p}`);
  const ordered = sorted(values);
  const rank = (p / 100) * (ordered.length - 1);
  const low = Math.floor(rank);
  const high = Math.ceil(rank);
  const lowValue = ordered[low] as number;
  return lowValue + ((ordered[high] as number) - lowValue) * (rank - low);
}

/** The median (p50). */
export function median(values: readonly number[]): number {
  return percentile(values, 50);
}

/** The arithmetic mean. */
export function mean(values: readonly number[]): number {
  requireValues(values);
  return values.reduce((sum, v) => sum + v, 0) / values.length;
}

/** The usual figures of a latency sample. */
export interface Summary {
  count: number;
  min: number;
  mean: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

/** Summarizes a non-empty sample. */
export function summarize(values: readonly number[]): Summary {
  const ordered = sorted(values);
  return {
    count: ordered.length,
    min: ordered[0] as number,
    mean: mean(ordered),
    p50: percentile(ordered, 50),
    p90: percentile(ordered, 90),
    p99: percentile(ordered, 99),
    max: ordered[ordered.length - 1] as number,
  };
}
