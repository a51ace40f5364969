/**
 * The helpers code ported from OpenVINO (and Optimium-like runtimes) looks for, under their names:
 * compileModel(path, "AUTO"), infer and a callable model, getModelInfo, listDevices and
 * getAvailableDevices, reshape, queryModel, inputs by position, readNpy/writeNpy and the ONNX
 * builder. Each against the real library, with models built here.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as rt from "../src/index.ts";
import { booleans, floatOutputs } from "./support/ort-models.ts";

const { GraphBuilder, buildModel } = rt.onnx;
const dir = mkdtempSync(join(tmpdir(), "tessera-seeds-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const bytes = floatOutputs(); // x [N, 4] → y, square, softmax
const x = () => rt.tensor([[1, -2, 3, -4]]);
const arrays = (outputs: rt.Outputs) => Object.fromEntries(Object.entries(outputs).map(([name, t]) => [name, (t as rt.Tensor).toArray()]));

/** input [N, 3, 8, 8] → GlobalAveragePool → Flatten → Gemm → logits [N, 5]. */
function imageClassifier(): Uint8Array {
  const g = new GraphBuilder("classifier");
  g.input("input", "float32", ["N", 3, 8, 8]);
  g.initializer("w", "float32", [3, 5], new Float32Array(15).fill(0.5));
  const pooled = g.node("Flatten", [g.node("GlobalAveragePool", ["input"])], { attrs: { axis: 1 } });
  g.node("Gemm", [pooled, "w"], { outputs: ["logits"] });
  g.output("logits", "float32", ["N", 5]);
  return buildModel(g, { producerName: "seed-tests", producerVersion: "1.0" });
}

/** input_ids, attention_mask int64 [N, S] → hidden = float(ids * mask) [N, S]. */
function textEncoder(): Uint8Array {
  const g = new GraphBuilder("encoder");
  g.input("input_ids", "int64", ["N", "S"]);
  g.input("attention_mask", "int64", ["N", "S"]);
  g.node("Cast", [g.node("Mul", ["input_ids", "attention_mask"])], { outputs: ["hidden"], attrs: { to: 1 } });
  g.output("hidden", "float32", ["N", "S"]);
  return buildModel(g);
}

/** waveform float [1, S], sr int64 [1] → level = |waveform|. */
function audioModel(): Uint8Array {
  const g = new GraphBuilder("audio");
  g.input("waveform", "float32", [1, "S"]);
  g.input("sr", "int64", [1]);
  g.node("Abs", ["waveform"], { outputs: ["level"] });
  g.output("level", "float32", [1, "S"]);
  return buildModel(g);
}

/** features float [N, 3] → ai.onnx.ml Scaler → scaled [N, 3]. */
function tabular(): Uint8Array {
  const g = new GraphBuilder("scaler");
  g.input("features", "float32", ["N", 3]);
  g.node("Scaler", ["features"], { outputs: ["scaled"], domain: "ai.onnx.ml", attrs: { offset: [0, 0, 0], scale: [2, 2, 2] } });
  g.output("scaled", "float32", ["N", 3]);
  return buildModel(g, { opsets: { "": 17, "ai.onnx.ml": 3 } });
}

describe("compileModel(path, device)", () => {
  test("AUTO in any case compiles onto the CPU; AUTO's priority list puts the GPU first", async () => {
    for (const device of ["AUTO", "auto", "Auto", "AUTO:CPU", "cpu", "cpu:0"]) {
      using model = await rt.compileModel(bytes, device);
      expect(model.operations.every((op) => op.device === "cpu:0")).toBe(true);
      expect(arrays(await model.run({ x: x() }, ["y"]))).toEqual({ y: [[4, 0, 12, 0]] });
    }
    if (!rt.devices().some((d) => d.platform === "vulkan")) return;
    for (const device of ["AUTO:GPU,CPU", "vulkan:0,cpu"]) {
      using model = await rt.compileModel(bytes, device);
      expect(model.getOption("devices")).toBe("vulkan:0,cpu");
      expect(model.operations.some((op) => op.device === "vulkan:0")).toBe(true);
      expect(arrays(await model.run({ x: x() }, ["y"]))).toEqual({ y: [[4, 0, 12, 0]] });
    }
  });

  test("a third argument gives the other options", async () => {
    using model = await rt.compileModel(bytes, "AUTO", { threads: 1, memoryOptimization: false });
    expect(model.getOption("threads")).toBe("1");
    expect(model.getOption("memoryOptimization")).toBe("false");
    await expect(rt.compileModel(bytes, "AUTO", { bogus: 1 } as never)).rejects.toThrow("unknown load option 'bogus'");
    await expect(rt.compileModel(bytes, "cpu", { devices: "cpu" })).rejects.toThrow(`the device is given twice: as the argument "cpu" and as the option devices "cpu"`);
  });

  test("OpenVINO's device names are refused with Tessera's spelling", async () => {
    await expect(rt.compileModel(bytes, "CPU")).rejects.toThrow(`device "CPU" is OpenVINO's spelling: Tessera names it "cpu"`);
    await expect(rt.compileModel(bytes, "GPU")).rejects.toThrow(`Tessera names it "vulkan:0"`);
    await expect(rt.compileModel(bytes, "GPU.1")).rejects.toThrow(rt.InvalidArgumentError);
    await expect(rt.compileModel(bytes, "GPU.1")).rejects.toThrow(`Tessera names it "vulkan:1"`);
    await expect(rt.compileModel(bytes, "MULTI:GPU,CPU")).rejects.toThrow(`pass "vulkan:0,cpu"`);
    await expect(rt.compileModel(bytes, "HETERO:GPU,CPU")).rejects.toThrow(rt.InvalidArgumentError);
    await expect(rt.compileModel(bytes, "AUTO:NPU,CPU")).rejects.toThrow(rt.NotImplementedError);
    await expect(rt.compileModel(bytes, "NPU")).rejects.toThrow(`device "NPU": Tessera has no backend for it`);
    await expect(rt.compileModel(bytes, "vulkan:9")).rejects.toThrow(rt.DeviceError);
    await expect(rt.compileModel(bytes, "tpu")).rejects.toThrow("unknown device 'tpu'");
  });
});

describe("infer and a callable model: OpenVINO's compiled(inputs)", () => {
  test("model.infer and model.callable() resolve with the outputs by name, as run does", async () => {
    using model = rt.loadModelSync(bytes);
    const expected = arrays(model.runSync({ x: x() }));
    expect(arrays(await model.infer({ x: x() }))).toEqual(expected);
    const compiled = model.callable();
    expect(arrays(await compiled({ x: x() }))).toEqual(expected);
    expect(Object.keys(await compiled({ x: x() }, ["square"]))).toEqual(["square"]);
    model.dispose();
    await expect(compiled({ x: x() })).rejects.toThrow(rt.InvalidStateError);
    expect(() => model.callable()).toThrow(rt.InvalidStateError);
  });
});

describe("getModelInfo", () => {
  test("describes a model from its bytes or its path, without keeping it loaded", async () => {
    const path = join(dir, "classifier.onnx");
    writeFileSync(path, imageClassifier());
    for (const source of [imageClassifier(), path]) {
      const info = await rt.getModelInfo(source);
      expect(info.name).toBe("classifier");
      expect(info.producer).toEqual({ name: "seed-tests", version: "1.0" });
      expect(info.opsets).toEqual([{ domain: "ai.onnx", version: 17 }]);
      expect(info.inputs.map((t) => [t.name, t.dtype, t.shape])).toEqual([["input", "float32", ["N", 3, 8, 8]]]);
      expect(info.outputs.map((t) => [t.name, t.dtype, t.shape])).toEqual([["logits", "float32", ["N", 5]]]);
      expect(info.isDynamic).toBe(true);
      expect(info.operationCounts).toEqual({ GlobalAveragePool: 1, Flatten: 1, Gemm: 1 });
      expect(info.operationCount).toBe(3);
      expect(info.parameterCount).toBe(15);
      expect(info.parameterBytes).toBe(60);
      expect(info.kind).toBe("image-classification");
      expect(info.evidence.join("\n")).toContain("a [batch, classes] output: logits: float32 [N, 5]");
    }
  });

  test("guesses text encoders, audio, classical ML, and says unknown when nothing tells", async () => {
    const text = await rt.getModelInfo(textEncoder());
    expect([text.kind, text.evidence]).toEqual(["text-encoder", ["integer token inputs: input_ids: int64 [N, S]; attention_mask: int64 [N, S]"]]);
    const audio = await rt.getModelInfo(audioModel());
    expect(audio.kind).toBe("audio");
    expect(audio.evidence).toContain("a sample-rate input: sr");
    const ml = await rt.getModelInfo(tabular());
    expect([ml.kind, ml.evidence]).toEqual(["tabular/classical-ml", ["ai.onnx.ml operators: Scaler"]]);
    expect(ml.operationCounts).toEqual({ "ai.onnx.ml:Scaler": 1 });
    const plain = await rt.getModelInfo(bytes);
    expect([plain.kind, plain.evidence]).toEqual(["unknown", []]);
    expect([plain.parameterCount, plain.parameterBytes]).toEqual([5, 20]);
  });

  test("the guess itself: detection, language models and recurrent graphs", () => {
    const info = (name: string, dtype: rt.DType, shape: rt.DimValue[]) => ({ name, dtype, shape }) as rt.TensorInfo;
    const image = info("images", "float32", [1, 3, 640, 640]);
    expect(rt.guessModelKind({ inputs: [image], outputs: [info("boxes", "float32", [1, 100, 4])], operations: [] }).kind).toBe("object-detection");
    expect(rt.guessModelKind({ inputs: [image], outputs: [info("out", "float32", [1, 100, 6])], operations: [{ opType: "NonMaxSuppression", domain: "ai.onnx" }] }).kind).toBe("object-detection");
    const ids = info("input_ids", "int64", ["batch", "sequence"]);
    expect(rt.guessModelKind({ inputs: [ids], outputs: [info("logits", "float32", ["batch", "sequence", 50257])], operations: [] }).kind).toBe("language-model");
    expect(rt.guessModelKind({ inputs: [info("x", "float32", ["T", 1, 8])], outputs: [], operations: [{ opType: "LSTM", domain: "ai.onnx" }] })).toEqual({ kind: "recurrent", evidence: ["recurrent operators: LSTM"] });
  });

  test("a file that is no model fails as loading does", async () => {
    await expect(rt.getModelInfo(new Uint8Array([1, 2, 3]))).rejects.toThrow(rt.RuntimeException);
    await expect(rt.getModelInfo(join(dir, "missing.onnx"))).rejects.toThrow(rt.RuntimeException);
  });
});

describe("listDevices and getAvailableDevices", () => {
  test("list the devices devices() lists; the names are Tessera's", () => {
    expect(rt.listDevices().map((d) => d.id)).toEqual(rt.devices().map((d) => d.id));
    const names = rt.getAvailableDevices();
    expect(names[0]).toBe("cpu");
    for (const name of names.slice(1)) expect(name).toMatch(/^vulkan:\d+$/);
    expect(names.length).toBe(rt.devices().length);
  });
});

describe("model.reshape: OpenVINO's Model.reshape", () => {
  test("loads a new model with the inputs' dims fixed, planned for them; the old one is left as it was", () => {
    using model = rt.loadModelSync(bytes);
    using fixed = model.reshape({ x: [2, 4] });
    expect(fixed).not.toBe(model);
    expect(fixed.inputs[0]!.shape).toEqual([2, 4]);
    expect(fixed.outputs.map((t) => t.shape)).toEqual([[2, 4], [2, 4], [2, 4]]);
    expect(fixed.isDynamic).toBe(false);
    expect(fixed.getTensor("y").byteSize).toBe(32); // sized at load: the plan is made for [2, 4]
    expect(fixed.getOption("inputShapes")).toBe("x=2,4");
    expect(model.inputs[0]!.shape).toEqual(["N", 4]);
    expect(model.getTensor("y").byteSize).toBeNull();
    const two = rt.tensor([[1, -2, 3, -4], [0, 1, 0, 1]]);
    expect(arrays(fixed.runSync({ x: two }))).toEqual(arrays(model.runSync({ x: two })));
    expect(() => fixed.runSync({ x: x() })).toThrow(rt.ShapeError);
    using positional = model.reshape([[3, 4]]);
    expect(positional.inputs[0]!.shape).toEqual([3, 4]);
  });

  test("reshapes a model loaded from a path, and loadModel takes the shapes as inputShapes", async () => {
    const path = join(dir, "float.onnx");
    writeFileSync(path, bytes);
    using model = await rt.loadModel(path, { threads: 1 });
    using fixed = model.reshape({ x: [5, 4] });
    expect(fixed.inputs[0]!.shape).toEqual([5, 4]);
    expect(fixed.getOption("threads")).toBe("1");
    using loaded = await rt.loadModel(bytes, { inputShapes: { x: [6, 4] } });
    expect(loaded.outputs[0]!.shape).toEqual([6, 4]);
  });

  test("symbols shared between inputs are fixed in all of them", () => {
    using model = rt.loadModelSync(textEncoder());
    using fixed = model.reshape({ input_ids: [1, 16] });
    expect(fixed.inputs.map((t) => t.shape)).toEqual([[1, 16], [1, 16]]);
    expect(() => model.reshape({ input_ids: [1, 16], attention_mask: [1, 8] })).toThrow("another input gives S as 16");
  });

  test("an unknown input, a wrong rank or a dim the model fixes otherwise are typed errors", () => {
    using model = rt.loadModelSync(bytes);
    expect(() => model.reshape({ z: [1, 4] })).toThrow(rt.InvalidArgumentError);
    expect(() => model.reshape({ z: [1, 4] })).toThrow("the model has no input named 'z'");
    expect(() => model.reshape([[1, 4], [1]])).toThrow("input #1 does not exist: the model has 1 inputs");
    expect(() => model.reshape({ x: [8] })).toThrow(rt.ShapeError);
    expect(() => model.reshape({ x: [8] })).toThrow("input 'x' has rank 2; the given shape has 1 dims");
    expect(() => model.reshape({ x: [8, 5] })).toThrow("input 'x' dim 1 is fixed at 4; the given shape has 5");
    expect(() => model.reshape({ x: [-1, 4] })).toThrow(rt.ShapeError);
    expect(() => model.reshape({ "x=1": [1, 4] })).toThrow(rt.InvalidArgumentError);
    expect(() => model.reshape({ x: 8 } as never)).toThrow("the shape given for input 'x' must be an array of dims");
    model.dispose();
    expect(() => model.reshape({ x: [1, 4] })).toThrow(rt.InvalidStateError);
  });
});

describe("queryModel: OpenVINO's query_model", () => {
  test("says where each operation runs on the CPU, by name", async () => {
    using model = rt.loadModelSync(bytes);
    for (const device of ["cpu", "AUTO", ["cpu"]] as const) {
      const result = await rt.queryModel(bytes, device);
      expect(result.operations.map((op) => op.opType)).toEqual(model.operations.map((op) => op.opType));
      expect(Object.values(result.devices).every((d) => d === "cpu:0")).toBe(true);
      expect(Object.keys(result.devices).length).toBe(model.operations.length);
      expect(result.refused).toEqual([]);
    }
  });

  test.if(rt.devices().some((d) => d.platform === "vulkan"))("says which operations Vulkan takes and which fall back to the CPU", async () => {
    const result = await rt.queryModel(bytes, "vulkan:0,cpu");
    const placed = new Set(Object.values(result.devices));
    expect(placed.has("vulkan:0")).toBe(true);
    expect([...placed].every((d) => d === "vulkan:0" || d === "cpu:0")).toBe(true);
    expect(result.refused).toEqual([]);
    const alone = await rt.queryModel(bytes, ["vulkan:0"]);
    expect(alone.refused.map((op) => op.device).every((d) => d === "cpu:0")).toBe(true);
  });

  test("a device that does not exist is DeviceError; OpenVINO's names are refused as compileModel refuses them", async () => {
    await expect(rt.queryModel(bytes, "vulkan:9")).rejects.toThrow(rt.DeviceError);
    await expect(rt.queryModel(bytes, ["vulkan:9"])).rejects.toThrow(rt.DeviceError);
    await expect(rt.queryModel(bytes, "CPU")).rejects.toThrow(`Tessera names it "cpu"`);
  });
});

describe("inputs by position", () => {
  const two = () => ({ x: rt.tensor([[1, -2, 3], [0, 5, -6]]), mask: rt.tensor([[true, false, true], [true, true, false]]) });

  test("{ 0: data } and [data] feed model.inputs[i], in every way to run", async () => {
    using model = rt.loadModelSync(booleans()); // inputs x, mask
    const { x: a, mask } = two();
    const expected = arrays(model.runSync({ x: a, mask }));
    expect(arrays(model.runSync({ 0: a, 1: mask }))).toEqual(expected);
    expect(arrays(model.runSync([a, mask]))).toEqual(expected);
    expect(arrays(model.runSync({ x: a, 1: mask }))).toEqual(expected);
    expect(arrays(await model.run({ 0: a, 1: mask }))).toEqual(expected);
    expect(arrays(await model.infer({ 1: mask, 0: a }))).toEqual(expected);
    using request = model.createRequest();
    expect(arrays(await request.run({ 0: a, mask }))).toEqual(expected);
    request.infer({ 0: a, 1: mask });
    await request.wait();
    expect(arrays(request.getOutputs())).toEqual(expected);
  });

  test("the same input by name and by position, or a position past the inputs, is refused", async () => {
    using model = rt.loadModelSync(booleans());
    const { x: a, mask } = two();
    expect(() => model.runSync({ x: a, 0: a, mask })).toThrow(rt.InvalidArgumentError);
    expect(() => model.runSync({ x: a, 0: a, mask })).toThrow("input 'x' is given twice: as '0' and as 'x' (by name and by position)");
    expect(() => model.runSync({ 0: a, 1: mask, 2: a })).toThrow("input 2 does not exist: the model has 2 inputs (x, mask)");
    await expect(model.run({ x: a, "01": mask })).rejects.toThrow("the model has no input named '01'");
    expect(() => model.runSync({ 0: a })).toThrow("input 'mask' is missing");
  });
});

describe("readNpy and writeNpy", () => {
  test("go between tensors and .npy bytes or files", () => {
    using t = rt.tensor([[1.5, -2], [3, 4.25]], { dtype: "float32" });
    const npy = rt.writeNpy(t);
    expect(rt.decodeNpy(npy)).toEqual({ dtype: "float32", shape: [2, 2], data: new Float32Array([1.5, -2, 3, 4.25]) });
    using back = rt.readNpy(npy);
    expect([back.dtype, back.shape, back.toArray()]).toEqual(["float32", [2, 2], [[1.5, -2], [3, 4.25]]]);
    const path = join(dir, "t.npy");
    expect(rt.writeNpy(rt.tensor([true, false, true]), path)).toBeInstanceOf(Uint8Array);
    using flags = rt.readNpy(path);
    expect([flags.dtype, flags.toArray()]).toEqual(["bool", [true, false, true]]);
    using ids = rt.readNpy(rt.writeNpy(rt.tensor(new BigInt64Array([1n, 2n]))));
    expect(ids.toArray()).toEqual([1n, 2n]);
  });

  test("refuse what .npy cannot hold, and what is no .npy file", () => {
    expect(() => rt.writeNpy(rt.tensor(["a", "b"]))).toThrow(rt.TypeError);
    expect(() => rt.readNpy(new Uint8Array([1, 2, 3]))).toThrow("not an NPY file");
    expect(() => rt.readNpy(join(dir, "missing.npy"))).toThrow(rt.IOError);
  });
});

describe("the ONNX builder, as rt.onnx", () => {
  test("builds a model that loads and runs", () => {
    const g = new rt.onnx.GraphBuilder("double");
    g.input("a", "float32", ["N"]);
    g.initializer("two", "float32", [], new Float32Array([2]));
    g.node("Mul", ["a", "two"], { outputs: ["b"] });
    g.output("b", "float32", ["N"]);
    using model = rt.loadModelSync(rt.onnx.buildModel(g));
    expect(arrays(model.runSync({ a: rt.tensor([1, 2, 3]) }))).toEqual({ b: [2, 4, 6] });
  });
});
