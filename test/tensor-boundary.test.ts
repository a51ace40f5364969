/**
 * Where JS data meets native code: tensors whose ArrayBuffer is detached or shrunk under them,
 * bool bytes other than 0 and 1, and random inputs too large to make.
 */
import { describe, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import * as rt from "../src/index.ts";
import { buildInputs } from "../src/cli/inputs.ts";
import { decodeNpy as readNpy, encodeNpy as writeNpy } from "../src/npy.ts";
import { buildModel, GraphBuilder } from "../src/onnx/builder.ts";
import { maxRandomInputBytes, randomStream, seededTensor } from "../src/random.ts";
import { tessera } from "./support/cli.ts";
import { negate } from "./support/models.ts";
import { scratchDir } from "./support/paths.ts";

const dir = scratchDir("tessera-boundary-");

/** The bool operators over a, b: bool [4]; where picks from [10, 20, 30, 40] and [-1, -2, -3, -4]. */
function boolOps(): Uint8Array {
  const g = new GraphBuilder("bool_ops");
  g.input("a", "bool", [4]);
  g.input("b", "bool", [4]);
  g.initializer("yes", "float32", [4], new Float32Array([10, 20, 30, 40]));
  g.initializer("no", "float32", [4], new Float32Array([-1, -2, -3, -4]));
  g.node("Not", ["a"], { outputs: ["not"] });
  g.node("And", ["a", "b"], { outputs: ["and"] });
  g.node("Xor", ["a", "b"], { outputs: ["xor"] });
  g.node("Cast", ["a"], { attrs: { to: 2 }, outputs: ["cast"] }); // to uint8
  g.node("Equal", ["a", "b"], { outputs: ["equal"] });
  g.node("Where", ["a", "yes", "no"], { outputs: ["where"] });
  for (const name of ["not", "and", "xor", "equal"]) g.output(name, "bool", [4]);
  g.output("cast", "uint8", [4]);
  g.output("where", "float32", [4]);
  return buildModel(g);
}

/** Inputs too large to make up: x is 40 GB of float32, z 4 TB of complex64, n open. */
function huge(): Uint8Array {
  const g = new GraphBuilder("huge");
  g.input("x", "float32", [100_000, 100_000]);
  g.input("z", "complex64", [2 ** 20, 2 ** 19]);
  g.input("n", "float32", ["N", 4]);
  g.node("Identity", ["x"], { outputs: ["y"] });
  g.output("y", "float32", [100_000, 100_000]);
  return buildModel(g);
}

const bytes = (t: rt.Tensor | undefined) => Array.from(t!.toTypedArray() as Uint8Array);
const floats = (t: rt.Tensor | undefined) => Array.from(t!.toTypedArray() as Float32Array);

describe("a tensor whose ArrayBuffer is detached or shrunk", () => {
  const ways: Record<string, (buffer: ArrayBuffer) => void> = {
    "transfer()": (buffer) => void buffer.transfer(),
    "transferred by postMessage": (buffer) => void structuredClone(buffer, { transfer: [buffer] }),
    "resize(0)": (buffer) => buffer.resize(0),
    "resized below the tensor": (buffer) => buffer.resize(8),
  };

  for (const [way, lose] of Object.entries(ways)) {
    test(`${way}: every use throws InvalidStateError, none reaches native code`, () => {
      using model = rt.loadModelSync(negate());
      const buffer = new ArrayBuffer(16, { maxByteLength: 32 });
      const t = rt.tensor(new Float32Array(buffer), { copy: false });
      lose(buffer);
      const uses: Record<string, () => unknown> = {
        toTypedArray: () => t.toTypedArray(),
        data: () => t.data,
        toArray: () => t.toArray(),
        toString: () => t.toString(),
        fill: () => t.fill(1),
        save: () => t.save(join(dir, "lost.tsr")),
        "run input": () => model.runSync({ x: t }),
        "run output": () => model.runSync({ x: new Float32Array(4) }, { into: { y: t } }),
        infer: () => model.createRequest().infer({ x: t }),
      };
      for (const [name, use] of Object.entries(uses)) {
        expect(use, name).toThrow(rt.InvalidStateError);
        expect(use, name).toThrow(/ArrayBuffer under its 16 bytes was (detached|resized to \d+ bytes)/);
      }
      t.dispose(); // still releases the native tensor
      expect(t.disposed).toBe(true);
    });
  }

  test("a copied tensor's storage detached through toTypedArray() is caught too", () => {
    using model = rt.loadModelSync(negate());
    using t = rt.tensor([1, 2, 3, 4]);
    (t.toTypedArray().buffer as ArrayBuffer).transfer();
    expect(() => model.runSync({ x: t })).toThrow(rt.InvalidStateError);
  });

  test("a resizable buffer grown back to size is usable again (it never moved)", () => {
    using model = rt.loadModelSync(negate());
    const buffer = new ArrayBuffer(16, { maxByteLength: 32 });
    const view = new Float32Array(buffer); // tracks the buffer's length
    using t = rt.tensor(view, { copy: false });
    buffer.resize(0);
    expect(() => t.fill(1)).toThrow(/was resized to 0 bytes/);
    buffer.resize(32);
    t.fill(2);
    expect(floats(model.runSync<rt.Tensor>({ x: t }).y)).toEqual([-2, -2, -2, -2]);
  });

  test("TypedArrays bound directly to a request: detached inputs and outputs throw InvalidStateError", () => {
    using model = rt.loadModelSync(negate());
    using request = model.createRequest();
    const x = new Float32Array([1, 2, 3, 4]);
    const y = new Float32Array(4);
    request.runSync({ x }, { into: { y } });
    expect(Array.from(y)).toEqual([-1, -2, -3, -4]);
    const wrapped = request.getOutputs<rt.Tensor>().y!; // the request's tensor over y
    (y.buffer as ArrayBuffer).transfer();
    expect(() => wrapped.toTypedArray()).toThrow(rt.InvalidStateError);
    expect(() => request.runSync({ x }, { into: { y } })).toThrow(rt.InvalidStateError);
    expect(() => request.runSync({ x }, { into: { y } })).toThrow(/output 'y': its ArrayBuffer was detached/);
    (x.buffer as ArrayBuffer).transfer();
    expect(() => request.runSync({ x })).toThrow(/input 'x': its ArrayBuffer was detached/);
    expect(floats(request.runSync<rt.Tensor>({ x: new Float32Array([5, 6, 7, 8]) }).y)).toEqual([-5, -6, -7, -8]);
  });
});

describe("bool bytes other than 0 and 1 become 1 where they enter", () => {
  const a = () => new Uint8Array([0, 1, 2, 255]);
  const b = () => new Uint8Array([1, 0, 128, 1]);
  /** What the operators give for a = [F, T, T, T] and b = [T, F, T, T]. */
  const expected = {
    not: [1, 0, 0, 0],
    and: [0, 0, 1, 1],
    xor: [1, 1, 0, 0],
    cast: [0, 1, 1, 1],
    equal: [0, 0, 1, 1],
    where: [-1, 20, 30, 40],
  };
  const results = (outputs: rt.Outputs<rt.Tensor>) => ({
    not: bytes(outputs.not),
    and: bytes(outputs.and),
    xor: bytes(outputs.xor),
    cast: bytes(outputs.cast),
    equal: bytes(outputs.equal),
    where: floats(outputs.where),
  });

  test("copied: Not, And, Xor, Cast, Equal and Where give the right results; the source is kept", () => {
    using model = rt.loadModelSync(boolOps());
    const source = a();
    using ta = rt.tensor(source, { dtype: "bool" });
    using tb = rt.tensor(b(), { dtype: "bool" });
    expect(bytes(ta)).toEqual([0, 1, 1, 1]);
    expect(Array.from(source)).toEqual([0, 1, 2, 255]);
    expect(results(model.runSync<rt.Tensor>({ a: ta, b: tb }))).toEqual(expected);
  });

  test("zero-copy: normalized in place, then the operators give the right results", () => {
    using model = rt.loadModelSync(boolOps());
    const source = a();
    using ta = rt.tensor(source, { dtype: "bool", copy: false });
    using tb = rt.tensor(new Uint8ClampedArray([1, 0, 128, 1]), { dtype: "bool", copy: false });
    expect(Array.from(source)).toEqual([0, 1, 1, 1]);
    expect(ta.toTypedArray()).toBe(source);
    expect(results(model.runSync<rt.Tensor>({ a: ta, b: tb }))).toEqual(expected);
  });

  test("TypedArrays bound directly, also when refilled between runs of one request", () => {
    using model = rt.loadModelSync(boolOps());
    using request = model.createRequest();
    const ta = a();
    const tb = b();
    expect(results(request.runSync<rt.Tensor>({ a: ta, b: tb }))).toEqual(expected);
    ta.set([0, 7, 200, 255]); // the same arrays again: the request reuses its wrappers
    tb.set([3, 0, 1, 64]);
    expect(results(request.runSync<rt.Tensor>({ a: ta, b: tb }))).toEqual(expected);
  });

  test("scalars, nested arrays and fill give 0 and 1", () => {
    using filled = rt.tensor(2, { shape: [2], dtype: "bool" });
    using nested = rt.tensor([0, 3, -1], { dtype: "bool" });
    expect([bytes(filled), bytes(nested)]).toEqual([[1, 1], [0, 1, 1]]);
  });

  test(".npy files: readNpy gives 0 and 1, and the CLI's inputs run right", () => {
    const pathA = join(dir, "a.npy");
    const pathB = join(dir, "b.npy");
    writeFileSync(pathA, writeNpy({ dtype: "bool", shape: [4], data: a() }));
    writeFileSync(pathB, writeNpy({ dtype: "bool", shape: [4], data: b() }));
    expect(Array.from(readNpy(writeNpy({ dtype: "bool", shape: [4], data: a() })).data as Uint8Array)).toEqual([0, 1, 1, 1]);
    using model = rt.loadModelSync(boolOps());
    using inputs = buildInputs(model, { inputs: [`a=${pathA}`, `b=${pathB}`] });
    expect(results(model.runSync<rt.Tensor>(inputs.tensors))).toEqual(expected);
  });
});

describe("random inputs too large to make", () => {
  test("randomTensor and randomInputs: OutOfResourceError naming the input and its size", () => {
    using model = rt.loadModelSync(huge());
    const x = model.getTensor("x");
    expect(() => rt.randomTensor(x)).toThrow(rt.OutOfResourceError);
    expect(() => rt.randomTensor(x)).toThrow("random input 'x' (float32 [100000, 100000], 10000000000 elements) would take 40000000000 bytes (37.3 GiB)");
    // Types filled with zeros rather than random numbers are checked the same way.
    expect(() => rt.randomTensor(model.getTensor("z"))).toThrow("random input 'z' (complex64 [1048576, 524288], 549755813888 elements) would take 4398046511104 bytes (4096.0 GiB)");
    expect(() => rt.randomTensor(model.getTensor("z"))).toThrow(rt.OutOfResourceError);
    expect(() => rt.randomInputs(model)).toThrow(/random input 'x'/);
    expect(() => rt.randomTensor(model.getTensor("n"), { dims: { N: 2 ** 40 } })).toThrow(/random input 'n' \(float32 \[1099511627776, 4\]/);
  });

  test("below the limit they are made, and bad dims stay a ShapeError", () => {
    using model = rt.loadModelSync(huge());
    using small = rt.randomTensor(model.getTensor("n"), { dims: { N: 3 } });
    expect(small.shape).toEqual([3, 4]);
    expect(() => rt.randomTensor(model.getTensor("n"), { dims: { N: -2 } })).toThrow(rt.ShapeError);
    expect(() => seededTensor("uint8", [maxRandomInputBytes + 1], randomStream(1), "big")).toThrow(/random input 'big' \(uint8 \[2147483649\]/);
  });

  test("the CLI's random inputs: a typed error naming the input, not an unexpected one", () => {
    using model = rt.loadModelSync(huge());
    expect(() => buildInputs(model, { inputs: ["n=random"], shapes: ["n=1,4"] })).toThrow(/random input 'x' \(float32 \[100000, 100000\]/);
    expect(() => buildInputs(model, { shapes: ["n=1,4"] })).toThrow(rt.OutOfResourceError);
    const path = join(dir, "huge.onnx");
    writeFileSync(path, huge());
    const { code, err } = tessera("run", path, "--shape", "n=1,4");
    expect(code).toBe(1);
    expect(err).toContain("tessera: random input 'x' (float32 [100000, 100000]");
    expect(err).not.toContain("unexpected error");
  });
});

describe("toArray of an empty tensor with huge outer dims", () => {
  test("is a typed OutOfResourceError, not a RangeError or a minute of empty arrays", () => {
    expect(() => rt.tensor({ shape: [2 ** 32, 0] }).toArray()).toThrow(rt.OutOfResourceError);
    expect(() => rt.tensor({ shape: [2 ** 25, 0] }).toArray()).toThrow(/would build 33554433 arrays/);
    expect(rt.tensor({ shape: [3, 0] }).toArray()).toEqual([[], [], []]);
  });
});
