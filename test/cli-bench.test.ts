/** `tessera bench`: benchmark_app's options in both spellings, both APIs, the reports, progress, and errors. */
import { describe, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { encodeNpy as writeNpy } from "../src/npy.ts";
import * as rt from "../src/index.ts";
import { buildModel, GraphBuilder } from "../src/onnx/builder.ts";
import { addRelu } from "./support/models.ts";
import { tessera } from "./support/cli.ts";
import { scratchDir } from "./support/paths.ts";

const dir = scratchDir("tessera-cli-bench-");
const dynamicPath = join(dir, "add_relu.onnx");
writeFileSync(dynamicPath, addRelu());

/** relu(x · w) over [16, 64] × [64, 64]: static shapes, enough work to time. */
function matmulModel(): Uint8Array {
  const g = new GraphBuilder("matmul_relu");
  g.input("x", "float32", [16, 64]);
  g.initializer("w", "float32", [64, 64], Float32Array.from({ length: 64 * 64 }, (_, i) => ((i % 7) - 3) / 10));
  const product = g.node("MatMul", ["x", "w"]);
  g.node("Relu", [product], { outputs: ["y"] });
  g.output("y", "float32", [16, 64]);
  return buildModel(g);
}
const staticPath = join(dir, "matmul.onnx");
writeFileSync(staticPath, matmulModel());

/** relu(x) over images [batch, 3, 8, 8]: an open batch dim, as exporters write it. */
function imageModel(): Uint8Array {
  const g = new GraphBuilder("images");
  g.input("x", "float32", ["batch", 3, 8, 8]);
  g.node("Relu", ["x"], { outputs: ["y"] });
  g.output("y", "float32", ["batch", 3, 8, 8]);
  return buildModel(g);
}
const imagesPath = join(dir, "images.onnx");
writeFileSync(imagesPath, imageModel());


interface Report {
  model: string;
  loadMs: number;
  inputs: { name: string; dtype: string; shape: number[]; source: string }[];
  threads: number;
  api: string;
  hint: string;
  requests: number;
  warmup: number;
  iterations: number;
  totalMs: number;
  latencyMs: { min: number; median: number; mean: number; p90: number; p99: number; max: number };
  throughput: number;
  batch: number;
  itemsPerSecond: number;
}

/** Runs bench with -report json; stdout must be that one object and nothing else. */
function benchJson(...args: string[]): { report: Report; err: string } {
  const { code, out, err } = tessera("bench", ...args, "-report", "json");
  expect({ code, err: code === 0 ? "" : err }).toEqual({ code: 0, err: "" });
  return { report: JSON.parse(out), err };
}

function expectConsistent(report: Report): void {
  const l = report.latencyMs;
  expect(l.min).toBeGreaterThan(0);
  expect(l.min).toBeLessThanOrEqual(l.median);
  expect(l.median).toBeLessThanOrEqual(l.p90);
  expect(l.p90).toBeLessThanOrEqual(l.p99);
  expect(l.p99).toBeLessThanOrEqual(l.max);
  expect(l.mean).toBeGreaterThanOrEqual(l.min);
  expect(l.mean).toBeLessThanOrEqual(l.max);
  // Both are rounded in the report, so they agree to about a part in a thousand.
  const throughput = report.iterations / (report.totalMs / 1000);
  expect(Math.abs(report.throughput - throughput) / throughput).toBeLessThan(1e-3);
  expect(Math.abs(report.itemsPerSecond - report.batch * report.throughput) / report.itemsPerSecond).toBeLessThan(1e-3);
}

describe("tessera bench", () => {
  test("-niter: the text report, with progress lines on stderr (a pipe) and none on stdout", () => {
    const { code, out, err } = tessera("bench", staticPath, "-niter", "20");
    expect(code).toBe(0);
    const lines = out.trimEnd().split("\n");
    expect(lines.map((line) => line.slice(0, 13).trimEnd())).toEqual(
      ["model", "inputs", "threads", "api", "requests", "iterations", "total time", "latency (ms)", "throughput"],
    );
    expect(out).toMatch(/^model {9}\S+matmul\.onnx \(loaded in [\d.]+ ms\)\n/);
    expect(out).toContain("\ninputs        x float32 [16, 64] random\n");
    expect(out).toContain("\napi           sync\n");
    expect(out).toContain("\nrequests      1 in flight (hint latency)\n");
    expect(out).toContain("\niterations    20 (after 1 warm-up run per request)\n");
    expect(out).toMatch(/\nlatency \(ms\)  min [\d.]+  median [\d.]+  p90 [\d.]+  p99 [\d.]+  max [\d.]+  mean [\d.]+\n/);
    // [16, 64]: a batch of 16 rows, so items per second as well.
    expect(out).toMatch(/\nthroughput    [\d.]+ inferences\/s, [\d.]+ items\/s \(batch 16\)\n$/);
    expect(out).not.toContain("progress");
    const progress = err.trimEnd().split("\n");
    expect(progress.length).toBe(10);
    expect(progress.every((line) => /^progress +\d+%  \d+ iterations, [\d.]+ s$/.test(line))).toBe(true);
    expect(progress.at(-1)).toMatch(/^progress 100%  20 iterations/);
  });

  test("-report json: one object on stdout, iterations as asked, statistics in order", () => {
    const { report, err } = benchJson(staticPath, "-niter", "25", "-warmup", "3", "-threads", "1");
    expect(report).toMatchObject({
      model: staticPath,
      inputs: [{ name: "x", dtype: "float32", shape: [16, 64], source: "random" }],
      threads: 1,
      api: "sync",
      hint: "latency",
      requests: 1,
      warmup: 3,
      iterations: 25,
    });
    expect(report.loadMs).toBeGreaterThan(0);
    expectConsistent(report);
    expect(err).toContain("progress 100%  25 iterations");
  });

  test("-t: runs for about that long", () => {
    const { report } = benchJson(staticPath, "-t", "0.4");
    expect(report.totalMs).toBeGreaterThanOrEqual(400);
    expect(report.totalMs).toBeLessThan(4000);
    expect(report.iterations).toBeGreaterThan(1);
    expectConsistent(report);
  });

  test("-nireq 2 -api async: two requests in flight, the iterations split between them", () => {
    const { report } = benchJson(staticPath, "-nireq", "2", "-api", "async", "-niter", "30");
    expect(report).toMatchObject({ api: "async", requests: 2, iterations: 30 });
    expectConsistent(report);
  });

  test("-hint throughput: max(2, cores) requests, async", () => {
    const cores = rt.devices()[0]!.cpu!.cores;
    const { report } = benchJson(staticPath, "-hint", "throughput", "-niter", "12");
    expect(report).toMatchObject({ hint: "throughput", api: "async", requests: Math.max(2, cores), iterations: 12 });
    expect(report.threads).toBeGreaterThanOrEqual(1);
  });

  test("-shape gives a dynamic batch its size, in benchmark_app's and the --long spelling", () => {
    const brackets = benchJson(dynamicPath, "-shape", "x[8,4]", "-niter", "5").report;
    expect(brackets.inputs).toEqual([{ name: "x", dtype: "float32", shape: [8, 4], source: "random" }]);
    expect(brackets.iterations).toBe(5);
    const long = tessera("bench", dynamicPath, "--shape", "x=3,4", "--niter", "4", "--nireq", "2", "--report", "json");
    expect(long.code).toBe(0);
    expect(JSON.parse(long.out)).toMatchObject({ inputs: [{ shape: [3, 4] }], iterations: 4, requests: 2, api: "async" });
  });

  test("-b sets an open batch dim; items/s is batch × inferences/s, in JSON and text", () => {
    const { report } = benchJson(imagesPath, "-b", "4", "-niter", "6");
    expect(report.inputs).toEqual([{ name: "x", dtype: "float32", shape: [4, 3, 8, 8], source: "random" }]);
    expect(report.batch).toBe(4);
    expectConsistent(report);
    const text = tessera("bench", imagesPath, "--batch", "3", "-niter", "4");
    expect(text.code).toBe(0);
    expect(text.out).toContain("\ninputs        x float32 [3, 3, 8, 8] random\n");
    const [, perInference, perItem] = /\nthroughput    ([\d.]+) inferences\/s, ([\d.]+) items\/s \(batch 3\)\n$/.exec(text.out)!;
    expect(Math.abs(Number(perItem) - 3 * Number(perInference))).toBeLessThan(0.05);
  });

  test("without -b the batch is the inputs' leading dim: from -shape, or 1 with no items/s line", () => {
    expect(benchJson(imagesPath, "-shape", "x[8,3,8,8]", "-niter", "3").report).toMatchObject({ batch: 8, iterations: 3 });
    const single = benchJson(dynamicPath, "-shape", "x[1,4]", "-niter", "3").report;
    expect(single.batch).toBe(1);
    expect(single.itemsPerSecond).toBe(single.throughput);
    expect(tessera("bench", imagesPath, "-b", "1", "-niter", "3").out).toMatch(/\nthroughput    [\d.]+ inferences\/s\n$/);
    expect(benchJson(staticPath, "-b", "16", "-niter", "3").report.batch).toBe(16);
  });

  test("-b that the inputs cannot have is a usage error naming their leading dims", () => {
    for (const [args, line] of [
      [[imagesPath, "-b", "2", "-shape", "x[8,3,8,8]"], "tessera: -b 2 does not fit the inputs' leading dims (x 8)"],
      [[staticPath, "-b", "4"], "tessera: -b 4 does not fit the inputs' leading dims (x 16)"],
      [[imagesPath, "-b", "0"], "tessera: -b takes an integer >= 1, not '0'"],
    ] as const) {
      const { code, out, err } = tessera("bench", ...args, "-niter", "1");
      expect({ args, code, out, err }).toEqual({ args, code: 2, out: "", err: `${line}\n` });
    }
  });

  test("-i reads an input from a file", () => {
    const path = join(dir, "x.npy");
    writeFileSync(path, writeNpy({ dtype: "float32", shape: [2, 4], data: new Float32Array(8).fill(1) }));
    const { report } = benchJson(dynamicPath, "-i", `x=${path}`, "-niter", "3");
    expect(report.inputs).toEqual([{ name: "x", dtype: "float32", shape: [2, 4], source: path }]);
  });

  test("bad arguments get one line on stderr, no stack trace, and status 2 (the command line) or 1 (files)", () => {
    const cases: [string[], RegExp, number][] = [
      [["bench"], /^tessera: bench needs exactly one model path$/, 2],
      [["bench", staticPath, "-bogus", "1"], /^tessera: unknown option '-bogus' \(see tessera bench --help\)$/, 2],
      [["bench", staticPath, "--bogus"], /^tessera: unknown option '--bogus' \(see tessera bench --help\)$/, 2],
      [["bench", staticPath, "-hint", "fastest"], /^tessera: -hint takes latency or throughput, not 'fastest'$/, 2],
      [["bench", staticPath, "-api", "threads"], /^tessera: -api takes sync or async, not 'threads'$/, 2],
      [["bench", staticPath, "-api", "sync", "-nireq", "2"], /^tessera: -api sync keeps one request in flight; 2 need -api async$/, 2],
      [["bench", staticPath, "-niter", "0"], /^tessera: -niter takes an integer >= 1, not '0'$/, 2],
      [["bench", staticPath, "-t", "-1"], /^tessera: /, 2],
      [["bench", staticPath, "-report", "xml"], /^tessera: -report takes json or text, not 'xml'$/, 2],
      [["bench", "/nonexistent.onnx", "-niter", "1"], /^tessera: cannot open model '\/nonexistent.onnx': no such file$/, 1],
      [["bench", dynamicPath, "-niter", "1"], /^tessera: input 'x' has shape \[N, 4\]: give its dims with --shape x=\.\.\.$/, 2],
      [["bench", dynamicPath, "-shape", "y[1,4]"], /^tessera: --shape: the model has no input named 'y' \(inputs: x\)$/, 2],
      [["bench", dynamicPath, "-shape", "x[1,4"], /^tessera: --shape 'x\[1,4': expected name\[d1,d2,\.\.\.\]$/, 2],
      [["bench", staticPath, "-shape", "x[2,64]"], /^tessera: --shape: shape \[2, 64\] does not fit input 'x' \[16, 64\]$/, 1],
      [["bench", staticPath, "-i", "x=/nonexistent.npy"], /^tessera: cannot read '\/nonexistent.npy': no such file$/, 1],
    ];
    for (const [args, pattern, status] of cases) {
      const { code, out, err } = tessera(...args);
      expect({ args, code, out }).toEqual({ args, code: status, out: "" });
      expect({ args, lines: err.trimEnd().split("\n").length }).toEqual({ args, lines: 1 });
      expect(err.trimEnd()).toMatch(pattern);
      expect(err).not.toContain("    at ");
    }
  });
});
