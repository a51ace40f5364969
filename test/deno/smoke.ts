/**
 * The Deno binding's smoke suite: the same API as under Bun, through Deno.dlopen.
 * Run by scripts/test with: deno test --no-check --allow-ffi --allow-read --allow-write --allow-env
 */
import assert from "node:assert/strict";
import * as rt from "../../src/index.ts";

// deno-lint-ignore no-explicit-any
const Deno = (globalThis as any).Deno;

Deno.test("the library loads through Deno.dlopen with a matching ABI", () => {
  const info = rt.buildInfo();
  assert.equal(info.runtime, "deno");
  assert.equal(info.version, rt.version);
  assert.match(rt.version, /^\d+\.\d+\.\d+$/);
});

Deno.test("devices: the CPU first, with run-time features, then Vulkan", () => {
  const devices = rt.devices();
  assert.equal(devices[0]!.id, "cpu:0");
  assert.ok(devices[0]!.cpu!.threads >= 1);
  assert.ok(devices[0]!.cpu!.features.length > 0);
  if (Deno.env.get("TESSERA_EXPECT_VULKAN") !== "0") {
    assert.ok(devices.some((d) => d.platform === "vulkan" && d.kind === "software"));
  }
  assert.equal(rt.getLocalInfo().name, rt.hostInfo().name);
});

Deno.test("tensors: construct, view zero-copy, fill, save and load", () => {
  using t = rt.tensor([[1, 2], [3, 4]]);
  assert.deepEqual(t.shape, [2, 2]);
  assert.equal(t.dtype, "float32");
  const source = new Int32Array([1, 2, 3]);
  using wrapped = rt.tensor(source, { copy: false });
  wrapped.fill(5);
  assert.deepEqual(Array.from(source), [5, 5, 5]);
  const path = Deno.makeTempFileSync({ suffix: ".tsr" });
  using s = rt.tensor([["a", "b"], ["c", "déjà"]]);
  s.save(path);
  using back = rt.loadTensor(path);
  assert.deepEqual(back.toArray(), [["a", "b"], ["c", "déjà"]]);
  using packed = rt.tensor([1, -2, 3], { dtype: "int4" });
  assert.deepEqual(packed.toArray(), [1, -2, 3]);
  assert.match(t.toString(), /^tensor\(\[\[1\.0000, 2\.0000\]/);
});

Deno.test("errors: typed, with the library's message", () => {
  assert.throws(() => rt.tensor({ shape: [2, -1] }), rt.ShapeError);
  assert.throws(() => rt.tensor({ shape: [1], dtype: "nope" }), rt.TypeError);
  assert.throws(() => rt.tensor(new Float32Array(3), { shape: [4] }), rt.InvalidArgumentError);
  const path = Deno.makeTempFileSync();
  Deno.writeTextFileSync(path, "definitely not a tensor file");
  assert.throws(() => rt.loadTensor(path), /bad magic/);
  assert.throws(() => rt.loadTensor(path), rt.ContainerError);
});

Deno.test("dispose: use after dispose, finalize releases children, memory returns", () => {
  const t = rt.tensor([1, 2, 3]);
  t.dispose();
  t.dispose();
  assert.throws(() => t.fill(1), rt.InvalidStateError);
  const start = rt.nativeStats();
  const alive = Array.from({ length: 500 }, () => rt.tensor(["x"]));
  assert.equal(rt.nativeStats().liveTensors, start.liveTensors + 500);
  rt.finalize();
  assert.ok(alive.every((a) => a.disposed));
  assert.equal(rt.isInitialized(), false);
  rt.initialize();
  assert.equal(rt.nativeStats().liveTensors, 0);
  // Finalize also frees the handle table, so fewer bytes are live than at the start.
  assert.ok(rt.nativeStats().liveBytes <= start.liveBytes);
});

Deno.test("logging: the callback receives messages", () => {
  const seen: string[] = [];
  rt.logging.setConsole(false);
  rt.logging.setCallback((_, message) => seen.push(message));
  rt.logging.write("error", "from deno");
  rt.logging.setCallback(null);
  rt.logging.setConsole(true);
  assert.deepEqual(seen, ["from deno"]);
});

Deno.test("models: async load through a nonblocking wait, info, errors", async () => {
  const { addRelu } = await import("../support/models.ts");
  const model = await rt.loadModel(addRelu());
  assert.deepEqual(model.inputNames, ["x"]);
  assert.deepEqual(model.getTensor("y").shape, ["N", 4]);
  assert.deepEqual(model.inferShape("y", { x: [3, 4] }), [3, 4]);
  model.dispose();
  await assert.rejects(() => rt.loadModel(new Uint8Array([0x0a, 0x01, 0x00])), rt.ModelError);
  const many = await Promise.all(Array.from({ length: 8 }, () => rt.loadModel(addRelu())));
  assert.equal(rt.nativeStats().liveModels, 8);
  for (const m of many) m.dispose();
  assert.equal(rt.nativeStats().liveModels, 0);
});

Deno.test("encrypted models: encrypt on a native thread, load with the passphrase, refuse a wrong one", async () => {
  const { addRelu } = await import("../support/models.ts");
  const sealed = Deno.makeTempFileSync({ suffix: ".tsrc" });
  await rt.encryptModel(addRelu(), sealed, "deno passphrase", { kdfMemoryKiB: 64, kdfIterations: 1 });
  using model = await rt.loadModel(sealed, { passphrase: "deno passphrase" });
  using x = rt.tensor([[1, -2, 3, -4]]);
  const { y } = await model.run({ x });
  assert.deepEqual((y as rt.Tensor).toArray(), [[4, 0, 12, 0]]);
  await assert.rejects(() => rt.loadModel(sealed, { passphrase: "wrong" }), rt.ContainerError);
});
