/**
 * tessera/ort against onnxruntime-node. Small programs written against onnxruntime-node's
 * documented API run once with onnxruntime-node (installed by scripts/install-peers) and once
 * with tessera/ort, the module they are given being the only difference, on models built by the
 * project's ONNX builder. Outputs must be bit-equal (Softmax, whose exp may round differently,
 * within a tight tolerance) and so must names and metadata. Then what tessera/ort refuses.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import * as rt from "../src/index.ts";
import * as tesseraOrt from "../src/ort/index.ts";
import { sessionSettings } from "../src/ort/options.ts";
import * as models from "./support/ort-models.ts";
import { repo, scratchDir } from "./support/paths.ts";
import { mixedOutputs } from "./support/value-models.ts";

type Ort = typeof tesseraOrt;
type Results = tesseraOrt.InferenceSession.ReturnType;

const peers = process.env.TESSERA_PEERS ?? join(repo, ".cache/peers/node_modules/");
const onnxruntimeNode = createRequire(peers)("onnxruntime-node") as Ort;

const folder = scratchDir("tessera-ort-");
/** The model most programs run, as a file (for create(path)) and as bytes (for create(bytes)). */
const floats = { path: join(folder, "float-outputs.onnx"), bytes: models.floatOutputs() };
writeFileSync(floats.path, floats.bytes);

const levelBefore = rt.logging.getLevel();
afterAll(() => rt.logging.setLevel(levelBefore)); // sessions below set the process's level

/** A run's results as plain data: each output's type, dims, data class and bytes (or strings). */
function plain(results: Results, approximate: readonly string[] = []) {
  return Object.fromEntries(Object.entries(results).map(([name, t]) => {
    const data = t.data as ArrayBufferView | string[];
    const elements = Array.isArray(data)
      ? data
      : approximate.includes(name) ? "compared with a tolerance" : [...new Uint8Array(data.buffer, data.byteOffset, data.byteLength)];
    return [name, { type: t.type, dims: t.dims, dataClass: data.constructor.name, elements }];
  }));
}

/** Runs `program` with both runtimes and expects the same report; returns both for further checks. */
async function same<R>(program: (ort: Ort) => Promise<R>): Promise<[R, R]> {
  const theirs = await program(onnxruntimeNode);
  const ours = await program(tesseraOrt);
  expect(ours).toEqual(theirs);
  return [theirs, ours];
}

const x = (ort: Ort) => new ort.Tensor("float32", Float32Array.from([1, -2, 3, -4, 0.5, 6, -7, 8]), [2, 4]);

describe("tessera/ort runs onnxruntime-node programs as onnxruntime-node does", () => {
  test("the two runtimes are distinct, so the comparisons below compare something", () => {
    expect(tesseraOrt.InferenceSession).not.toBe(onnxruntimeNode.InferenceSession);
    expect(tesseraOrt.env.versions.node).toBeUndefined();
    expect(onnxruntimeNode.env.versions.node).toBe("1.30.0");
  });

  test("create(path, options): names, metadata, and every output of run(feeds)", async () => {
    const softmax: Float32Array[] = [];
    await same(async (ort) => {
      const session = await ort.InferenceSession.create(floats.path, {
        executionProviders: ["cpu"],
        intraOpNumThreads: 1,
        graphOptimizationLevel: "all",
        logSeverityLevel: 3,
      });
      const results = await session.run({ x: x(ort) });
      await session.release();
      softmax.push(results.softmax!.data as Float32Array);
      const { inputNames, outputNames, inputMetadata, outputMetadata } = session;
      return { inputNames, outputNames, inputMetadata, outputMetadata, results: plain(results, ["softmax"]) };
    });
    // Within 4 units in the last place: positive floats' bits are ordered as their values.
    const [theirs, ours] = softmax.map((data) => new Int32Array(data.buffer, data.byteOffset, data.length)) as [Int32Array, Int32Array];
    ours.forEach((bits, i) => expect(Math.abs(bits - theirs[i]!)).toBeLessThanOrEqual(4));
  });

  test("create(bytes) and run(feeds, fetches) with an array of names", async () => {
    await same(async (ort) => {
      const session = await ort.InferenceSession.create(floats.bytes);
      const results = await session.run({ x: x(ort) }, ["square", "y"]);
      await session.release();
      return plain(results);
    });
  });

  test("run(feeds, fetches) with an object: null computes an output, a tensor is filled in place", async () => {
    const program = async (ort: Ort) => {
      const session = await ort.InferenceSession.create(floats.bytes);
      const preallocated = new ort.Tensor("float32", new Float32Array(8), [2, 4]);
      const results = await session.run({ x: x(ort) }, { y: null, square: preallocated });
      await session.release();
      return { filled: [...preallocated.data as Float32Array], results: plain(results), returnedAsGiven: results.square === preallocated };
    };
    const [theirs, ours] = [await program(onnxruntimeNode), await program(tesseraOrt)];
    expect([ours.filled, ours.results]).toEqual([theirs.filled, theirs.results]);
    // onnxruntime-node returns a copy of what it filled in place; tessera/ort returns the tensor it filled.
    expect([theirs.returnedAsGiven, ours.returnedAsGiven]).toEqual([false, true]);
  });

  test("run(feeds, options)", async () => {
    await same(async (ort) => {
      const session = await ort.InferenceSession.create(floats.bytes);
      const results = await session.run({ x: x(ort) }, { logSeverityLevel: 3 });
      await session.release();
      return plain(results, ["softmax"]);
    });
  });

  test("int64 tensors as BigInt64Array, beyond 2**53", async () => {
    const bytes = models.integers();
    await same(async (ort) => {
      const session = await ort.InferenceSession.create(bytes);
      const ids = new ort.Tensor("int64", BigInt64Array.from([2n ** 62n - 1n, -5n, 9007199254740993n]), [3]);
      const results = await session.run({ ids });
      return { metadata: [session.inputMetadata, session.outputMetadata], results: plain(results), next: results.next!.data };
    });
  });

  test("bool tensors in and out", async () => {
    const bytes = models.booleans();
    await same(async (ort) => {
      const session = await ort.InferenceSession.create(bytes);
      const mask = new ort.Tensor("bool", Uint8Array.from([1, 0, 1, 1, 0, 0]), [2, 3]);
      const values = new ort.Tensor("float32", Float32Array.from([1, -1, 0, -0.5, 2, 3]), [2, 3]);
      const results = await session.run({ x: values, mask });
      return { metadata: [session.inputMetadata, session.outputMetadata], results: plain(results) };
    });
  });

  test("string tensors in and out", async () => {
    const bytes = models.strings();
    const [theirs, ours] = await same(async (ort) => {
      const session = await ort.InferenceSession.create(bytes);
      const words = new ort.Tensor("string", ["a", "b", "ünï"], [3]);
      const results = await session.run({ words });
      return { inputMetadata: session.inputMetadata, outputs: session.outputMetadata.slice(0, 1), results: plain(results) };
    });
    expect(ours.results.joined!.elements).toEqual(["a", "b", "ünï", "end"]);
    expect(theirs.results.isB!.elements).toEqual([0, 1, 0]);
  });

  test("output metadata: Tessera gives its inferred shape where onnxruntime gives the declared one", async () => {
    // strings() declares `joined` with an unnamed dim; onnxruntime reports it as "", Tessera
    // as the shape its inference found (docs/porting.md).
    const bytes = models.strings();
    const shapeOf = async (ort: Ort) => (await ort.InferenceSession.create(bytes)).outputMetadata[1];
    expect(await shapeOf(onnxruntimeNode)).toEqual({ name: "joined", isTensor: true, type: "string", shape: [""] });
    expect(await shapeOf(tesseraOrt)).toEqual({ name: "joined", isTensor: true, type: "string", shape: ["N+1"] });
  });

  test("float16 outputs, with rounding, subnormals and overflow", async () => {
    const bytes = models.narrowing();
    await same(async (ort) => {
      const session = await ort.InferenceSession.create(bytes);
      // 65519 rounds down to the largest half, 65520 overflows, 6e-8 is a subnormal half
      const x = new ort.Tensor("float32", Float32Array.from([0.1, -3.3, 65519, 65520, 6e-8, 1e-8]), [6]);
      const results = await session.run({ x });
      return { metadata: [session.inputMetadata, session.outputMetadata], results: plain(results) };
    });
  });

  test("float16 inputs, as onnxruntime documents them (Uint16Array bits) and as Float16Array", async () => {
    // onnxruntime-node 1.30 under Bun cannot read a float16 feed (the Float16Array view that
    // onnxruntime-common makes of it reaches its addon as 0 bytes), so these are known answers.
    const bytes = models.widening();
    const bits = Uint16Array.from([0x3c00, 0xc100, 0x7bff, 0x0001]); // 1, -2.5, 65504, 2**-24
    const theirs = await onnxruntimeNode.InferenceSession.create(bytes);
    await expect(theirs.run({ h: new onnxruntimeNode.Tensor("float16", bits, [4]) })).rejects.toThrow();
    const session = await tesseraOrt.InferenceSession.create(bytes);
    for (const data of [bits, new Float16Array([1, -2.5, 65504, 2 ** -24])]) {
      // onnxruntime-common types float16 data as Uint16Array, but takes a Float16Array too.
      const { widened, same } = await session.run({ h: new tesseraOrt.Tensor("float16", data as Uint16Array, [4]) });
      expect([...widened!.data as Float32Array]).toEqual([1, -2.5, 65504, 2 ** -24]);
      expect(same!.type).toBe("float16");
      expect([...new Uint16Array((same!.data as ArrayBufferView).buffer)]).toEqual([...bits]);
    }
  });

  test("every other element type onnxruntime-common's Tensor holds", async () => {
    const bytes = models.identities(models.otherTypes);
    await same(async (ort) => {
      const session = await ort.InferenceSession.create(bytes);
      const feeds = Object.fromEntries(models.otherTypes.map((type, k) => {
        const values = [1, 2, 3, 4, 5, k + 100];
        const data = type.endsWith("int64") ? values.map(BigInt) : values;
        return [`in_${type}`, new ort.Tensor(type, data as number[], [2, 3])];
      }));
      const results = await session.run(feeds);
      return { metadata: [session.inputMetadata, session.outputMetadata], results: plain(results) };
    });
  });

  test("int4 and uint4 run through tessera/ort, which onnxruntime-node 1.30 has no Identity for", async () => {
    const bytes = models.identities(["int4", "uint4"]);
    await expect(onnxruntimeNode.InferenceSession.create(bytes)).rejects.toThrow(/Could not find an implementation for Identity/);
    const session = await tesseraOrt.InferenceSession.create(bytes);
    const packed = () => Uint8Array.from([0x21, 0xf3, 0x7e]); // two elements a byte, the first in the low nibble
    const results = await session.run({ in_int4: new tesseraOrt.Tensor("int4", packed(), [2, 3]), in_uint4: new tesseraOrt.Tensor("uint4", packed(), [2, 3]) });
    for (const type of ["int4", "uint4"] as const) {
      const output = results[`out_${type}`]!;
      expect([output.type, output.dims, [...output.data as Uint8Array]]).toEqual([type, [2, 3], [...packed()]]);
    }
  });

  test("sequences and optionals: the same metadata, tensor outputs fetched by name, the others refused", async () => {
    const bytes = mixedOutputs(); // doubled (a tensor), then optionals and sequences
    await same(async (ort) => {
      const session = await ort.InferenceSession.create(bytes);
      const results = await session.run({ x: new ort.Tensor("float32", Float32Array.from([1, 2, 3]), [3]) }, ["doubled"]);
      return { metadata: session.outputMetadata, results: plain(results) };
    });
    // onnxruntime-node 1.30 crashes Bun when asked for them; tessera/ort says why it will not.
    const session = await tesseraOrt.InferenceSession.create(bytes);
    await expect(session.run({ x: new tesseraOrt.Tensor("float32", Float32Array.from([1, 2, 3]), [3]) }))
      .rejects.toThrow("output 'empty' is not a tensor but of kind optional, and onnxruntime-common passes tensors only");
  });

  test("a released session refuses to run, in both", async () => {
    for (const [ort, error] of [[onnxruntimeNode, Error], [tesseraOrt, rt.InvalidStateError]] as const) {
      const session = await ort.InferenceSession.create(floats.bytes);
      await session.release();
      await expect(session.run({ x: x(ort) })).rejects.toThrow(error);
    }
  });
});

describe("onnxruntime's options in Tessera's terms", () => {
  test("executionProviders, intraOpNumThreads, graphOptimizationLevel, enableMemPattern and logSeverityLevel map", () => {
    expect(sessionSettings({
      executionProviders: ["vulkan", { name: "cpu" }, "tessera"],
      intraOpNumThreads: 2,
      graphOptimizationLevel: "extended",
      enableMemPattern: false,
      executionMode: "sequential",
      logSeverityLevel: 0,
    })).toEqual({ load: { devices: ["vulkan", "cpu", "auto"], threads: 2, memoryOptimization: false }, logLevel: "trace" });
    expect(sessionSettings({ logSeverityLevel: 4, enableProfiling: false, interOpNumThreads: 0 })).toEqual({ load: {}, logLevel: "off" });
  });

  test("a session's and a run's logSeverityLevel set Tessera's log level", async () => {
    const session = await tesseraOrt.InferenceSession.create(floats.bytes, { logSeverityLevel: 1 });
    expect(rt.logging.getLevel()).toBe("info");
    await session.run({ x: x(tesseraOrt) }, { logSeverityLevel: 3 });
    expect(rt.logging.getLevel()).toBe("error");
    await session.release();
  });

  test("env.logLevel becomes Tessera's log level when the first session is made, as in onnxruntime-node", () => {
    const program = `
      import * as ort from ${JSON.stringify(join(repo, "src/ort/index.ts"))};
      import { logging } from ${JSON.stringify(join(repo, "src/index.ts"))};
      ort.env.logLevel = "error";
      const before = logging.getLevel();
      await ort.InferenceSession.create(${JSON.stringify(floats.path)});
      console.log(before, logging.getLevel());`;
    const path = join(folder, "env-log-level.ts");
    writeFileSync(path, program);
    const child = Bun.spawnSync([process.execPath, path], { env: { ...process.env, TESSERA_LOG: "info" } });
    expect(child.exitCode).toBe(0);
    expect(child.stdout.toString().trim()).toBe("info error");
  });
});

describe("what tessera/ort refuses, saying why", () => {
  const create = (options: tesseraOrt.InferenceSession.SessionOptions) => tesseraOrt.InferenceSession.create(floats.bytes, options);

  test("an execution provider that no backend answers to", async () => {
    await expect(create({ executionProviders: ["bogus"] })).rejects.toThrow("no available backend found. ERR: [bogus] backend not found.");
    // Among Tessera's, where onnxruntime-common would drop it with a warning, Tessera refuses it.
    const warn = console.warn;
    console.warn = () => {};
    try {
      await expect(create({ executionProviders: ["webgpu", "cpu"] })).rejects.toThrow("Tessera has no execution provider 'webgpu' (it has tessera, cpu, vulkan)");
    } finally {
      console.warn = warn;
    }
  });

  test("the vulkan provider runs on Vulkan device 0, falling back to the CPU; provider options are refused", async () => {
    if (rt.devices().some((d) => d.platform === "vulkan")) {
      const [onVulkan, onCpu] = [await create({ executionProviders: ["vulkan"] }), await create({ executionProviders: ["cpu"] })];
      const [gpu, cpu] = [await onVulkan.run({ x: x(tesseraOrt) }), await onCpu.run({ x: x(tesseraOrt) })];
      expect(Object.keys(gpu)).toEqual(Object.keys(cpu));
      for (const name of Object.keys(cpu)) {
        const [got, want] = [gpu[name]!.data as Float32Array, cpu[name]!.data as Float32Array];
        want.forEach((v, i) => expect(Math.abs(got[i]! - v)).toBeLessThanOrEqual(1e-4 + 1e-3 * Math.abs(v)));
      }
      await onVulkan.release();
      await onCpu.release();
    } else {
      await expect(create({ executionProviders: ["vulkan"] })).rejects.toThrow(rt.DeviceError);
    }
    await expect(create({ executionProviders: [{ name: "cpu", useArena: false } as { name: "cpu" }] })).rejects.toThrow("'cpu' takes no provider options in Tessera, so not 'useArena'");
  });

  test("freeDimensionOverrides: the named dim fixed, as onnxruntime fixes it", async () => {
    await same(async (ort) => {
      const session = await ort.InferenceSession.create(floats.path, { freeDimensionOverrides: { N: 2 } });
      const results = await session.run({ x: x(ort) });
      await session.release();
      return plain(results, ["softmax"]);
    });
    // onnxruntime runs other sizes anyway; Tessera holds the session to the size it was given.
    const session = await tesseraOrt.InferenceSession.create(floats.path, { freeDimensionOverrides: { N: 2 } });
    const other = new tesseraOrt.Tensor("float32", new Float32Array(12), [3, 4]);
    await expect(session.run({ x: other })).rejects.toThrow(rt.ShapeError);
    await session.release();
    const error = await tesseraOrt.InferenceSession.create(floats.path, { freeDimensionOverrides: { batch: 2 } }).catch((e: Error) => e);
    expect(error).toBeInstanceOf(rt.InvalidArgumentError);
    expect((error as Error).message).toContain("names 'batch', which no input dim of the model is called (it has N)");
    await expect(tesseraOrt.InferenceSession.create(floats.path, { freeDimensionOverrides: { N: -1 } })).rejects.toThrow(rt.InvalidArgumentError);
  });

  test("options Tessera cannot honour, as NotImplementedError naming them", async () => {
    const refusals: [tesseraOrt.InferenceSession.SessionOptions, string][] = [
      [{ graphOptimizationLevel: "disabled" }, "'graphOptimizationLevel' cannot be honoured: Tessera always folds constants"],
      [{ interOpNumThreads: 2 }, "'interOpNumThreads' cannot be honoured"],
      [{ executionMode: "parallel" }, "'executionMode' cannot be honoured"],
      [{ enableCpuMemArena: true }, "'enableCpuMemArena' cannot be honoured"],
      [{ enableProfiling: true }, "'enableProfiling' cannot be honoured"],
    ];
    for (const [options, message] of refusals) {
      const error = await create(options).catch((e: Error) => e);
      expect(error).toBeInstanceOf(rt.NotImplementedError);
      expect((error as Error).message).toContain(message);
    }
  });

  test("keys onnxruntime does not know, in session and run options, as InvalidArgumentError naming them", async () => {
    await expect(create({ colour: "red" } as never)).rejects.toThrow(/unknown session option 'colour'/);
    const session = await create({});
    await expect(session.run({ x: x(tesseraOrt) }, { bogus: 1 } as never)).rejects.toThrow(/unknown run option 'bogus'/);
    await expect(session.run({ x: x(tesseraOrt) }, { tag: "first" })).rejects.toThrow(rt.NotImplementedError);
    expect(() => session.startProfiling()).toThrow(rt.NotImplementedError);
    expect(() => session.endProfiling()).toThrow(rt.NotImplementedError);
    await session.release();
  });
});
