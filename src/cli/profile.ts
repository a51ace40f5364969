/**
 * `tessera profile <model> [--trace out.json]`: where a model's time goes, from the engine's own
 * profile events. Prints the per-layer table (most total time first) under the run's latency,
 * and writes the events as a Chrome trace (Perfetto, chrome://tracing) when asked.
 */
import { loadModelSync } from "../model.ts";
import { passphraseFileOption, passphraseFromFile } from "./passphrase.ts";
import { BasicProfiler, type ProfileStatistics } from "../profile/profilers.ts";
import { integerOption, modelPath } from "./args.ts";
import { type Command, type CommandSpec, parseCommand } from "./command.ts";
import { buildInputs } from "./inputs.ts";
import { toJson } from "./json.ts";
import { table } from "./table.ts";

const spec = {
  name: "profile",
  operands: "<model>",
  summary: "time per layer from the engine's events; a Chrome trace",
  description: "Profiles a model with BasicProfiler: runs it a number of times after untimed warm-up runs and prints " +
    "the run's latency and a table of every layer (mean, median, p90 and total time, share of the run), the most " +
    "total time first, or writes the engine's events as a Chrome trace. Inputs are given or random as for run.",
  options: {
    trace: { type: "string", value: "out.json", help: "write the events as a Chrome trace (ui.perfetto.dev, chrome://tracing)" },
    input: { type: "string", value: "name=file.npy|name=file.bin|name=random", multiple: true, help: "an input, as for run", default: "random" },
    shape: { type: "string", value: "name=1,3,224,224", multiple: true, help: "the dims of an input whose shape the model leaves open", aliases: ["shape"] },
    threads: { type: "string", value: "N", help: "the model's kernel threads", default: "one per core", aliases: ["threads", "nthreads"] },
    repeat: { type: "string", value: "N", help: "timed runs", default: "10", aliases: ["niter"] },
    warmup: { type: "string", value: "N", help: "untimed runs first", default: "2" },
    top: { type: "string", value: "N", help: "show only the N layers with the most total time", default: "all" },
    json: { type: "boolean", help: "print the inputs and statistics as JSON instead of the table" },
    "passphrase-file": passphraseFileOption,
  },
} as const satisfies CommandSpec;

export function profile(args: string[]): string {
  const { values, positionals } = parseCommand(spec, args);
  const path = modelPath("profile", positionals);
  const threads = integerOption(values.threads, "--threads", 0);
  const repeat = integerOption(values.repeat, "--repeat", 1) ?? 10;
  const warmup = integerOption(values.warmup, "--warmup", 0) ?? 2;
  const top = integerOption(values.top, "--top", 1);
  using model = loadModelSync(path, { threads, passphrase: passphraseFromFile(values["passphrase-file"]) });
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
  if (values.json) return toJson({ model: path, inputs: inputs.describe(), statistics, trace: values.trace ?? null });
  return [summary(path, statistics), "", layerTable(statistics, top), ...(traceLine ? ["", traceLine] : [])].join("\n");
}

export const profileCommand: Command = { spec, run: profile };

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
