/**
 * What node observers cost: a 100-node elementwise model (a chain of Add over [1, 1024] floats,
 * one thread) run with observers off, with an observer that has no callbacks (the library tells
 * every node and JS dispatches each event to nothing), and with onNodeStart and onNodeEnd set
 * (they count). For runSync (the observer is called as each node runs, on this thread) and for
 * `await run()` (on a native worker, events through the threadsafe trampoline). The variants run
 * in interleaved blocks, their order rotating, after a warm-up; prints the median µs per run of
 * each and its ratio to "off".
 *
 * Usage: bun bench/observers.ts [--blocks N] [--block N]   (or: deno run -A bench/observers.ts)
 */
import { loadavg } from "node:os";
import process from "node:process";
import { parseArgs } from "node:util";
import * as rt from "../src/index.ts";

const { values: args } = parseArgs({
  args: process.argv.slice(2),
  options: { blocks: { type: "string", default: "20" }, block: { type: "string", default: "50" } },
});
const blocks = Number(args.blocks);
const perBlock = Number(args.block);

function chain(nodes: number): Uint8Array {
  const g = new rt.onnx.GraphBuilder("chain");
  let value = g.input("x", "float32", [1, 1024]);
  g.initializer("one", "float32", [1024], new Float32Array(1024).fill(1));
  for (let i = 0; i < nodes - 1; i++) value = g.node("Add", [value, "one"]);
  g.node("Relu", [value], { outputs: ["y"] });
  g.output("y", "float32", [1, 1024]);
  return rt.onnx.buildModel(g);
}

using model = rt.loadModelSync(chain(100), { threads: 1 });
const x = rt.tensor(new Float32Array(1024), { shape: [1, 1024] });
let counted = 0;
const observers: Record<string, rt.NodeObserver | null> = {
  off: null,
  "no callbacks": {},
  callbacks: { onNodeStart: () => void counted++, onNodeEnd: () => void counted++ },
};
const names = Object.keys(observers);

type Runner = (observer: rt.NodeObserver | null) => Promise<void> | void;
const ways: Record<string, Runner> = {
  runSync: (observer) => void model.runSync({ x }, { observer }),
  "await run": async (observer) => void await model.run({ x }, { observer }),
};

for (const [way, runner] of Object.entries(ways)) {
  const samples = new Map(names.map((n) => [n, [] as number[]]));
  for (let i = 0; i < 200; i++) for (const name of names) await runner(observers[name]!);
  for (let b = 0; b < blocks; b++) {
    for (let k = 0; k < names.length; k++) {
      const name = names[(b + k) % names.length]!;
      for (let i = 0; i < perBlock; i++) {
        const started = performance.now();
        await runner(observers[name]!);
        samples.get(name)!.push((performance.now() - started) * 1000);
      }
    }
  }
  const medians = new Map([...samples].map(([name, list]) => [name, rt.percentile(list, 50)]));
  const off = medians.get("off")!;
  console.log(`${way} (100 nodes, ${blocks * perBlock} runs each, load ${loadavg()[0]!.toFixed(2)})`);
  for (const [name, median] of medians) {
    console.log(`  ${name.padEnd(14)} ${median.toFixed(1).padStart(8)} µs   x${(median / off).toFixed(2)}   (+${((median - off) / 100).toFixed(2)} µs per node)`);
  }
}
if (counted === 0) throw new Error("the observer's callbacks never ran");
