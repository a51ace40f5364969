/**
 * Whole models on the Vulkan backend (lavapipe where there is no GPU): small SqueezeNet 1.1,
 * MobileNetV2, ResNet-50, EfficientNet-B0 and a BERT-style encoder (test/support/small-models.ts)
 * run as one island on vulkan:0, with no CPU fallback, the input copied up and the output down
 * once per run and every weight once at load, and outputs that agree with the CPU's. Strict loads
 * on vulkan:0 alone succeed, which proves that every operation that runs is on the device (the
 * nodes folded at load, Constant and shape arithmetic, never run and are shown on the CPU).
 */
import { describe, expect, test } from "bun:test";
import * as rt from "../src/index.ts";
import { bertEncoder, efficientnetB0, mobilenetv2, resnet50, type SmallModel, squeezenet, values } from "./support/small-models.ts";

const vulkanDevices = rt.devices().filter((d) => d.platform === "vulkan");
if (vulkanDevices.length === 0) console.warn("vulkan-models.test.ts: skipped, this machine has no Vulkan device (not even lavapipe)");
const withVulkan = describe.skipIf(vulkanDevices.length === 0);

/** The ops the compile stage folds: they never run, and model.operations shows them on the CPU. */
const foldedOps = new Set(["Constant", "Shape", "Gather", "Unsqueeze", "Concat"]);

function run(model: rt.Model, m: SmallModel, seed: number): Float32Array {
  const count = m.inputShape.reduce((a, b) => a * b, 1);
  using input = rt.tensor(values(count, seed), { shape: [...m.inputShape] });
  const outputs = model.runSync<rt.Tensor>([input]);
  using y = outputs.output!;
  return (y.toTypedArray() as Float32Array).slice();
}

function expectClose(got: Float32Array, want: Float32Array, rtol = 1e-3, atol = 1e-4): void {
  expect(got.length).toBe(want.length);
  let worst = 0;
  for (let i = 0; i < got.length; i++) {
    const error = Math.abs(got[i]! - want[i]!);
    if (error > atol + rtol * Math.abs(want[i]!)) throw new Error(`element ${i}: ${got[i]} where the CPU gives ${want[i]}`);
    worst = Math.max(worst, error);
  }
  expect(Number.isFinite(worst)).toBe(true);
}

withVulkan("whole models on the Vulkan backend", () => {
  for (const make of [squeezenet, mobilenetv2, resnet50, efficientnetB0, bertEncoder]) {
    const m = make();
    test(`${m.name}: one island on vulkan:0, one upload and one download per run, outputs as the CPU's`, () => {
      using cpu = rt.loadModelSync(m.bytes);
      using gpu = rt.loadModelSync(m.bytes, { devices: ["vulkan:0", "cpu"] });
      const running = gpu.operations.filter((op) => op.device !== "vulkan:0");
      expect(running.filter((op) => !foldedOps.has(op.opType))).toEqual([]);
      const perRun = gpu.copies.filter((c) => !c.atLoad).map((c) => `${c.value} ${c.from}->${c.to}`).sort();
      expect(perRun).toEqual(["input cpu:0->vulkan:0", "output vulkan:0->cpu:0"]);
      // Every value copied at load is a constant going up, each once.
      const atLoad = gpu.copies.filter((c) => c.atLoad);
      expect(atLoad.every((c) => c.from === "cpu:0" && c.to === "vulkan:0")).toBe(true);
      expect(new Set(atLoad.map((c) => c.value)).size).toBe(atLoad.length);
      for (const seed of [1, 2]) expectClose(run(gpu, m, seed), run(cpu, m, seed));
    });
  }

  test("strict loads on vulkan:0 alone run every model with no fallback", () => {
    for (const make of [squeezenet, mobilenetv2, resnet50, efficientnetB0, bertEncoder]) {
      const m = make();
      using cpu = rt.loadModelSync(m.bytes);
      using gpu = rt.loadModelSync(m.bytes, { devices: ["vulkan:0"], strict: true });
      expect(gpu.operations.filter((op) => op.device === "vulkan:0").length).toBeGreaterThan(0);
      expectClose(run(gpu, m, 3), run(cpu, m, 3));
    }
  });
});
