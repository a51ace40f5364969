/**
 * Peak memory and load time of one model's whole life in a fresh process, Tessera against
 * onnxruntime-node: import the runtime, load the model, run it once (the first run, which
 * allocates what the runtime keeps), run it a few times more, exit. Each measurement is its own
 * Bun process, alternating between the runtimes, so neither sees the other's memory or warm
 * caches; the median over the processes is printed.
 *
 * Peak RSS is the process's VmHWM, as /usr/bin/time's maxrss reports it (getrusage's maxrss
 * would do in a fresh process, but it survives exec, and Bun spawns through a parent of its
 * own size); "model" is the peak minus the high-water mark right after importing the runtime.
 *
 * Usage: bun bench/memory.ts [--model PATH] [--threads N] [--processes N] [--runs N]
 * The default model is ResNet-50 from scripts/bench-models (.cache/bench-models).
 */
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
// Types only: a measurement of ORT must not load Tessera's library (the import is erased).
import type * as Rt from "../src/index.ts";
import { elementCount, loadOrt, median, normal } from "./peer.ts";

const modelDir = process.env.TESSERA_BENCH_MODELS ?? new URL("../.cache/bench-models/", import.meta.url).pathname;

const { values: args } = parseArgs({
  options: {
    model: { type: "string", default: `${modelDir}/resnet50.onnx` },
    threads: { type: "string", default: "1" },
    processes: { type: "string", default: "5" },
    runs: { type: "string", default: "5" },
    // Internal: this process is one measurement, of the runtime named.
    child: { type: "string" },
  },
});

interface Measurement {
  /** MiB: VmHWM after importing the runtime, at the end, and the difference. */
  baseMiB: number;
  peakMiB: number;
  modelMiB: number;
  /** ms */
  loadMs: number;
  firstRunMs: number;
  steadyRunMs: number;
}

function highWaterMiB(): number {
  const status = readFileSync("/proc/self/status", "utf8");
  return Number(/VmHWM:\s+(\d+)\s+kB/.exec(status)![1]) / 1024;
}

/** One measurement, in this (fresh) process; prints it as JSON. */
async function child(runtime: string, path: string, threads: number, runs: number): Promise<void> {
  let run: () => Promise<unknown>;
  let load: () => Promise<void>;
  let shape: number[] = [];
  let baseMiB = 0;
  if (runtime === "tessera") {
    const rt = await import("../src/index.ts");
    baseMiB = highWaterMiB();
    let model!: Rt.Model;
    load = async () => {
      model = rt.loadModelSync(path, { threads });
      shape = model.inputs[0]!.shape!.map(Number);
    };
    run = async () => {
      const input = rt.tensor(normal(elementCount(shape), 1234), { shape });
      for (const output of Object.values(model.runSync<Rt.Tensor>([input]))) output.dispose();
      input.dispose();
    };
  } else {
    const ort = loadOrt();
    baseMiB = highWaterMiB();
    let session!: Awaited<ReturnType<typeof ort.InferenceSession.create>>;
    load = async () => {
      session = await ort.InferenceSession.create(path, { intraOpNumThreads: threads, interOpNumThreads: 1, graphOptimizationLevel: "all" });
      const name = session.inputNames[0]!;
      const metadata = session.inputMetadata.find((m) => m.name === name);
      shape = (metadata && "shape" in metadata ? metadata.shape : []).map(Number);
    };
    run = async () => {
      await session.run({ [session.inputNames[0]!]: new ort.Tensor("float32", normal(elementCount(shape), 1234), shape) });
    };
  }
  let start = performance.now();
  await load();
  const loadMs = performance.now() - start;
  start = performance.now();
  await run();
  const firstRunMs = performance.now() - start;
  const steady: number[] = [];
  for (let i = 0; i < runs; i++) {
    start = performance.now();
    await run();
    steady.push(performance.now() - start);
  }
  const peakMiB = highWaterMiB();
  const result: Measurement = { baseMiB, peakMiB, modelMiB: peakMiB - baseMiB, loadMs, firstRunMs, steadyRunMs: median(steady) };
  console.log(JSON.stringify(result));
}

function measure(runtime: string): Measurement {
  const child = Bun.spawnSync([
    process.execPath, import.meta.path, "--child", runtime, "--model", args.model, "--threads", args.threads, "--runs", args.runs,
  ]);
  if (child.exitCode !== 0) throw new Error(`${runtime}: ${child.stderr.toString()}`);
  return JSON.parse(child.stdout.toString().trim().split("\n").at(-1)!) as Measurement;
}

if (args.child) {
  await child(args.child, args.model, Number(args.threads), Number(args.runs));
} else {
  const runtimes = ["tessera", "ort"] as const;
  const results: Record<string, Measurement[]> = { tessera: [], ort: [] };
  for (let p = 0; p < Number(args.processes); p++) {
    for (const runtime of runtimes) results[runtime]!.push(measure(runtime));
  }
  const name = args.model.split("/").at(-1);
  console.log(`${name}, ${args.threads} thread(s), median of ${args.processes} fresh processes per runtime (Bun ${Bun.version})`);
  const keys: [keyof Measurement, string][] = [
    ["peakMiB", "peak RSS MiB"], ["modelMiB", "peak above import MiB"], ["baseMiB", "after import MiB"],
    ["loadMs", "load ms"], ["firstRunMs", "first run ms"], ["steadyRunMs", "later runs ms"],
  ];
  console.log(["".padEnd(22), "Tessera".padStart(10), "ORT".padStart(10), "ratio".padStart(7)].join("  "));
  for (const [key, label] of keys) {
    const [ours, theirs] = runtimes.map((r) => median(results[r]!.map((m) => m[key])));
    console.log([label.padEnd(22), ours!.toFixed(1).padStart(10), theirs!.toFixed(1).padStart(10), (ours! / theirs!).toFixed(2).padStart(7)].join("  "));
  }
  console.log("ratio: Tessera / ORT (below 1: Tessera uses less)");
}
