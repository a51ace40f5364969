/** What `tessera run` shows of a tensor: summary statistics and the first few elements. */
import type { Tensor } from "../tensor.ts";

export interface ValueSummary {
  min: number;
  max: number;
  mean: number;
  /** Population standard deviation. */
  std: number;
  /** NaN elements, left out of the other statistics. */
  nan: number;
  /** The first elements, in C order. */
  first: number[];
}

/** Elements read as numbers (bool as 0/1, int64 via Number), numeric tensors only. */
function numbers(t: Tensor): ArrayLike<number | bigint> {
  return t.toTypedArray() as ArrayLike<number | bigint>;
}

export function summariseValues(t: Tensor, firstCount = 8): ValueSummary {
  const data = numbers(t);
  let min = Infinity;
  let max = -Infinity;
  let sum = 0;
  let nan = 0;
  for (let i = 0; i < data.length; i++) {
    const value = Number(data[i]);
    if (Number.isNaN(value)) {
      nan++;
      continue;
    }
    if (value < min) min = value;
    if (value > max) max = value;
    sum += value;
  }
  const count = data.length - nan;
  const mean = count ? sum / count : NaN;
  let squares = 0;
  for (let i = 0; i < data.length; i++) {
    const value = Number(data[i]);
    if (!Number.isNaN(value)) squares += (value - mean) ** 2;
  }
  const first = Array.from({ length: Math.min(firstCount, data.length) }, (_, i) => Number(data[i]));
  return { min: count ? min : NaN, max: count ? max : NaN, mean, std: count ? Math.sqrt(squares / count) : NaN, nan, first };
}

/** A number in at most `digits` significant digits, without trailing noise. */
export function formatNumber(value: number, digits = 5): string {
  if (Number.isInteger(value) || !Number.isFinite(value)) return String(value);
  return String(Number(value.toPrecision(digits)));
}

/** "min … max … mean … std …" and the first elements, "…" when there are more. */
export function formatSummary(summary: ValueSummary, size: number): { stats: string; preview: string } {
  const stats = `min ${formatNumber(summary.min)}  max ${formatNumber(summary.max)}  mean ${formatNumber(summary.mean)}  std ${formatNumber(summary.std)}${summary.nan ? `  nan ${summary.nan}` : ""}`;
  const preview = `[${summary.first.map((v) => formatNumber(v)).join(", ")}${size > summary.first.length ? ", …" : ""}]`;
  return { stats, preview };
}
