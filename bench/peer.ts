/**
 * What the benchmarks against onnxruntime-node (the peer) share: seeded inputs, given once as
 * plain arrays and made into each runtime's tensors, the check that two runtimes' outputs
 * agree, the interleaved timing of both, and the statistics the tables print.
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
/**
 * An onnxruntime session as its users run it: graph optimizations all on, and `threads`
 * intra-op threads, the same count Tessera gets (never fewer).
 */
export async function ortSession(ort: Ort, source: string | Uint8Array, threads: number): Promise<OrtTypes.InferenceSession> {
  const options = {
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    executionMode: "sequential",
    graphOptimizationLevel: "all",
  } as const;
  return typeof source === "string"
    ? await ort.InferenceSession.create(source, options)
    : await ort.InferenceSession.create(source, options);
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

export interface Timing {
  min: number;
  median: number;
}

export const timing = (samples: number[]): Timing => ({ min: Math.min(...samples), median: median(samples) });

export interface InterleaveOptions {
  /** Timed samples per side. */
  runs: number;
  /** Stop after this many ms once every side has 5 samples. */
  budgetMs: number;
  /** Samples per side before switching to the next. */
  block: number;
  /** Pause before each block, ms. */
  settleMs: number;
  /** Runs per sample (a sample is their mean). */
  inner: number;
}

/**
 * ms per run of each side, timed in alternating blocks in this process so that drift on a
 * shared machine hits every side alike. Each block starts with a pause and one untimed sample:
 * both runtimes' thread pools spin for a while after a run (ORT's for tens of ms), and a
 * spinning thread takes the core the other side's next run needs.
 */
export async function interleave(sides: (() => unknown)[], options: InterleaveOptions): Promise<number[][]> {
  const samples = sides.map(() => [] as number[]);
  const deadline = performance.now() + options.budgetMs;
  const block = Math.max(1, options.block);
  while (samples[0]!.length < options.runs) {
    if (samples[0]!.length >= 5 && performance.now() > deadline) break;
    for (const [i, run] of sides.entries()) {
      const times = samples[i]!;
      if (options.settleMs > 0) await new Promise((resolve) => setTimeout(resolve, options.settleMs));
      for (let k = 0; k <= block && times.length < options.runs; k++) {
        const start = performance.now();
        for (let r = 0; r < options.inner; r++) await run();
        if (k > 0) times.push((performance.now() - start) / options.inner);
      }
    }
  }
  return samples;
}
