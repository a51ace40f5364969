/**
 * The main demo: a real model, end to end. scripts/make_demo_model.py trains a small CNN on
 * scikit-learn's 8x8 handwritten digits and exports it to ONNX with its held-out test set and
 * numpy's results; this loads it with Tessera, describes it, classifies the held-out set, checks
 * Tessera against numpy, and times single images and whole batches, synchronously and async.
 *
 * Run it with scripts/demo (which installs, builds and generates the model first), or:
 *   bun examples/demo.ts [data folder, default .cache/demo] [--runs N]
 * test/demo.test.ts imports loadDemoData and classify, so the test checks this very code path.
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { formatInfo } from "../src/cli/info.ts";
import { table } from "../src/cli/table.ts";
import * as rt from "../src/index.ts";

export const defaultDataDir = new URL("../.cache/demo", import.meta.url).pathname;
export const imageShape = [1, 8, 8] as const;
export const classCount = 10;

/** What make_demo_model.py measured at export (expected.json; snake_case as Python wrote it). */
export interface ExportSummary {
  accuracy: number;
  correct: number;
  train_count: number;
  test_count: number;
  train_seconds: number;
  epochs: number;
  onnxruntime_max_abs_diff: number;
  samples: { index: number; label: number; logits: number[] }[];
}

export interface DemoData {
  /** The held-out images, float32 [count, 1, 8, 8], pixels in [0, 1]. */
  images: Float32Array;
  labels: BigInt64Array;
  count: number;
  /** numpy's logits for every image, [count, 10]: the reference Tessera must match. */
  expectedLogits: Float32Array;
  expected: ExportSummary;
}

export interface Classification {
  logits: Float32Array;
  probabilities: Float32Array;
  predictions: number[];
  correct: number;
  accuracy: number;
  /** The largest |Tessera logit - numpy logit| over the whole set. */
  maxLogitDiff: number;
}

/** An ONNX TensorProto file's elements, copied out of the tensor that decoded them. */
function readTensorProto(path: string): rt.TypedArray {
  using t = rt.tensorFromOnnx(new Uint8Array(readFileSync(path)));
  return t.toTypedArray();
}

export function loadDemoData(dir = defaultDataDir): DemoData {
  const images = readTensorProto(join(dir, "test_images.pb")) as Float32Array;
  const labels = readTensorProto(join(dir, "test_labels.pb")) as BigInt64Array;
  const expectedLogits = readTensorProto(join(dir, "expected_logits.pb")) as Float32Array;
  const expected = JSON.parse(readFileSync(join(dir, "expected.json"), "utf8")) as ExportSummary;
  const count = labels.length;
  if (images.length !== count * 64 || expectedLogits.length !== count * classCount) {
    throw new Error(`${dir}: the test images, labels and logits disagree in count; regenerate it`);
  }
  return { images, labels, count, expectedLogits, expected };
}

function argmax(values: ArrayLike<number>, start: number, length: number): number {
  let best = 0;
  for (let i = 1; i < length; i++) if (values[start + i]! > values[start + best]!) best = i;
  return best;
}

/** Runs the whole held-out set as one batch and scores it against the labels and numpy. */
export function classify(model: rt.Model, data: DemoData): Classification {
  using images = rt.tensor(data.images, { shape: [data.count, ...imageShape], copy: false });
  const outputs = model.runSync<rt.Tensor>({ image: images });
  using logitsTensor = outputs.logits!;
  using probabilitiesTensor = outputs.probabilities!;
  const logits = logitsTensor.toTypedArray() as Float32Array;
  const probabilities = probabilitiesTensor.toTypedArray() as Float32Array;
  const predictions = Array.from({ length: data.count }, (_, i) =>
    argmax(logits, i * classCount, classCount));
  const correct = predictions.filter((p, i) => BigInt(p) === data.labels[i]).length;
  let maxLogitDiff = 0;
  logits.forEach((v, i) => (maxLogitDiff = Math.max(maxLogitDiff, Math.abs(v - data.expectedLogits[i]!))));
  return { logits, probabilities, predictions, correct, accuracy: correct / data.count, maxLogitDiff };
}

/** An 8x8 digit as text, two characters per pixel so that it looks square in a terminal. */
function renderDigit(images: Float32Array, index: number): string[] {
  const ramp = " .:-=+*#%@";
  return Array.from({ length: 8 }, (_, y) => Array.from({ length: 8 }, (_, x) => {
    const ch = ramp[Math.round(images[index * 64 + y * 8 + x]! * (ramp.length - 1))]!;
    return ch + ch;
  }).join(""));
}

/** A few digits side by side, each with its label, Tessera's answer and confidence below. */
function showPredictions(data: DemoData, result: Classification, indices: number[]): string {
  const width = 16;
  const gap = "   ";
  const pictures = indices.map((i) => renderDigit(data.images, i));
  const rows = Array.from({ length: 8 }, (_, y) => pictures.map((p) => p[y]!).join(gap));
  const captions = [
    indices.map((i) => `#${i}`.padEnd(width)).join(gap),
    indices.map((i) => `label ${data.labels[i]}`.padEnd(width)).join(gap),
    indices.map((i) => {
      const p = result.predictions[i]!;
      const confidence = result.probabilities[i * classCount + p]! * 100;
      const mark = BigInt(p) === data.labels[i] ? "" : " ✗";
      return `Tessera ${p} ${confidence.toFixed(0)}%${mark}`.padEnd(width);
    }).join(gap),
  ];
  const border = "+" + "-".repeat(rows[0]!.length + 2) + "+";
  const framed = rows.map((r) => `| ${r} |`);
  return [border, ...framed, border, ...captions.map((c) => "  " + c.trimEnd())].join("\n");
}

interface Timing {
  medianMs: number;
  minMs: number;
}

/** Median and minimum wall time of `runs` calls, after a few untimed warm-up calls. */
async function time(runs: number, once: () => unknown): Promise<Timing> {
  for (let i = 0; i < 3; i++) await once();
  const samples: number[] = [];
  for (let i = 0; i < runs; i++) {
    const start = performance.now();
    await once();
    samples.push(performance.now() - start);
  }
  samples.sort((a, b) => a - b);
  return { medianMs: samples[Math.floor(runs / 2)]!, minMs: samples[0]! };
}

/** Single images and the whole set as one batch, through runSync and the async run. */
async function latency(model: rt.Model, data: DemoData, runs: number): Promise<string> {
  using one = rt.tensor(data.images.subarray(0, 64), { shape: [1, ...imageShape], copy: false });
  using all = rt.tensor(data.images, { shape: [data.count, ...imageShape], copy: false });
  const dispose = (outputs: rt.Outputs) => Object.values(outputs).forEach(rt.disposeValue);
  const batchRuns = Math.max(3, Math.ceil(runs / 10));
  const sync = (image: rt.Tensor) => () => dispose(model.runSync({ image }));
  const async = (image: rt.Tensor) => async () => dispose(await model.run({ image }));
  const cases: [string, number, number, () => unknown][] = [
    ["runSync, 1 image", 1, runs, sync(one)],
    ["run (async), 1 image", 1, runs, async(one)],
    [`runSync, batch of ${data.count}`, data.count, batchRuns, sync(all)],
    [`run (async), batch of ${data.count}`, data.count, batchRuns, async(all)],
  ];
  const rows: string[][] = [];
  for (const [name, images, n, once] of cases) {
    const t = await time(n, once);
    const perSecond = Math.round((images * 1000) / t.medianMs).toLocaleString("en-US");
    rows.push([name, String(n), `${t.medianMs.toFixed(3)} ms`, `${t.minMs.toFixed(3)} ms`, perSecond]);
  }
  return table(["latency", "runs", "median", "min", "images/s (median)"], rows);
}

function describeHost(): string {
  const build = rt.buildInfo();
  const cpu = rt.devices().find((d) => d.cpu)?.cpu;
  const cores = cpu ? `, ${cpu.cores} cores, SIMD ${cpu.features.join(" ") || "(none)"}` : "";
  const library = `ABI ${build.abiVersion}, ${build.optimize}, ${build.target}`;
  return `Tessera ${rt.version} (${library}) on ${build.runtime}${cores}`;
}

async function main(): Promise<number> {
  const { values, positionals } = parseArgs({
    args: process.argv.slice(2),
    allowPositionals: true,
    options: { runs: { type: "string", default: "200" } },
  });
  const dir = positionals[0] ?? defaultDataDir;
  const runs = Number(values.runs);
  if (!Number.isInteger(runs) || runs < 1) {
    console.error(`--runs must be a whole number of runs, 1 or more, not '${values.runs}'`);
    return 2;
  }
  if (!existsSync(join(dir, "model.onnx"))) {
    console.error(`no demo model in ${dir}: scripts/demo makes it (scripts/make_demo_model.py ${dir})`);
    return 1;
  }
  console.log(describeHost());
  const loadStart = performance.now();
  using model = await rt.loadModel(join(dir, "model.onnx"));
  const loadMs = performance.now() - loadStart;
  const threads = model.getOption("threads");
  const threadText = threads === "0" ? "a kernel thread per core" : `${threads} kernel threads`;
  console.log(`\nloaded ${join(dir, "model.onnx")} in ${loadMs.toFixed(1)} ms, ${threadText}\n`);
  console.log(formatInfo(model));

  const data = loadDemoData(dir);
  const result = classify(model, data);
  const e = data.expected;
  const misses = result.predictions.flatMap((p, i) => (BigInt(p) === data.labels[i] ? [] : [i]));
  console.log(`\nheld-out digits (${data.count} images, none seen in training), as one batch:`);
  console.log(showPredictions(data, result, [0, 1, 2, 3, ...misses.slice(0, 1)]));
  console.log(`\naccuracy   ${result.correct}/${data.count} = ${(result.accuracy * 100).toFixed(2)}%`
    + `  (numpy at export: ${e.correct}/${e.test_count} = ${(e.accuracy * 100).toFixed(2)}%;`
    + ` trained on ${e.train_count} images, ${e.epochs} epochs, ${e.train_seconds} s)`);
  const missText = misses.map((i) => `#${i} ${data.labels[i]}→${result.predictions[i]}`).join(", ");
  console.log(`misses     ${missText || "none"}`);
  console.log(`vs numpy   largest |logit difference| ${result.maxLogitDiff.toExponential(1)} over`
    + ` ${data.count * classCount} logits`
    + ` (onnxruntime's at export: ${e.onnxruntime_max_abs_diff.toExponential(1)})`);

  console.log("\n" + await latency(model, data, runs));
  // A demo that disagrees with the reference is a failure, not a curiosity: say so in the exit code.
  const agrees = result.correct === e.correct && result.maxLogitDiff <= 1e-4;
  if (!agrees) console.error("\nTessera DISAGREES with numpy's results at export");
  return agrees ? 0 : 1;
}

if (import.meta.main) process.exitCode = await main();
