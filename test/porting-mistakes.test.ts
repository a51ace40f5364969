/**
 * Code ported from onnxruntime or OpenVINO to Tessera's own API: the usual slips get a typed
 * error that names them and the spelling Tessera takes, instead of a broken object or a silently
 * ignored argument. (tessera/ort, test/ort-compat.test.ts, takes onnxruntime's API as it is.)
 */
import { describe, expect, test } from "bun:test";
import * as rt from "../src/index.ts";
import { floatOutputs } from "./support/ort-models.ts";

const bytes = floatOutputs(); // x [N, 4] → y, square, softmax
const x = () => rt.tensor([[1, -2, 3, -4]]);

describe("a Tensor made as onnxruntime makes it", () => {
  test("new rt.Tensor(type, data, dims) is refused, naming the rt.tensor() call to make", () => {
    const make = () => new (rt.Tensor as unknown as new (...args: unknown[]) => rt.Tensor)("float32", new Float32Array(4), [1, 4]);
    expect(make).toThrow(rt.InvalidArgumentError);
    expect(make).toThrow('rt.tensor(data, { shape: [1, 4], dtype: "float32" })');
  });

  test("new rt.Tensor(data, dims) too", () => {
    const make = () => new (rt.Tensor as unknown as new (...args: unknown[]) => rt.Tensor)(new Float32Array(4), [2, 2]);
    expect(make).toThrow("rt.tensor(data, { shape: [2, 2] })");
  });

  test("rt.tensor(data, { dims }) and { type } are refused rather than giving a flat float32 tensor", () => {
    expect(() => rt.tensor(new Float32Array(4), { dims: [2, 2] } as never)).toThrow("unknown tensor option 'dims': the dims are its shape");
    expect(() => rt.tensor([1, 2], { type: "int32" } as never)).toThrow("unknown tensor option 'type': the element type is its dtype");
    expect(() => rt.tensor({ shape: [2], dims: [2] } as never)).toThrow(rt.InvalidArgumentError);
  });
});

describe("run(inputs, [names]): onnxruntime's fetches", () => {
  // An array where the options belong can only mean the outputs wanted, as in onnxruntime.
  test("selects those outputs in run, runSync and a request's run and runSync", async () => {
    using model = rt.loadModelSync(bytes);
    const wanted = model.runSync({ x: x() }, { outputs: ["square", "y"] });
    const expected = Object.fromEntries(Object.entries(wanted).map(([name, t]) => [name, (t as rt.Tensor).toArray()]));
    using request = model.createRequest();
    for (const outputs of [
      await model.run({ x: x() }, ["square", "y"]),
      model.runSync({ x: x() }, ["square", "y"]),
      await request.run({ x: x() }, ["square", "y"]),
      request.runSync({ x: x() }, ["square", "y"]),
    ]) {
      expect(Object.keys(outputs).sort()).toEqual(["square", "y"]);
      expect(Object.fromEntries(Object.entries(outputs).map(([name, t]) => [name, (t as rt.Tensor).toArray()]))).toEqual(expected);
    }
    // The pooled request behind model.run forgets the selection: the next run gives every output.
    expect(Object.keys(await model.run({ x: x() })).sort()).toEqual(["softmax", "square", "y"]);
  });

  test("an unknown name is refused, and so is an array of tensors (those go in `into`)", async () => {
    using model = rt.loadModelSync(bytes);
    await expect(model.run({ x: x() }, ["z"])).rejects.toThrow("the model has no output named 'z'");
    using target = rt.tensor({ shape: [1, 4] });
    expect(() => model.runSync({ x: x() }, [target] as never)).toThrow("pass tensors to fill in place as { into: { name: tensor } }");
  });
});

describe("option keys that are not options", () => {
  test("run and runSync refuse them by name; an output's name gets onnxruntime's fetches-object advice", async () => {
    using model = rt.loadModelSync(bytes);
    await expect(model.run({ x: x() }, { bogus: 1 } as never)).rejects.toThrow("unknown run option 'bogus' (run options: outputs, into, deadlineUs, observer)");
    expect(() => model.runSync({ x: x() }, { y: null } as never)).toThrow(`'y' is an output: select it with { outputs: ["y"] }`);
    expect(() => model.runSync({ x: x() }, { logSeverityLevel: 3 } as never)).toThrow(rt.InvalidArgumentError);
  });

  test("a request's infer refuses them too, before anything runs", async () => {
    using model = rt.loadModelSync(bytes);
    using request = model.createRequest();
    expect(() => request.infer({ x: x() }, undefined, { outputs: ["y"] } as never)).toThrow("unknown infer option 'outputs'");
    expect(request.status).toBe("READY");
    await expect(request.run({ x: x() }, { deadline: 5 } as never)).rejects.toThrow("unknown run option 'deadline'");
  });

  test("load options: loadModel, loadModelSync and compileModel refuse them, onnxruntime's names with Tessera's", async () => {
    await expect(rt.loadModel(bytes, { bogus: 1 } as never)).rejects.toThrow("unknown load option 'bogus'");
    expect(() => rt.loadModelSync(bytes, { intraOpNumThreads: 2 } as never)).toThrow("unknown load option 'intraOpNumThreads': Tessera's is threads");
    await expect(rt.compileModel(bytes, { executionProviders: ["cpu"] } as never)).rejects.toThrow("unknown load option 'executionProviders': Tessera's is devices");
  });
});

describe("compileModel(model, \"CPU\"): OpenVINO's device name", () => {
  // Tessera takes a device argument ("AUTO", "cpu"; test/seed-helpers.test.ts), but names devices
  // "cpu" and "vulkan:N": OpenVINO's "CPU" and "GPU" are refused with that spelling, not guessed at.
  test("is refused with Tessera's name for the device", async () => {
    await expect(rt.compileModel(bytes, "CPU")).rejects.toThrow(rt.InvalidArgumentError);
    await expect(rt.compileModel(bytes, "CPU")).rejects.toThrow(`device "CPU" is OpenVINO's spelling: Tessera names it "cpu"`);
    await expect(rt.compileModel(bytes, "GPU")).rejects.toThrow(`Tessera names it "vulkan:0"`);
  });

  test("loadModel takes no device argument: a string for its options is refused, naming the option", async () => {
    expect(() => rt.loadModelSync(bytes, "CPU" as never)).toThrow(`load options must be an object, not the string 'CPU': to choose a device, pass { devices: "cpu" }`);
    await expect(rt.loadModel(bytes, "GPU" as never)).rejects.toThrow(`pass { devices: "vulkan:0" }`);
  });

  test("and the object form compiles", async () => {
    using model = await rt.compileModel(bytes, { devices: "cpu" });
    expect(model.operations.every((op) => op.device === "cpu:0")).toBe(true);
  });
});
