/**
 * AsyncInferQueue from Bun: jobs spread over a fixed set of requests, userdata and outputs in the
 * callback, waitAll, idle queries, errors that reach the callback and waitAll without breaking the
 * queue, and disposal with jobs in flight.
 */
import { describe, expect, test } from "bun:test";
import * as rt from "../src/index.ts";
import { addPair, addRelu, heavyChain, longChain } from "./deno/models.ts";

const first = (t: rt.Tensor | undefined) => (t!.toTypedArray() as Float32Array)[0];

describe("AsyncInferQueue", () => {
  test("runs every job once, with its userdata, outputs readable in the callback", async () => {
    using model = rt.loadModelSync(addPair());
    using queue = new rt.AsyncInferQueue<number>(model, 4);
    expect(queue.length).toBe(4);
    expect([...queue].length).toBe(4);
    expect(queue.at(0)).toBeInstanceOf(rt.InferRequest);
    expect(queue.at(-1)).toBe([...queue][3]);
    const results = new Map<number, number[]>();
    const used = new Set<rt.InferRequest>();
    queue.setCallback((request, userdata, error) => {
      expect(error).toBeNull();
      used.add(request);
      results.set(userdata, Array.from(request.getOutputs<rt.Tensor>().c!.toTypedArray() as Float32Array));
    });
    const jobs = 100;
    for (let i = 0; i < jobs; i++) {
      await queue.startAsync([new Float32Array([i, i, i, i]), new Float32Array([1, 2, 3, 4])], i);
    }
    await queue.waitAll();
    expect(results.size).toBe(jobs);
    for (let i = 0; i < jobs; i++) expect(results.get(i)).toEqual([i + 1, i + 2, i + 3, i + 4]);
    expect(used.size).toBeGreaterThan(1); // the jobs were spread over the requests
    expect(queue.isReady()).toBe(true);
    expect(queue.getIdleRequestId()).toBeGreaterThanOrEqual(0);
    // A request used directly is not a queue job: no callback, and the bookkeeping holds.
    await queue.at(1)!.run([new Float32Array(4), new Float32Array(4)]);
    expect(results.size).toBe(jobs);
    await queue.waitAll();
    await queue.startAsync([new Float32Array(4), new Float32Array([5, 5, 5, 5])], 1000);
    await queue.waitAll();
    expect(results.get(1000)).toEqual([5, 5, 5, 5]);
  });

  test("startAsync without awaiting queues jobs in order; busy means no idle request", async () => {
    using model = rt.loadModelSync(longChain(1000));
    using queue = new rt.AsyncInferQueue<string>(model, 2);
    using x = rt.tensor(0, { shape: [16, 16] });
    const order: string[] = [];
    queue.setCallback((_, userdata) => void order.push(userdata));
    const started = ["a", "b", "c", "d", "e"].map((name) => queue.startAsync([x], name));
    await Promise.all(started.slice(0, 2));
    expect(queue.isReady()).toBe(false);
    expect(queue.getIdleRequestId()).toBe(-1);
    await queue.waitAll();
    await Promise.all(started);
    expect(order.sort()).toEqual(["a", "b", "c", "d", "e"]);
    expect(queue.isReady()).toBe(true);
  });

  test("jobs = 0 picks one request per physical core, and at least two", () => {
    using model = rt.loadModelSync(addRelu());
    using queue = new rt.AsyncInferQueue(model);
    expect(queue.length).toBe(Math.max(2, rt.devices()[0]!.cpu!.cores));
    expect(() => new rt.AsyncInferQueue(model, -1)).toThrow(rt.InvalidArgumentError);
  });

  test("a failing job reaches the callback and waitAll; the queue stays usable", async () => {
    using model = rt.loadModelSync(longChain(1000));
    using queue = new rt.AsyncInferQueue<number>(model, 2);
    using x = rt.tensor(0, { shape: [4, 16] });
    const errors: (Error | null)[] = [];
    const statuses: string[] = [];
    queue.setCallback((request, _, error) => {
      errors.push(error);
      statuses.push(request.status);
    });
    await queue.startAsync([x], 1);
    await queue.startAsync([x], 2, undefined, { deadlineUs: 1 });
    await queue.startAsync([x], 3);
    await expect(queue.waitAll()).rejects.toThrow(/deadline passed/);
    expect(errors.filter((e) => e instanceof rt.RequestError).length).toBe(1);
    expect(statuses.filter((s) => s === "FAULT").length).toBe(1);
    // The error was reported once; the next batch starts clean.
    await queue.startAsync([x], 4);
    await queue.waitAll();
    expect(queue.isReady()).toBe(true);
  });

  test("invalid inputs reject startAsync before anything runs, and free the request again", async () => {
    using model = rt.loadModelSync(addRelu());
    using queue = new rt.AsyncInferQueue(model, 1);
    await expect(queue.startAsync({ x: rt.tensor([[1, 2]]) })).rejects.toThrow(rt.ShapeError);
    await expect(queue.startAsync({ x: new Float32Array(4) })).rejects.toThrow(/pass a Tensor/);
    expect(queue.isReady()).toBe(true);
    let seen = 0;
    queue.setCallback(() => void seen++);
    using x = rt.tensor([[1, 1, 1, 1]]);
    await queue.startAsync([x]);
    await queue.waitAll();
    expect(seen).toBe(1);
  });

  test("what the callback throws makes waitAll reject", async () => {
    using model = rt.loadModelSync(addRelu());
    using queue = new rt.AsyncInferQueue(model, 2);
    queue.setCallback(() => {
      throw new Error("callback failed");
    });
    using x = rt.tensor([[1, 1, 1, 1]]);
    await queue.startAsync([x]);
    await expect(queue.waitAll()).rejects.toThrow("callback failed");
    await queue.waitAll();
  });

  test("disposing with jobs in flight cancels them and rejects pending calls", async () => {
    // Runs long enough (2000 adds over 64 KiB) that none ends while the test awaits its starts.
    const model = rt.loadModelSync(heavyChain(2000));
    const queue = new rt.AsyncInferQueue(model, 2);
    using x = rt.tensor(0, { shape: [64, 256] });
    await queue.startAsync([x]);
    await queue.startAsync([x]);
    const waiting = queue.startAsync([x]).catch((e) => e); // no idle request: it waits
    const all = queue.waitAll().catch((e) => e);
    queue.dispose();
    queue.dispose();
    expect(await waiting).toBeInstanceOf(rt.InvalidStateError);
    expect((await all).message).toMatch(/disposed/);
    expect([...queue].every((r) => r.disposed)).toBe(true);
    await expect(queue.startAsync([x])).rejects.toThrow(rt.InvalidStateError);
    expect(first(model.runSync<rt.Tensor>([x]).y)).toBe(2000);
    model.dispose();
  });
});
