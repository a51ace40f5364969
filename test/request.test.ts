/**
 * Requests from Bun: every input and output form, outputs in place, validation with typed errors,
 * status, waitSync, deadlines, cancel, output subsets, intermediates, compileModel.
 * Asynchronous behaviour (callbacks, many requests, disposal mid-run) is in request-async.test.ts.
 */
import { describe, expect, test } from "bun:test";
import * as rt from "../src/index.ts";
import { addPair, addRelu, heavyChain, longChain, mixedTypes, twoOutputs } from "./deno/models.ts";

const f32 = (t: rt.Tensor | undefined) => Array.from(t!.toTypedArray() as Float32Array);

describe("requests", () => {
  test("run, runSync and infer/wait give the model's result", async () => {
    using model = rt.loadModelSync(addRelu());
    using x = rt.tensor([[1, -5, 2, 0], [0, 0, -1, -10]]);
    expect(model.runSync<rt.Tensor>({ x }).y!.toArray()).toEqual([[4, 0, 10, 8], [2, 4, 4, 0]]);
    expect((await model.run<rt.Tensor>([x])).y!.toArray()).toEqual([[4, 0, 10, 8], [2, 4, 4, 0]]);
    using request = model.createRequest();
    request.infer({ x });
    await request.wait();
    expect(request.getOutputs<rt.Tensor>().y!.shape).toEqual([2, 4]);
  });

  test("inputs: arrays or records of Tensors or TypedArrays, the TypedArrays zero-copy", async () => {
    using model = rt.loadModelSync(addPair());
    const a = new Float32Array([1, 2, 3, 4]);
    using b = rt.tensor([10, 20, 30, 40]);
    expect(f32(model.runSync<rt.Tensor>([a, b]).c)).toEqual([11, 22, 33, 44]);
    expect(f32(model.runSync<rt.Tensor>({ b: a, a: b }).c)).toEqual([11, 22, 33, 44]);
    expect(f32((await model.run<rt.Tensor>({ a, b: new Float32Array(4).fill(1) })).c)).toEqual([2, 3, 4, 5]);
    using request = model.createRequest();
    request.infer([a, a]);
    await request.wait();
    expect(f32(request.getOutputs<rt.Tensor>().c)).toEqual([2, 4, 6, 8]);
    a[0] = 100; // the same array again: its wrapper is reused and reads the new contents
    request.infer([a, a]);
    await request.wait();
    expect(f32(request.getOutputs<rt.Tensor>().c)).toEqual([200, 4, 6, 8]);
  });

  test("outputs passed in are filled in place, as arrays or records of Tensors or TypedArrays", async () => {
    using model = rt.loadModelSync(twoOutputs());
    using x = rt.tensor([[1, -2, 3], [-4, 5, -6]]);
    using request = model.createRequest();
    const y = new Float32Array(6);
    using z = rt.tensor({ shape: [2, 3] });
    request.infer([x], [y, z]);
    await request.wait();
    expect(Array.from(y)).toEqual([2, 0, 6, 0, 10, 0]);
    expect(f32(z)).toEqual([-1, 2, -3, 4, -5, 6]);
    const outputs = request.getOutputs<rt.Tensor>();
    expect(outputs.z).toBe(z); // the caller's tensor, not a copy
    expect(outputs.y!.toTypedArray()).toBe(y);
    const onlyZ = new Float32Array(6);
    expect(request.runSync<rt.Tensor>({ x }, { into: { z: onlyZ } }).z!.toTypedArray()).toBe(onlyZ);
    expect(Array.from(onlyZ)).toEqual([-1, 2, -3, 4, -5, 6]);
    y.fill(0); // no outputs given this time: y is no longer bound, so it stays untouched
    request.infer({ x });
    await request.wait();
    expect(Array.from(y)).toEqual([0, 0, 0, 0, 0, 0]);
    expect(f32(request.getOutputs<rt.Tensor>().y)).toEqual([2, 0, 6, 0, 10, 0]);
  });

  test("inputs are validated before anything runs, with typed errors", () => {
    using model = rt.loadModelSync(addRelu());
    expect(() => model.runSync({ x: rt.tensor([[1, 2]]) })).toThrow(rt.ShapeError);
    expect(() => model.runSync({ x: rt.tensor([[1, 2]]) })).toThrow(/input 'x' must have shape \[N,4\], not \[1,2\]/);
    expect(() => model.runSync({ x: rt.tensor([[1, 2, 3, 4]], { dtype: "int32" }) })).toThrow(rt.TypeError);
    expect(() => model.runSync({})).toThrow(/input 'x' is missing/);
    expect(() => model.runSync({})).toThrow(rt.InvalidArgumentError);
    expect(() => model.runSync({ nope: rt.tensor([1]) })).toThrow(rt.InvalidArgumentError);
    expect(() => model.runSync({ nope: rt.tensor([1]) })).toThrow(/no input named 'nope' \(inputs: x\)/);
    expect(() => model.runSync([rt.tensor([1]), rt.tensor([2])])).toThrow(/the model has 1 inputs; 2 were given/);
    // A TypedArray cannot stand for an input with symbolic dims: its shape would be a guess.
    expect(() => model.runSync({ x: new Float32Array(8) })).toThrow(rt.ShapeError);
    expect(() => model.runSync({ x: new Float32Array(8) })).toThrow(/input 'x' has shape \[N,4\].*pass a Tensor/);
    expect(model.runSync<rt.Tensor>({ x: rt.tensor(1, { shape: [3, 4] }) }).y!.shape).toEqual([3, 4]);
  });

  test("TypedArrays: the element type must match, the buffer must fit exactly", () => {
    using model = rt.loadModelSync(mixedTypes());
    expect(f32(model.runSync<rt.Tensor>({ i: new Int32Array([1, 2]), f: new Float32Array([0.5, 0.5]) }).out)).toEqual([1.5, 2.5]);
    const run = (i: unknown, f: unknown) => () => model.runSync({ i, f } as unknown as rt.Inputs);
    expect(run(new Float32Array(2), new Float32Array(2))).toThrow(rt.TypeError);
    expect(run(new Float32Array(2), new Float32Array(2))).toThrow(/input 'i' must be int32 \(a Int32Array\), not a Float32Array/);
    expect(run(new Int32Array(2), new Float32Array(1))).toThrow(rt.InvalidArgumentError);
    expect(run(new Int32Array(2), new Float32Array(1))).toThrow(/buffer too small for input 'f': shape \[2\] of float32 needs 8 bytes, the Float32Array has 4/);
    expect(run(new Int32Array(3), new Float32Array(2))).toThrow(/buffer too large for input 'i'/);
    expect(run([1, 2], new Float32Array(2))).toThrow(rt.InvalidArgumentError);
    expect(run(new DataView(new ArrayBuffer(8)), new Float32Array(2))).toThrow(/must be a Tensor or a TypedArray/);
    expect(run(rt.tensor([1, 2], { dtype: "int64" }), new Float32Array(2))).toThrow(/input 'i' must be int32, not int64/);
  });

  test("outputs in place are checked too: type, shape, selection, unknown names", () => {
    using model = rt.loadModelSync(twoOutputs());
    using x = rt.tensor({ shape: [2, 3] }).fill(1);
    using request = model.createRequest();
    expect(() => request.infer([x], { y: new Int32Array(6) })).toThrow(rt.TypeError);
    expect(() => request.infer([x], { y: rt.tensor({ shape: [3, 2] }) })).toThrow(/output 'y' must have shape \[2,3\], not \[3,2\]/);
    expect(() => request.infer([x], { y: new Float32Array(5) })).toThrow(rt.InvalidArgumentError);
    expect(() => request.infer([x], { w: new Float32Array(6) })).toThrow(/no output named 'w' \(outputs: y, z\)/);
    request.selectOutputs(["z"]);
    expect(() => request.infer([x], { y: new Float32Array(6) })).toThrow(/output 'y' is not among the selected outputs/);
    expect(request.status).toBe("READY"); // nothing ran
    expect(() => request.getOutputs()).toThrow(/has not run yet/);
  });

  test("status moves READY → RUNNING → READY, and FAULT after a failed run", async () => {
    using model = rt.loadModelSync(heavyChain(400));
    using x = rt.tensor(0, { shape: [512, 256] });
    using request = model.createRequest();
    expect(request.status).toBe("READY");
    request.infer([x]);
    expect(request.status).toBe("RUNNING"); // queued or running: native code owns it until it ends
    expect(() => request.infer([x])).toThrow(rt.InvalidStateError);
    expect(() => request.getOutputs()).toThrow(/already running/);
    await request.wait();
    expect(request.status).toBe("READY");
    expect((request.getOutputs<rt.Tensor>().y!.toTypedArray() as Float32Array)[0]).toBe(400);
    await expect(request.run([x], { deadlineUs: 1 })).rejects.toThrow(rt.RequestError);
    expect(request.status).toBe("FAULT");
    expect(() => request.getOutputs()).toThrow(/failed, so it has no results: the deadline passed before node/);
    await request.run([x]);
    expect(request.status).toBe("READY");
  });

  test("waitSync blocks until the end (false) or the timeout (true), and reports errors", () => {
    using model = rt.loadModelSync(heavyChain(400));
    using x = rt.tensor(0, { shape: [512, 256] });
    using request = model.createRequest();
    expect(request.waitSync(0)).toBe(false); // nothing started: nothing to wait for
    request.infer([x]);
    // No time passes between the start and a zero timeout, and the run takes many kernels.
    expect(request.waitSync(0)).toBe(true);
    expect(request.status).toBe("RUNNING");
    expect(request.waitSync(-1)).toBe(false);
    expect(request.status).toBe("READY");
    expect((request.getOutputs<rt.Tensor>().y!.toTypedArray() as Float32Array)[5]).toBe(400);
    request.infer([x], undefined, { deadlineUs: 1 });
    expect(() => request.waitSync()).toThrow(/deadline passed before node/);
    request.infer([x]); // usable right away, without the event loop having turned
    expect(request.waitSync(-1)).toBe(false);
  });

  test("a deadline fails the run with a TimeoutError (a RequestError) and the request stays usable", async () => {
    using model = rt.loadModelSync(longChain(5000));
    using x = rt.tensor(0, { shape: [64, 16] });
    using request = model.createRequest();
    request.setDeadline(1);
    const late = await request.run([x]).catch((e) => e);
    expect(late).toBeInstanceOf(rt.TimeoutError);
    expect(late).toBeInstanceOf(rt.RequestError);
    expect(late.message).toMatch(/deadline passed before node/);
    request.setDeadline(0);
    expect((request.runSync<rt.Tensor>([x]).y!.toTypedArray() as Float32Array)[0]).toBe(5000);
    expect(() => model.runSync([x], { deadlineUs: 1 })).toThrow(/deadline passed/);
    await expect(model.run([x], { deadlineUs: 1 })).rejects.toThrow(rt.RequestError);
    expect((model.runSync<rt.Tensor>([x]).y!.toTypedArray() as Float32Array)[3]).toBe(5000);
    expect(() => request.setDeadline(-1)).toThrow(rt.InvalidArgumentError);
  });

  test("cancel stops a run between nodes; the request and model stay usable", async () => {
    using model = rt.loadModelSync(longChain(5000));
    using x = rt.tensor(0, { shape: [64, 16] });
    using request = model.createRequest();
    request.infer([x]);
    request.cancel();
    // A cancel that reaches the run before it starts stops it; one that comes later cannot.
    await request.wait().catch((e) => {
      expect(e).toBeInstanceOf(rt.RequestError);
      expect(e.message).toMatch(/cancelled before node/);
    });
    const out = await request.run<rt.Tensor>([x]);
    expect((out.y!.toTypedArray() as Float32Array)[0]).toBe(5000);
  });

  test("output subsets: only the selected outputs, and only the nodes they need, are computed", async () => {
    using model = rt.loadModelSync(twoOutputs(), { memoryOptimization: false });
    using x = rt.tensor([[1, -2, 3], [-4, 5, -6]]);
    const onlyZ = await model.run<rt.Tensor>([x], { outputs: ["z"] });
    expect(Object.keys(onlyZ)).toEqual(["z"]);
    expect(f32(onlyZ.z)).toEqual([-1, 2, -3, 4, -5, 6]);
    expect(Object.keys(model.runSync([x]))).toEqual(["y", "z"]); // the next call selects all again
    using request = model.createRequest();
    request.selectOutputs(["z"]);
    request.runSync([x]);
    expect(Object.keys(request.getOutputs())).toEqual(["z"]);
    expect(() => request.getTensor("t")).toThrow(rt.InvalidStateError); // y's branch did not run
    expect(() => request.getTensor("t")).toThrow(/not computed by the last run/);
    request.selectOutputs(null);
    request.runSync([x]);
    expect(f32(request.getTensor("t"))).toEqual([1, 0, 3, 0, 5, 0]);
    expect(f32(request.getTensor("x"))).toEqual([1, -2, 3, -4, 5, -6]);
    expect(f32(request.getTensor("y"))).toEqual([2, 0, 6, 0, 10, 0]);
    expect(() => request.getTensor("nope")).toThrow(rt.InvalidArgumentError);
    expect(() => request.selectOutputs(["w"])).toThrow(/no output named 'w'/);
    await expect(model.run([x], { outputs: ["w"] })).rejects.toThrow(rt.InvalidArgumentError);
  });

  test("intermediates are unavailable when memory optimization reused their memory", () => {
    using model = rt.loadModelSync(twoOutputs());
    using x = rt.tensor([[1, -2, 3], [-4, 5, -6]]);
    using request = model.createRequest();
    request.runSync([x]);
    expect(() => request.getTensor("t")).toThrow(/memory was reused/);
    expect(f32(request.getTensor("z"))).toEqual([-1, 2, -3, 4, -5, 6]);
  });

  test("compileModel picks the CPU for auto, and keeps a listed Vulkan device", async () => {
    using auto = await rt.compileModel(addRelu());
    expect(auto.getOption("devices")).toBe("cpu");
    using listed = await rt.compileModel(addRelu(), { devices: ["vulkan:0", "auto"] });
    expect(listed.getOption("devices")).toBe("vulkan:0,cpu");
    using x = rt.tensor([[0, 0, 0, 0]]);
    expect(listed.runSync<rt.Tensor>([x]).y!.toArray()).toEqual([[2, 4, 6, 8]]);
    await expect(rt.compileModel(addRelu(), { devices: "vulkan:9" })).rejects.toThrow(rt.DeviceError);
    await expect(rt.compileModel(addRelu(), { devices: ["gpu:7"] })).rejects.toThrow(rt.InvalidArgumentError);
  });

  test("disposing the model releases its requests", () => {
    const model = rt.loadModelSync(addRelu());
    const request = model.createRequest();
    model.dispose();
    expect(request.disposed).toBe(true);
    expect(() => request.getOutputs()).toThrow(rt.InvalidStateError);
  });
});
