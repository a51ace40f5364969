/**
 * What profiling costs: the same model, one request recording events and one not, timed in
 * alternating blocks in this one process, on ResNet-50 (few, heavy nodes) and on a 100-node
 * model of small ops (where per-node bookkeeping shows most).
 *
 * Usage: bun bench/profiling.ts [--runs N] [--block N] [--threads N]
 * ResNet-50 comes from scripts/bench-models (.cache/bench-models); it is skipped when absent.
 */
import { existsSync } from "node:fs";
import { parseArgs } from "node:util";
import { smallOps } from "./small_models.ts";
import * as rt from "../src/index.ts";

const { values: args } = parseArgs({
  options: {
    runs: { type: "string", default: "200" },
    block: { type: "string", default: "10" },
    threads: { type: "string", default: "1" },
  },
});
const modelDir = process.env.TESSERA_BENCH_MODELS ?? new URL("../.cache/bench-models/", import.meta.url).pathname;

function median(samples: number[]): number {
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

function bench(label: string, model: rt.Model): void {
  const shape = model.inputs[0]!.shape!.map(Number);
  const input = rt.tensor(new Float32Array(shape.reduce((a, b) => a * b, 1)).map((_, i) => Math.sin(i)), { shape });
  const plain = model.createRequest();
  const profiled = model.createRequest();
  profiled.enableProfiling(1 << 22);
  const output = model.outputNames[0]!;
  const outputs = { [output]: rt.tensor({ dtype: "float32", shape: model.outputs[0]!.shape!.map(Number) }) };
  const times = { off: [] as number[], on: [] as number[] };
  const runs = Number(args.runs);
  const block = Number(args.block);
  for (let i = 0; i < 3; i++) {
    plain.runSync([input], { into: outputs });
    profiled.runSync([input], { into: outputs });
  }
  for (let done = 0; done < runs; done += block) {
    for (const [request, list] of [[plain, times.off], [profiled, times.on]] as const) {
      if (request === profiled) request.clearProfileEvents();
      for (let i = 0; i < block; i++) {
        const start = performance.now();
        request.runSync([input], { into: outputs });
        list.push(performance.now() - start);
      }
    }
  }
  const events = profiled.getProfileEvents().length;
  const off = median(times.off);
  const on = median(times.on);
  console.log(
    `${label.padEnd(24)} off ${off.toFixed(3).padStart(8)} ms   on ${on.toFixed(3).padStart(8)} ms   ` +
      `overhead ${(((on - off) / off) * 100).toFixed(2).padStart(6)} %   ${Math.round(events / block)} events per run`,
  );
  plain.dispose();
  profiled.dispose();
}

const threads = Number(args.threads);
console.log(`profiling overhead, median of ${args.runs} runs each, threads ${threads}`);
bench("100-node small model", rt.loadModelSync(smallOps(), { threads }));
const resnet = `${modelDir}/resnet50.onnx`;
if (existsSync(resnet)) bench("ResNet-50", rt.loadModelSync(resnet, { threads }));
else console.log(`ResNet-50: ${resnet} is missing (scripts/bench-models makes it)`);
