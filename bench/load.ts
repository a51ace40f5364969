/**
 * Model load time and peak memory: Tessera against onnxruntime-node, on the same files in the same
 * run. Times are taken in this process, interleaved; peak memory in a fresh child process per
 * runtime and model (max RSS after loading minus max RSS after importing the runtime).
 * Usage: bun bench/load.ts MODEL... (scripts/bench-load picks the models and installs the peer).
 */
import { createRequire } from "node:module";
import * as rt from "../src/index.ts";

const peerPath = process.env.TESSERA_PEERS ?? new URL("../.cache/peers/node_modules/", import.meta.url).pathname;
const ort = createRequire(peerPath)("onnxruntime-node");

async function timeLoads(path: string, runs: number) {
  const tessera: number[] = [];
  const tesseraAsync: number[] = [];
  const peer: number[] = [];
  for (let i = 0; i < runs + 2; i++) {
    let start = performance.now();
    rt.loadModelSync(path).dispose();
    const sync = performance.now() - start;
    start = performance.now();
    (await rt.loadModel(path)).dispose();
    const async = performance.now() - start;
    start = performance.now();
    const session = await ort.InferenceSession.create(path, { intraOpNumThreads: 1 });
    const onnxruntime = performance.now() - start;
    await session.release();
    if (i < 2) continue; // warm-up
    tessera.push(sync);
    tesseraAsync.push(async);
    peer.push(onnxruntime);
  }
  return { tessera, tesseraAsync, peer };
}

function stats(samples: number[]) {
  const sorted = [...samples].sort((a, b) => a - b);
  return { min: sorted[0]!, median: sorted[Math.floor(sorted.length / 2)]! };
}

/**
 * Peak memory of one load, in a child process so earlier loads do not count. It reads VmHWM from
 * /proc: getrusage's maxrss survives fork and exec, so a child of a big parent would inherit it.
 */
function peakMemory(which: "tessera" | "ort", path: string): number {
  const hwm = `() => Number(require("node:fs").readFileSync("/proc/self/status", "utf8").match(/VmHWM:\\s+(\\d+)/)[1])`;
  const load = which === "tessera"
    ? `const rt = await import("${new URL("../src/index.ts", import.meta.url).pathname}"); const base = hwm();
       const m = rt.loadModelSync(process.argv[1]);`
    : `const ort = require("node:module").createRequire("${peerPath}")("onnxruntime-node"); const base = hwm();
       const s = await ort.InferenceSession.create(process.argv[1], { intraOpNumThreads: 1 });`;
  const script = `const hwm = ${hwm}; ${load} console.log(hwm() - base);`;
  const child = Bun.spawnSync([process.execPath, "-e", script, path]);
  if (child.exitCode !== 0) throw new Error(child.stderr.toString());
  return Number(child.stdout.toString().trim()) / 1024; // KiB → MiB
}

const runs = Number(process.env.TESSERA_BENCH_RUNS ?? 15);
console.log("model\tTessera sync ms (min/median)\tTessera async ms\tonnxruntime-node ms\tratio (median)\tpeak MiB Tessera\tpeak MiB ORT");
for (const path of process.argv.slice(2)) {
  const { tessera, tesseraAsync, peer } = await timeLoads(path, runs);
  const [t, a, p] = [stats(tessera), stats(tesseraAsync), stats(peer)];
  const fmt = (s: { min: number; median: number }) => `${s.min.toFixed(2)} / ${s.median.toFixed(2)}`;
  const name = path.split("/").slice(-2).join("/");
  console.log([name, fmt(t), fmt(a), fmt(p), (t.median / p.median).toFixed(3), peakMemory("tessera", path).toFixed(1), peakMemory("ort", path).toFixed(1)].join("\t"));
}
