/**
 * Models whose values are not plain tensors (sequences, optionals, maps), built with the ONNX
 * builder; shared by the Bun suites (test/sequences.test.ts, test/maps.test.ts) and the Deno ones.
 */
import { attr, buildModel, GraphBuilder, types } from "../../src/onnx/builder.ts";

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
