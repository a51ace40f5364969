/**
 * The models the serving tests put in a repository: one per OIP v2 datatype the server carries
 * (each adds one, or negates for BOOL, so the expected result is easy to compute on both sides of
 * the wire), one passing strings through, and one with two outputs. The batch dim is dynamic (-1
 * in model metadata), the rest fixed.
 */
import { buildModel, GraphBuilder } from "../../src/onnx/builder.ts";
import type { DType } from "../../src/dtype.ts";

/** y = x + 1 over `dtype`, shape [batch, 4]. */
export function addOne(name: string, dtype: DType): Uint8Array {
  const g = new GraphBuilder(name);
  g.input("x", dtype, ["batch", 4]);
  const one = dtype === "int64" ? new BigInt64Array([1n]) : dtype === "float16" ? new Uint16Array([0x3c00]) : dtype === "uint8" ? new Uint8Array([1]) : new Float32Array([1]);
  g.initializer("one", dtype, [1], one);
  g.node("Add", ["x", "one"], { outputs: ["y"] });
  g.output("y", dtype, ["batch", 4]);
  return buildModel(g);
}

/** y = not x, shape [batch, 4]. */
export function negate(name: string): Uint8Array {
  const g = new GraphBuilder(name);
  g.input("x", "bool", ["batch", 4]);
  g.node("Not", ["x"], { outputs: ["y"] });
  g.output("y", "bool", ["batch", 4]);
  return buildModel(g);
}

/** y = x for strings, shape [batch]. */
export function passStrings(name: string): Uint8Array {
  const g = new GraphBuilder(name);
  g.input("x", "string", ["batch"]);
  g.node("Identity", ["x"], { outputs: ["y"] });
  g.output("y", "string", ["batch"]);
  return buildModel(g);
}

/** sum = a + b and product = a * b over float32 [2, 3]. */
export function twoOutputs(name: string): Uint8Array {
  const g = new GraphBuilder(name);
  g.input("a", "float32", [2, 3]);
  g.input("b", "float32", [2, 3]);
  g.node("Add", ["a", "b"], { outputs: ["sum"] });
  g.node("Mul", ["a", "b"], { outputs: ["product"] });
  g.output("sum", "float32", [2, 3]);
  g.output("product", "float32", [2, 3]);
  return buildModel(g);
}
