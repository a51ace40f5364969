/**
 * Per-run overhead on models whose kernels cost almost nothing: one Add node, 100 small
 * elementwise nodes, and Silero VAD v5 (If branches, an LSTM cell, 512 samples per call), for
 * Tessera (runSync, and await model.run) against onnxruntime-node (await session.run) in this one
 * Bun process at one thread, timed in alternating blocks. Prints µs per run (median of blocks)
 * and the ratios to ORT.
 *
 * Usage: bun bench/overhead.ts [--blocks N] [--block N]
 * Silero VAD comes from its npm package (scripts/bench-overhead fetches it into
 * .cache/bench-models); it is skipped when absent.
 */
import { existsSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { parseArgs } from "node:util";
import * as rt from "../src/index.ts";
import { oneNode, smallOps } from "./small_models.ts";

const { values: args } = parseArgs({
  options: {
    blocks: { type: "string", default: "30" },
    block: { type: "string", default: "200" },
  },
});
const modelDir = process.env.TESSERA_BENCH_MODELS ?? new URL("../.cache/bench-models/", import.meta.url).pathname;
const peerPath = process.env.TESSERA_PEERS ?? new URL("../.cache/peers/node_modules/", import.meta.url).pathname;
const ort = createRequire(peerPath)("onnxruntime-node");

/** Inputs by name as plain arrays, made into each runtime's tensors. */
type Feed = Record<string, { dtype: "float32" | "int64"; shape: number[]; data: Float32Array | BigInt64Array }>;

function elementwiseFeed(shape: number[]): Feed {
  const data = new Float32Array(shape.reduce((a, b) => a * b, 1)).map((_, i) => Math.sin(i));
  return { x: { dtype: "float32", shape, data } };
}

function sileroFeed(): Feed {
  const audio = new Float32Array(512).map((_, i) => 0.3 * Math.sin(i / 5));
  return {
    input: { dtype: "float32", shape: [1, 512], data: audio },
    state: { dtype: "float32", shape: [2, 1, 128], data: new Float32Array(256) },
    sr: { dtype: "int64", shape: [], data: new BigInt64Array([16000n]) },
  };
}

function median(samples: number[]): number {
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

async function timeBlock(block: number, body: () => unknown): Promise<number> {
  const start = performance.now();
  for (let i = 0; i < block; i++) await body();
  return ((performance.now() - start) * 1000) / block;
}

async function bench(label: string, bytes: Uint8Array, feed: Feed): Promise<string> {
  const model = rt.loadModelSync(bytes, { threads: 1 });
  const session = await ort.InferenceSession.create(bytes, { intraOpNumThreads: 1, interOpNumThreads: 1 });
  const ours = Object.fromEntries(Object.entries(feed).map(([name, f]) => [name, rt.tensor(f.data, { shape: f.shape })]));
  const theirs = Object.fromEntries(Object.entries(feed).map(([name, f]) => [name, new ort.Tensor(f.dtype, f.data, f.shape)]));
  // Agreement first: a fast wrong answer is not a result.
  const expected = (await session.run(theirs))[session.outputNames[0]].data as Float32Array;
  const got = model.runSync<rt.Tensor>(ours)[model.outputNames[0]!]!.toTypedArray() as Float32Array;
  const worst = expected.reduce((m, v, i) => Math.max(m, Math.abs(v - got[i]!)), 0);
  if (!(worst <= 1e-4)) throw new Error(`${label}: outputs differ from onnxruntime by ${worst}`);
  const block = Number(args.block);
  const times = { sync: [] as number[], async: [] as number[], ort: [] as number[] };
  for (let b = 0; b < Number(args.blocks); b++) {
    times.sync.push(await timeBlock(block, () => model.runSync(ours)));
    times.async.push(await timeBlock(block, () => model.run(ours)));
    times.ort.push(await timeBlock(block, () => session.run(theirs)));
  }
  model.dispose();
  await session.release();
  const [sync, asyncRun, ortRun] = [median(times.sync), median(times.async), median(times.ort)];
  return [label.padEnd(22), sync.toFixed(1).padStart(9), asyncRun.toFixed(1).padStart(10), ortRun.toFixed(1).padStart(9),
    (sync / ortRun).toFixed(2).padStart(8), (asyncRun / ortRun).toFixed(2).padStart(9)].join(" ");
}

const rows = ["model                  runSync µs  run µs   ORT µs   sync/ORT  async/ORT"];
rows.push(await bench("one Add node", oneNode(), elementwiseFeed([1, 4])));
rows.push(await bench("100 elementwise nodes", smallOps(), elementwiseFeed([1, 256])));
const silero = `${modelDir}/silero_vad_v5.onnx`;
if (existsSync(silero)) rows.push(await bench("Silero VAD v5", readFileSync(silero), sileroFeed()));
else rows.push(`Silero VAD v5: skipped (${silero} is absent; scripts/bench-overhead fetches it)`);
console.log(`per-run overhead, 1 thread, median of ${args.blocks} blocks of ${args.block} runs (Bun ${Bun.version})`);
console.log(rows.join("\n"));
