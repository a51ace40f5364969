/**
 * Backend extensions: examples/extension/myext.c and the misbehaving test/fixtures/extensions/
 * faulty.c, built here with `zig cc`, loaded into this process, with models partitioned onto
 * their devices; each failure an extension can cause is a typed error that leaves the runtime
 * usable.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { writeFileSync } from "node:fs";
import * as rt from "../src/index.ts";
import { buildModel, GraphBuilder } from "../src/onnx/builder.ts";
import { denseModel } from "./support/models.ts";
import { repo, scratchDir, zigScript } from "./support/paths.ts";

const dir = scratchDir("tessera-extension-");

/** Builds a shared library from C sources against tessera_backend.h. */
function buildLibrary(name: string, source: string, defines: string[] = []): string {
  const out = join(dir, `lib${name}.so`);
  const compile = Bun.spawnSync([
    zigScript, "cc", "-shared", "-fPIC", "-std=c99", "-O2", "-Wall", "-Wextra", "-Werror", "-pedantic",
    `-I${repo}libruntime/include`, ...defines, source, "-o", out,
  ]);
  expect(compile.stderr.toString()).toBe("");
  expect(compile.exitCode).toBe(0);
  return out;
}

const faultySource = `${repo}test/fixtures/extensions/faulty.c`;
function buildFaulty(name: string, ...defines: string[]): string {
  return buildLibrary(name, faultySource, [`-DFAULT_NAME="${name}"`, ...defines]);
}

const myextPath = buildLibrary("myext", `${repo}examples/extension/myext.c`);

/** y = relu(x) over x [2, 3]: one node, for the faulty devices. */
function reluModel(): Uint8Array {
  const g = new GraphBuilder("relu");
  g.input("x", "float32", [2, 3]);
  g.node("Relu", ["x"], { name: "relu", outputs: ["y"] });
  g.output("y", "float32", [2, 3]);
  return buildModel(g);
}

const denseBytes = denseModel();
const reluBytes = reluModel();

function inputs(rows: number): Float32Array {
  return Float32Array.from({ length: rows * 3 }, (_, i) => Math.sin(i * 1.7) * 2);
}

function runY(model: rt.Model, x: Float32Array, rows: number): Float32Array {
  using input = rt.tensor(x, { shape: [rows, x.length / rows] });
  const y = model.runSync<rt.Tensor>({ x: input }).y!;
  const values = y.toTypedArray() as Float32Array;
  const copy = Float32Array.from(values);
  y.dispose();
  return copy;
}

afterAll(() => {
  for (const extension of rt.loadedExtensions()) extension.dispose();
});

describe("an extension's device", () => {
  test("runs the nodes it supports, the CPU the rest, with the CPU's results", () => {
    using extension = rt.loadExtension(myextPath);
    expect([extension.name, extension.device, extension.path]).toEqual(["myext", "myext:0", myextPath]);
    expect(extension.description).toContain("Relu, Add and MatMul");
    using model = rt.loadModelSync(denseBytes, { devices: "myext:0,cpu" });
    expect(model.operations.map((o) => [o.name, o.device])).toEqual([
      ["matmul", "myext:0"],
      ["bias", "myext:0"],
      ["relu", "myext:0"],
      ["sig", "cpu:0"],
    ]);
    using reference = rt.loadModelSync(denseBytes);
    expect(reference.operations.every((o) => o.device === "cpu:0")).toBe(true);
    // Two batch sizes, each run twice: the second run of a shape replays its memory plan.
    for (const rows of [2, 5, 2, 5]) {
      const x = inputs(rows);
      const got = runY(model, x, rows);
      const want = runY(reference, x, rows);
      expect(got.length).toBe(rows * 4);
      for (let i = 0; i < got.length; i++) expect(got[i]!).toBeCloseTo(want[i]!, 6);
    }
  });

  test("strict mode names the node the extension refuses", async () => {
    using _extension = rt.loadExtension(myextPath);
    const load = rt.loadModel(denseBytes, { devices: "myext:0", strict: true });
    await expect(load).rejects.toBeInstanceOf(rt.NotImplementedError);
    await expect(rt.loadModel(denseBytes, { devices: "myext:0", strict: true })).rejects.toThrow(
      "node 'sig' (Sigmoid) cannot run on myext:0: myext runs Relu, Add and MatMul only (strict: no fallback)",
    );
  });

  test("is known only while the extension is loaded; models keep it until they are disposed", () => {
    expect(() => rt.loadModelSync(denseBytes, { devices: "myext:0,cpu" })).toThrow(/unknown device 'myext:0' \(known: cpu, vulkan, auto\)/);
    const extension = rt.loadExtension(myextPath);
    expect(() => rt.loadModelSync(denseBytes, { devices: "myext:1,cpu" })).toThrow(rt.DeviceError);
    expect(() => rt.loadExtension(myextPath)).toThrow(/an extension named 'myext' is already loaded/);
    using model = rt.loadModelSync(denseBytes, { devices: "myext:0,cpu" });
    extension.dispose();
    expect(() => rt.loadModelSync(denseBytes, { devices: "myext:0,cpu" })).toThrow(rt.InvalidArgumentError);
    // The library stays open for the model loaded with it.
    expect(runY(model, inputs(2), 2).length).toBe(8);
    expect(model.operations[0]!.device).toBe("myext:0");
  });
});

describe("loading an extension fails with an ExtensionError that says why", () => {
  test("a missing file", () => {
    const missing = join(dir, "libabsent.so");
    expect(() => rt.loadExtension(missing)).toThrow(rt.ExtensionError);
    expect(() => rt.loadExtension(missing)).toThrow(`no extension at '${missing}': the file does not exist`);
  });

  test("a file that is no shared library", () => {
    const text = join(dir, "not-a-library.so");
    writeFileSync(text, "plain text\n");
    expect(() => rt.loadExtension(text)).toThrow(rt.ExtensionError);
    expect(() => rt.loadExtension(text)).toThrow(/cannot open '.*not-a-library\.so' as a shared library/);
  });

  test("a library without the entry point", () => {
    const path = buildFaulty("noentry", "-DFAULT_NO_ENTRY");
    expect(() => rt.loadExtension(path)).toThrow(rt.ExtensionError);
    expect(() => rt.loadExtension(path)).toThrow(`'${path}' is not a Tessera backend extension: it does not export tessera_backend_register`);
  });

  test("a library built for another backend ABI version", () => {
    const path = buildFaulty("oldabi", "-DFAULT_ABI=99");
    expect(() => rt.loadExtension(path)).toThrow(rt.ExtensionError);
    expect(() => rt.loadExtension(path)).toThrow(`'${path}' was built for backend ABI version 99; this Tessera loads version 1`);
  });
});

describe("an extension that misbehaves gives a typed error, and the runtime goes on", () => {
  const x = Float32Array.from([1, -2, 3, -4, 5, -6]);

  test("a failure status from run is that kind of error on the request", async () => {
    using _extension = rt.loadExtension(buildFaulty("faultrun", "-DFAULT_RUN_STATUS"));
    using model = rt.loadModelSync(reluBytes, { devices: "faultrun:0,cpu" });
    expect(model.operations[0]!.device).toBe("faultrun:0");
    using request = model.createRequest();
    using input = rt.tensor(x, { shape: [2, 3] });
    const run = request.run({ x: input });
    await expect(run).rejects.toBeInstanceOf(rt.InferError);
    await expect(request.run({ x: input })).rejects.toThrow("faultrun:0, node 'relu' (Relu): simulated device fault");
    expect(request.status).toBe("FAULT");
    // The same input on the CPU alone still runs, and the failing model fails the same way again.
    using cpu = rt.loadModelSync(reluBytes);
    expect(Array.from(runY(cpu, x, 2))).toEqual([1, 0, 3, 0, 5, 0]);
    expect(() => runY(model, x, 2)).toThrow(rt.InferError);
  });

  test("a compile that returns no handle fails the load", () => {
    using _extension = rt.loadExtension(buildFaulty("nullhandle", "-DFAULT_NULL_HANDLE"));
    expect(() => rt.loadModelSync(reluBytes, { devices: "nullhandle:0,cpu" })).toThrow(rt.ExtensionError);
    expect(() => rt.loadModelSync(reluBytes, { devices: "nullhandle:0,cpu" })).toThrow(
      "nullhandle:0: compile returned TSR_OK but no handle for node 'relu' (Relu)",
    );
  });

  test("an output of the wrong shape fails the run", () => {
    using _extension = rt.loadExtension(buildFaulty("wrongshape", "-DFAULT_WRONG_SHAPE"));
    using model = rt.loadModelSync(reluBytes, { devices: "wrongshape:0,cpu" });
    expect(() => runY(model, x, 2)).toThrow(rt.ExtensionError);
    expect(() => runY(model, x, 2)).toThrow(
      "wrongshape:0, node 'relu' (Relu): output 0 made with shape { 2, 4 }; the model's shape for it is { 2, 3 } (-1: any)",
    );
  });

  test("a run that makes no output fails", () => {
    using _extension = rt.loadExtension(buildFaulty("nooutput", "-DFAULT_NO_OUTPUT"));
    using model = rt.loadModelSync(reluBytes, { devices: "nooutput:0,cpu" });
    expect(() => runY(model, x, 2)).toThrow("nooutput:0, node 'relu' (Relu): run returned TSR_OK without making output 0");
  });
});
