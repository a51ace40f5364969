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

/**
 * Statistics of a stream of samples, in memory that does not grow with their number: `tessera
 * bench -niter 1000000000` kept every latency in an array and reached gigabytes.
 *
 * The first `exactLimit` samples (default 100,000) are kept, and while there are no more,
 * statistics() is exactly statistics() of them. Past that they are dropped, and percentiles come
 * from a histogram of log-spaced buckets (DDSketch's mapping; Masson et al., VLDB 2019): bucket i
 * holds (γ^(i−1), γ^i] with γ = (1 + α)/(1 − α) and stands for 2γ^i/(γ + 1), which is within a
 * relative α of every value in it. So each order statistic, and the interpolation between two (a
 * weighted mean of positive values), is within α = RELATIVE_ERROR of the exact one, for samples
 * from 1e-6 to 1e9 (in ms: 1 ns to 11 days; below or above, a sample counts as the minimum or the
 * maximum). Count, total, min, max and mean stay exact; the standard deviation comes from
 * Welford's running update. The histogram is a fixed ~140 KB whatever the count.
 */
export class StreamingStatistics {
  /** The most a percentile differs from the exact one, relatively, once samples are dropped. */
  static readonly RELATIVE_ERROR = 1e-3;
  static readonly #gamma = (1 + StreamingStatistics.RELATIVE_ERROR) / (1 - StreamingStatistics.RELATIVE_ERROR);
  static readonly #logGamma = Math.log(StreamingStatistics.#gamma);
  static readonly #lowest = 1e-6;
  static readonly #highest = 1e9;
  /** The index (of γ^i) of the first bucket, the one that holds `lowest`. */
  static readonly #firstIndex = StreamingStatistics.#bucketIndex(StreamingStatistics.#lowest);

  readonly #exactLimit: number;
  /** Every sample while there are at most exactLimit; null once there were more. */
  #samples: number[] | null = [];
  readonly #counts: Float64Array;
  #below = 0;
  #above = 0;
  #count = 0;
  #total = 0;
  #min = Infinity;
  #max = -Infinity;
  #runningMean = 0;
  #squares = 0;

  constructor(options: { exactLimit?: number } = {}) {
    this.#exactLimit = options.exactLimit ?? 100_000;
    const s = StreamingStatistics;
    this.#counts = new Float64Array(s.#bucketIndex(s.#highest) - s.#firstIndex + 1);
  }

  static #bucketIndex(value: number): number {
    return Math.ceil(Math.log(value) / StreamingStatistics.#logGamma);
  }

  get count(): number {
    return this.#count;
  }

  /** Whether statistics() is exact: no sample has been dropped yet. */
  get exact(): boolean {
    return this.#samples !== null;
  }

  add(value: number): void {
    if (!Number.isFinite(value)) throw new InvalidArgumentError(`statistics need finite samples, got ${value}`);
    if (this.#samples !== null) {
      if (this.#samples.length < this.#exactLimit) this.#samples.push(value);
      else this.#samples = null;
    }
    const s = StreamingStatistics;
    if (value < s.#lowest) this.#below++;
    else if (value > s.#highest) this.#above++;
    else this.#counts[s.#bucketIndex(value) - s.#firstIndex]!++;
    this.#count++;
    this.#total += value;
    this.#min = Math.min(this.#min, value);
    this.#max = Math.max(this.#max, value);
    const delta = value - this.#runningMean;
    this.#runningMean += delta / this.#count;
    this.#squares += delta * (value - this.#runningMean);
  }

  statistics(): Statistics {
    if (this.#samples !== null) return statistics(this.#samples);
    const count = this.#count;
    return {
      count,
      total: this.#total,
      min: this.#min,
      max: this.#max,
      mean: this.#total / count,
      median: this.#percentile(50),
      p90: this.#percentile(90),
      p99: this.#percentile(99),
      stddev: count > 1 ? Math.sqrt(this.#squares / (count - 1)) : 0,
    };
  }

  /** As percentileOfSorted, with each of the two ranks' samples estimated from the histogram. */
  #percentile(p: number): number {
    const rank = ((this.#count - 1) * p) / 100;
    const below = Math.floor(rank);
    const low = this.#orderStatistic(below);
    return low + (this.#orderStatistic(Math.ceil(rank)) - low) * (rank - below);
  }

  /** The k-th smallest sample (from 0), within RELATIVE_ERROR; the extremes are exact. */
  #orderStatistic(k: number): number {
    if (k <= 0) return this.#min;
    if (k >= this.#count - 1) return this.#max;
    let seen = this.#below;
    if (k < seen) return this.#min;
    const s = StreamingStatistics;
    for (let i = 0; i < this.#counts.length; i++) {
      seen += this.#counts[i]!;
      if (k < seen) {
        const representative = (2 * Math.exp((i + s.#firstIndex) * s.#logGamma)) / (s.#gamma + 1);
        return Math.min(this.#max, Math.max(this.#min, representative));
      }
    }
    return this.#max;
  }
}
