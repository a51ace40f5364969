/**
 * SGEMM throughput: a MatMul model (A an input, B a weight, as a layer's product is), N x N x N,
 * run by Tessera and by onnxruntime-node in this one Bun process, interleaved, at each thread
 * count, against the CPU's float32 peak at that thread count (libruntime's tessera-bench-peak,
 * an FMA loop on the widest vectors this CPU has). Outputs are checked against ORT first.
 *
 * The peak is the FMA loop's rate over its threads' CPU time: what the cores do while they run
 * it, which other processes on a shared machine do not lower (they do lower its wall-clock rate,
 * printed beside it as a measure of how loaded the machine is; a product short enough to run
 * between two preemptions can beat that figure, so fractions divide by the CPU-time rate).
 *
 * Usage: bun bench/sgemm.ts [--sizes 256,512,1024,2048] [--threads 1,2] [--runs N] [--budget S]
 * scripts/bench-sgemm builds the library and the peak program and installs the peer first.
 */
import { existsSync } from "node:fs";
import { cpus, loadavg } from "node:os";
import { parseArgs } from "node:util";
import * as rt from "../src/index.ts";
import { buildModel, GraphBuilder } from "../src/onnx/builder.ts";
import { agree, interleave, loadOrt, ortInputs, ortOutputs, ortSession, random, tesseraInputs, tesseraOutputs, type Timing, timing } from "./peer.ts";

const { values: args } = parseArgs({
  options: {
    sizes: { type: "string", default: "256,512,1024,2048" },
    threads: { type: "string", default: "1,2" },
    runs: { type: "string", default: "20" },
    // Seconds per size and thread count; a slow product stops early (after 5 samples each).
    budget: { type: "string", default: "40" },
    block: { type: "string", default: "3" },
    settle: { type: "string", default: "100" },
  },
});

const peakProgram = process.env.TESSERA_BENCH_PEAK ??
  new URL("../libruntime/zig-out/bin/tessera-bench-peak", import.meta.url).pathname;
if (!existsSync(peakProgram)) throw new Error(`${peakProgram} is missing: cd libruntime && zig build bench-peak`);

interface Peak {
  threads: number;
  gflops: number;
  cpu_gflops: number;
  lanes: number;
}

function measurePeak(threads: number): Peak {
  const child = Bun.spawnSync([peakProgram, "--json", String(threads)]);
  if (child.exitCode !== 0) throw new Error(`${peakProgram} failed: ${child.stderr.toString()}`);
  return JSON.parse(child.stdout.toString().trim()) as Peak;
}

/** C = A * B for N x N float32, B a seeded weight in [-0.5, 0.5). */
function matmulModel(n: number): Uint8Array {
  const g = new GraphBuilder(`matmul_${n}`);
  g.input("a", "float32", [n, n]);
  const next = random(n);
  g.initializer("b", "float32", [n, n], new Float32Array(n * n).map(() => next() - 0.5));
  g.node("MatMul", ["a", "b"], { outputs: ["c"] });
  g.output("c", "float32", [n, n]);
  return buildModel(g);
}

const ort = loadOrt();

interface Row {
  n: number;
  threads: number;
  tessera: Timing;
  peer: Timing;
  peak: Peak;
}

async function benchSize(n: number, threads: number, peak: Peak): Promise<Row> {
  const bytes = matmulModel(n);
  const model = rt.loadModelSync(bytes, { threads });
  const session = await ortSession(ort, bytes, threads);
  const next = random(n + 1);
  const feed = { a: { dtype: "float32" as const, shape: [n, n], data: new Float32Array(n * n).map(() => next() - 0.5) } };
  const ours = tesseraInputs(feed);
  const theirs = ortInputs(ort, feed);
  const request = model.createRequest();
  try {
    const agreement = agree(tesseraOutputs(request.runSync<rt.Tensor>(ours)), ortOutputs(await session.run(theirs)));
    if (!agreement.ok) throw new Error(`${n}^3: outputs differ from onnxruntime (${agreement.reason}, largest ${agreement.maxAbs})`);
    const runTessera = () => {
      for (const tensor of Object.values(request.runSync<rt.Tensor>(ours))) tensor.dispose();
    };
    const runPeer = () => session.run(theirs);
    const [tessera, peer] = await interleave([runTessera, runPeer], {
      runs: Number(args.runs),
      budgetMs: Number(args.budget) * 1000,
      block: Number(args.block),
      settleMs: Number(args.settle),
      inner: 1,
    });
    return { n, threads, tessera: timing(tessera!), peer: timing(peer!), peak };
  } finally {
    request.dispose();
    for (const tensor of Object.values(ours)) tensor.dispose();
    model.dispose();
    await session.release();
  }
}

const gflops = (n: number, ms: number) => (2 * n ** 3) / (ms * 1e6);

function printRow(row: Row) {
  const { n, threads, peak } = row;
  const cells = [`${n}^3`.padEnd(7), String(threads).padStart(7)];
  for (const t of [row.tessera, row.peer]) {
    const [median, best] = [gflops(n, t.median), gflops(n, t.min)];
    const share = (rate: number) => ((rate / peak.cpu_gflops) * 100).toFixed(0);
    cells.push(`${median.toFixed(1)} / ${best.toFixed(1)}`.padStart(15), `${share(median)}% / ${share(best)}%`.padStart(11));
  }
  cells.push((row.tessera.median / row.peer.median).toFixed(2).padStart(6));
  console.log(cells.join("  "));
}

const sizes = args.sizes.split(",").map(Number);
const threadCounts = args.threads.split(",").map(Number);
console.log(`${cpus()[0]?.model ?? "unknown CPU"}, ${cpus().length} cores, load average ` +
  `${loadavg().map((l) => l.toFixed(2)).join(" ")}; Bun ${Bun.version}, onnxruntime-node ${ort.env.versions.common}`);
let failed = false;
for (const threads of threadCounts) {
  const peak = measurePeak(threads);
  console.log(`\n${threads} thread${threads === 1 ? "" : "s"}: FMA peak ${peak.cpu_gflops.toFixed(1)} GFLOP/s by CPU time ` +
    `(${peak.lanes}-lane vectors); by the wall clock ${peak.gflops.toFixed(1)}, ` +
    `${((peak.gflops / peak.cpu_gflops) * 100).toFixed(0)}% of it (the rest went to other processes)`);
  console.log(["size".padEnd(7), "threads", "Tessera GFLOP/s".padStart(15), "of peak".padStart(11), "ORT GFLOP/s".padStart(15),
    "of peak".padStart(11), "ratio".padStart(6)].join("  "));
  for (const n of sizes) {
    try {
      printRow(await benchSize(n, threads, peak));
    } catch (error) {
      failed = true;
      console.log(`${`${n}^3`.padEnd(7)}  ${String(threads).padStart(7)}  FAIL: ${(error as Error).message}`);
    }
  }
}
console.log("\nGFLOP/s: 2 N^3 / time, median / best; of peak: that over the CPU-time FMA peak at that thread " +
  "count; ratio: Tessera median time / ORT median time (below 1: Tessera is faster)");
process.exitCode = failed ? 1 : 0;
