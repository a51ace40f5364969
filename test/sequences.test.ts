/**
 * Sequence and optional values through requests: sequence inputs bound as arrays of tensors,
 * sequence and optional outputs returned by run, runSync, getOutputs and getValue, and their errors.
 */
import { describe, expect, test } from "bun:test";
import { buildModel, GraphBuilder, types } from "../src/onnx/builder.ts";
import * as rt from "../src/index.ts";
import { mixedOutputs } from "./support/value-models.ts";

/** seq (a sequence of float32 [2]) and a position → the element there, and the sequence's length. */
function pickFromSequence(): Uint8Array {
  const g = new GraphBuilder("pick");
  g.input("seq", types.sequence(types.tensor("float32", [2])));
  g.input("position", "int64", []);
  g.node("SequenceAt", ["seq", "position"], { outputs: ["item"] });
  g.node("SequenceLength", ["seq"], { outputs: ["length"] });
  g.output("item", "float32", [2]);
  g.output("length", "int64", []);
  return buildModel(g);
}

/** x [4] → its elements as a sequence, the sequence with x appended, and an optional of x. */
function makeSequences(): Uint8Array {
  const g = new GraphBuilder("make");
  g.input("x", "float32", [4]);
  g.node("SplitToSequence", ["x"], { outputs: ["pieces"], attrs: { axis: 0 } });
  g.node("SequenceInsert", ["pieces", "x"], { outputs: ["grown"] });
  g.node("Optional", ["x"], { outputs: ["maybe"] });
  g.output("pieces", types.sequence(types.tensor("float32", [null])));
  g.output("grown", types.sequence(types.tensor("float32", [null])));
  g.output("maybe", types.optional(types.tensor("float32", [4])));
  return buildModel(g);
}

const values = (t: rt.Tensor) => Array.from(t.toTypedArray() as Float32Array);

describe("sequences", () => {
  test("a sequence input is an array of tensors; element types are checked", () => {
    using model = rt.loadModelSync(pickFromSequence());
    using request = model.createRequest();
    const seq = [rt.tensor([1, 2]), rt.tensor([3, 4]), rt.tensor([5, 6])];
    using position = rt.tensor(BigInt(-1), { dtype: "int64" });
    const out = request.runSync<rt.Tensor>({ seq, position });
    expect(values(out.item!)).toEqual([5, 6]);
    expect(out.length!.toArray()).toEqual(BigInt(3));
    expect(() => request.runSync({ seq: [rt.tensor([1, 2], { dtype: "int32" })], position })).toThrow(rt.TypeError);
    expect(() => request.runSync({ seq: rt.tensor([1, 2]), position } as never)).toThrow(rt.InvalidArgumentError);
  });

  test("run, runSync and getOutputs return sequence and optional outputs with the tensors", async () => {
    using model = rt.loadModelSync(makeSequences());
    using x = rt.tensor([1, 2, 3, 4]);
    using request = model.createRequest();
    const check = (outputs: rt.Outputs) => {
      expect(Object.keys(outputs)).toEqual(["pieces", "grown", "maybe"]);
      expect((outputs.pieces as rt.Tensor[]).map(values)).toEqual([[1], [2], [3], [4]]);
      const grown = outputs.grown as rt.Tensor[];
      expect(grown.length).toBe(5);
      expect(values(grown[4]!)).toEqual([1, 2, 3, 4]);
      expect(values(outputs.maybe as rt.Tensor)).toEqual([1, 2, 3, 4]);
    };
    check(request.runSync({ x }));
    check(request.getOutputs());
    check(await request.run({ x }));
    check(model.runSync({ x }));
    check(await model.run({ x }));
    expect(values(request.getValue("maybe") as rt.Tensor)).toEqual([1, 2, 3, 4]);
    expect((request.getValue("pieces") as rt.Tensor[]).length).toBe(4);
  });

  test("an empty optional is null; tensors, sequences and optionals mix in one result", () => {
    using model = rt.loadModelSync(mixedOutputs());
    using x = rt.tensor([1, 2, 3]);
    const out = model.runSync({ x });
    expect(Object.keys(out)).toEqual(["doubled", "empty", "full", "seq", "maybeSeq"]);
    expect(values(out.doubled as rt.Tensor)).toEqual([2, 4, 6]);
    expect(out.empty).toBeNull();
    expect(values(out.full as rt.Tensor)).toEqual([2, 4, 6]);
    expect((out.seq as rt.Tensor[]).map(values)).toEqual([[1, 2, 3], [2, 4, 6]]);
    expect((out.maybeSeq as rt.Tensor[]).map(values)).toEqual([[1, 2, 3], [2, 4, 6]]);
    expect(model.runSync({ x }, { outputs: ["empty", "seq"] })).toEqual({ empty: null, seq: expect.any(Array) });
  });

  test("every tensor a run returns is the caller's: disposable, and counted until disposed", () => {
    using model = rt.loadModelSync(mixedOutputs());
    using x = rt.tensor([1, 2, 3]);
    const before = rt.nativeStats().liveTensors;
    const out = model.runSync({ x });
    const tensors = Object.values(out).flat().filter((v) => v instanceof rt.Tensor);
    expect(tensors.length).toBe(6);
    expect(rt.nativeStats().liveTensors).toBe(before + 6);
    for (const v of Object.values(out)) rt.disposeValue(v);
    expect(tensors.every((t) => t.disposed)).toBe(true);
    expect(rt.nativeStats().liveTensors).toBe(before);
  });
});
