/**
 * Where JS data meets native code, under Deno (V8): detached and shrunk buffers, bool bytes other
 * than 0 and 1, and random inputs too large to make. test/tensor-boundary.test.ts has the rest.
 * Run with: deno test --no-check --allow-ffi --allow-read --allow-write --allow-env test/deno/tensor-boundary.ts
 */
import assert from "node:assert/strict";
import * as rt from "../../src/index.ts";
import { buildModel, GraphBuilder } from "../../src/onnx/builder.ts";
import { negate } from "./models.ts";

// deno-lint-ignore no-explicit-any
const Deno = (globalThis as any).Deno;

const floats = (t: rt.Tensor | undefined) => Array.from(t!.toTypedArray() as Float32Array);
const bytes = (t: rt.Tensor | undefined) => Array.from(t!.toTypedArray() as Uint8Array);

Deno.test("a transferred buffer: fill, views and runs throw InvalidStateError instead of touching freed memory", () => {
  using model = rt.loadModelSync(negate());
  const buffer = new ArrayBuffer(16);
  using t = rt.tensor(new Float32Array(buffer), { copy: false });
  const moved = buffer.transfer();
  assert.throws(() => t.fill(1), rt.InvalidStateError);
  assert.throws(() => t.toTypedArray(), /ArrayBuffer under its 16 bytes was detached/);
  assert.throws(() => model.runSync({ x: t }), rt.InvalidStateError);
  assert.throws(() => model.runSync({ x: new Float32Array(4) }, { into: { y: t } }), rt.InvalidStateError);
  assert.deepEqual(Array.from(new Float32Array(moved)), [0, 0, 0, 0]); // the new owner's bytes were not written
});

Deno.test("resize(0) then a run throws InvalidStateError; grown back, the tensor works again", () => {
  using model = rt.loadModelSync(negate());
  const buffer = new ArrayBuffer(16, { maxByteLength: 64 });
  using t = rt.tensor(new Float32Array(buffer), { copy: false });
  buffer.resize(0);
  assert.throws(() => model.runSync({ x: t }), /was resized to 0 bytes/);
  assert.throws(() => t.fill(1), rt.InvalidStateError);
  buffer.resize(16);
  t.fill(3);
  assert.deepEqual(floats(model.runSync<rt.Tensor>({ x: t }).y), [-3, -3, -3, -3]);
});

Deno.test("a TypedArray bound to a request and then detached throws InvalidStateError", () => {
  using model = rt.loadModelSync(negate());
  using request = model.createRequest();
  const x = new Float32Array([1, 2, 3, 4]);
  assert.deepEqual(floats(request.runSync<rt.Tensor>({ x }).y), [-1, -2, -3, -4]);
  x.buffer.transfer();
  assert.throws(() => request.runSync({ x }), /input 'x': its ArrayBuffer was detached/);
});

Deno.test("bool bytes 2 and 255 are true: Not, And, Cast(bool->uint8) and Equal give the right results", () => {
  const g = new GraphBuilder("bool_ops");
  g.input("a", "bool", [4]);
  g.input("b", "bool", [4]);
  g.node("Not", ["a"], { outputs: ["not"] });
  g.node("And", ["a", "b"], { outputs: ["and"] });
  g.node("Cast", ["a"], { attrs: { to: 2 }, outputs: ["cast"] });
  g.node("Equal", ["a", "b"], { outputs: ["equal"] });
  for (const name of ["not", "and", "equal"]) g.output(name, "bool", [4]);
  g.output("cast", "uint8", [4]);
  using model = rt.loadModelSync(buildModel(g));
  const a = new Uint8Array([0, 1, 2, 255]);
  using ta = rt.tensor(a, { dtype: "bool", copy: false });
  using tb = rt.tensor(new Uint8Array([1, 0, 128, 1]), { dtype: "bool" });
  assert.deepEqual(Array.from(a), [0, 1, 1, 1]); // zero-copy: normalized in place
  const out = model.runSync<rt.Tensor>({ a: ta, b: tb });
  assert.deepEqual(
    { not: bytes(out.not), and: bytes(out.and), cast: bytes(out.cast), equal: bytes(out.equal) },
    { not: [1, 0, 0, 0], and: [0, 0, 1, 1], cast: [0, 1, 1, 1], equal: [0, 0, 1, 1] },
  );
});

Deno.test("random inputs: a huge declared shape is an OutOfResourceError naming the input, not a 40 GB allocation", () => {
  const g = new GraphBuilder("huge");
  g.input("x", "float32", [100_000, 100_000]);
  g.node("Identity", ["x"], { outputs: ["y"] });
  g.output("y", "float32", [100_000, 100_000]);
  using model = rt.loadModelSync(buildModel(g));
  assert.throws(() => rt.randomInputs(model), rt.OutOfResourceError);
  assert.throws(() => rt.randomTensor(model.getTensor("x")), /random input 'x' \(float32 \[100000, 100000\], 10000000000 elements\) would take 40000000000 bytes/);
});
