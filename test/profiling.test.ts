/**
 * Profiling from inside the engine: the events a run records (load, request, transfers, every
 * node, thread-pool dispatches on each thread, subgraphs, copies, queueing), that they pair up,
 * that the durations derived from them add up, and request.profile's schedule.
 */
import { describe, expect, test } from "bun:test";
import { buildModel, GraphBuilder } from "../src/onnx/builder.ts";
import * as rt from "../src/index.ts";
import type { EventKind, ProfileEvent } from "../src/profile/events.ts";

const size = 192;

/**
 * y = If(flag, relu(x·w) + 1, relu(x·w) - 1): a MatMul big enough for the thread pool, and a
 * subgraph. `h` and `r` are intermediates.
 */
function profiledModel(): Uint8Array {
  const branch = (name: string, op: string) => {
    const b = new GraphBuilder(name);
    b.node(op, ["r", "one"], { outputs: [`${name}_y`] });
    b.output(`${name}_y`, "float32", [size, size]);
    return b;
  };
  const g = new GraphBuilder("profiled");
  g.input("x", "float32", [size, size]);
  g.input("flag", "bool", []);
  g.initializer("w", "float32", [size, size], new Float32Array(size * size).map((_, i) => ((i * 7919) % 13) / 13 - 0.5));
  g.initializer("one", "float32", [], new Float32Array([1]));
  g.node("MatMul", ["x", "w"], { name: "matmul", outputs: ["h"] });
  g.node("Relu", ["h"], { name: "relu", outputs: ["r"] });
  g.node("If", ["flag"], { name: "branch", outputs: ["y"], attrs: { then_branch: branch("then", "Add"), else_branch: branch("else", "Sub") } });
  g.output("y", "float32", [size, size]);
  return buildModel(g, { opsets: { "": 17 } });
}

const inputs = () => ({
  x: rt.tensor(new Float32Array(size * size).map((_, i) => (i % 17) / 17), { shape: [size, size] }),
  flag: rt.tensor(true),
});

function count(events: readonly ProfileEvent[], kind: EventKind, phase?: "begin" | "end"): number {
  return events.filter((e) => e.kind === kind && (phase === undefined || e.phase === phase)).length;
}

/** Every begin has its end: per kind, as many of each, and all of them pair. */
function expectPaired(events: readonly ProfileEvent[]): void {
  const kinds = new Set(events.map((e) => e.kind));
  for (const kind of kinds) expect({ kind, begins: count(events, kind, "begin") }).toEqual({ kind, begins: count(events, kind, "end") });
  expect(rt.spansOf(events).length * 2).toBe(events.length);
}

describe("profile events", () => {
  test("a run records every stage, with nodes, threads and tensors", () => {
    using model = rt.loadModelSync(profiledModel(), { profiling: true, threads: 2, memoryOptimization: false });
    using request = model.createRequest();
    const initial = request.getProfileEvents();
    expect(count(initial, "model-init")).toBe(2);
    expect(count(initial, "subgraph-init")).toBe(4); // two branches, begin and end each
    expect(count(initial, "request-init")).toBe(2);

    request.runSync(inputs());
    const events = request.getProfileEvents();
    expectPaired(events);
    expect(count(events, "model-execute")).toBe(2);
    expect(count(events, "transfer-from-input")).toBe(4);
    const ops = model.operations.map((o) => o.opType);
    const layers = events.filter((e) => e.kind === "layer-execute" && e.phase === "begin");
    expect(layers.filter((e) => e.depth === 0).map((e) => ops[e.opIndex])).toEqual(["MatMul", "Relu", "If"]);
    expect(layers.filter((e) => e.depth === 1)).toHaveLength(1); // the then branch's Add
    const ifIndex = ops.indexOf("If");
    expect(events.filter((e) => e.kind === "subgraph-execute").every((e) => e.opIndex === ifIndex && e.depth === 0)).toBe(true);
    expect(count(events, "subgraph-execute")).toBe(2);

    // The MatMul went through the pool: a launch on the calling thread, device-execute spans
    // on the threads that ran its chunks, all named by the MatMul's index.
    const matmul = ops.indexOf("MatMul");
    const launches = events.filter((e) => e.kind === "launch");
    expect(launches.length).toBeGreaterThan(0);
    const devices = events.filter((e) => e.kind === "device-execute" && e.opIndex === matmul && e.depth === 0);
    expect(devices.length).toBeGreaterThan(0);
    expect(devices.every((e) => e.srcDevice === 0 && e.dstDevice === 0)).toBe(true);
    const callerThread = events.find((e) => e.kind === "model-execute")!.threadId;
    expect(launches.every((e) => e.threadId === callerThread)).toBe(true);

    // Spans nest in time: each node inside the model execute, each dispatch inside its node.
    const spans = rt.spansOf(events);
    const run = spans.find((s) => s.kind === "model-execute")!;
    for (const s of spans.filter((s) => s.kind === "layer-execute")) {
      expect(s.startNs).toBeGreaterThanOrEqual(run.startNs);
      expect(s.endNs).toBeLessThanOrEqual(run.endNs);
    }
    const matmulSpan = spans.find((s) => s.kind === "layer-execute" && s.opIndex === matmul && s.depth === 0)!;
    for (const s of spans.filter((s) => s.kind === "device-execute" && s.opIndex === matmul && s.depth === 0)) {
      expect(s.startNs).toBeGreaterThanOrEqual(matmulSpan.startNs);
      expect(s.endNs).toBeLessThanOrEqual(matmulSpan.endNs);
    }

    // Reading an output and an intermediate copies them: transfer-to-output and copy, named by
    // the tensor moved.
    request.clearProfileEvents();
    request.getTensor("y").dispose();
    request.getTensor("h").dispose();
    const reads = request.getProfileEvents();
    expectPaired(reads);
    expect(count(reads, "transfer-to-output")).toBe(2);
    expect(count(reads, "copy")).toBe(2);
    expect(reads.find((e) => e.kind === "copy")!.tensorId).not.toBe(reads.find((e) => e.kind === "transfer-to-output")!.tensorId);
  });

  test("durations: one model time per run, layer times that fit inside it", () => {
    using model = rt.loadModelSync(profiledModel(), { profiling: true, threads: 2 });
    using request = model.createRequest();
    request.clearProfileEvents();
    for (let i = 0; i < 3; i++) request.runSync(inputs());
    const durations = request.getProfileDurations();
    expect(durations.model).toHaveLength(3);
    expect(durations.layers.map((l) => l.opType)).toEqual(["MatMul", "Relu", "If"]);
    for (const layer of durations.layers) expect(layer.ns).toHaveLength(3);
    const layerTotal = durations.layers.reduce((sum, l) => sum + l.ns.reduce((a, b) => a + b, 0), 0);
    const modelTotal = durations.model.reduce((a, b) => a + b, 0);
    expect(layerTotal).toBeGreaterThan(0);
    expect(layerTotal).toBeLessThanOrEqual(modelTotal);
    // The nodes are nearly all of a run: what is between them is bookkeeping.
    expect(layerTotal / modelTotal).toBeGreaterThan(0.5);
    expect(durations.copies.filter((c) => c.kind === "transfer-from-input")).toHaveLength(6);
  });

  test("a full ring keeps the newest events", async () => {
    using model = rt.loadModelSync(profiledModel(), { profiling: true, profileBufferSize: 16 });
    using request = model.createRequest();
    request.runSync(inputs());
    const events = request.getProfileEvents();
    expect(events).toHaveLength(16);
    // The newest: the run's end, then runSync reading the output.
    expect(events.slice(-3).map((e) => `${e.kind} ${e.phase}`)).toEqual(["model-execute end", "transfer-to-output begin", "transfer-to-output end"]);
    const times = events.map((e) => e.timestampNs);
    expect(times).toEqual([...times].sort((a, b) => a - b));
    expect(request.profile(inputs(), undefined, { repeat: 3, eventBufferSize: 16 }).dropped).toBeGreaterThan(0);
  });

  test("an async run records its time in the queue, on the thread that ran it", async () => {
    using model = rt.loadModelSync(profiledModel(), { profiling: true });
    using request = model.createRequest();
    request.clearProfileEvents();
    await request.run(inputs());
    const events = request.getProfileEvents();
    expectPaired(events);
    const [queue] = rt.spansOf(events).filter((s) => s.kind === "queue");
    const run = rt.spansOf(events).find((s) => s.kind === "model-execute")!;
    expect(queue!.threadId).toBe(run.threadId);
    expect(queue!.endNs).toBeLessThanOrEqual(run.startNs);
  });

  test("profiling is off unless asked for, and options are checked", () => {
    using model = rt.loadModelSync(profiledModel());
    using request = model.createRequest();
    request.runSync(inputs());
    expect(() => request.getProfileEvents()).toThrow(rt.InvalidStateError);
    expect(() => request.enableProfiling(0)).toThrow(rt.InvalidArgumentError);
    expect(() => rt.loadModelSync(profiledModel(), { profileBufferSize: 0 })).toThrow(rt.InvalidArgumentError);
    request.enableProfiling(1024);
    request.runSync(inputs());
    expect(count(request.getProfileEvents(), "model-execute")).toBe(2);
    request.disableProfiling();
    expect(() => request.getProfileEvents()).toThrow(rt.InvalidStateError);
    expect(model.getOption("profiling")).toBe("false");
  });
});

test("OptimaV2's names for the same spans", () => {
  using model = rt.loadModelSync(profiledModel(), { profiling: true, memoryOptimization: false });
  using request = model.createRequest();
  request.runSync(inputs());
  request.getTensor("h").dispose();
  const named = new Set(request.getProfileEvents().map((e) => rt.optimaV2Kind(e.kind)));
  for (const name of ["ModelInit", "SubgraphInit", "RequestInit", "TransferFromInput", "TransferToOutput", "LayerExecute", "BufferCopy", "ModelExecute", "SubgraphExecute"] as const) {
    expect(named.has(name)).toBe(true);
  }
  expect(rt.optimaV2Kind("wait")).toBe("Wait");
  expect(rt.optimaV2Kind("launch")).toBeNull();
  expect(rt.EVENT_KINDS).toHaveLength(13);
});

describe("request.profile", () => {
  test("warm-up runs are not counted; the timed runs' events come back", () => {
    using model = rt.loadModelSync(profiledModel(), { threads: 2 });
    using request = model.createRequest();
    const result = request.profile(inputs(), undefined, { warmup: 2, repeat: 4 });
    expect(result.runs).toBe(4);
    expect(result.dropped).toBe(0);
    expect(result.durations.model).toHaveLength(4);
    expect(count(result.events, "model-execute", "begin")).toBe(4);
    expectPaired(result.events);
    expect(request.getProfileDurations().model).toHaveLength(4);
    // The request still gives its outputs.
    expect(request.getOutputs<rt.Tensor>().y!.shape).toEqual([size, size]);
  });

  test("a stop threshold ends the timed runs early, at a check period", () => {
    using model = rt.loadModelSync(profiledModel());
    using request = model.createRequest();
    const result = request.profile(inputs(), undefined, { repeat: 1000, stopThresholdUs: 1, checkPeriod: 3 });
    expect(result.runs).toBe(3);
    expect(result.durations.model).toHaveLength(3);
    const timed = request.profile(inputs(), undefined, { repeat: 5, warmupTimeUs: 2000 });
    expect(timed.runs).toBe(5);
  });

  test("outputs passed in are filled, and bad options are refused before anything runs", () => {
    using model = rt.loadModelSync(profiledModel());
    using request = model.createRequest();
    const y = new Float32Array(size * size);
    request.profile(inputs(), { y }, { repeat: 2 });
    expect(y[0]).not.toBe(0);
    expect(() => request.profile(inputs(), undefined, { repeat: 0 })).toThrow(rt.InvalidArgumentError);
    expect(() => request.profile(inputs(), undefined, { checkPeriod: 1.5 })).toThrow(rt.InvalidArgumentError);
    expect(() => request.profile({ x: inputs().x }, undefined, { repeat: 1 })).toThrow(rt.InvalidArgumentError);
  });

  test("a failed run inside profile throws its typed error and leaves the request usable", () => {
    using model = rt.loadModelSync(profiledModel());
    using request = model.createRequest();
    request.setDeadline(1);
    expect(() => request.profile(inputs(), undefined, { repeat: 3 })).toThrow(rt.TimeoutError);
    request.setDeadline(0);
    expect(request.profile(inputs(), undefined, { repeat: 2 }).runs).toBe(2);
  });
});
