/**
 * Models whose values are not plain tensors (sequences, optionals, maps), built with the ONNX
 * builder; shared by the Bun suites (test/sequences.test.ts, test/maps.test.ts) and the Deno ones.
 */
import { type Attr, attr, buildModel, GraphBuilder, types } from "../../src/onnx/builder.ts";

/** x [3] → doubled, an empty optional, an optional of doubled, a sequence [x, doubled] and that sequence in an optional. */
export function mixedOutputs(): Uint8Array {
  const g = new GraphBuilder("mixed");
  g.input("x", "float32", [3]);
  g.node("Add", ["x", "x"], { outputs: ["doubled"] });
  g.node("Optional", [], { outputs: ["empty"], attrs: { type: attr.type(types.tensor("float32", [3])) } });
  g.node("Optional", ["doubled"], { outputs: ["full"] });
  g.node("SequenceConstruct", ["x", "doubled"], { outputs: ["seq"] });
  g.node("Optional", ["seq"], { outputs: ["maybeSeq"] });
  g.output("doubled", "float32", [3]);
  g.output("empty", types.optional(types.tensor("float32", [3])));
  g.output("full", types.optional(types.tensor("float32", [3])));
  g.output("seq", types.sequence(types.tensor("float32", [3])));
  g.output("maybeSeq", types.optional(types.sequence(types.tensor("float32", [3]))));
  return buildModel(g);
}

const ml = { "": 17, "ai.onnx.ml": 1 };

/**
 * The end of a scikit-learn classifier as skl2onnx writes it: scores x [N, C] → label (ArgMax,
 * a tensor) and output_probability (ZipMap of the softmax: one map per row, class → probability).
 */
export function zipMapClassifier(labels: readonly bigint[] | readonly string[]): Uint8Array {
  const g = new GraphBuilder("classifier");
  g.input("x", "float32", ["N", "C"]);
  const probabilities = g.node("Softmax", ["x"], { attrs: { axis: 1 } });
  g.node("ArgMax", [probabilities], { outputs: ["label"], attrs: { axis: 1, keepdims: 0 } });
  const key = typeof labels[0] === "string" ? "string" : "int64";
  const attrs: Record<string, Attr> = key === "string" ? { classlabels_strings: attr.strings(labels as string[]) } : { classlabels_int64s: attr.ints(labels as bigint[]) };
  g.node("ZipMap", [probabilities], { outputs: ["output_probability"], domain: "ai.onnx.ml", attrs });
  g.output("label", "int64", ["N"]);
  g.output("output_probability", types.sequence(types.map(key, types.tensor("float32"))));
  return buildModel(g, { opsets: ml });
}

/** m: map(int64, `values`) → CastMap with `attrs` → y [1, C]. */
export function castMapModel(values: "float32" | "string", attrs: Record<string, string | bigint>, out: "float32" | "string" | "int64"): Uint8Array {
  const g = new GraphBuilder("cast_map");
  g.input("m", types.map("int64", types.tensor(values)));
  const attributes = Object.fromEntries(Object.entries(attrs).map(([k, v]) => [k, typeof v === "bigint" ? attr.int(v) : attr.string(v)]));
  g.node("CastMap", ["m"], { outputs: ["y"], domain: "ai.onnx.ml", attrs: attributes });
  g.output("y", out, [1, null]);
  return buildModel(g, { opsets: ml });
}

/** m: map(`key`, `values`) → DictVectorizer over `vocabulary` → y [1, V] of the values' type. */
export function dictVectorizerModel(key: "int64" | "string", values: "float32" | "float64" | "int64" | "string", vocabulary: readonly string[] | readonly bigint[]): Uint8Array {
  const g = new GraphBuilder("dict_vectorizer");
  g.input("m", types.map(key, types.tensor(values)));
  const attrs: Record<string, Attr> = typeof vocabulary[0] === "string"
    ? { string_vocabulary: attr.strings(vocabulary as string[]) }
    : { int64_vocabulary: attr.ints(vocabulary as bigint[]) };
  g.node("DictVectorizer", ["m"], { outputs: ["y"], domain: "ai.onnx.ml", attrs });
  g.output("y", values, [1, vocabulary.length]);
  return buildModel(g, { opsets: ml });
}
