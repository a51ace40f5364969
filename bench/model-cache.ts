/**
 * What the compiled-model cache and hot updates save at load, per model: the load without a
 * cache (and how much of it packing the weights took, from the library's debug log), the cold
 * load that writes the entry, and the warm load that maps it; then, with --update NEW.onnx, the
 * update from the first model to NEW against a fresh load of NEW: time, and the native memory
 * each adds while the first model is alive. Medians of --runs loads (default 5), interleaved.
 * Usage: bun bench/model-cache.ts MODEL.onnx... [--update NEW.onnx] [--runs N]
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as rt from "../src/index.ts";

const argv = process.argv.slice(2);
const option = (name: string) => {
  const at = argv.indexOf(name);
  return at < 0 ? undefined : argv.splice(at, 2)[1];
};
const updatePath = option("--update");
const runs = Number(option("--runs") ?? 5);
const models = argv;

const median = (samples: number[]) => [...samples].sort((a, b) => a - b)[Math.floor(samples.length / 2)]!;
const ms = (value: number) => value.toFixed(1).padStart(8);
const mib = (bytes: number) => (bytes / 2 ** 20).toFixed(1);

/** Loads once; its time (ms), where its weights came from, and the packing time the log gave. */
function timedLoad(path: string, cacheDir: string) {
  let packMs = 0;
  rt.logging.setLevel("debug");
  rt.logging.setCallback((_, message) => {
    const packed = /^compile: weights \d+ bytes packed \((\d+) us\)/.exec(message);
    if (packed) packMs = Number(packed[1]) / 1000;
  });
  try {
    const start = performance.now();
    const model = rt.loadModelSync(path, { cacheDir });
    const loadMs = performance.now() - start;
    const weights = model.weights;
    model.dispose();
    return { loadMs, packMs, weights };
  } finally {
    rt.logging.setCallback(null);
    rt.logging.setLevel("warn");
  }
}

console.log("model                 no cache   packing    cold(write)  warm(map)   packed MiB");
for (const path of models) {
  const folder = mkdtempSync(join(tmpdir(), "tessera-bench-cache-"));
  try {
    const plain: number[] = [], packing: number[] = [], cold: number[] = [], warm: number[] = [];
    let packedBytes = 0;
    timedLoad(path, ""); // warm-up: page cache, allocator
    for (let i = 0; i < runs; i++) {
      const p = timedLoad(path, "");
      plain.push(p.loadMs);
      packing.push(p.packMs);
      packedBytes = p.weights.packedBytes;
      rt.clearCache(folder);
      cold.push(timedLoad(path, folder).loadMs);
      const w = timedLoad(path, folder);
      if (w.weights.packedBytes !== 0) throw new Error(`the warm load of ${path} packed ${w.weights.packedBytes} bytes`);
      warm.push(w.loadMs);
    }
    const name = path.split("/").pop()!.padEnd(20);
    console.log(`${name} ${ms(median(plain))} ${ms(median(packing))}   ${ms(median(cold))}   ${ms(median(warm))}     ${mib(packedBytes)}`);
  } finally {
    rt.clearCache(folder);
    rmSync(folder, { recursive: true, force: true });
  }
}

if (updatePath !== undefined) {
  const base = rt.loadModelSync(models[0]!, { cacheDir: "" });
  const freshMs: number[] = [], updateMs: number[] = [];
  let freshBytes = 0, updateBytes = 0, shared = 0;
  for (let i = 0; i < runs; i++) {
    Bun.gc(true);
    let before = rt.nativeStats().liveBytes;
    let start = performance.now();
    const fresh = rt.loadModelSync(updatePath, { cacheDir: "" });
    freshMs.push(performance.now() - start);
    freshBytes = rt.nativeStats().liveBytes - before;
    fresh.dispose();
    Bun.gc(true);
    before = rt.nativeStats().liveBytes;
    start = performance.now();
    const updated = await base.update(updatePath);
    updateMs.push(performance.now() - start);
    updateBytes = rt.nativeStats().liveBytes - before;
    shared = updated.weights.sharedBytes;
    updated.dispose();
  }
  base.dispose();
  console.log(`\nupdate ${models[0]!.split("/").pop()} -> ${updatePath.split("/").pop()}`);
  console.log(`  fresh load: ${ms(median(freshMs))} ms, adds ${mib(freshBytes)} MiB of native memory`);
  console.log(`  update:     ${ms(median(updateMs))} ms, adds ${mib(updateBytes)} MiB (${mib(shared)} MiB of packed weights shared)`);
}
