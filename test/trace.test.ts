/**
 * Chrome traces from synthetic profile events: nested spans on several threads, ties, events
 * out of order, and a ring buffer that overwrote its oldest events. Every trace must pass the
 * structure a viewer needs (each B closed by its E on the same thread, nested, time never going
 * back per thread) and survive a JSON round trip; the checker itself must catch broken traces.
 */
import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { EventKind, ProfileEvent } from "../src/profile/events.ts";
import { type ChromeTrace, chromeTraceProblems, toChromeTrace, writeChromeTrace } from "../src/profile/trace.ts";
import { scratchDir } from "./support/paths.ts";

function event(kind: EventKind, phase: "begin" | "end", timestampNs: number, threadId: number, extra: Partial<ProfileEvent> = {}): ProfileEvent {
  return { kind, phase, timestampNs, threadId, opIndex: -1, tensorId: -1, srcDevice: -1, dstDevice: -1, depth: 0, ...extra };
}

/** begin and end of one span. */
function span(kind: EventKind, start: number, end: number, threadId: number, extra: Partial<ProfileEvent> = {}): ProfileEvent[] {
  return [event(kind, "begin", start, threadId, extra), event(kind, "end", end, threadId, extra)];
}

const operations = [
  { name: "conv1", opType: "Conv" },
  { name: "", opType: "Relu" },
  { name: "fc", opType: "Gemm" },
];

/** One run on thread 7: model-execute around three layers, the first dispatching to pool workers 8 and 9. */
function oneRun(offset: number): ProfileEvent[] {
  const t = (ns: number) => offset + ns;
  return [
    event("model-execute", "begin", t(0), 7),
    ...span("transfer-from-input", t(100), t(200), 7, { tensorId: 0, srcDevice: 0, dstDevice: 0 }),
    event("layer-execute", "begin", t(1_000), 7, { opIndex: 0 }),
    event("launch", "begin", t(1_100), 7),
    ...span("device-execute", t(1_200), t(5_000), 8),
    ...span("device-execute", t(1_250), t(5_100), 9),
    event("launch", "end", t(5_200), 7),
    event("layer-execute", "end", t(5_300), 7, { opIndex: 0 }),
    ...span("layer-execute", t(5_300), t(6_000), 7, { opIndex: 1 }),
    ...span("layer-execute", t(6_000), t(9_000), 7, { opIndex: 2 }),
    event("model-execute", "end", t(10_000), 7),
  ];
}

function spansOn(trace: ChromeTrace, tid: number): string[] {
  return trace.traceEvents.filter((e) => e.ph !== "M" && e.tid === tid).map((e) => `${e.ph} ${e.name}`);
}

describe("chrome traces", () => {
  test("nested spans on several threads: names, categories, args and thread names", () => {
    const trace = toChromeTrace(oneRun(2_000_000), operations);
    expect(chromeTraceProblems(trace)).toEqual([]);
    expect(trace.displayTimeUnit).toBe("ns");
    expect(spansOn(trace, 7)).toEqual([
      "B model-execute", "B transfer-from-input", "E transfer-from-input",
      "B conv1", "B launch", "E launch", "E conv1",
      "B Relu", "E Relu", "B fc", "E fc", "E model-execute",
    ]);
    expect(spansOn(trace, 8)).toEqual(["B device-execute", "E device-execute"]);
    const conv = trace.traceEvents.find((e) => e.ph === "B" && e.name === "conv1")!;
    expect(conv).toMatchObject({ cat: "layer-execute", ts: 2_001, pid: 1, tid: 7, args: { opIndex: 0, opType: "Conv" } });
    const transfer = trace.traceEvents.find((e) => e.ph === "B" && e.cat === "transfer-from-input")!;
    expect(transfer.args).toEqual({ tensorId: 0, srcDevice: 0, dstDevice: 0 });
    // Microseconds keep the nanoseconds as fractions.
    expect(trace.traceEvents.find((e) => e.ph === "B" && e.tid === 9)!.ts).toBe(2_001.25);
    const names = Object.fromEntries(trace.traceEvents.filter((e) => e.name === "thread_name").map((e) => [e.tid, e.args!.name]));
    expect(names).toEqual({ 7: "request thread 7", 8: "pool worker 8", 9: "pool worker 9" });
    expect(trace.traceEvents.find((e) => e.name === "process_name")!.args).toEqual({ name: "tessera" });
  });

  test("events out of order across threads are sorted per thread; ties keep the recorded order", () => {
    const events = [...oneRun(0), ...oneRun(20_000)];
    const shuffled = [...events.filter((e) => e.threadId !== 7).reverse(), ...events.filter((e) => e.threadId === 7)];
    const trace = toChromeTrace(shuffled, operations);
    expect(chromeTraceProblems(trace)).toEqual([]);
    expect(spansOn(trace, 8)).toEqual(["B device-execute", "E device-execute", "B device-execute", "E device-execute"]);
    // conv1 ends at 5300 where Relu begins: the end stays first, so the two do not overlap.
    const thread7 = spansOn(trace, 7);
    expect(thread7.slice(6, 8)).toEqual(["E conv1", "B Relu"]);
    expect(thread7).toHaveLength(24);
  });

  test("a zero-length span stays inside its parent", () => {
    const events = [
      event("layer-execute", "begin", 100, 1, { opIndex: 0 }),
      event("copy", "begin", 100, 1, { tensorId: 3 }),
      event("copy", "end", 100, 1, { tensorId: 3 }),
      event("layer-execute", "end", 100, 1, { opIndex: 0 }),
    ];
    const trace = toChromeTrace(events, operations);
    expect(chromeTraceProblems(trace)).toEqual([]);
    expect(spansOn(trace, 1)).toEqual(["B conv1", "B copy", "E copy", "E conv1"]);
  });

  test("an overwritten ring: ends without begins and begins without ends are dropped", () => {
    const full = [...oneRun(0), ...oneRun(20_000)];
    // The ring kept only the newest events: the first run lost its start, up to inside conv1.
    const cut = full.findIndex((e) => e.kind === "device-execute" && e.phase === "end");
    const kept = full.slice(cut);
    // And a run was still going when the events were read: begins with no ends.
    kept.push(event("model-execute", "begin", 40_000, 7), event("layer-execute", "begin", 41_000, 7, { opIndex: 0 }));
    const trace = toChromeTrace(kept, operations);
    expect(chromeTraceProblems(trace)).toEqual([]);
    // Thread 7's first run lost model-execute's and conv1's begins; Relu and fc remain whole.
    expect(spansOn(trace, 7).slice(0, 4)).toEqual(["B Relu", "E Relu", "B fc", "E fc"]);
    expect(spansOn(trace, 7).slice(4)).toEqual(spansOn(toChromeTrace(oneRun(20_000), operations), 7));
    // Worker 8 lost the first device-execute's begin, worker 9 kept its whole span.
    expect(spansOn(trace, 8)).toEqual(["B device-execute", "E device-execute"]);
    expect(spansOn(trace, 9)).toEqual(["B device-execute", "E device-execute", "B device-execute", "E device-execute"]);
  });

  test("a begin whose end comes after its parent's end is dropped, the parent kept", () => {
    const events = [
      event("model-execute", "begin", 0, 1),
      event("layer-execute", "begin", 10, 1, { opIndex: 2 }),
      event("model-execute", "end", 20, 1),
      event("layer-execute", "end", 30, 1, { opIndex: 2 }),
    ];
    const trace = toChromeTrace(events, operations);
    expect(chromeTraceProblems(trace)).toEqual([]);
    expect(spansOn(trace, 1)).toEqual(["B model-execute", "E model-execute"]);
  });

  test("layers without operations, and subgraph layers, get generic names", () => {
    const events = [
      event("subgraph-execute", "begin", 0, 1, { opIndex: 1 }),
      ...span("layer-execute", 1, 2, 1, { opIndex: 0, depth: 1 }),
      event("subgraph-execute", "end", 3, 1, { opIndex: 1 }),
      ...span("layer-execute", 4, 5, 1, { opIndex: 5 }),
    ];
    const trace = toChromeTrace(events, operations);
    expect(chromeTraceProblems(trace)).toEqual([]);
    expect(spansOn(trace, 1)).toEqual([
      "B subgraph-execute", "B subgraph op 0", "E subgraph op 0", "E subgraph-execute", "B op 5", "E op 5",
    ]);
    expect(trace.traceEvents.find((e) => e.name === "subgraph op 0")!.args).toEqual({ opIndex: 0, depth: 1 });
    expect(spansOn(toChromeTrace(oneRun(0)), 7)).toContain("B op 0");
  });

  test("options, empty input, and a JSON round trip through writeChromeTrace", () => {
    expect(toChromeTrace([]).traceEvents.filter((e) => e.ph !== "M")).toEqual([]);
    const trace = toChromeTrace(oneRun(0), operations, { pid: 42, processName: "bench", displayTimeUnit: "ms" });
    expect(trace.displayTimeUnit).toBe("ms");
    expect(trace.traceEvents.every((e) => e.pid === 42)).toBe(true);
    const path = join(scratchDir("tessera-trace-"), "trace.json");
    const written = writeChromeTrace(path, oneRun(0), operations);
    const read = JSON.parse(readFileSync(path, "utf8")) as ChromeTrace;
    expect(read).toEqual(written);
    expect(chromeTraceProblems(read)).toEqual([]);
  });

  test("the checker reports unclosed, crossed, unmatched and backward events", () => {
    const base = { pid: 1, tid: 1, cat: "layer-execute" };
    const broken: ChromeTrace = {
      displayTimeUnit: "ns",
      traceEvents: [
        { ...base, name: "a", ph: "B", ts: 1 },
        { ...base, name: "b", ph: "B", ts: 2 },
        { ...base, name: "a", ph: "E", ts: 3 },
        { ...base, name: "a", ph: "E", ts: 4 },
        { ...base, name: "c", ph: "E", ts: 5 },
        { ...base, name: "d", ph: "B", ts: 0 },
        { ...base, tid: 2, name: "x", ph: "B", ts: 5 },
      ],
    };
    const problems = chromeTraceProblems(broken);
    expect(problems.some((p) => p.includes("E a at 3 closes B b"))).toBe(true);
    expect(problems.some((p) => p.includes("E c at 5 has no open B"))).toBe(true);
    expect(problems.some((p) => p.includes("ts goes back from 5 to 0"))).toBe(true);
    expect(problems.some((p) => p.includes("B x at 5 never ends"))).toBe(true);
    expect(problems.some((p) => p.includes("B d at 0 never ends"))).toBe(true);
    expect(problems).toHaveLength(5);
  });
});
