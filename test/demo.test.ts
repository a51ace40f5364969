/**
 * The main demo's model end to end: scripts/make_demo_model.py trains a digits CNN (once, into
 * .cache/demo), then Tessera runs it through examples/demo.ts's own functions and must reproduce
 * what numpy computed at export: every logit within 1e-4, so the same predictions and accuracy.
 * A wrong Conv, Relu, MaxPool, Flatten, Gemm or Softmax kernel fails here on real weights.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import {
  classCount,
  classify,
  type DemoData,
  defaultDataDir,
  imageShape,
  loadDemoData,
} from "../examples/demo.ts";
import * as rt from "../src/index.ts";
import { bunBinary, repo } from "./support/paths.ts";

const tolerance = 1e-4;
let data: DemoData;
let model: rt.Model;

beforeAll(() => {
  // Returns at once when .cache/demo is up to date; else trains, which takes a few seconds.
  const python = join(repo, ".cache/venv/bin/python");
  const made = Bun.spawnSync([python, join(repo, "scripts/make_demo_model.py"), defaultDataDir]);
  if (made.exitCode !== 0) {
    // scikit-learn, numpy and onnx come from scripts/bootstrap (PYTHON_PACKAGES).
    throw new Error(`scripts/make_demo_model.py failed:\n${made.stderr}`);
  }
  data = loadDemoData();
  model = rt.loadModelSync(join(defaultDataDir, "model.onnx"));
}, 120_000);

afterAll(() => model?.dispose());

/** The largest |a[i] - b[i]|. */
function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff = Math.max(diff, Math.abs(a[i]! - b[i]!));
  return diff;
}

describe("the digits CNN against numpy at export", () => {
  test("every held-out logit within 1e-4, and the samples written to expected.json", () => {
    const result = classify(model, data);
    expect(result.maxLogitDiff).toBeLessThanOrEqual(tolerance);
    expect(data.expected.samples.length).toBeGreaterThan(0);
    for (const sample of data.expected.samples) {
      const row = result.logits.subarray(sample.index * classCount, (sample.index + 1) * classCount);
      expect(maxDiff(row, sample.logits)).toBeLessThanOrEqual(tolerance);
      expect(BigInt(sample.label)).toBe(data.labels[sample.index]!);
    }
  });

  test("the same accuracy as numpy, and a real one", () => {
    const result = classify(model, data);
    expect(data.count).toBe(data.expected.test_count);
    expect(result.correct).toBe(data.expected.correct);
    expect(result.accuracy).toBeGreaterThan(0.95);
  });

  test("probabilities are the softmax of numpy's logits", () => {
    const { probabilities } = classify(model, data);
    const softmax = new Float64Array(data.expectedLogits.length);
    for (let row = 0; row < data.count; row++) {
      const logits = data.expectedLogits.subarray(row * classCount, (row + 1) * classCount);
      const top = Math.max(...logits);
      const sum = logits.reduce((s, v) => s + Math.exp(v - top), 0);
      logits.forEach((v, i) => (softmax[row * classCount + i] = Math.exp(v - top) / sum));
    }
    expect(maxDiff(probabilities, softmax)).toBeLessThanOrEqual(1e-5);
  });

  test("one image at a time, sync and async, gives the batch's rows", async () => {
    const batch = classify(model, data);
    for (const index of [0, 1, data.count - 1]) {
      const pixels = data.images.subarray(index * 64, (index + 1) * 64);
      using image = rt.tensor(pixels, { shape: [1, ...imageShape], copy: false });
      const expected = data.expectedLogits.subarray(index * classCount, (index + 1) * classCount);
      const sync = model.runSync<rt.Tensor>({ image });
      const async = await model.run<rt.Tensor>({ image });
      expect(maxDiff(sync.logits!.toTypedArray() as Float32Array, expected)).toBeLessThanOrEqual(tolerance);
      expect(maxDiff(async.logits!.toTypedArray() as Float32Array, expected)).toBeLessThanOrEqual(tolerance);
      const batchRow = batch.logits.subarray(index * classCount, (index + 1) * classCount);
      expect(maxDiff(sync.logits!.toTypedArray() as Float32Array, batchRow)).toBeLessThanOrEqual(1e-5);
    }
  });
});

test("examples/demo.ts runs, reports numpy's accuracy and exits 0", () => {
  const demo = Bun.spawnSync([bunBinary, join(repo, "examples/demo.ts"), defaultDataDir, "--runs", "5"]);
  const out = demo.stdout.toString();
  expect(demo.stderr.toString()).toBe("");
  expect(demo.exitCode).toBe(0);
  expect(out).toContain("operations 9 (Conv 2, Relu 2, MaxPool 2, Flatten 1, Gemm 1, Softmax 1)");
  expect(out).toContain(`accuracy   ${data.expected.correct}/${data.expected.test_count} `);
  expect(out).toMatch(/runSync, 1 image\s+5\s+[\d.]+ ms/);
  expect(out).toMatch(/run \(async\), batch of \d+/);
}, 30_000);
