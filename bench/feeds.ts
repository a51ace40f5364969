/**
 * What the benchmarks against onnxruntime-node share: seeded inputs, given once as plain arrays
 * and made into each runtime's tensors, the check that two runtimes' outputs agree, and the
 * statistics the tables print.
 */
import { createRequire } from "node:module";
import type * as OrtTypes from "onnxruntime-common";
import * as rt from "../src/index.ts";

export type Ort = typeof OrtTypes;

/** onnxruntime-node, installed apart by scripts/install-peers (or at $TESSERA_PEERS). */
export function loadOrt(): Ort {
  const peers = process.env.TESSERA_PEERS ?? new URL("../.cache/peers/node_modules/", import.meta.url).pathname;
  return createRequire(peers)("onnxruntime-node");
}

/** One input as plain data; both runtimes' tensors are made from (and share) the same array. */
export interface FeedValue {
  dtype: "float32" | "int64";
  shape: number[];
  data: Float32Array | BigInt64Array;
}
/** A model's inputs by name. */
export type Feed = Record<string, FeedValue>;

/** mulberry32: a small seeded generator, so every run and both runtimes see the same input. */
export function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Standard normal samples (Box–Muller): like normalized images and embeddings. */
export function normal(size: number, seed: number, scale = 1): Float32Array {
  const next = random(seed);
  const data = new Float32Array(size);
  for (let i = 0; i < size; i++) {
    data[i] = scale * Math.sqrt(-2 * Math.log(1 - next())) * Math.cos(2 * Math.PI * next());
  }
  return data;
}

export const elementCount = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

export function tesseraInputs(feed: Feed): Record<string, rt.Tensor> {
  return Object.fromEntries(Object.entries(feed).map(([name, v]) => [name, rt.tensor(v.data, { shape: v.shape })]));
}

export function ortInputs(ort: Ort, feed: Feed): Record<string, OrtTypes.Tensor> {
  return Object.fromEntries(Object.entries(feed).map(([name, v]) => [name, new ort.Tensor(v.dtype, v.data, v.shape)]));
}

type Numbers = ArrayLike<number> | ArrayLike<bigint>;

/** A Tessera run's outputs as plain arrays by name; the tensors are disposed. */
export function tesseraOutputs(outputs: Record<string, rt.Tensor>): Record<string, Numbers> {
  return Object.fromEntries(Object.entries(outputs).map(([name, tensor]) => {
    const data = (tensor.toTypedArray() as Float32Array | BigInt64Array).slice();
    tensor.dispose();
    return [name, data];
  }));
}

/** onnxruntime's outputs as plain arrays by name. */
export function ortOutputs(outputs: Record<string, OrtTypes.Tensor>): Record<string, Numbers> {
  return Object.fromEntries(Object.entries(outputs).map(([name, tensor]) => [name, tensor.data as Numbers]));
}

/**
 * Outputs agree as numpy.allclose(actual, expected, rtol, atol) has it: every element within
 * atol + rtol * |expected|. Float rounding (summation order, fused multiply-add) differs between
 * runtimes; a larger difference is a wrong answer.
 */
export const tolerance = { rtol: 1e-3, atol: 1e-4 };

export interface Agreement {
  ok: boolean;
  /** The largest |actual - expected| over all outputs. */
  maxAbs: number;
  /** The largest |actual - expected| / (atol + rtol * |expected|): above 1 fails. */
  worstShare: number;
  /** What failed, in words, when !ok. */
  reason?: string;
}

/** Compares each expected output (by name) with the actual one of the same name. */
export function agree(actual: Record<string, Numbers>, expected: Record<string, Numbers>, limits = tolerance): Agreement {
  let maxAbs = 0;
  let worstShare = 0;
  for (const [name, want] of Object.entries(expected)) {
    const got = actual[name];
    if (!got) return { ok: false, maxAbs: Infinity, worstShare: Infinity, reason: `output ${name} is missing` };
    if (got.length !== want.length) {
      return { ok: false, maxAbs: Infinity, worstShare: Infinity, reason: `${name} has ${got.length} elements, not ${want.length}` };
    }
    for (let i = 0; i < want.length; i++) {
      const e = Number(want[i]);
      const diff = Math.abs(Number(got[i]) - e);
      const share = diff / (limits.atol + limits.rtol * Math.abs(e));
      // NaN compares false and so fails.
      if (!(diff <= maxAbs)) maxAbs = diff;
      if (!(share <= worstShare)) worstShare = share;
    }
  }
  const ok = worstShare <= 1;
  return ok ? { ok, maxAbs, worstShare } : { ok, maxAbs, worstShare, reason: `outside rtol ${limits.rtol} atol ${limits.atol}` };
}

/** A tolerance of `share` of the largest magnitude among the expected outputs (rtol 0). */
export function magnitudeTolerance(expected: Record<string, Numbers>, share: number): { rtol: number; atol: number } {
  let largest = 0;
  for (const values of Object.values(expected)) for (let i = 0; i < values.length; i++) largest = Math.max(largest, Math.abs(Number(values[i])));
  return { rtol: 0, atol: share * largest };
}

export function median(samples: readonly number[]): number {
  const sorted = [...samples].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

export function geometricMean(values: readonly number[]): number {
  return Math.exp(values.reduce((sum, v) => sum + Math.log(v), 0) / values.length);
}
