/** Small models the tests build with the project's ONNX builder. */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { attr, buildModel, ExternalDataFile, FunctionBuilder, GraphBuilder } from "../../src/onnx/builder.ts";
import { scratchDir } from "./paths.ts";

/** y = relu(x + w) * 2 over [N, 4], with metadata and a named graph. */
export function addRelu(options: { opset?: number } = {}): Uint8Array {
  const g = new GraphBuilder("add_relu");
  g.input("x", "float32", ["N", 4]);
  g.initializer("w", "float32", [4], new Float32Array([1, 2, 3, 4]));
  g.initializer("two", "float32", [], new Float32Array([2]));
  const sum = g.node("Add", ["x", "w"], { name: "add" });
  const relu = g.node("Relu", [sum], { name: "relu" });
  g.node("Mul", [relu, "two"], { name: "scale", outputs: ["y"] });
  g.output("y", "float32", ["N", 4]);
  return buildModel(g, {
    opsets: { "": options.opset ?? 17 },
    producerName: "tessera-tests",
    producerVersion: "1.0",
    metadata: { author: "tests", purpose: "loading" },
  });
}

/** A model folder: model.onnx with its weights in weights.bin, plus tessera.json. */
export function externalFolder(manifest?: object): string {
  const folder = join(scratchDir("tessera-folder-"), "model");
  mkdirSync(folder);
  const file = new ExternalDataFile("weights.bin");
  const g = new GraphBuilder("external");
  g.input("x", "float32", [2, 3]);
  g.initializer("w", "float32", [2, 3], new Float32Array([1, 2, 3, 4, 5, 6]), { external: file });
  g.node("Add", ["x", "w"], { outputs: ["y"] });
  g.output("y", "float32", [2, 3]);
  writeFileSync(join(folder, "model.onnx"), buildModel(g));
  writeFileSync(join(folder, "weights.bin"), file.bytes());
  if (manifest) writeFileSync(join(folder, "tessera.json"), JSON.stringify(manifest));
  return folder;
}

/** A model-local function (scaled add) called by one node. */
export function withFunction(): Uint8Array {
  const f = new FunctionBuilder("ScaledAdd", { domain: "local", opsets: { "": 17 } });
  f.input("a");
  f.input("b");
  f.attribute("alpha", 1.0);
  const s = f.node("Add", ["a", "b"]);
  const alpha = f.node("Constant", [], { attrs: { value_float: attr.ref("alpha", "float") } });
  f.node("Mul", [s, alpha], { outputs: ["out"] });
  f.output("out");
  const g = new GraphBuilder("calls_function");
  g.input("x", "float32", [3]);
  g.input("y", "float32", [3]);
  g.node("ScaledAdd", ["x", "y"], { domain: "local", name: "call", attrs: { alpha: 3.0 }, outputs: ["z"] });
  g.output("z", "float32", [3]);
  return buildModel(g, { opsets: { "": 17, local: 1 }, functions: [f] });
}

/** QuantizeLinear → DequantizeLinear, per tensor, and a per-channel DequantizeLinear weight. */
export function quantized(): Uint8Array {
  const g = new GraphBuilder("quantized");
  g.input("x", "float32", [1, 3]);
  g.initializer("scale", "float32", [], new Float32Array([0.5]));
  g.initializer("zero", "uint8", [], new Uint8Array([128]));
  g.node("QuantizeLinear", ["x", "scale", "zero"], { outputs: ["xq"] });
  g.node("DequantizeLinear", ["xq", "scale", "zero"], { outputs: ["xd"] });
  g.initializer("wq", "int8", [3, 2], new Int8Array([1, 2, 3, 4, 5, 6]));
  g.initializer("wscale", "float32", [3], new Float32Array([0.1, 0.2, 0.3]));
  g.initializer("wzero", "int8", [3], new Int8Array([0, 1, -1]));
  g.node("DequantizeLinear", ["wq", "wscale", "wzero"], { attrs: { axis: 0 }, outputs: ["w"] });
  g.node("MatMul", ["xd", "w"], { outputs: ["y"] });
  g.output("y", "float32", [1, 2]);
  return buildModel(g, { opsets: { "": 19 } });
}

/** A chain of `n` Add nodes, to make a model whose load takes a while. */
export function longChain(n: number): Uint8Array {
  const g = new GraphBuilder("chain");
  let value = g.input("x", "float32", ["batch", 16]);
  g.initializer("one", "float32", [16], new Float32Array(16).fill(1));
  for (let i = 0; i < n; i++) value = g.node("Add", [value, "one"]);
  g.node("Identity", [value], { outputs: ["y"] });
  g.output("y", "float32", ["batch", 16]);
  return buildModel(g);
}

/** y = -x over float32 [4]. */
export function negate(): Uint8Array {
  const g = new GraphBuilder("negate");
  g.input("x", "float32", [4]);
  g.node("Neg", ["x"], { outputs: ["y"] });
  g.output("y", "float32", [4]);
  return buildModel(g);
}

/** y = sigmoid(relu(x · w + b)) over x [N, 3]: MatMul, Add (broadcast) and Relu for myext, Sigmoid for the CPU. */
export function denseModel(): Uint8Array {
  const g = new GraphBuilder("dense");
  g.input("x", "float32", ["N", 3]);
  g.initializer("w", "float32", [3, 4], new Float32Array([0.5, -1, 2, 0.25, 1.5, 0.75, -0.5, 1, -2, 0.5, 1, -0.75]));
  g.initializer("b", "float32", [4], new Float32Array([0.1, -0.2, 0.3, -0.4]));
  const product = g.node("MatMul", ["x", "w"], { name: "matmul" });
  const sum = g.node("Add", [product, "b"], { name: "bias" });
  const relu = g.node("Relu", [sum], { name: "relu" });
  g.node("Sigmoid", [relu], { name: "sig", outputs: ["y"] });
  g.output("y", "float32", ["N", 4]);
  return buildModel(g);
}
