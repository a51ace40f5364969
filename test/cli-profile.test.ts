/** `tessera profile`: the per-layer table from the engine's events, the Chrome trace, and errors. */
import { expect, test } from "bun:test";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { buildModel, GraphBuilder } from "../src/onnx/builder.ts";
import { chromeTraceProblems, type ChromeTrace } from "../src/profile/trace.ts";
import { addRelu } from "./support/models.ts";
import { tessera } from "./support/cli.ts";
import { scratchDir } from "./support/paths.ts";

const dir = scratchDir("tessera-cli-profile-");

/** A heavy MatMul, then two cheap ops: the MatMul must top the table. */
function uneven(): Uint8Array {
  const g = new GraphBuilder("uneven");
  g.input("x", "float32", [128, 256]);
  g.initializer("w", "float32", [256, 256], Float32Array.from({ length: 256 * 256 }, (_, i) => ((i % 11) - 5) / 50));
  g.initializer("b", "float32", [256], new Float32Array(256).fill(0.5));
  const product = g.node("MatMul", ["x", "w"], { name: "big_matmul" });
  const shifted = g.node("Add", [product, "b"], { name: "shift" });
  g.node("Relu", [shifted], { name: "clamp", outputs: ["y"] });
  g.output("y", "float32", [128, 256]);
  return buildModel(g);
}
const modelPath = join(dir, "uneven.onnx");
writeFileSync(modelPath, uneven());
const dynamicPath = join(dir, "add_relu.onnx");
writeFileSync(dynamicPath, addRelu());


test("the table lists every layer, the most time first, under the run's latency; the trace is valid", () => {
  const tracePath = join(dir, "trace.json");
  const { code, out, err } = tessera("profile", modelPath, "--trace", tracePath, "--repeat", "4", "--threads", "2");
  expect(err).toBe("");
  expect(code).toBe(0);
  expect(out).toMatch(/: 4 runs\nlatency ms: min [\d.]+ {2}median [\d.]+ {2}mean [\d.]+ {2}p90 [\d.]+ {2}max [\d.]+\n/);
  const rows = out.split("\n").filter((line) => /^\d+\s/.test(line));
  expect(rows.map((row) => row.split(/\s+/)[1])).toHaveLength(3);
  expect(rows[0]!.split(/\s+/).slice(1, 4)).toEqual(["big_matmul", "MatMul", "4"]);
  const totals = rows.map((row) => Number(row.split(/\s+/)[7]));
  expect(totals).toEqual([...totals].sort((a, b) => b - a));
  expect(out).toContain(`trace: ${tracePath}`);

  const trace = JSON.parse(readFileSync(tracePath, "utf8")) as ChromeTrace;
  expect(chromeTraceProblems(trace)).toEqual([]);
  const names = new Set(trace.traceEvents.filter((e) => e.ph === "B").map((e) => e.name));
  for (const name of ["big_matmul", "shift", "clamp"]) expect([...names].some((n) => n.includes(name))).toBe(true);
  // Every begin has its end on the same thread, and time never goes back on a thread.
  const byThread = new Map<number, typeof trace.traceEvents>();
  for (const e of trace.traceEvents.filter((e) => e.ph === "B" || e.ph === "E")) byThread.set(e.tid, [...(byThread.get(e.tid) ?? []), e]);
  for (const events of byThread.values()) {
    expect(events.filter((e) => e.ph === "B").length).toBe(events.filter((e) => e.ph === "E").length);
    const times = events.map((e) => e.ts);
    expect(times).toEqual([...times].sort((a, b) => a - b));
  }
}, 60_000);

test("--json gives the statistics; --top limits the table; a dynamic model takes --shape", () => {
  const json = tessera("profile", modelPath, "--json", "--repeat", "2", "--warmup", "0");
  expect(json.code).toBe(0);
  const report = JSON.parse(json.out);
  expect(report.statistics.runs).toBe(2);
  expect(report.statistics.layers.map((l: { opType: string }) => l.opType).sort()).toEqual(["Add", "MatMul", "Relu"]);
  expect(report.statistics.model.count).toBe(2);

  const top = tessera("profile", modelPath, "--top", "1", "--repeat", "2");
  expect(top.code).toBe(0);
  expect(top.out.split("\n").filter((line) => /^\d+\s/.test(line))).toHaveLength(1);
  expect(top.out).toContain("(2 more layers; --top shows more)");

  const dynamic = tessera("profile", dynamicPath, "--shape", "x=3,4", "-niter", "2");
  expect(dynamic.err).toBe("");
  expect(dynamic.out).toContain(": 2 runs");
}, 60_000);

test("bad arguments get one line and a non-zero status", () => {
  const cases: [string[], number, RegExp][] = [
    [["profile"], 2, /profile needs exactly one model path/],
    [["profile", modelPath, "--repeat", "0"], 2, /--repeat takes an integer >= 1/],
    [["profile", modelPath, "--bogus"], 2, /bogus/],
    [["profile", join(dir, "missing.onnx")], 1, /missing\.onnx/],
    [["profile", dynamicPath], 2, /--shape/],
    [["profile", modelPath, "--trace", join(dir, "no-such-dir", "t.json"), "--repeat", "1"], 1, /no-such-dir/],
  ];
  for (const [args, status, message] of cases) {
    const { code, out, err } = tessera(...args);
    expect({ args, code }).toEqual({ args, code: status });
    expect(out).toBe("");
    expect(err.trimEnd().split("\n")).toHaveLength(1);
    expect(err).toMatch(message);
    expect(err).not.toMatch(/\n\s+at /);
  }
}, 60_000);
