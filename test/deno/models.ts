/**
 * Models for the request tests, shared by the Bun suites (test/request*.test.ts,
 * test/queue.test.ts) and the Deno ones (test/deno/requests.ts), built with the ONNX builder.
 */
import { buildModel, GraphBuilder } from "../../src/onnx/builder.ts";

export { addRelu, longChain, negate } from "../support/models.ts";

/** c = a + b over float32 [4]: one node, for round trips. */
export function addPair(): Uint8Array {
  const g = new GraphBuilder("add_pair");
  g.input("a", "float32", [4]);
  g.input("b", "float32", [4]);
  g.node("Add", ["a", "b"], { name: "add", outputs: ["c"] });
  g.output("c", "float32", [4]);
  return buildModel(g);
}

/**
 * Two outputs with separate paths from x [2, 3]: y = relu(x) * 2 through the intermediate "t",
 * and z = -x. Selecting only z must leave t uncomputed.
 */
export function twoOutputs(): Uint8Array {
  const g = new GraphBuilder("two_outputs");
  g.input("x", "float32", [2, 3]);
  g.initializer("two", "float32", [], new Float32Array([2]));
  g.node("Relu", ["x"], { name: "relu", outputs: ["t"] });
  g.node("Mul", ["t", "two"], { name: "double", outputs: ["y"] });
  g.node("Neg", ["x"], { name: "negate", outputs: ["z"] });
  g.output("y", "float32", [2, 3]);
  g.output("z", "float32", [2, 3]);
  return buildModel(g);
}

/** An int32 input next to a float32 one, for type checks: out = float(i) + f over [2]. */
export function mixedTypes(): Uint8Array {
  const g = new GraphBuilder("mixed");
  g.input("i", "int32", [2]);
  g.input("f", "float32", [2]);
  const cast = g.node("Cast", ["i"], { attrs: { to: 1 } });
  g.node("Add", [cast, "f"], { outputs: ["out"] });
  g.output("out", "float32", [2]);
  return buildModel(g);
}

/** Rows of x [rows, 256] shifted by +1 `n` times: long enough to cancel from a timer. */
export function heavyChain(n: number): Uint8Array {
  const g = new GraphBuilder("heavy");
  let value = g.input("x", "float32", ["rows", 256]);
  g.initializer("one", "float32", [256], new Float32Array(256).fill(1));
  for (let i = 0; i < n; i++) value = g.node("Add", [value, "one"]);
  g.node("Identity", [value], { outputs: ["y"] });
  g.output("y", "float32", ["rows", 256]);
  return buildModel(g);
}
