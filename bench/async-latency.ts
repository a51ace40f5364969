/**
 * Async completion latency: what `await model.run()` costs over `model.runSync()` on models whose
 * kernels cost little (one Add node over [1, 4], and a keyword-spotting head of three Gemm layers),
 * at one thread. Every call is timed on its own with performance.now(); the variants run in
 * interleaved blocks (their order rotating from block to block) after a warm-up, so that drift and
 * other processes touch them alike. Prints p50 / p90 / p99 in µs for runSync, for await run(), and
 * their differences (await run's percentile minus runSync's), plus, in Bun, onnxruntime-node's
 * `await session.run()` for reference (from .cache/peers, which scripts/install-peers fills;
 * skipped when absent). The load average is printed with the figures: read them with it.
 *
 * Usage: bun bench/async-latency.ts [--blocks N] [--block N] [--warmup N] [--json]
 *        deno run -A bench/async-latency.ts [same options]
 * --json prints one JSON line per model instead of the table.
 */
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { loadavg } from "node:os";
import process from "node:process";
import { parseArgs } from "node:util";
import * as rt from "../src/index.ts";
import { native } from "../src/native.ts";
import { keywordHead, oneNode } from "./small_models.ts";

const { values: args } = parseArgs({
  args: process.argv.slice(2),
  options: {
    blocks: { type: "string", default: "40" },
    block: { type: "string", default: "250" },
    warmup: { type: "string", default: "2000" },
    json: { type: "boolean", default: false },
  },
});
const blocks = Number(args.blocks);
const block = Number(args.block);
const warmup = Number(args.warmup);

/** A variant under test: one call, awaited when it returns a promise. */
type Variant = { name: string; call: () => unknown };

/** onnxruntime-node, in Bun only (its addon is Node-API; Deno is not measured against it). */
function loadOrt(): { InferenceSession: any; Tensor: any } | null {
  if (native.runtime !== "bun") return null;
  const peers = process.env.TESSERA_PEERS ?? new URL("../.cache/peers/node_modules/", import.meta.url).pathname;
  if (!existsSync(`${peers}/onnxruntime-node`)) return null;
  return createRequire(peers)("onnxruntime-node");
}

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

interface Figures {
  p50: number;
  p90: number;
  p99: number;
}

function figures(samples: number[]): Figures {
  const sorted = [...samples].sort((a, b) => a - b);
  return { p50: percentile(sorted, 50), p90: percentile(sorted, 90), p99: percentile(sorted, 99) };
}

/** Times `count` calls one by one (µs each) into `into`. */
async function timeCalls(variant: Variant, count: number, into: number[] | null): Promise<void> {
  for (let i = 0; i < count; i++) {
    const start = performance.now();
    const result = variant.call();
    if (result instanceof Promise) await result;
    const end = performance.now();
    into?.push((end - start) * 1000);
  }
}

async function measure(label: string, bytes: Uint8Array, shape: number[], ort: ReturnType<typeof loadOrt>) {
  const model = rt.loadModelSync(bytes, { threads: 1 });
  const data = new Float32Array(shape.reduce((a, b) => a * b, 1)).map((_, i) => Math.sin(i));
  const x = rt.tensor(data, { shape });
  const output = model.outputNames[0]!;
  // Outputs are disposed after the clock stops, for both variants alike, so that neither pays
  // for the other's garbage.
  const variants: Variant[] = [
    { name: "runSync", call: () => model.runSync<rt.Tensor>({ x })[output]!.dispose() },
    { name: "await run", call: async () => (await model.run<rt.Tensor>({ x }))[output]!.dispose() },
  ];
  let session: any = null;
  if (ort) {
    session = await ort.InferenceSession.create(bytes, { intraOpNumThreads: 1, interOpNumThreads: 1 });
    const feeds = { x: new ort.Tensor("float32", data, shape) };
    // Agreement first: a fast wrong answer is not a result.
    const expected = (await session.run(feeds))[session.outputNames[0]].data as Float32Array;
    const got = model.runSync<rt.Tensor>({ x })[output]!.toTypedArray() as Float32Array;
    const worst = expected.reduce((m, v, i) => Math.max(m, Math.abs(v - got[i]!)), 0);
    if (!(worst <= 1e-4)) throw new Error(`${label}: outputs differ from onnxruntime by ${worst}`);
    variants.push({ name: "ORT await run", call: () => session.run(feeds) });
  }
  for (const variant of variants) await timeCalls(variant, warmup, null);
  const samples = new Map(variants.map((v) => [v.name, [] as number[]]));
  for (let b = 0; b < blocks; b++) {
    for (let k = 0; k < variants.length; k++) {
      const variant = variants[(b + k) % variants.length]!;
      await timeCalls(variant, block, samples.get(variant.name)!);
    }
  }
  model.dispose();
  x.dispose();
  await session?.release();
  const result = Object.fromEntries([...samples].map(([name, s]) => [name, figures(s)]));
  const sync = result["runSync"]!;
  const run = result["await run"]!;
  result["run - runSync"] = { p50: run.p50 - sync.p50, p90: run.p90 - sync.p90, p99: run.p99 - sync.p99 };
  return { model: label, runtime: native.runtime, samples: blocks * block, figures: result };
}

const ort = loadOrt();
const runtimeVersion = native.runtime === "bun"
  ? `Bun ${(globalThis as unknown as { Bun: { version: string } }).Bun.version}`
  : `Deno ${(globalThis as unknown as { Deno: { version: { deno: string } } }).Deno.version.deno}`;
const results = [
  await measure("one Add node", oneNode(), [1, 4], ort),
  await measure("keyword head", keywordHead(), [1, 490], ort),
];
if (args.json) {
  for (const r of results) console.log(JSON.stringify({ ...r, version: runtimeVersion, load: loadavg()[0] }));
} else {
  console.log(`µs per call, 1 thread, ${blocks} interleaved blocks of ${block} calls each (${runtimeVersion}, ` +
    `load average ${loadavg().map((l) => l.toFixed(2)).join(" ")})${ort || native.runtime !== "bun" ? "" : "; ORT absent"}`);
  console.log(`${"model".padEnd(14)} ${"variant".padEnd(14)} ${"p50".padStart(8)} ${"p90".padStart(8)} ${"p99".padStart(8)}`);
  for (const r of results) {
    for (const [name, f] of Object.entries(r.figures)) {
      console.log(`${r.model.padEnd(14)} ${name.padEnd(14)} ${[f.p50, f.p90, f.p99].map((v) => v.toFixed(1).padStart(8)).join(" ")}`);
    }
  }
}
