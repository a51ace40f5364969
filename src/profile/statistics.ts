/**
 * Summary statistics of timing samples, one definition for every profiler.
 *
 * Percentiles use linear interpolation between closest ranks (numpy's default "linear" method,
 * Hyndman & Fan type 7): the p-th percentile of n sorted samples sits at rank h = (n − 1)·p/100,
 * between samples ⌊h⌋ and ⌈h⌉. The median is the 50th percentile, so an even count averages the
 * two middle samples. The standard deviation is the sample one (divides by n − 1; 0 for one sample).
 */
import { InvalidArgumentError } from "../errors.ts";

export interface Statistics {
  count: number;
  total: number;
  min: number;
  max: number;
  mean: number;
  median: number;
  p90: number;
  p99: number;
  stddev: number;
}

/** The same statistics with their unit in the field names, as the profilers report them. */
export interface StatisticsMs {
  count: number;
  totalMs: number;
  minMs: number;
  maxMs: number;
  meanMs: number;
  medianMs: number;
  p90Ms: number;
  p99Ms: number;
  stddevMs: number;
}

/** The p-th percentile (0–100) of samples already sorted ascending, by linear interpolation. */
export function percentileOfSorted(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) throw new InvalidArgumentError("a percentile needs at least one sample");
  if (!(p >= 0 && p <= 100)) throw new InvalidArgumentError(`percentile must be within 0..100, got ${p}`);
  const rank = ((sorted.length - 1) * p) / 100;
  const below = Math.floor(rank);
  const above = Math.ceil(rank);
  const low = sorted[below]!;
  return low + (sorted[above]! - low) * (rank - below);
}

/** The p-th percentile (0–100) of samples in any order. */
export function percentile(samples: readonly number[], p: number): number {
  return percentileOfSorted(sortedCopy(samples), p);
}

export function statistics(samples: readonly number[]): Statistics {
  if (samples.length === 0) throw new InvalidArgumentError("statistics need at least one sample");
  for (const value of samples) {
    if (!Number.isFinite(value)) throw new InvalidArgumentError(`statistics need finite samples, got ${value}`);
  }
  const sorted = sortedCopy(samples);
  const count = sorted.length;
  const total = sorted.reduce((sum, value) => sum + value, 0);
  const mean = total / count;
  const squares = sorted.reduce((sum, value) => sum + (value - mean) ** 2, 0);
  return {
    count,
    total,
    min: sorted[0]!,
    max: sorted[count - 1]!,
    mean,
    median: percentileOfSorted(sorted, 50),
    p90: percentileOfSorted(sorted, 90),
    p99: percentileOfSorted(sorted, 99),
    stddev: count > 1 ? Math.sqrt(squares / (count - 1)) : 0,
  };
}

/** Statistics of samples in some unit, in milliseconds: `msPerUnit` is 1e-6 for ns, 1 for ms. */
export function statisticsMs(samples: readonly number[], msPerUnit: number): StatisticsMs {
  const s = statistics(samples);
  return {
    count: s.count,
    totalMs: s.total * msPerUnit,
    minMs: s.min * msPerUnit,
    maxMs: s.max * msPerUnit,
    meanMs: s.mean * msPerUnit,
    medianMs: s.median * msPerUnit,
    p90Ms: s.p90 * msPerUnit,
    p99Ms: s.p99 * msPerUnit,
    stddevMs: s.stddev * msPerUnit,
  };
}

/** Milliseconds per nanosecond, for statisticsMs over the engine's ns durations. */
export const MS_PER_NS = 1e-6;

function sortedCopy(samples: readonly number[]): number[] {
  return [...samples].sort((a, b) => a - b);
}
