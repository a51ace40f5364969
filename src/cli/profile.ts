/**
 * `tessera profile <model> [--trace out.json]`: where a model's time goes, from the engine's own
 * profile events. Prints the per-layer table (most total time first) under the run's latency,
 * and writes the events as a Chrome trace (Perfetto, chrome://tracing) when asked.
 */
import { parseArgs } from "node:util";
import { loadModelSync } from "../model.ts";
import { BasicProfiler, type ProfileStatistics } from "../profile/profilers.ts";
import { integerOption, longOptions, modelPath } from "./args.ts";
import { buildInputs } from "./inputs.ts";
import { table } from "./table.ts";

const options = {
  trace: { type: "string" },
  input: { type: "string", multiple: true },
  shape: { type: "string", multiple: true },
  threads: { type: "string" },
  repeat: { type: "string" },
  warmup: { type: "string" },
  top: { type: "string" },
  json: { type: "boolean" },
} as const;

/** benchmark_app's spellings, as `bench` takes them. */
const singleDash = { niter: "repeat", threads: "threads", shape: "shape", nthreads: "threads" };

export function profile(args: string[]): string {
  const { values, positionals } = parseArgs({ args: longOptions(args, singleDash), options, allowPositionals: true, strict: true });
  const path = modelPath("profile", positionals);
  const threads = integerOption(values.threads, "--threads", 0);
  const repeat = integerOption(values.repeat, "--repeat", 1) ?? 10;
  const warmup = integerOption(values.warmup, "--warmup", 0) ?? 2;
  const top = integerOption(values.top, "--top", 1);
  using model = loadModelSync(path, threads === undefined ? {} : { threads });
  using inputs = buildInputs(model, { inputs: values.input, shapes: values.shape });
  // Room for every event of every timed run: two per node, dispatch and transfer, with margin.
  const eventBufferSize = Math.min(1 << 22, Math.max(1 << 16, (repeat + warmup) * model.operations.length * 16));
  const profiler = new BasicProfiler(model, { repeat, warmup, eventBufferSize, inputs: inputs.tensors });
  const result = profiler.run();
  const statistics = profiler.statistics();
  let traceLine = "";
  if (values.trace) {
    const trace = profiler.dumpChromeTrace(values.trace);
    const spans = trace.traceEvents.filter((e) => e.ph === "B").length;
    traceLine = `trace: ${values.trace} (${spans} spans from ${result.events.length} events; open in ui.perfetto.dev or chrome://tracing)`;
  }
  if (values.json) return JSON.stringify({ model: path, inputs: inputs.describe(), statistics, trace: values.trace ?? null }, null, 2);
  return [summary(path, statistics), "", layerTable(statistics, top), ...(traceLine ? ["", traceLine] : [])].join("\n");
}

function ms(value: number): string {
  return value.toFixed(3);
}

function summary(path: string, s: ProfileStatistics): string {
  const m = s.model;
  const dropped = s.dropped > 0 ? `, ${s.dropped} events lost (raise the buffer)` : "";
  return `model ${path}: ${s.runs} runs${dropped}\nlatency ms: min ${ms(m.minMs)}  median ${ms(m.medianMs)}  mean ${ms(m.meanMs)}  p90 ${ms(m.p90Ms)}  max ${ms(m.maxMs)}`;
}

function layerTable(s: ProfileStatistics, top: number | undefined): string {
  const modelTotal = s.model.totalMs;
  const shown = top === undefined ? s.layers : s.layers.slice(0, top);
  const rows = shown.map((layer) => [
    String(layer.opIndex),
    layer.name || "(unnamed)",
    layer.opType,
    String(layer.count),
    ms(layer.meanMs),
    ms(layer.medianMs),
    ms(layer.p90Ms),
    ms(layer.totalMs),
    `${((layer.totalMs / modelTotal) * 100).toFixed(1)}%`,
  ]);
  const hidden = s.layers.length - shown.length;
  const more = hidden > 0 ? `\n(${hidden} more layers; --top shows more)` : "";
  return table(["#", "node", "op", "runs", "mean ms", "median ms", "p90 ms", "total ms", "share"], rows) + more;
}
