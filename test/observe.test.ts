/**
 * Watching work as it happens: load progress (onProgress), node observers (request.observe and
 * the run option), model.runBatch, performance hints (model.config), optimizeThreading,
 * detectBestDevice and getDeviceMemory; their error cases; and the C ABI they go through.
 */
import { describe, expect, test } from "bun:test";
import * as rt from "../src/index.ts";
import { addRelu, longChain } from "./support/models.ts";
import { heavyChain } from "./deno/models.ts";

const floats = (t: unknown) => Array.from((t as rt.Tensor).toTypedArray() as Float32Array);
const input = () => rt.tensor(new Float32Array(16), { shape: [1, 16] });

/** Every stage in order, each opening with 0 and closing with 1, fractions growing in between. */
function checkProgress(events: rt.LoadProgress[]): void {
  const stages = [...new Set(events.map((e) => e.stage))];
  expect(stages).toEqual([...rt.loadStages]);
  for (const stage of rt.loadStages) {
    const fractions = events.filter((e) => e.stage === stage).map((e) => e.fraction);
    expect(fractions[0]).toBe(0);
    expect(fractions.at(-1)).toBe(1);
    for (let i = 1; i < fractions.length; i++) expect(fractions[i]!).toBeGreaterThan(fractions[i - 1]!);
  }
  expect(events.at(-1)).toEqual({ stage: "compile", fraction: 1 });
}

describe("load progress", () => {
  test("loadModel reports every stage, throttled, all before it resolves, and nothing after", async () => {
    const events: rt.LoadProgress[] = [];
    let settled = false;
    using model = await rt.loadModel(longChain(2000), { onProgress: (p) => {
      expect(settled).toBe(false);
      events.push(p);
    } });
    settled = true;
    checkProgress(events);
    // Per stage at most about one call per percent (plus its 0 and 1), never one per node.
    for (const stage of rt.loadStages) expect(events.filter((e) => e.stage === stage).length).toBeLessThanOrEqual(102);
    expect(events.filter((e) => e.stage === "compile").length).toBeGreaterThan(2); // in-stage fractions
    await Bun.sleep(20);
    expect(model.operations.length).toBe(2001);
  });

  test("loadModelSync reports on the calling thread, before it returns", () => {
    const events: rt.LoadProgress[] = [];
    using model = rt.loadModelSync(addRelu(), { onProgress: (p) => void events.push(p) });
    checkProgress(events);
    expect(model.inputNames).toEqual(["x"]);
  });

  test("a callback that throws cancels the load with InvalidOperationError; its return value is ignored", async () => {
    const boom = new Error("enough");
    const failing = rt.loadModel(longChain(500), { onProgress: (p) => {
      if (p.stage === "infer") throw boom;
    } });
    const error = await failing.then(() => null, (e) => e);
    expect(error).toBeInstanceOf(rt.InvalidOperationError);
    expect(error.message).toContain("infer stage: enough");
    expect(error.cause).toBe(boom);
    expect(() => rt.loadModelSync(addRelu(), { onProgress: () => { throw boom; } })).toThrow(rt.InvalidOperationError);
    using model = await rt.loadModel(addRelu(), { onProgress: () => 42 });
    expect(model.runSync<rt.Tensor>({ x: rt.tensor([[1, 2, 3, 4]]) }).y!.toArray()).toEqual([[4, 8, 12, 16]]);
    expect(rt.nativeStats().liveModels).toBeGreaterThanOrEqual(1);
  });

  test("onProgress must be a function", async () => {
    expect(() => rt.loadModelSync(addRelu(), { onProgress: "yes" as never })).toThrow(rt.InvalidArgumentError);
  });
});

describe("node observers", () => {
  test("events come in node order, all before run() resolves, with names, op types and durations", async () => {
    using model = await rt.loadModel(longChain(50));
    const seen: string[] = [];
    const durations: number[] = [];
    let resolved = false;
    const out = await model.run({ x: input() }, { observer: {
      onNodeStart: (i, name, op) => void seen.push(`+${i}:${op}:${name === model.operations[i]!.name}`),
      onNodeEnd: (i, _name, _op, us) => {
        expect(resolved).toBe(false);
        seen.push(`-${i}`);
        durations.push(us);
      },
    } });
    resolved = true;
    expect(seen.length).toBe(2 * 51);
    for (let i = 0; i < 51; i++) {
      expect(seen[2 * i]).toBe(`+${i}:${i < 50 ? "Add" : "Identity"}:true`);
      expect(seen[2 * i + 1]).toBe(`-${i}`);
    }
    expect(durations.every((us) => us >= 0)).toBe(true);
    expect(floats(out.y)[0]).toBe(50);
  });

  test("request.observe applies to infer, runSync and queues; null stops; runSync tells as each node runs", async () => {
    using model = await rt.loadModel(longChain(5));
    using request = model.createRequest();
    const ends: number[] = [];
    request.observe({ onNodeEnd: (i) => void ends.push(i) });
    request.infer({ x: input() });
    await request.wait();
    expect(ends).toEqual([0, 1, 2, 3, 4, 5]);
    request.runSync({ x: input() });
    expect(ends.length).toBe(12);
    request.observe(null);
    await request.run({ x: input() });
    expect(ends.length).toBe(12);
    expect(() => request.observe({ onNodeEnd: 3 } as never)).toThrow(rt.InvalidArgumentError);
  });

  test("an observer that throws fails that run with a RequestError and leaves the model healthy", async () => {
    using model = await rt.loadModel(longChain(300));
    const boom = new Error("stop here");
    for (const run of [
      () => model.run({ x: input() }, { observer: { onNodeEnd: (i) => { if (i === 5) throw boom; } } }),
      async () => model.runSync({ x: input() }, { observer: { onNodeStart: (i) => { if (i === 5) throw boom; } } }),
    ]) {
      const error = await run().then(() => null, (e) => e);
      expect(error).toBeInstanceOf(rt.RequestError);
      expect(error.cause).toBe(boom);
      expect(error.message).toContain("at node 5");
      expect(floats((await model.run({ x: input() })).y)[0]).toBe(300);
    }
  });

  test("waitSync on an observed run is refused: its events need the event loop", async () => {
    using model = await rt.loadModel(longChain(5));
    using request = model.createRequest();
    request.observe({});
    request.infer({ x: input() });
    expect(() => request.waitSync()).toThrow(rt.InvalidStateError);
    await request.wait();
  });
});

describe("runBatch", () => {
  test("outputs come back in input order", async () => {
    using model = await rt.loadModel(addRelu());
    const inputs = [1, 2, 3, 4, 5].map((v) => ({ x: rt.tensor([[v, v, v, v]]) }));
    const outputs = await model.runBatch<rt.Tensor>(inputs, { concurrency: 2 });
    expect(outputs.map((o) => o.y!.toTypedArray()[0])).toEqual([4, 6, 8, 10, 12]);
    expect(await model.runBatch([])).toEqual([]);
  });

  test("the first error cancels the rest and names its input", async () => {
    using model = await rt.loadModel(heavyChain(200));
    const good = { x: rt.tensor(new Float32Array(256 * 256), { shape: [256, 256] }) };
    const bad = { x: rt.tensor([1, 2, 3]) };
    let runs = 0;
    const observer = { onNodeStart: (i: number) => void (i === 0 && runs++) };
    const error = await model.runBatch([good, good, bad, good, good, good, good, good], { concurrency: 2, observer }).then(() => null, (e) => e);
    expect(error).toBeInstanceOf(rt.BatchRunError);
    expect(error).toBeInstanceOf(rt.RequestError);
    expect(error.index).toBe(2);
    expect(error.cause).toBeInstanceOf(rt.RuntimeException);
    expect(runs).toBeLessThanOrEqual(3); // inputs 0 and 1 (one of them cancelled), never those after 2
    expect(floats((await model.run(good)).y).length).toBeGreaterThan(0); // still healthy
  });

  test("bad options are refused", async () => {
    using model = await rt.loadModel(addRelu());
    const x = rt.tensor([[1, 2, 3, 4]]);
    expect(model.runBatch([{ x }], { concurrency: 0 })).rejects.toThrow(rt.InvalidArgumentError);
    expect(model.runBatch([{ x }], { into: {} } as never)).rejects.toThrow(rt.InvalidArgumentError);
  });
});

describe("performance configuration", () => {
  const cores = rt.devices()[0]!.cpu!.cores;

  test("latency: one stream with every core's thread; throughput: streams bounded by numRequests", async () => {
    using plain = await rt.loadModel(addRelu());
    expect(plain.config).toEqual({ performanceHint: null, numRequests: null, threads: cores, streams: null, queueSize: Math.max(2, cores) });
    using latency = await rt.loadModel(addRelu(), { performanceHint: "latency" });
    expect(latency.config).toEqual({ performanceHint: "latency", numRequests: null, threads: cores, streams: 1, queueSize: 1 });
    using throughput = await rt.loadModel(addRelu(), { performanceHint: "throughput", numRequests: 1 });
    expect(throughput.config).toEqual({ performanceHint: "throughput", numRequests: 1, threads: cores, streams: 1, queueSize: 1 });
    using wide = await rt.loadModel(addRelu(), { performanceHint: "throughput" });
    expect(wide.config.streams).toBe(cores);
    expect(wide.config.threads).toBe(1);
    using queue = new rt.AsyncInferQueue(wide, 0);
    expect(queue.length).toBe(wide.config.queueSize);
    using pinned = await rt.loadModel(addRelu(), { performanceHint: "throughput", threads: 1, numRequests: 3 });
    expect(pinned.config.threads).toBe(1);
    expect(pinned.config.queueSize).toBe(3);
  });

  test("a bad hint or numRequests is InvalidArgumentError", async () => {
    await expect(rt.loadModel(addRelu(), { performanceHint: "fast" as never })).rejects.toThrow(rt.InvalidArgumentError);
    await expect(rt.loadModel(addRelu(), { numRequests: 0 })).rejects.toThrow(rt.InvalidArgumentError);
    await expect(rt.loadModel(addRelu(), { numRequests: -1 })).rejects.toThrow(rt.InvalidArgumentError);
  });

  test("optimizeThreading applies a thread count from the cores and the model's size", async () => {
    using model = await rt.loadModel(addRelu());
    expect(rt.optimizeThreading(model)).toBe(1); // 24 bytes of weights
    expect(model.config.threads).toBe(1);
    expect(model.setThreads(1000)).toBe(cores); // clamped to the pool
    expect(() => model.setThreads(0)).toThrow(rt.InvalidArgumentError);
    expect(model.runSync<rt.Tensor>({ x: rt.tensor([[1, 2, 3, 4]]) }).y!.toArray()).toEqual([[4, 8, 12, 16]]);
  });

  test("detectBestDevice: the CPU for what a GPU does not suit, and typed errors", async () => {
    expect(rt.detectBestDevice("compatibility", "image-classification")).toBe("cpu");
    expect(rt.detectBestDevice("performance", "tabular/classical-ml")).toBe("cpu");
    const gpu = rt.devices().find((d) => d.platform === "vulkan" && d.kind !== "software");
    expect(rt.detectBestDevice("performance", "image-classification")).toBe(gpu ? `${gpu.id},cpu` : "cpu");
    using model = await rt.loadModel(addRelu());
    expect(rt.detectBestDevice("efficiency", model)).toBe("cpu");
    expect(() => rt.detectBestDevice("fastest" as never)).toThrow(rt.InvalidArgumentError);
    expect(() => rt.detectBestDevice("performance", "teapot" as never)).toThrow(rt.InvalidArgumentError);
  });

  test("getDeviceMemory: the OS's figures for the CPU, heaps for Vulkan, and an unknown id is refused", () => {
    const cpu = rt.getDeviceMemory("cpu");
    expect(cpu.source).toBe("os");
    expect(cpu.totalBytes).toBeGreaterThan(0);
    expect(cpu.usedBytes + cpu.freeBytes).toBe(cpu.totalBytes);
    expect(cpu.processBytes).toBeGreaterThan(0);
    expect(cpu.processBytes).toBeLessThan(cpu.totalBytes);
    expect(rt.getDeviceMemory("cpu:0").totalBytes).toBe(cpu.totalBytes);
    for (const device of rt.devices().filter((d) => d.platform === "vulkan")) {
      const memory = rt.getDeviceMemory(device.id);
      expect(memory.totalBytes).toBe(device.gpu!.memoryBytes);
      expect(memory.freeBytes).toBeLessThanOrEqual(memory.totalBytes);
      expect(["memory-budget", "heaps"]).toContain(memory.source);
    }
    expect(() => rt.getDeviceMemory("vulkan:99")).toThrow(rt.InvalidArgumentError);
    expect(() => rt.getDeviceMemory("gpu")).toThrow(rt.InvalidArgumentError);
  });
});
