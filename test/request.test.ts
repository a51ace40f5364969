/** Requests: running a model from Bun, inputs validated before anything runs, cancel and deadline. */
import { describe, expect, test } from "bun:test";
import * as rt from "../src/index.ts";
import { addRelu, longChain } from "./support/models.ts";

describe("requests", () => {
  test("run, runSync and infer/wait give the model's result", async () => {
    using model = rt.loadModelSync(addRelu());
    using x = rt.tensor([[1, -5, 2, 0], [0, 0, -1, -10]]);
    expect(model.runSync({ x }).y!.toArray()).toEqual([[4, 0, 10, 8], [2, 4, 4, 0]]);
    expect((await model.run([x])).y!.toArray()).toEqual([[4, 0, 10, 8], [2, 4, 4, 0]]);
    using request = model.createRequest();
    request.infer({ x });
    await request.wait();
    expect(request.getOutputs().y!.shape).toEqual([2, 4]);
  });

  test("inputs are validated before anything runs, with typed errors", () => {
    using model = rt.loadModelSync(addRelu());
    expect(() => model.runSync({ x: rt.tensor([[1, 2]]) })).toThrow(rt.ShapeError);
    expect(() => model.runSync({ x: rt.tensor([[1, 2]]) })).toThrow(/input 'x' must have shape \[N,4\], not \[1,2\]/);
    expect(() => model.runSync({ x: rt.tensor([[1, 2, 3, 4]], { dtype: "int32" }) })).toThrow(rt.TypeError);
    expect(() => model.runSync({})).toThrow(/input 'x' is missing/);
    expect(() => model.runSync({ nope: rt.tensor([1]) })).toThrow(rt.InvalidArgumentError);
    expect(model.runSync({ x: rt.tensor(1, { shape: [3, 4] }) }).y!.shape).toEqual([3, 4]);
  });

  test("a cancelled or late request fails, and the model stays usable", async () => {
    using model = rt.loadModelSync(longChain(5000));
    using x = rt.tensor(0, { shape: [64, 16] });
    using request = model.createRequest();
    request.setDeadline(1);
    await expect(request.run([x])).rejects.toThrow(/deadline passed before node/);
    request.setDeadline(0);
    request.infer([x]);
    request.cancel();
    await request.wait().catch((e) => expect(e).toBeInstanceOf(rt.RequestError));
    const out = await request.run([x]);
    expect((out.y!.toTypedArray() as Float32Array)[0]).toBe(5000);
  });

  test("disposing the model releases its requests", () => {
    const model = rt.loadModelSync(addRelu());
    const request = model.createRequest();
    model.dispose();
    expect(request.disposed).toBe(true);
    expect(() => request.getOutputs()).toThrow(rt.InvalidStateError);
  });
});
