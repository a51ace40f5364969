/**
 * Statistics on known samples, and the profilers on small generated models run by the engine:
 * per-layer statistics from real profile events, JSON dumps, Chrome traces of real runs, batch
 * profiles, wall-clock benchmarks with memory, batch-size search, and random inputs.
 */
import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import * as rt from "../src/index.ts";
import { buildModel, GraphBuilder } from "../src/onnx/builder.ts";
import { scratchDir } from "./support/paths.ts";

/** y = relu(x·w1 + b) · w2 over x [N, 256]: matrix products large enough for the kernel pool. */
function mlp(batch: number | string = "N"): Uint8Array {
  const g = new GraphBuilder("mlp");
  g.input("x", "float32", [batch, 256]);
  const weights = (n: number, scale: number) => Float32Array.from({ length: n }, (_, i) => Math.sin(i) * scale);
  g.initializer("w1", "float32", [256, 256], weights(256 * 256, 0.05));
  g.initializer("b", "float32", [256], weights(256, 0.1));
  g.initializer("w2", "float32", [256, 32], weights(256 * 32, 0.05));
  const h = g.node("MatMul", ["x", "w1"], { name: "fc1" });
  const biased = g.node("Add", [h, "b"], { name: "bias" });
  const relu = g.node("Relu", [biased], { name: "relu" });
  g.node("MatMul", [relu, "w2"], { name: "fc2", outputs: ["y"] });
  g.output("y", "float32", [batch, 32]);
  return buildModel(g);
}

/** Token ids (int64) looked up in a 4-row table, then a product: random ids must stay in range. */
function embedding(): Uint8Array {
  const g = new GraphBuilder("embedding");
  g.input("ids", "int64", ["N"]);
  // Ten rows: random int64 inputs are ids in 0..9 (random.ts).
  g.initializer("table", "float32", [10, 16], Float32Array.from({ length: 160 }, (_, i) => i / 160));
  g.initializer("w", "float32", [16, 8], new Float32Array(128).fill(0.5));
  const rows = g.node("Gather", ["table", "ids"], { name: "lookup" });
  g.node("MatMul", [rows, "w"], { name: "project", outputs: ["y"] });
  g.output("y", "float32", ["N", 8]);
  return buildModel(g);
}

function input(batch: number): rt.Tensor {
  return rt.tensor(Float32Array.from({ length: batch * 256 }, (_, i) => Math.cos(i)), { shape: [batch, 256] });
}

describe("statistics", () => {
  test("known samples: percentiles by linear interpolation, sample standard deviation", () => {
    const s = rt.statistics([10, 1, 9, 2, 8, 3, 7, 4, 6, 5]);
    expect(s.count).toBe(10);
    expect(s.total).toBe(55);
    expect(s.min).toBe(1);
    expect(s.max).toBe(10);
    expect(s.mean).toBe(5.5);
    expect(s.median).toBe(5.5);
    expect(s.p90).toBeCloseTo(9.1, 12); // rank 0.9 × 9 = 8.1: between 9 and 10
    expect(s.p99).toBeCloseTo(9.91, 12);
    expect(s.stddev).toBeCloseTo(Math.sqrt(82.5 / 9), 12);
    expect(rt.statistics([3, 1, 2]).median).toBe(2);
    expect(rt.statistics([7])).toEqual({ count: 1, total: 7, min: 7, max: 7, mean: 7, median: 7, p90: 7, p99: 7, stddev: 0 });
    expect(rt.percentile([0, 10], 25)).toBe(2.5);
    expect(rt.percentile([4, 0, 10], 0)).toBe(0);
    expect(rt.percentile([4, 0, 10], 100)).toBe(10);
  });

  test("in milliseconds, with the unit in the names", () => {
    const ms = rt.statisticsMs([1_000_000, 3_000_000], 1e-6);
    const expected = { count: 2, totalMs: 4, minMs: 1, maxMs: 3, meanMs: 2, medianMs: 2, p90Ms: 2.8, p99Ms: 2.98, stddevMs: Math.SQRT2 };
    expect(Object.keys(ms).sort()).toEqual(Object.keys(expected).sort());
    for (const [key, value] of Object.entries(expected)) expect(ms[key as keyof typeof ms]).toBeCloseTo(value, 12);
  });

  test("no samples, non-finite samples and percentiles outside 0..100 are InvalidArgumentError", () => {
    expect(() => rt.statistics([])).toThrow(rt.InvalidArgumentError);
    expect(() => rt.statistics([1, Number.NaN])).toThrow(rt.InvalidArgumentError);
    expect(() => rt.statistics([1, Infinity])).toThrow(rt.InvalidArgumentError);
    expect(() => rt.percentile([1, 2], 101)).toThrow(rt.InvalidArgumentError);
    expect(() => rt.percentile([], 50)).toThrow(rt.InvalidArgumentError);
  });
});

describe("BasicProfiler", () => {
  test("one entry per executed op, layer means within the model's, sorted by total time", () => {
    using model = rt.loadModelSync(mlp(), { threads: 2 });
    using x = input(8);
    const profiler = new rt.BasicProfiler(model, { repeat: 6, warmup: 2 });
    expect(() => profiler.statistics()).toThrow(rt.InvalidStateError);
    const result = profiler.run({ x });
    expect(result.runs).toBe(6);
    const stats = profiler.statistics();
    expect(stats.runs).toBe(6);
    expect(stats.dropped).toBe(0);
    expect(stats.model.count).toBe(6);
    expect(stats.layers.map((l) => l.opIndex).sort()).toEqual(model.operations.map((_, i) => i));
    for (const layer of stats.layers) {
      expect(layer.count).toBe(6);
      expect(layer.name).toBe(model.operations[layer.opIndex]!.name);
      expect(layer.opType).toBe(model.operations[layer.opIndex]!.opType);
      expect(layer.minMs).toBeGreaterThan(0);
      expect(layer.minMs).toBeLessThanOrEqual(layer.medianMs);
      expect(layer.medianMs).toBeLessThanOrEqual(layer.maxMs);
    }
    const totals = stats.layers.map((l) => l.totalMs);
    expect(totals).toEqual([...totals].sort((a, b) => b - a));
    const layerMeans = stats.layers.reduce((sum, l) => sum + l.meanMs, 0);
    expect(layerMeans).toBeLessThanOrEqual(stats.model.meanMs * 1.01 + 0.001);
    // The biggest product dominates this model (by median: a preempted run cannot swing it).
    const slowest = stats.layers.reduce((a, b) => (b.medianMs > a.medianMs ? b : a));
    expect(slowest.name).toBe("fc1");
  });

  test("dumpJson round-trips; the Chrome trace of a real run is well formed", () => {
    using model = rt.loadModelSync(mlp(), { threads: 2 });
    using x = input(16);
    const profiler = new rt.BasicProfiler(model, { repeat: 3, inputs: { x } });
    profiler.run();
    const dir = scratchDir("tessera-profile-");
    profiler.dumpJson(join(dir, "profile.json"));
    const dumped = JSON.parse(readFileSync(join(dir, "profile.json"), "utf8"));
    expect(dumped.statistics).toEqual(profiler.statistics());
    expect(dumped.durations).toEqual(profiler.result.durations);
    expect(dumped.runs).toBe(3);

    const trace = profiler.dumpChromeTrace(join(dir, "trace.json"));
    expect(JSON.parse(readFileSync(join(dir, "trace.json"), "utf8"))).toEqual(trace);
    expect(rt.chromeTraceProblems(trace)).toEqual([]);
    const begins = trace.traceEvents.filter((e) => e.ph === "B");
    expect(begins.filter((e) => e.cat === "model-execute")).toHaveLength(3);
    for (const op of model.operations) {
      expect(begins.filter((e) => e.cat === "layer-execute" && e.name === op.name)).toHaveLength(3);
    }
    // Every span of the events is in the trace: nothing was dropped from a complete profile.
    const spans = profiler.result.events.filter((e) => e.phase === "begin").length;
    expect(begins).toHaveLength(spans);
    const threads = trace.traceEvents.filter((e) => e.name === "thread_name").map((e) => e.args!.name as string);
    expect(threads.filter((name) => name.startsWith("request thread"))).toHaveLength(1);
  });

  test("random inputs when none are given, including int64 indices", () => {
    using model = rt.loadModelSync(embedding());
    const profiler = new rt.BasicProfiler(model, { repeat: 2 });
    profiler.run();
    const stats = profiler.statistics();
    expect(stats.layers.map((l) => l.name).sort()).toEqual(["lookup", "project"]);
    expect(rt.chromeTraceProblems(profiler.toChromeTrace())).toEqual([]);
  });
  test("a ring too small for the profile: the trace keeps only whole spans; no whole run is InvalidStateError", () => {
    using model = rt.loadModelSync(mlp(), { threads: 2 });
    using x = input(8);
    // A run records over a dozen events here, so 40 hold the last two or three runs at most.
    const profiler = new rt.BasicProfiler(model, { repeat: 6, eventBufferSize: 40, inputs: { x } });
    const result = profiler.run();
    expect(result.dropped).toBeGreaterThan(0);
    expect(result.events).toHaveLength(40);
    const trace = profiler.toChromeTrace();
    expect(rt.chromeTraceProblems(trace)).toEqual([]);
    const begins = trace.traceEvents.filter((e) => e.ph === "B");
    // At most one begin per two events; fewer when the ring cut a span in two.
    expect(begins.length).toBeLessThanOrEqual(20);
    expect(begins.filter((e) => e.cat === "model-execute").length).toBe(profiler.statistics().model.count);
    expect(profiler.statistics().model.count).toBeLessThan(6);

    const tiny = new rt.BasicProfiler(model, { repeat: 2, eventBufferSize: 4, inputs: { x } });
    tiny.run();
    expect(() => tiny.statistics()).toThrow(rt.InvalidStateError);
    expect(rt.chromeTraceProblems(tiny.toChromeTrace())).toEqual([]);
  });
});

describe("BatchProfiler", () => {
  test("statistics per batch and in total", () => {
    using model = rt.loadModelSync(mlp(), { threads: 2 });
    const xs = [1, 4, 8].map(input);
    try {
      const profiler = new rt.BatchProfiler(model, { repeat: 3, warmup: 1 });
      const results = profiler.run(xs.map((x) => ({ x })));
      expect(results.map((r) => r.runs)).toEqual([3, 3, 3]);
      const { batches, total } = profiler.statistics();
      expect(batches).toHaveLength(3);
      for (const batch of batches) {
        expect(batch.model.count).toBe(3);
        expect(batch.layers).toHaveLength(model.operations.length);
        for (const layer of batch.layers) expect(layer.count).toBe(3);
      }
      expect(total.runs).toBe(9);
      expect(total.model.count).toBe(9);
      for (const layer of total.layers) expect(layer.count).toBe(9);
      expect(total.model.minMs).toBe(Math.min(...batches.map((b) => b.model.minMs)));
      expect(rt.chromeTraceProblems(profiler.toChromeTrace())).toEqual([]);
      expect(() => profiler.run([])).toThrow(rt.InvalidArgumentError);
    } finally {
      for (const x of xs) x.dispose();
    }
  });
});

describe("PerformanceProfiler", () => {
  test("latency percentiles, throughput with the batch size, and memory", () => {
    using model = rt.loadModelSync(mlp(), { threads: 2 });
    using x = input(4);
    const result = new rt.PerformanceProfiler(model).benchmark({ iterations: 20, warmup: 3, inputs: { x } });
    const { latency, memory } = result;
    expect(latency.count).toBe(20);
    expect(latency.minMs).toBeGreaterThan(0);
    expect(latency.minMs).toBeLessThanOrEqual(latency.medianMs);
    expect(latency.medianMs).toBeLessThanOrEqual(latency.p90Ms);
    expect(latency.p90Ms).toBeLessThanOrEqual(latency.p99Ms);
    expect(latency.p99Ms).toBeLessThanOrEqual(latency.maxMs);
    expect(result.runsPerSecond).toBeCloseTo(1000 / latency.meanMs, 6);
    expect(result.batchSize).toBe(4);
    expect(result.itemsPerSecond).toBeCloseTo(4 * result.runsPerSecond, 6);
    expect(memory.rssBeforeMiB).toBeGreaterThan(1);
    expect(memory.rssPeakMiB).toBeGreaterThanOrEqual(Math.max(memory.rssBeforeMiB, memory.rssAfterMiB));
    expect(memory.runtimeLiveAfterMiB).toBeGreaterThan(0); // the model's weights at least
    expect(memory.runtimePeakMiB).toBeGreaterThanOrEqual(memory.runtimeLiveAfterMiB);
  });

  test("a static model has no known batch size; random inputs; bad counts are InvalidArgumentError", () => {
    using model = rt.loadModelSync(mlp(2));
    const profiler = new rt.PerformanceProfiler(model);
    const result = profiler.benchmark({ iterations: 5, warmup: 0 });
    expect(result.latency.count).toBe(5);
    expect(result.batchSize).toBeNull();
    expect(result.itemsPerSecond).toBeNull();
    const declared = profiler.benchmark({ iterations: 2, warmup: 0, batchSize: 2 });
    expect(declared.batchSize).toBe(2);
    expect(declared.itemsPerSecond).toBeCloseTo(2 * declared.runsPerSecond, 6);
    expect(() => profiler.benchmark({ iterations: 0 })).toThrow(rt.InvalidArgumentError);
    expect(() => profiler.benchmark({ warmup: -1 })).toThrow(rt.InvalidArgumentError);
    expect(() => profiler.benchmark({ iterations: 1.5 })).toThrow(rt.InvalidArgumentError);
  });
});

describe("optimizeBatchSize", () => {
  test("tries 1, 2, 4, ... up to the maximum and picks the best throughput per item", () => {
    using model = rt.loadModelSync(mlp(), { threads: 2 });
    using x = input(1);
    const { best, results } = rt.optimizeBatchSize(model, { x }, 8, { iterations: 3, warmup: 1 });
    expect(results.map((r) => r.batchSize)).toEqual([1, 2, 4, 8]);
    for (const r of results) {
      expect(r.latencyMs).toBeGreaterThan(0);
      expect(r.itemsPerSecond).toBeCloseTo((r.batchSize * 1000) / r.latencyMs, 6);
    }
    expect(best).toBe(results.reduce((a, b) => (b.itemsPerSecond > a.itemsPerSecond ? b : a)).batchSize);
    expect(rt.optimizeBatchSize(model, [x], 6, { iterations: 1, warmup: 0 }).results.map((r) => r.batchSize)).toEqual([1, 2, 4, 6]);
  });

  test("a static model is ShapeError; bad arguments are InvalidArgumentError", () => {
    using fixed = rt.loadModelSync(mlp(1));
    using x = input(1);
    expect(() => rt.optimizeBatchSize(fixed, { x }, 4)).toThrow(rt.ShapeError);
    using model = rt.loadModelSync(mlp());
    expect(() => rt.optimizeBatchSize(model, { x }, 0)).toThrow(rt.InvalidArgumentError);
    expect(() => rt.optimizeBatchSize(model, { x: new Float32Array(256) }, 2)).toThrow(rt.InvalidArgumentError);
  });

  test("batches repeat the given items along dim 0, and the model sees them as such", () => {
    using pair = rt.tensor([[1, 2], [3, 4]]);
    using five = rt.repeatAlongFirstDim(pair, 5);
    expect(five.toArray()).toEqual([[1, 2], [3, 4], [1, 2], [3, 4], [1, 2]]);
    using one = rt.repeatAlongFirstDim(pair, 1);
    expect(one.toArray()).toEqual([[1, 2]]);
    using words = rt.repeatAlongFirstDim(rt.tensor(["a", "b"]), 3);
    expect(words.toArray()).toEqual(["a", "b", "a"]);
    using ids = rt.repeatAlongFirstDim(rt.tensor([7n], { dtype: "int64" }), 2);
    expect(ids.toArray()).toEqual([7n, 7n]);
    expect(() => rt.repeatAlongFirstDim(rt.tensor(1), 2)).toThrow(rt.ShapeError);

    using model = rt.loadModelSync(mlp());
    using x = input(1);
    using batch = rt.repeatAlongFirstDim(x, 3);
    const single = Array.from(model.runSync<rt.Tensor>({ x }).y!.toTypedArray() as Float32Array);
    const rows = model.runSync<rt.Tensor>({ x: batch }).y!.toArray() as number[][];
    for (const row of rows) expect(row.map((v, i) => Math.abs(v - single[i]!)).every((d) => d < 1e-5)).toBe(true);
  });
});

describe("random inputs", () => {
  test("shapes from TensorInfo with dynamic dims at 1 (or as given), seeded", () => {
    using model = rt.loadModelSync(embedding());
    const a = rt.randomInputs(model);
    const b = rt.randomInputs(model);
    const c = rt.randomInputs(model, { dims: { N: 5 }, seed: 9 });
    try {
      expect(a.ids!.shape).toEqual([1]);
      expect(a.ids!.dtype).toBe("int64");
      expect(a.ids!.toArray()).toEqual(b.ids!.toArray());
      expect(c.ids!.shape).toEqual([5]);
      for (const id of c.ids!.toArray() as bigint[]) expect(id >= 0n && id < 10n).toBe(true);
    } finally {
      for (const t of [...Object.values(a), ...Object.values(b), ...Object.values(c)]) t.dispose();
    }
    using floats = rt.randomTensor({ ...model.getTensor("ids"), name: "f", dtype: "float16", shape: [3, "S"] }, { dims: { S: 2 } });
    expect(floats.shape).toEqual([3, 2]);
    for (const v of (floats.toArray() as number[][]).flat()) expect(v >= 0 && v <= 1).toBe(true);
  });
});
