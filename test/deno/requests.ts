/**
 * Requests under Deno: the same API as under Bun, with completion through nonblocking wait
 * symbols (a Deno thread waits; JS never polls). Every test awaits all it started, so Deno's op
 * sanitizer would catch a wait left behind.
 * Run with: deno test --no-check --allow-ffi --allow-read --allow-write --allow-env test/deno/requests.ts
 */
import assert from "node:assert/strict";
import * as rt from "../../src/index.ts";
import { addPair, addRelu, heavyChain, longChain, twoOutputs } from "./models.ts";
import { dictVectorizerModel, mixedOutputs, zipMapClassifier } from "../support/value-models.ts";

// deno-lint-ignore no-explicit-any
const Deno = (globalThis as any).Deno;

const floats = (t: rt.Tensor | undefined) => Array.from(t!.toTypedArray() as Float32Array);

Deno.test("requests: inputs and outputs as arrays or records, Tensors or TypedArrays", async () => {
  using model = rt.loadModelSync(addPair());
  const a = new Float32Array([1, 2, 3, 4]);
  using b = rt.tensor([10, 20, 30, 40]);
  assert.deepEqual(floats(model.runSync<rt.Tensor>([a, b]).c), [11, 22, 33, 44]);
  assert.deepEqual(floats((await model.run<rt.Tensor>({ a: b, b: a })).c), [11, 22, 33, 44]);
  using request = model.createRequest();
  const c = new Float32Array(4);
  request.infer({ a, b }, { c });
  await request.wait();
  assert.deepEqual(Array.from(c), [11, 22, 33, 44]);
  assert.equal(request.getOutputs<rt.Tensor>().c!.toTypedArray(), c);
  using into = rt.tensor({ shape: [4] });
  request.infer([a, a], [into]);
  await request.wait();
  assert.deepEqual(floats(into), [2, 4, 6, 8]);
});

Deno.test("requests: validation errors have their classes and messages", () => {
  using model = rt.loadModelSync(addRelu());
  assert.throws(() => model.runSync({ x: rt.tensor([[1, 2]]) }), rt.ShapeError);
  assert.throws(() => model.runSync({ x: rt.tensor([[1, 2]]) }), /input 'x' must have shape \[N,4\], not \[1,2\]/);
  assert.throws(() => model.runSync({ x: rt.tensor([[1, 2, 3, 4]], { dtype: "int32" }) }), rt.TypeError);
  assert.throws(() => model.runSync({ x: new Float32Array(4) }), /pass a Tensor/);
  assert.throws(() => model.runSync({}), rt.InvalidArgumentError);
  using pair = rt.loadModelSync(addPair());
  assert.throws(() => pair.runSync([new Int32Array(4), new Float32Array(4)]), rt.TypeError);
  assert.throws(() => pair.runSync([new Float32Array(3), new Float32Array(4)]), /buffer too small for input 'a'/);
});

Deno.test("requests: status, waitSync timeout and end, deadline, subsets", async () => {
  using model = rt.loadModelSync(heavyChain(400));
  using x = rt.tensor(0, { shape: [512, 256] });
  using request = model.createRequest();
  assert.equal(request.status, "READY");
  request.infer([x]);
  assert.equal(request.waitSync(0), true);
  assert.equal(request.status, "RUNNING");
  assert.equal(request.waitSync(-1), false);
  assert.equal(request.status, "READY");
  await assert.rejects(() => request.run([x], { deadlineUs: 1 }), /deadline passed before node/);
  assert.equal(request.status, "FAULT");
  assert.equal((await request.run<rt.Tensor>([x])).y!.toTypedArray()[0], 400);
  await request.wait(); // the nonblocking wait of that run has returned too
  using two = rt.loadModelSync(twoOutputs(), { memoryOptimization: false });
  using t = rt.tensor([[1, -2, 3], [-4, 5, -6]]);
  const onlyZ = await two.run([t], { outputs: ["z"] });
  assert.deepEqual(Object.keys(onlyZ), ["z"]);
});

Deno.test("requests: a chain of infers driven from the callback", async () => {
  using model = rt.loadModelSync(addPair());
  using request = model.createRequest();
  const a = new Float32Array(4);
  const one = new Float32Array([1, 1, 1, 1]);
  let count = 0;
  const finished = Promise.withResolvers<void>();
  request.setCallback((status, error) => {
    if (error) return finished.reject(error);
    assert.equal(status, "READY");
    a.set(request.getOutputs<rt.Tensor>().c!.toTypedArray() as Float32Array);
    if (++count < 100) request.infer([a, one]);
    else finished.resolve();
  });
  request.infer([a, one]);
  await finished.promise;
  await request.wait();
  assert.deepEqual(Array.from(a), [100, 100, 100, 100]);
});

Deno.test("requests: hundreds in flight on one model, and many models at once", async () => {
  using model = rt.loadModelSync(addRelu());
  const requests = Array.from({ length: 300 }, () => model.createRequest());
  const inputs = requests.map((_, i) => rt.tensor(i, { shape: [1, 4] }));
  requests.forEach((r, i) => r.infer([inputs[i]!]));
  await Promise.all(requests.map((r) => r.wait()));
  requests.forEach((r, i) => assert.equal(r.getOutputs<rt.Tensor>().y!.toTypedArray()[0], (i + 1) * 2));
  for (const t of [...requests, ...inputs]) t.dispose();
  const models = await Promise.all(Array.from({ length: 8 }, () => rt.loadModel(addRelu())));
  const results = await Promise.all(models.flatMap((m, k) =>
    Array.from({ length: 25 }, async (_, i) => {
      using x = rt.tensor([[k, i, 0, 0]]);
      return floats((await m.run<rt.Tensor>([x])).y);
    })
  ));
  results.forEach((row, n) => assert.deepEqual(row, [(Math.floor(n / 25) + 1) * 2, (n % 25 + 2) * 2, 6, 8]));
  for (const m of models) m.dispose();
});

Deno.test("requests: timers keep firing during a long inference", async () => {
  using model = rt.loadModelSync(heavyChain(3000));
  using x = rt.tensor(0, { shape: [2048, 256] });
  using request = model.createRequest();
  let ticks = 0;
  request.infer([x]);
  // Cancelled by the timer after three ticks while it runs: the loop turned during the run.
  const timer = setInterval(() => {
    if (request.status === "RUNNING" && ++ticks === 3) request.cancel();
  }, 1);
  const outcome = await request.wait().then(() => "finished", (e) => e);
  clearInterval(timer);
  if (outcome !== "finished") assert.ok(outcome instanceof rt.RequestError);
  assert.ok(ticks >= (outcome === "finished" ? 1 : 3));
});

Deno.test("requests: disposing a model with requests in flight is safe", async () => {
  const start = rt.nativeStats().liveModels;
  const model = rt.loadModelSync(longChain(1000));
  using x = rt.tensor(0, { shape: [32, 16] });
  const requests = Array.from({ length: 30 }, () => model.createRequest());
  requests.forEach((r) => r.infer([x]));
  const outcomes = requests.map((r) => r.wait().then(() => "ok", (e) => e));
  model.dispose();
  assert.ok(requests.every((r) => r.disposed));
  for (const outcome of await Promise.all(outcomes)) {
    if (outcome !== "ok") assert.ok(outcome instanceof rt.RequestError);
  }
  assert.equal(rt.nativeStats().liveModels, start);
});

Deno.test("AsyncInferQueue: userdata, callback outputs, errors, waitAll", async () => {
  using model = rt.loadModelSync(longChain(200));
  using queue = new rt.AsyncInferQueue<number>(model, 3);
  using x = rt.tensor(0, { shape: [4, 16] });
  const seen = new Map<number, number>();
  queue.setCallback((request, userdata, error) => {
    if (!error) seen.set(userdata, request.getOutputs<rt.Tensor>().y!.toTypedArray()[0] as number);
  });
  for (let i = 0; i < 30; i++) await queue.startAsync([x], i, undefined, { deadlineUs: i === 7 ? 1 : 0 });
  await assert.rejects(() => queue.waitAll(), rt.RequestError);
  assert.equal(seen.size, 29);
  assert.ok([...seen.values()].every((v) => v === 200));
  await queue.startAsync([x], 99);
  await queue.waitAll();
  assert.equal(seen.get(99), 200);
  assert.equal(queue.isReady(), true);
});

Deno.test("profiling: engine events and request.profile under Deno", () => {
  using model = rt.loadModelSync(addRelu(), { profiling: true });
  using request = model.createRequest();
  const loadEvents = request.getProfileEvents();
  assert.equal(loadEvents.filter((e) => e.kind === "model-init").length, 2);
  using x = rt.tensor(new Float32Array(8), { shape: [2, 4] });
  const result = request.profile({ x }, undefined, { warmup: 1, repeat: 3 });
  assert.equal(result.runs, 3);
  assert.equal(result.durations.model.length, 3);
  assert.deepEqual(result.durations.layers.map((l) => l.opType), ["Add", "Relu", "Mul"]);
  for (const kind of new Set(result.events.map((e) => e.kind))) {
    const begins = result.events.filter((e) => e.kind === kind && e.phase === "begin").length;
    assert.equal(begins * 2, result.events.filter((e) => e.kind === kind).length, kind);
  }
});

Deno.test("requests: run and runSync return sequence and optional outputs too", async () => {
  using model = rt.loadModelSync(mixedOutputs());
  using x = rt.tensor([1, 2, 3]);
  for (const out of [model.runSync({ x }), await model.run({ x })]) {
    assert.deepEqual(Object.keys(out), ["doubled", "empty", "full", "seq", "maybeSeq"]);
    assert.deepEqual(floats(out.doubled as rt.Tensor), [2, 4, 6]);
    assert.equal(out.empty, null);
    assert.deepEqual(floats(out.full as rt.Tensor), [2, 4, 6]);
    assert.deepEqual((out.seq as rt.Tensor[]).map(floats), [[1, 2, 3], [2, 4, 6]]);
    assert.deepEqual((out.maybeSeq as rt.Tensor[]).map(floats), [[1, 2, 3], [2, 4, 6]]);
    for (const value of Object.values(out)) rt.disposeValue(value);
  }
});

Deno.test("requests: maps come back as JS Maps and go in from Maps or plain objects", async () => {
  using classifier = rt.loadModelSync(zipMapClassifier(["no", "yes"]));
  using x = rt.tensor([[0, Math.log(3)]]);
  const out = await classifier.run({ x });
  const [row] = out.output_probability as rt.ValueMap[];
  assert.deepEqual([...row!.keys()], ["no", "yes"]);
  assert.ok(Math.abs((row!.get("yes") as number) - 0.75) < 1e-6);
  rt.disposeValue(out.label);
  using vectorizer = rt.loadModelSync(dictVectorizerModel("int64", "float32", [1n, 2n]));
  assert.deepEqual(floats(vectorizer.runSync({ m: new Map([[2, 5]]) }).y as rt.Tensor), [0, 5]);
  assert.deepEqual(floats(vectorizer.runSync({ m: { "1": 4 } }).y as rt.Tensor), [4, 0]);
  assert.throws(() => vectorizer.runSync({ m: new Map([["one", 4]]) }), rt.TypeError);
});
