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
import { parseArgs } from "node:util";
import * as rt from "../src/index.ts";
import { agree, type Feed, loadOrt, median, ortInputs, ortOutputs, tesseraInputs, tesseraOutputs } from "./peer.ts";
import { oneNode, smallOps } from "./small_models.ts";

const { values: args } = parseArgs({
  options: {
    blocks: { type: "string", default: "30" },
    block: { type: "string", default: "200" },
  },
});
const modelDir = process.env.TESSERA_BENCH_MODELS ?? new URL("../.cache/bench-models/", import.meta.url).pathname;
const ort = loadOrt();

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

async function timeBlock(block: number, body: () => unknown): Promise<number> {
  const start = performance.now();
  for (let i = 0; i < block; i++) await body();
  return ((performance.now() - start) * 1000) / block;
}

async function bench(label: string, bytes: Uint8Array, feed: Feed): Promise<string> {
  const model = rt.loadModelSync(bytes, { threads: 1 });
  const session = await ort.InferenceSession.create(bytes, { intraOpNumThreads: 1, interOpNumThreads: 1 });
  const ours = tesseraInputs(feed);
  const theirs = ortInputs(ort, feed);
  // Agreement first: a fast wrong answer is not a result.
  const agreement = agree(tesseraOutputs(model.runSync<rt.Tensor>(ours)), ortOutputs(await session.run(theirs)));
  if (!agreement.ok) throw new Error(`${label}: outputs differ from onnxruntime (${agreement.reason}; largest difference ${agreement.maxAbs})`);
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
