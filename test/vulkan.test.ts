/**
 * Models on the Vulkan backend (lavapipe where there is no GPU): the partition places the
 * operations it runs on vulkan:0 and the rest on the CPU, with copies at the islands' edges;
 * outputs agree with the CPU's; strict loads refuse a fallback; many requests at once share the
 * device; disposing a model with runs in flight is safe.
 */
import { describe, expect, test } from "bun:test";
import { buildModel, GraphBuilder } from "../src/onnx/builder.ts";
import * as rt from "../src/index.ts";

const vulkanDevices = rt.devices().filter((d) => d.platform === "vulkan");
if (vulkanDevices.length === 0) console.warn("vulkan.test.ts: skipped, this machine has no Vulkan device (not even lavapipe)");
const withVulkan = describe.skipIf(vulkanDevices.length === 0);

/** Deterministic values in [-1, 1). */
function values(count: number, seed: number): Float32Array {
  let state = seed >>> 0;
  return Float32Array.from({ length: count }, () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 2 ** 31 - 1;
  });
}

/** x[4,16] -> MatMul(w) -> Add(b) -> [Cos when `fallback`] -> Relu -> Softmax -> y[4,8]. */
function dense(fallback: boolean): Uint8Array {
  const g = new GraphBuilder(fallback ? "dense-cos" : "dense");
  g.input("x", "float32", [4, 16]);
  const w = g.initializer("w", "float32", [16, 8], values(128, 1));
  const b = g.initializer("b", "float32", [8], values(8, 2));
  const product = g.node("MatMul", ["x", w], { name: "matmul" });
  let h = g.node("Add", [product, b], { name: "bias" });
  if (fallback) h = g.node("Cos", [h], { name: "cos" });
  const r = g.node("Relu", [h], { name: "relu" });
  g.node("Softmax", [r], { name: "softmax", outputs: ["y"], attrs: { axis: -1 } });
  g.output("y", "float32", [4, 8]);
  return buildModel(g, { opsets: { "": 17 } });
}

function expectClose(got: Float32Array, want: Float32Array, rtol = 1e-3, atol = 1e-4): void {
  expect(got.length).toBe(want.length);
  for (let i = 0; i < got.length; i++) {
    if (Math.abs(got[i]! - want[i]!) > atol + rtol * Math.abs(want[i]!)) {
      throw new Error(`element ${i}: ${got[i]} where the CPU gives ${want[i]}`);
    }
  }
}

function runOn(model: rt.Model, x: Float32Array): Float32Array {
  using input = rt.tensor(x, { shape: [4, 16] });
  const outputs = model.runSync<rt.Tensor>([input]);
  using y = outputs.y!;
  return (y.toTypedArray() as Float32Array).slice();
}

withVulkan("the Vulkan backend", () => {
  const devices = ["vulkan:0", "cpu"];

  test("every operation of MatMul -> Add -> Relu -> Softmax runs on vulkan:0, as the CPU computes it", () => {
    using gpu = rt.loadModelSync(dense(false), { devices });
    using cpu = rt.loadModelSync(dense(false));
    expect(gpu.operations.map((op) => op.device)).toEqual(["vulkan:0", "vulkan:0", "vulkan:0", "vulkan:0"]);
    expect(cpu.operations.map((op) => op.device)).toEqual(["cpu:0", "cpu:0", "cpu:0", "cpu:0"]);
    expect(gpu.partition).toEqual([{ device: "vulkan:0", first: 0, count: 4 }]);
    // The input goes up and the output comes down on each run; the weights go up once, at load.
    const copies = gpu.copies.map((c) => `${c.value} ${c.from}->${c.to}${c.atLoad ? " at load" : ""}`).sort();
    expect(copies).toEqual(["b cpu:0->vulkan:0 at load", "w cpu:0->vulkan:0 at load", "x cpu:0->vulkan:0", "y vulkan:0->cpu:0"]);
    for (const seed of [3, 4]) {
      const x = values(64, seed);
      expectClose(runOn(gpu, x), runOn(cpu, x));
    }
  });

  test("an operation Vulkan has no kernel for runs on the CPU between two Vulkan islands", () => {
    using gpu = rt.loadModelSync(dense(true), { devices });
    using cpu = rt.loadModelSync(dense(true));
    expect(gpu.operations.map((op) => `${op.name} ${op.device}`)).toEqual(["matmul vulkan:0", "bias vulkan:0", "cos cpu:0", "relu vulkan:0", "softmax vulkan:0"]);
    expect(gpu.partition).toEqual([
      { device: "vulkan:0", first: 0, count: 2 },
      { device: "cpu:0", first: 2, count: 1 },
      { device: "vulkan:0", first: 3, count: 2 },
    ]);
    const crossing = gpu.copies.filter((c) => !c.atLoad).map((c) => `${c.from}->${c.to}`).sort();
    // x up, Add's output down to Cos, Cos's output up to Relu, y down.
    expect(crossing).toEqual(["cpu:0->vulkan:0", "cpu:0->vulkan:0", "vulkan:0->cpu:0", "vulkan:0->cpu:0"]);
    const x = values(64, 5);
    expectClose(runOn(gpu, x), runOn(cpu, x));
  });

  test("strict: a fallback is an error naming the node and the device", () => {
    expect(() => rt.loadModelSync(dense(true), { devices, strict: true })).toThrow("node 'cos' (Cos) cannot run on vulkan:0: the Vulkan backend has no kernel for this op (strict: no fallback)");
    using fine = rt.loadModelSync(dense(false), { devices, strict: true });
    expect(fine.operations.every((op) => op.device === "vulkan:0")).toBe(true);
  });

  test("a Vulkan device that does not exist is a DeviceError", () => {
    expect(() => rt.loadModelSync(dense(false), { devices: ["vulkan:9", "cpu"] })).toThrow(rt.DeviceError);
    expect(() => rt.loadModelSync(dense(false), { devices: ["vulkan:9", "cpu"] })).toThrow(/no Vulkan device 9/);
    expect(() => rt.loadModelSync(dense(false), { devices: ["vulkan:x"] })).toThrow(rt.InvalidArgumentError);
  });

  test("many requests at once on one model share the device and each gets its own answer", async () => {
    using gpu = await rt.loadModel(dense(true), { devices });
    using cpu = rt.loadModelSync(dense(true));
    const inputs = Array.from({ length: 24 }, (_, i) => values(64, 100 + i));
    const results = await Promise.all(inputs.map(async (x) => {
      using input = rt.tensor(x, { shape: [4, 16] });
      const outputs = await gpu.run<rt.Tensor>([input]);
      using y = outputs.y!;
      return (y.toTypedArray() as Float32Array).slice();
    }));
    results.forEach((got, i) => expectClose(got, runOn(cpu, inputs[i]!)));
  });

  test("disposing a model with runs in flight is safe: each run finishes or fails with a typed error", async () => {
    const model = await rt.loadModel(dense(true), { devices });
    const runs = Array.from({ length: 8 }, async (_, i) => {
      using input = rt.tensor(values(64, 200 + i), { shape: [4, 16] });
      const outputs = await model.run<rt.Tensor>([input]);
      outputs.y!.dispose();
    });
    model.dispose();
    for (const outcome of await Promise.allSettled(runs)) {
      if (outcome.status === "rejected") expect(outcome.reason).toBeInstanceOf(rt.RuntimeException);
    }
    expect(model.disposed).toBe(true);
  });

  test("the device list is the same before and after Vulkan models ran", () => {
    const after = rt.devices().map((d) => d.id);
    expect(after).toEqual(["cpu:0", ...vulkanDevices.map((d) => d.id)]);
  });
});
