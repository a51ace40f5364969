/**
 * Small models that onnxruntime and Tessera both run, one per kind of value onnxruntime's
 * JavaScript API passes: test/ort-compat.test.ts runs each through onnxruntime-node and through
 * tessera/ort. Every op here is exact except Softmax, so outputs must match bit for bit but that.
 */
import { attr, buildModel, GraphBuilder } from "../../src/onnx/builder.ts";

/** x float32 [N, 4] → y = relu(x + w) * 2, square = x * x, softmax over the last axis. */
export function floatOutputs(): Uint8Array {
  const g = new GraphBuilder("float_outputs");
  g.input("x", "float32", ["N", 4]);
  g.initializer("w", "float32", [4], new Float32Array([1, 2, 3, 4]));
  g.initializer("two", "float32", [], new Float32Array([2]));
  const relu = g.node("Relu", [g.node("Add", ["x", "w"])]);
  g.node("Mul", [relu, "two"], { outputs: ["y"] });
  g.node("Mul", ["x", "x"], { outputs: ["square"] });
  g.node("Softmax", ["x"], { outputs: ["softmax"], attrs: { axis: -1 } });
  g.output("y", "float32", ["N", 4]);
  g.output("square", "float32", ["N", 4]);
  g.output("softmax", "float32", ["N", 4]);
  return buildModel(g, { opsets: { "": 17 } });
}

/** ids int64 [3] → next = ids + 1, doubled = ids * 2 (values near 2**62 need BigInt64Array). */
export function integers(): Uint8Array {
  const g = new GraphBuilder("integers");
  g.input("ids", "int64", [3]);
  g.initializer("one", "int64", [], new BigInt64Array([1n]));
  g.initializer("two", "int64", [], new BigInt64Array([2n]));
  g.node("Add", ["ids", "one"], { outputs: ["next"] });
  g.node("Mul", ["ids", "two"], { outputs: ["doubled"] });
  g.output("next", "int64", [3]);
  g.output("doubled", "int64", [3]);
  return buildModel(g, { opsets: { "": 17 } });
}

/** x float32 [2, 3], mask bool [2, 3] → positive = x > 0, both = positive and mask, kept = mask ? x : 0. */
export function booleans(): Uint8Array {
  const g = new GraphBuilder("booleans");
  g.input("x", "float32", [2, 3]);
  g.input("mask", "bool", [2, 3]);
  g.initializer("zero", "float32", [], new Float32Array([0]));
  g.node("Greater", ["x", "zero"], { outputs: ["positive"] });
  g.node("And", ["positive", "mask"], { outputs: ["both"] });
  g.node("Where", ["mask", "x", "zero"], { outputs: ["kept"] });
  g.output("positive", "bool", [2, 3]);
  g.output("both", "bool", [2, 3]);
  g.output("kept", "float32", [2, 3]);
  return buildModel(g, { opsets: { "": 17 } });
}

/** words string [N] → same (Identity), joined = words ++ ["end"], isB = (words == "b"). */
export function strings(): Uint8Array {
  const g = new GraphBuilder("strings");
  g.input("words", "string", ["N"]);
  g.initializer("end", "string", [1], ["end"]);
  g.initializer("b", "string", [], ["b"]);
  g.node("Identity", ["words"], { outputs: ["same"] });
  g.node("Concat", ["words", "end"], { outputs: ["joined"], attrs: { axis: 0 } });
  g.node("Equal", ["words", "b"], { outputs: ["isB"] });
  g.output("same", "string", ["N"]);
  g.output("joined", "string", [null]);
  g.output("isB", "bool", ["N"]);
  return buildModel(g, { opsets: { "": 19 } });
}

/** x float32 [6] → narrowed = float16(x). */
export function narrowing(): Uint8Array {
  const g = new GraphBuilder("narrowing");
  g.input("x", "float32", [6]);
  g.node("Cast", ["x"], { outputs: ["narrowed"], attrs: { to: attr.int(10) } });
  g.output("narrowed", "float16", [6]);
  return buildModel(g, { opsets: { "": 17 } });
}

/** h float16 [4] → widened = float32(h), same = h. */
export function widening(): Uint8Array {
  const g = new GraphBuilder("widening");
  g.input("h", "float16", [4]);
  g.node("Cast", ["h"], { outputs: ["widened"], attrs: { to: attr.int(1) } });
  g.node("Identity", ["h"], { outputs: ["same"] });
  g.output("widened", "float32", [4]);
  g.output("same", "float16", [4]);
  return buildModel(g, { opsets: { "": 17 } });
}

/** The other element types onnxruntime-common's Tensor holds (int4 and uint4 apart). */
export const otherTypes = ["uint8", "int8", "uint16", "int16", "int32", "float64", "uint32", "uint64"] as const;

/** in_<type> [2, 3] → out_<type> = in_<type>, for each type. */
export function identities(types: readonly string[]): Uint8Array {
  const g = new GraphBuilder("identities");
  for (const type of types) {
    g.input(`in_${type}`, type, [2, 3]);
    g.node("Identity", [`in_${type}`], { outputs: [`out_${type}`] });
    g.output(`out_${type}`, type, [2, 3]);
  }
  return buildModel(g, { opsets: { "": 21 } });
}
