/**
 * Map values (ONNX's map(K, V)) through requests, and the ai.onnx.ml operators over them: ZipMap
 * (how skl2onnx classifiers end), CastMap and DictVectorizer; map inputs from JS Maps and plain
 * objects, map outputs as JS Maps, and the typed errors of wrong maps.
 */
import { describe, expect, test } from "bun:test";
import * as rt from "../src/index.ts";
import { castMapModel, dictVectorizerModel, zipMapClassifier } from "./support/value-models.ts";

const softmax = (row: number[]) => {
  const e = row.map((v) => Math.exp(v - Math.max(...row)));
  return e.map((v) => v / e.reduce((a, b) => a + b, 0));
};

/** A JS Map's entries, values rounded to 5 decimals, for comparisons with float32 results. */
const rounded = (m: rt.ValueMap) => [...m].map(([k, v]) => [k, typeof v === "number" ? Math.round(v * 1e5) / 1e5 : v]);
const expectedRow = (keys: readonly (number | string)[], scores: number[]) => keys.map((k, i) => [k, Math.round(softmax(scores)[i]! * 1e5) / 1e5]);

describe("ZipMap", () => {
  const scores = [[1, 2, 3], [0, 0, 0]];

  test("int64 labels: one JS Map per row, number keys, with the tensor outputs, from run, runSync and getOutputs", async () => {
    using model = rt.loadModelSync(zipMapClassifier([0n, 1n, 2n]));
    using x = rt.tensor(scores);
    for (const out of [model.runSync({ x }), await model.run({ x })]) {
      expect(Object.keys(out)).toEqual(["label", "output_probability"]);
      expect((out.label as rt.Tensor).toArray()).toEqual([2n, 0n]);
      const rows = out.output_probability as rt.ValueMap[];
      expect(rows.length).toBe(2);
      expect(rows[0]!.get(2)).toBeCloseTo(softmax(scores[0]!)[2]!, 5);
      expect(rows.map(rounded)).toEqual(scores.map((row) => expectedRow([0, 1, 2], row)));
      rt.disposeValue(out.label);
    }
    using request = model.createRequest();
    request.runSync({ x });
    expect((request.getValue("output_probability") as rt.ValueMap[]).map(rounded)).toEqual(scores.map((row) => expectedRow([0, 1, 2], row)));
  });

  test("string labels, and int64 labels no number holds exactly come back as bigints", () => {
    using model = rt.loadModelSync(zipMapClassifier(["cat", "dog", "fox"]));
    using x = rt.tensor([[1, 2, 3]]);
    const [row] = model.runSync({ x }).output_probability as rt.ValueMap[];
    expect(rounded(row!)).toEqual(expectedRow(["cat", "dog", "fox"], [1, 2, 3]));
    using huge = rt.loadModelSync(zipMapClassifier([2n ** 60n, -1n, 7n]));
    const [hugeRow] = huge.runSync({ x }).output_probability as rt.ValueMap[];
    expect([...hugeRow!.keys()]).toEqual([2n ** 60n, -1, 7]);
  });

  test("a batch of no rows gives no maps; labels that do not match the scores are an error", () => {
    using model = rt.loadModelSync(zipMapClassifier([0n, 1n, 2n]));
    using empty = rt.tensor(new Float32Array(0), { shape: [0, 3] });
    expect(model.runSync({ x: empty }).output_probability).toEqual([]);
    using two = rt.loadModelSync(zipMapClassifier([0n, 1n]));
    using x = rt.tensor([[1, 2, 3]]);
    expect(() => two.runSync({ x })).toThrow(/3 scores per row but there are 2 class labels/);
    using twice = rt.loadModelSync(zipMapClassifier(["a", "b", "a"]));
    expect(() => twice.runSync({ x })).toThrow(/map key 'a' appears twice/);
  });
});

describe("CastMap", () => {
  const m = new Map<number, number>([[3, 0.5], [1, 1.5], [2, -1.25]]);

  test("DENSE: the values in ascending key order, cast to float, int64 or string", () => {
    using toFloat = rt.loadModelSync(castMapModel("float32", {}, "float32"));
    expect((toFloat.runSync({ m }).y as rt.Tensor).toArray()).toEqual([[1.5, -1.25, 0.5]]);
    using toInt = rt.loadModelSync(castMapModel("float32", { cast_to: "TO_INT64" }, "int64"));
    expect((toInt.runSync({ m }).y as rt.Tensor).toArray()).toEqual([[1n, -1n, 0n]]);
    using toString = rt.loadModelSync(castMapModel("float32", { cast_to: "TO_STRING" }, "string"));
    expect((toString.runSync({ m }).y as rt.Tensor).toArray()).toEqual([["1.500000", "-1.250000", "0.500000"]]);
    // A plain object's keys are strings: for an int64-keyed map they are read as integers.
    expect((toFloat.runSync({ m: { "2": 4, "-1": 8 } }).y as rt.Tensor).toArray()).toEqual([[8, 4]]);
    expect(toFloat.getTensor("m")).toMatchObject({ kind: "map", dtype: "int64", valueDtype: "float32" });
  });

  test("SPARSE: key k at column k up to max_map, padded with 0 (\"0.f\" for strings, as onnxruntime)", () => {
    const sparse = new Map<number, number>([[1, 1.5], [3, 0.5], [7, 9]]);
    using toFloat = rt.loadModelSync(castMapModel("float32", { map_form: "SPARSE", max_map: 5n }, "float32"));
    expect((toFloat.runSync({ m: sparse }).y as rt.Tensor).toArray()).toEqual([[0, 1.5, 0, 0.5, 0]]);
    using fromStrings = rt.loadModelSync(castMapModel("string", { map_form: "SPARSE", max_map: 3n, cast_to: "TO_STRING" }, "string"));
    expect((fromStrings.runSync({ m: new Map([[2, "two"]]) }).y as rt.Tensor).toArray()).toEqual([["0.f", "0.f", "two"]]);
    expect(() => toFloat.runSync({ m: new Map([[-1, 1]]) })).toThrow(/key -1 is negative/);
  });

  test("string values parse as numbers; one that is not a number is an error", () => {
    using model = rt.loadModelSync(castMapModel("string", {}, "float32"));
    expect((model.runSync({ m: new Map([[1, " 2.5"], [0, "-3"]]) }).y as rt.Tensor).toArray()).toEqual([[-3, 2.5]]);
    expect(() => model.runSync({ m: new Map([[0, "many"]]) })).toThrow(/map value 'many' is not a number/);
  });
});

describe("DictVectorizer", () => {
  test("string keys: a value per vocabulary entry, 0 where the map has none, other keys ignored", () => {
    using model = rt.loadModelSync(dictVectorizerModel("string", "float32", ["a", "b", "c"]));
    const out = model.runSync({ m: { b: 2, z: 9, a: 1 } });
    expect((out.y as rt.Tensor).toArray()).toEqual([[1, 2, 0]]);
    expect((model.runSync({ m: new Map([["c", 0.5]]) }).y as rt.Tensor).toArray()).toEqual([[0, 0, 0.5]]);
  });

  test("int64 keys with double, int64 and string values", () => {
    using doubles = rt.loadModelSync(dictVectorizerModel("int64", "float64", [10n, 20n]));
    const y = doubles.runSync({ m: new Map([[20n, 0.1], [10n, 1e-300]]) }).y as rt.Tensor;
    expect(y.dtype).toBe("float64");
    expect(y.toArray()).toEqual([[1e-300, 0.1]]);
    using ints = rt.loadModelSync(dictVectorizerModel("int64", "int64", [5n, 6n]));
    expect((ints.runSync({ m: new Map([[6, 2n ** 62n]]) }).y as rt.Tensor).toArray()).toEqual([[0n, 2n ** 62n]]);
    using strings = rt.loadModelSync(dictVectorizerModel("int64", "string", [1n, 2n]));
    expect((strings.runSync({ m: { "2": "two" } }).y as rt.Tensor).toArray()).toEqual([["", "two"]]);
  });
});

test("the tensors made for map inputs are freed: by the next run, and when a pooled request goes idle", () => {
  using model = rt.loadModelSync(dictVectorizerModel("string", "float32", ["a"]));
  const m = new Map([["a", 1]]);
  rt.disposeValue(model.runSync({ m }).y);
  const before = rt.nativeStats().liveTensors;
  for (let i = 0; i < 5; i++) rt.disposeValue(model.runSync({ m }).y);
  expect(rt.nativeStats().liveTensors).toBe(before); // the pooled request holds none once idle
  using request = model.createRequest();
  for (let i = 0; i < 5; i++) rt.disposeValue(request.runSync({ m }).y);
  expect(rt.nativeStats().liveTensors).toBe(before + 2); // its last run's keys and values only
});

describe("bad map inputs give typed errors", () => {
  test("keys or values of the wrong type, caught before binding", () => {
    using model = rt.loadModelSync(dictVectorizerModel("string", "float32", ["a", "b"]));
    expect(() => model.runSync({ m: new Map([[1, 2]]) })).toThrow(rt.TypeError);
    expect(() => model.runSync({ m: new Map([[1, 2]]) })).toThrow(/keys of map input 'm' are string: number key 1/);
    expect(() => model.runSync({ m: { a: "x" } })).toThrow(rt.TypeError);
    expect(() => model.runSync({ m: rt.tensor([1]) } as never)).toThrow(rt.InvalidArgumentError);
    expect(() => model.runSync({})).toThrow(/input 'm' is missing/);
  });

  test("a map whose key type the operator does not take fails the run with a TypeError", () => {
    // The model declares int64 keys, but its DictVectorizer's vocabulary is strings.
    using mismatched = rt.loadModelSync(dictVectorizerModel("int64", "float32", ["a", "b"]));
    expect(() => mismatched.runSync({ m: new Map([[1, 2]]) })).toThrow(rt.TypeError);
    expect(() => mismatched.runSync({ m: new Map([[1, 2]]) })).toThrow(/keys must be string \(the string_vocabulary\), not int64/);
  });

  test("the same key twice (1 and 1n) fails the run; the request stays usable", () => {
    using ints = rt.loadModelSync(dictVectorizerModel("int64", "float32", [1n]));
    using request = ints.createRequest();
    expect(() => request.runSync({ m: new Map<number | bigint, number>([[1, 2], [1n, 3]]) })).toThrow(/map key 1 appears twice/);
    expect((request.runSync({ m: new Map([[1, 2]]) }).y as rt.Tensor).toArray()).toEqual([[2]]);
  });
});
