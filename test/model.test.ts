/** Loading models: sources, options, information, shape queries, and async loading. */
import { describe, expect, test } from "bun:test";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import * as rt from "../src/index.ts";
import { addRelu, externalFolder, longChain, quantized, withFunction } from "./support/models.ts";
import { scratchDir } from "./support/paths.ts";

const dir = scratchDir("tessera-models-");
const addReluPath = join(dir, "add_relu.onnx");
writeFileSync(addReluPath, addRelu());

describe("sources", () => {
  test("a .onnx path, bytes and an ArrayBuffer give the same model", () => {
    using fromPath = rt.loadModelSync(addReluPath);
    const bytes = readFileSync(addReluPath);
    using fromBytes = rt.loadModelSync(new Uint8Array(bytes));
    using fromBuffer = rt.loadModelSync(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length));
    for (const m of [fromPath, fromBytes, fromBuffer]) {
      expect([m.name, m.inputNames, m.outputNames]).toEqual(["add_relu", ["x"], ["y"]]);
    }
  });

  test("a model file is memory-mapped, not read into memory", () => {
    using model = rt.loadModelSync(addReluPath);
    const maps = readFileSync("/proc/self/maps", "utf8");
    expect(maps).toContain(addReluPath);
    model.dispose();
    expect(readFileSync("/proc/self/maps", "utf8")).not.toContain(addReluPath);
  });

  test("a model folder resolves external data and reads tessera.json metadata", () => {
    const folder = externalFolder({ metadata: { license: "MIT", source: "tests" } });
    using model = rt.loadModelSync(folder);
    expect(model.metadata).toEqual({ license: "MIT", source: "tests" });
    expect(model.getTensor("w")).toMatchObject({ isConstant: true, shape: [2, 3], byteSize: 24 });
    expect(readFileSync("/proc/self/maps", "utf8")).toContain(join(folder, "weights.bin"));
    using viaFile = rt.loadModelSync(join(folder, "model.onnx"));
    expect(viaFile.parameterCount).toBe(6);
  });

  test("a broken tessera.json is a ContainerError", () => {
    const folder = externalFolder();
    writeFileSync(join(folder, "tessera.json"), "{ not json");
    expect(() => rt.loadModelSync(folder)).toThrow(rt.ContainerError);
    writeFileSync(join(folder, "tessera.json"), JSON.stringify({ metadata: { n: 1 } }));
    expect(() => rt.loadModelSync(folder)).toThrow(/metadata 'n' is not a string/);
  });
});

describe("information", () => {
  test("name, producer, IR, opsets, metadata, parameters", () => {
    using model = rt.loadModelSync(addReluPath);
    expect(model.producerName).toBe("tessera-tests");
    expect(model.producerVersion).toBe("1.0");
    expect(model.irVersion).toBe(8);
    expect(model.opsets).toEqual([{ domain: "ai.onnx", version: 17 }]);
    expect(model.metadata).toEqual({ author: "tests", purpose: "loading" });
    expect(model.parameterCount).toBe(5);
    expect(model.isDynamic).toBe(true);
  });

  test("TensorInfo carries symbolic shapes, byte sizes, and constant flags", () => {
    using model = rt.loadModelSync(addReluPath);
    expect(model.inputs).toEqual([{
      name: "x", kind: "tensor", dtype: "float32", shape: ["N", 4], byteSize: null, alignment: 64,
      padding: 0, isConstant: false, optOut: false, quantization: null,
    }]);
    expect(model.outputs[0]).toMatchObject({ name: "y", dtype: "float32", shape: ["N", 4], byteSize: null });
    expect(model.getTensor("w")).toMatchObject({ isConstant: true, shape: [4], byteSize: 16 });
    expect(model.getTensor("two")).toMatchObject({ shape: [], byteSize: 4 });
    expect(() => model.getTensor("nope")).toThrow(rt.InvalidArgumentError);
  });

  test("operations list every node with its op, domain and device", () => {
    using model = rt.loadModelSync(addReluPath);
    expect(model.operations).toEqual([
      { name: "add", opType: "Add", domain: "ai.onnx", device: "cpu:0" },
      { name: "relu", opType: "Relu", domain: "ai.onnx", device: "cpu:0" },
      { name: "scale", opType: "Mul", domain: "ai.onnx", device: "cpu:0" },
    ]);
    expect(model.partition).toEqual([{ device: "cpu:0", first: 0, count: 3 }]);
    // One memory, the host's: nothing to copy between the islands.
    expect(model.copies).toEqual([]);
  });

  test("strict loads a model the CPU runs whole", () => {
    using model = rt.loadModelSync(addReluPath, { strict: true, devices: "cpu" });
    expect(model.operations.every((o) => o.device === "cpu:0")).toBe(true);
  });

  test("model-local functions are inlined at load", () => {
    using model = rt.loadModelSync(withFunction());
    expect(model.operations.map((o) => o.opType)).toEqual(["Add", "Constant", "Mul"]);
    expect(model.operations.every((o) => o.name.startsWith("call/"))).toBe(true);
    expect(model.outputs[0]).toMatchObject({ name: "z", shape: [3], dtype: "float32" });
  });

  test("quantization schemes come from QuantizeLinear/DequantizeLinear pairs", () => {
    using model = rt.loadModelSync(quantized());
    expect(model.getTensor("xq").quantization).toEqual({ scheme: "per-tensor", axis: 1, scales: [0.5], zeroPoints: [128] });
    const w = model.getTensor("wq").quantization!;
    expect([w.scheme, w.axis, w.zeroPoints]).toEqual(["per-channel", 0, [0, 1, -1]]);
    expect(w.scales.map((s) => Number(s.toFixed(6)))).toEqual([0.1, 0.2, 0.3]);
    expect(model.getTensor("xq").dtype).toBe("uint8");
    expect(model.getTensor("x").quantization).toBeNull();
  });

  test("inferShape gives concrete dims, by name or position, and keeps open ones symbolic", () => {
    using model = rt.loadModelSync(addReluPath);
    expect(model.inferShape("y", { x: [8, 4] })).toEqual([8, 4]);
    expect(model.inferShape("y", [[2, 4]])).toEqual([2, 4]);
    expect(model.inferShape("y", {})).toEqual(["N", 4]);
    expect(model.inferShape("y", { x: ["2*B", 4] })).toEqual(["2*B", 4]);
    expect(() => model.inferShape("y", { x: [8, 5] })).toThrow(rt.ShapeError);
    expect(() => model.inferShape("y", { x: [8] })).toThrow(/rank 2; the given shape has 1/);
    expect(() => model.inferShape("y", { q: [1, 4] })).toThrow(/no input named 'q'/);
  });
});

describe("options", () => {
  test("are validated and kept on the model", () => {
    using model = rt.loadModelSync(addReluPath, { threads: 2, cores: [0], strict: true, scheduler: "exclusive", memoryOptimization: false });
    expect(model.getOption("threads")).toBe("2");
    expect(model.getOption("cores")).toBe("0");
    expect(model.getOption("strict")).toBe("true");
    expect(model.getOption("scheduler")).toBe("exclusive");
    expect(model.getOption("memoryOptimization")).toBe("false");
    expect(model.getOption("devices")).toBe("cpu");
  });

  test("options that cannot be honoured yet are NotImplementedError, never ignored", () => {
    expect(() => rt.loadModelSync(addReluPath, { scheduler: "pipeline" })).toThrow(rt.NotImplementedError);
  });

  test("bad values are InvalidArgumentError", () => {
    expect(() => rt.loadModelSync(addReluPath, { threads: -1 })).toThrow(rt.InvalidArgumentError);
    expect(() => rt.loadModelSync(addReluPath, { cores: [4096] })).toThrow(/core 4096 does not exist/);
    expect(() => rt.loadModelSync(addReluPath, { scheduler: "fifo" as never })).toThrow(rt.InvalidArgumentError);
    expect(() => rt.loadModelSync(addReluPath, { colour: "red" } as never)).toThrow(/unknown load option 'colour'/);
    expect(() => rt.loadModelSync(addReluPath, { devices: "tpu" })).toThrow(/unknown device 'tpu'/);
  });
});

describe("async loading", () => {
  test("runs on a native thread: timers keep firing while a big model loads", async () => {
    const bytes = longChain(20_000);
    let ticks = 0;
    const timer = setInterval(() => ticks++, 1);
    const started = performance.now();
    const model = await rt.loadModel(bytes);
    const elapsed = performance.now() - started;
    clearInterval(timer);
    expect(model.operations.length).toBe(20_001);
    expect(model.outputs[0]!.shape).toEqual(["batch", 16]);
    // A blocked event loop would give 0 or 1 ticks however long the load took.
    expect(ticks).toBeGreaterThan(Math.min(10, elapsed / 4));
    model.dispose();
  }, 60_000);

  test("errors arrive typed, with the library's message", async () => {
    await expect(rt.loadModel(join(dir, "missing.onnx"))).rejects.toThrow(rt.IOError);
    await expect(rt.loadModel(new Uint8Array([0x08, 0x96]))).rejects.toThrow(rt.ModelError);
  });

  test("many loads in flight at once", async () => {
    const models = await Promise.all(Array.from({ length: 16 }, () => rt.loadModel(addReluPath)));
    expect(new Set(models.map((m) => m.name))).toEqual(new Set(["add_relu"]));
    for (const m of models) m.dispose();
  });
});

describe("lifetime", () => {
  test("a disposed model throws InvalidStateError; finalize releases models", () => {
    const model = rt.loadModelSync(addReluPath);
    model.dispose();
    expect(() => model.getTensor("x")).toThrow(rt.InvalidStateError);
    expect(() => model.operations).toThrow(rt.InvalidStateError);
    const kept = rt.loadModelSync(addReluPath);
    rt.finalize();
    rt.initialize();
    expect(kept.disposed).toBe(true);
    expect(rt.nativeStats().liveModels).toBe(0);
  });
});
