/**
 * Lifetimes when something fails: a request whose construction fails releases its native
 * request, finalize() refuses before it disposes anything, and a log callback that throws
 * neither fails nor leaks the call that logged.
 */
import { describe, expect, test } from "bun:test";
import * as rt from "../src/index.ts";
import { lib, native } from "../src/native.ts";
import { buildModel, GraphBuilder } from "../src/onnx/builder.ts";
import { addRelu } from "./support/models.ts";

const entry = new URL("../src/index.ts", import.meta.url).pathname;
const models = new URL("./support/models.ts", import.meta.url).pathname;

/** Input "a\0b": C code (and so the library) knows it as "a", which JS then cannot find. */
function nulInputName(): Uint8Array {
  const g = new GraphBuilder("nul_input");
  g.input("a\0b", "float32", [2]);
  g.node("Relu", ["a\0b"], { outputs: ["y"] });
  g.output("y", "float32", [2]);
  return buildModel(g);
}

/** Finalizes, which must succeed, and initializes again for the tests that follow. */
function finalizeAndRestart(): void {
  try {
    rt.finalize();
    expect(rt.isInitialized()).toBe(false);
  } finally {
    rt.initialize();
  }
}

describe("a request whose construction fails", () => {
  test("releases its native request, so finalize() still succeeds", () => {
    const model = rt.loadModelSync(nulInputName());
    expect(model.inputNames).toEqual(["a"]);
    expect(() => model.createRequest()).toThrow(rt.InvalidArgumentError);
    expect(() => model.runSync({ a: new Float32Array(2) })).toThrow(/no tensor named 'a'/); // through the request pool
    model.dispose();
    finalizeAndRestart(); // the leaked native requests made the library refuse this for ever
  });
});

describe("finalize() checks before it disposes", () => {
  test("a native model it does not own: refused, and the user's objects stay usable", () => {
    const slot = new BigUint64Array(1);
    const bytes = addRelu();
    expect(lib.tsr_model_load_bytes(bytes, BigInt(bytes.length), null, slot)).toBe(0);
    const orphan = native.pointerAt(slot);
    const t = rt.tensor([1, 2]);
    const model = rt.loadModelSync(addRelu());
    try {
      expect(() => rt.finalize()).toThrow(rt.InvalidStateError);
      expect(() => rt.finalize()).toThrow(/1 model\(s\) still alive that this runtime does not own/);
      expect(rt.isInitialized()).toBe(true);
      expect([t.disposed, model.disposed]).toEqual([false, false]);
      expect(t.toArray()).toEqual([1, 2]);
      expect(model.runSync<rt.Tensor>({ x: rt.tensor([[1, 1, 1, 1]]) }).y!.toArray()).toEqual([[4, 6, 8, 10]]);
    } finally {
      lib.tsr_model_destroy(orphan);
    }
    finalizeAndRestart();
    expect([t.disposed, model.disposed]).toEqual([true, true]);
  });

  test("a model load in flight: refused, and the user's objects stay usable", async () => {
    const t = rt.tensor([3]);
    const loading = rt.loadModel(addRelu());
    expect(() => rt.finalize()).toThrow(rt.InvalidStateError);
    expect(() => rt.finalize()).toThrow(/1 model load\(s\) are in flight/);
    expect(t.disposed).toBe(false);
    const model = await loading;
    expect(model.name).toBe("add_relu");
    finalizeAndRestart();
    expect([t.disposed, model.disposed]).toEqual([true, true]);
  });
});

describe("a log callback that throws", () => {
  test("does not fail or leak the call that logged, and its exception surfaces uncaught", () => {
    // In its own process: Bun's test runner would take the uncaught exception as a failure here.
    const script = `import * as rt from ${JSON.stringify(entry)};
import { addRelu } from ${JSON.stringify(models)};
const uncaught = [];
process.on("uncaughtException", (error) => uncaught.push(error));
const bug = new Error("a bug in the callback");
let calls = 0;
rt.logging.setConsole(false);
rt.logging.setLevel("debug");
rt.logging.setCallback(() => { calls++; throw bug; });
const names = [];
for (let i = 0; i < 5; i++) {
  const model = rt.loadModelSync(addRelu());
  names.push(model.name);
  model.dispose();
}
rt.logging.write("warn", "through tsr_log_write");
rt.finalize(); // logs "finalized" once torn down: it must then also let go of its reference
const finalized = !rt.isInitialized();
rt.initialize();
const liveModels = rt.nativeStats().liveModels;
rt.logging.setCallback(null);
await new Promise((resolve) => setTimeout(resolve, 10));
console.log(JSON.stringify({
  names, liveModels, calls,
  finalized,
  reported: uncaught.length,
  allTheBug: uncaught.every((error) => error === bug),
}));`;
    const result = Bun.spawnSync([process.execPath, "-e", script]);
    expect(result.stderr.toString()).not.toContain("error:");
    const outcome = JSON.parse(result.stdout.toString());
    expect(outcome.calls).toBeGreaterThanOrEqual(8); // 5 loads, the write, finalize and initialize
    expect(outcome).toEqual({
      names: ["add_relu", "add_relu", "add_relu", "add_relu", "add_relu"],
      liveModels: 0, // each load kept its model, and dispose() freed it
      calls: outcome.calls,
      finalized: true,
      reported: outcome.calls, // every exception the callback threw, unchanged
      allTheBug: true,
    });
    expect(result.exitCode).toBe(0); // handled by the script's uncaughtException listener
  });
});
