/**
 * Async work from Workers under Deno: the main thread and 4 Workers each run 200 async
 * inferences and 2 async model loads at once; every promise settles exactly once with the right
 * result, and ending a Worker with runs in flight leaves the main thread's runs whole.
 * Run with: deno test --no-check --allow-ffi --allow-read --allow-write --allow-env test/deno/workers.ts
 */
import assert from "node:assert/strict";
import { addRelu } from "./models.ts";
import { runMany } from "../workers/runs.ts";

// deno-lint-ignore no-explicit-any
const Deno = (globalThis as any).Deno;
const workerUrl = new URL("../workers/worker.ts", import.meta.url).href;

function resultOf(worker: Worker): Promise<{ settled: number; twice: number; wrong: number }> {
  return new Promise((resolve, reject) => {
    worker.onmessage = (event) => {
      if (!event.data.inFlight) resolve(event.data);
    };
    worker.onerror = (event) => reject(new Error(event.message));
  });
}

Deno.test("workers: the main thread and 4 Workers each settle 200 runs and 2 loads, each exactly once", async () => {
  const model = addRelu();
  const workers = Array.from({ length: 4 }, () => new Worker(workerUrl, { type: "module" }));
  const results = workers.map(resultOf);
  for (const worker of workers) worker.postMessage({ model, runs: 200, loads: 2 });
  const mine = await runMany({ model, runs: 200, loads: 2 });
  const theirs = await Promise.all(results);
  for (const worker of workers) worker.terminate();
  for (const result of [mine, ...theirs]) assert.deepEqual(result, { settled: 202, twice: 0, wrong: 0 });
});

Deno.test("workers: ending a Worker while its runs are in flight leaves the main thread's runs whole", async () => {
  const model = addRelu();
  const workers = Array.from({ length: 2 }, () => new Worker(workerUrl, { type: "module" }));
  for (const worker of workers) {
    worker.onmessage = (event) => {
      if (event.data.inFlight) worker.terminate();
    };
    worker.postMessage({ model, runs: 200, loads: 2, reportInFlight: true });
  }
  const mine = await runMany({ model, runs: 200, loads: 2 });
  assert.deepEqual(mine, { settled: 202, twice: 0, wrong: 0 });
});
