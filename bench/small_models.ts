/** Small models whose run costs almost nothing but the runtime's per-run and per-node overhead. */
import { buildModel, GraphBuilder } from "../src/onnx/builder.ts";

/** One Add over float32 [1, 4]. */
export function oneNode(): Uint8Array {
  const g = new GraphBuilder("one_node");
  g.input("x", "float32", [1, 4]);
  g.initializer("b", "float32", [4], new Float32Array([1, 2, 3, 4]));
  g.node("Add", ["x", "b"], { outputs: ["y"] });
  g.output("y", "float32", [1, 4]);
  return buildModel(g);
}

/** 100 nodes over [1, 256]: Add, Mul and Relu in turn. */
export function smallOps(): Uint8Array {
  const g = new GraphBuilder("small_ops");
  let value = g.input("x", "float32", [1, 256]);
  g.initializer("a", "float32", [256], new Float32Array(256).fill(0.01));
  g.initializer("m", "float32", [256], new Float32Array(256).fill(0.99));
  const ops = ["Add", "Mul", "Relu"];
  for (let i = 0; i < 100; i++) {
    const op = ops[i % 3]!;
    value = g.node(op, op === "Relu" ? [value] : [value, op === "Add" ? "a" : "m"]);
  }
  g.node("Identity", [value], { outputs: ["y"] });
  g.output("y", "float32", [1, 256]);
  return buildModel(g);
}

/**
 * A keyword-spotting classifier head: 490 features (49 frames of 10 MFCCs) through two
 * 64-wide Gemm + Relu layers to 12 keyword scores and a Softmax; some 36,000 multiply-adds, a
 * run of a few tens of µs on one thread. Weights are fixed pseudo-random values.
 */
export function keywordHead(): Uint8Array {
  const g = new GraphBuilder("keyword_head");
  const weights = (n: number, seed: number) => new Float32Array(n).map((_, i) => Math.sin(i * 12.9898 + seed) * 0.1);
  let value = g.input("x", "float32", [1, 490]);
  const layers: [number, number][] = [[490, 64], [64, 64], [64, 12]];
  layers.forEach(([inner, outer], i) => {
    g.initializer(`w${i}`, "float32", [inner, outer], weights(inner * outer, i));
    g.initializer(`b${i}`, "float32", [outer], weights(outer, i + 10));
    value = g.node("Gemm", [value, `w${i}`, `b${i}`]);
    if (i < layers.length - 1) value = g.node("Relu", [value]);
  });
  g.node("Softmax", [value], { outputs: ["y"] });
  g.output("y", "float32", [1, 12]);
  return buildModel(g);
}
