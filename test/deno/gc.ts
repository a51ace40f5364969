/**
 * Garbage collection of every kind of object: tensors, models, requests, queues, profilers and
 * memory monitors dropped without dispose() are collected, and the library's live bytes, tensors
 * and models return to where they started. The scenarios are shared: this file runs them under
 * Deno, test/gc.test.ts under Bun.
 * Run with: deno test --no-check --allow-ffi --allow-read --allow-write --allow-env --v8-flags=--expose-gc test/deno/gc.ts
 */
import assert from "node:assert/strict";
import * as rt from "../../src/index.ts";
import { addPair, addRelu } from "./models.ts";

/** Makes objects, drops them all, and returns weak references to everything that must be collected. */
export type Drop = () => WeakRef<object>[] | Promise<WeakRef<object>[]>;

/** Checks that what `drop` made is collected and the library's counts come back. */
export type ExpectCollected = (drop: Drop) => Promise<void>;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function liveCounts() {
  const { liveBytes, liveTensors, liveModels } = rt.nativeStats();
  return { liveBytes, liveTensors, liveModels };
}

/**
 * `expectCollected` over a full GC. Each `drop` runs twice: first to warm up (first-use
 * allocations, JIT), then measured. Finalizers run on later ticks, so GC repeats with waits
 * between, for up to 10 s, until everything is gone; the asserts then say what is not.
 */
export function collector(gc: () => void): ExpectCollected {
  const collectUntil = async (done: () => boolean) => {
    // Bun can take a second or so to release what async code touched, however often it collects.
    const end = Date.now() + 10_000;
    while (!done() && Date.now() < end) {
      // A new task first: deref() in done() keeps its target alive until the current one ends.
      await sleep(0);
      gc();
      await sleep(10);
    }
  };
  const gone = (refs: WeakRef<object>[]) => refs.every((ref) => ref.deref() === undefined);
  return async (drop) => {
    const warmup = await drop();
    await collectUntil(() => gone(warmup));
    const start = liveCounts();
    const refs = await drop();
    assert.ok(refs.length > 0);
    await collectUntil(() => gone(refs) && JSON.stringify(liveCounts()) === JSON.stringify(start));
    assert.equal(refs.filter((ref) => ref.deref() !== undefined).length, 0, "dropped objects still reachable");
    assert.deepEqual(liveCounts(), start);
  };
}

const weak = (objects: object[]) => objects.map((o) => new WeakRef(o));

/** Each scenario drops objects of one class (or a class and what it holds). */
export const scenarios: Record<string, (expectCollected: ExpectCollected) => Promise<void>> = {
  "Tensor: numeric, string and zero-copy tensors": (expectCollected) =>
    expectCollected(() => {
      const made: object[] = [];
      for (let i = 0; i < 100; i++) {
        made.push(rt.tensor({ shape: [16, 16] }).fill(i));
        made.push(rt.tensor(["a string", String(i)]));
        made.push(rt.tensor(new Int32Array(8), { copy: false }));
      }
      return weak(made);
    }),

  "Model: loaded sync and async, run, never disposed": (expectCollected) =>
    expectCollected(async () => {
      const bytes = addRelu();
      const made: object[] = [];
      for (let i = 0; i < 30; i++) made.push(rt.loadModelSync(bytes));
      made.push(await rt.loadModel(bytes));
      const ran = rt.loadModelSync(bytes); // keeps idle requests for run() and runSync()
      const x = rt.tensor({ shape: [2, 4] });
      made.push(ran, x, ran.runSync({ x }).y!, (await ran.run({ x })).y!);
      return weak(made);
    }),

  "InferRequest: dropped while its model is kept": async (expectCollected) => {
    using model = rt.loadModelSync(addPair());
    await expectCollected(async () => {
      const made: object[] = [];
      const a = new Float32Array([1, 2, 3, 4]);
      for (let i = 0; i < 10; i++) {
        const request = model.createRequest();
        request.runSync([a, a]); // TypedArray inputs: the request owns wrapper tensors
        const c = new Float32Array(4);
        request.setCallback(() => made.push(request)); // a cycle through the callback
        request.infer({ a, b: a }, { c });
        await request.wait();
        assert.deepEqual(Array.from(c), [2, 4, 6, 8]);
        made.push(request, request.getOutputs().c!);
      }
      return weak(made);
    });
    assert.equal(model.runSync<rt.Tensor>([new Float32Array(4), new Float32Array(4)]).c!.shape[0], 4); // untouched
  },

  "InferRequest: dropped with its model": (expectCollected) =>
    expectCollected(() => {
      const model = rt.loadModelSync(addPair());
      const requests = Array.from({ length: 5 }, () => model.createRequest());
      for (const request of requests) request.runSync([new Float32Array(4), new Float32Array(4)]);
      return weak([model, ...requests]);
    }),

  "AsyncInferQueue: dropped while its model is kept, and with it": async (expectCollected) => {
    const runJobs = async (model: rt.Model) => {
      const queue = new rt.AsyncInferQueue<number>(model, 2);
      const seen: number[] = [];
      queue.setCallback((request, userdata) => seen.push(userdata + request.getOutputs<rt.Tensor>().c!.toTypedArray()[0]!));
      const a = new Float32Array([1, 1, 1, 1]);
      for (let i = 0; i < 6; i++) await queue.startAsync([a, a], i);
      await queue.waitAll();
      assert.deepEqual(seen.sort(), [2, 3, 4, 5, 6, 7]);
      return [queue, ...queue];
    };
    using model = rt.loadModelSync(addPair());
    await expectCollected(async () => weak(await runJobs(model)));
    await expectCollected(async () => {
      const owned = rt.loadModelSync(addPair());
      return weak([owned, ...(await runJobs(owned))]);
    });
  },

  "profilers: dropped with their model": (expectCollected) =>
    expectCollected(() => {
      const model = rt.loadModelSync(addRelu());
      const basic = new rt.BasicProfiler(model, { repeat: 2 });
      basic.run();
      const batch = new rt.BatchProfiler(model);
      const x = rt.tensor(new Float32Array(8), { shape: [2, 4] });
      batch.run([{ x }, { x }]);
      const performance = new rt.PerformanceProfiler(model);
      performance.benchmark({ iterations: 2, warmup: 1 });
      rt.optimizeBatchSize(model, { x }, 2, { iterations: 1, warmup: 0 });
      return weak([model, basic, batch, performance, x]);
    }),

  "memory monitors: stopped and dropped, with their callbacks": (expectCollected) =>
    expectCollected(async () => {
      const made: object[] = [];
      for (let i = 0; i < 3; i++) {
        const samples: rt.MemorySample[] = [];
        const callback = (sample: rt.MemorySample) => samples.push(sample);
        const monitor = rt.monitorMemory(callback, 1);
        for (let wait = 0; samples.length === 0 && wait < 1000; wait++) await sleep(2);
        assert.ok(samples.length > 0, "the monitor never sampled");
        monitor.stop();
        made.push(monitor, callback, samples);
      }
      return weak(made);
    }),
};

// deno-lint-ignore no-explicit-any
const Deno = (globalThis as any).Deno;

if (Deno) {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error("run with --v8-flags=--expose-gc: these tests force garbage collection");
  const expectCollected = collector(gc);
  for (const [name, scenario] of Object.entries(scenarios)) {
    Deno.test(`gc: ${name}`, () => scenario(expectCollected));
  }
}
