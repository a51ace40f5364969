/**
 * Models for the dynamic batcher's tests: row-independent ones whose batched results must be
 * bit-equal to lone runs (elementwise ops, a row sum, a table lookup), one with two inputs, one
 * with a fixed batch of 1 (not batchable), and one whose output puts the batch in dim 1 (so its
 * rows cannot be split back along dim 0).
 */
import { buildModel, GraphBuilder } from "../../src/onnx/builder.ts";

/** y = x * 3 + 0.5 and sum = the sum of each row of y, over float32 [batch, n]. */
export function scaleAndSum(name: string): Uint8Array {
  const g = new GraphBuilder(name);
  g.input("x", "float32", ["batch", "n"]);
  g.initializer("three", "float32", [1], new Float32Array([3]));
  g.initializer("half", "float32", [1], new Float32Array([0.5]));
  g.initializer("axes", "int64", [1], new BigInt64Array([1n]));
  const scaled = g.node("Mul", ["x", "three"]);
  g.node("Add", [scaled, "half"], { outputs: ["y"] });
  g.node("ReduceSum", ["y", "axes"], { outputs: ["sum"], attrs: { keepdims: 1 } });
  g.output("y", "float32", ["batch", "n"]);
  g.output("sum", "float32", ["batch", 1]);
  return buildModel(g);
}

/** y = rows of a 10 x 4 table picked by int64 indices [batch]; an index past 9 fails the run. */
export function lookup(name: string): Uint8Array {
  const g = new GraphBuilder(name);
  g.input("i", "int64", ["batch"]);
  g.initializer("table", "float32", [10, 4], new Float32Array(40).map((_, k) => k / 7));
  g.node("Gather", ["table", "i"], { outputs: ["y"] });
  g.output("y", "float32", ["batch", 4]);
  return buildModel(g);
}

/** sum = a + b over float32 [batch, 4]. */
export function addPair(name: string): Uint8Array {
  const g = new GraphBuilder(name);
  g.input("a", "float32", ["batch", 4]);
  g.input("b", "float32", ["batch", 4]);
  g.node("Add", ["a", "b"], { outputs: ["sum"] });
  g.output("sum", "float32", ["batch", 4]);
  return buildModel(g);
}

/** y = x + 1 over float32 [1, 4]: a fixed batch of one. */
export function fixedBatch(name: string): Uint8Array {
  const g = new GraphBuilder(name);
  g.input("x", "float32", [1, 4]);
  g.initializer("one", "float32", [1], new Float32Array([1]));
  g.node("Add", ["x", "one"], { outputs: ["y"] });
  g.output("y", "float32", [1, 4]);
  return buildModel(g);
}

/** y = x transposed, [batch, n] to [n, batch]: the batch ends up in dim 1. */
export function transpose(name: string): Uint8Array {
  const g = new GraphBuilder(name);
  g.input("x", "float32", ["batch", "n"]);
  g.node("Transpose", ["x"], { outputs: ["y"], attrs: { perm: [1, 0] } });
  g.output("y", "float32", ["n", "batch"]);
  return buildModel(g);
}
