/**
 * `tessera bench <model>`: latency and throughput, with benchmark_app's options (single-dash
 * long names such as -niter, or the --long spelling). -hint latency keeps one request in flight;
 * -hint throughput keeps max(2, cores) unless -nireq says how many. -api sync runs one request
 * on this thread in a loop; -api async keeps the requests in flight on the native workers.
 */
import { writeSync } from "node:fs";
import { parseArgs } from "node:util";
import { devices } from "../device.ts";
import { loadModel } from "../model.ts";
import { choiceOption, integerOption, longOptions, modelPath, positiveNumberOption, UsageError } from "./args.ts";
import { benchReportJson, formatBenchReport } from "./bench-report.ts";
import { buildInputs } from "./inputs.ts";
import { type Budget, measureAsync, measureSync, preallocateOutputs, type Worker } from "./measure.ts";
import { Progress } from "./progress.ts";

export const benchUsage = `usage: tessera bench <model> [options]   (each option also as --name)
  -niter N                  timed iterations
  -t S                      seconds to run (default 10 when -niter is not given;
                            with both, the run lasts until both are reached)
  -hint latency|throughput  1 request in flight, or max(2, cores) (default latency)
  -nireq N                  requests in flight (overrides the hint)
  -api sync|async           runSync in a loop, or requests in flight (default: sync for 1 request)
  -threads N                the model's kernel threads (default: one per core)
  -shape name[1,3,224,224]  dims of a dynamic input (or name=1,3,224,224); repeatable
  -i name=file.npy|.bin     an input from a file (default: random); repeatable
  -seed N                   seed of the random inputs (default 0)
  -warmup N                 untimed runs of each request first (default 1)
  -report json              one JSON object on stdout instead of the text report`;

/** benchmark_app's single-dash names, and this command's aliases, to parseArgs' long names. */
const names: Record<string, string> = {
  niter: "niter", t: "time", time: "time", nireq: "nireq", hint: "hint", api: "api", threads: "threads",
  shape: "shape", i: "input", input: "input", seed: "seed", warmup: "warmup", report: "report", h: "help", help: "help",
};

const options = {
  niter: { type: "string" },
  time: { type: "string" },
  nireq: { type: "string" },
  hint: { type: "string" },
  api: { type: "string" },
  threads: { type: "string" },
  shape: { type: "string", multiple: true },
  input: { type: "string", multiple: true },
  seed: { type: "string" },
  warmup: { type: "string" },
  report: { type: "string" },
  help: { type: "boolean" },
} as const;

/** Progress goes straight to stderr: the sync loop holds the event loop that a stream would wait for. */
const stderr = { write: (text: string) => writeSync(2, text), isTTY: process.stderr.isTTY };

export async function bench(args: string[]): Promise<string> {
  const { values, positionals } = parseArgs({ args: longOptions(args, names), options, allowPositionals: true, strict: true });
  if (values.help) return benchUsage;
  const path = modelPath("bench", positionals);
  const hint = choiceOption(values.hint, "-hint", ["latency", "throughput"] as const) ?? "latency";
  const report = choiceOption(values.report, "-report", ["json", "text"] as const) ?? "text";
  const cores = devices()[0]?.cpu?.cores ?? 1;
  const requests = integerOption(values.nireq, "-nireq", 1) ?? (hint === "throughput" ? Math.max(2, cores) : 1);
  const api = choiceOption(values.api, "-api", ["sync", "async"] as const) ?? (requests > 1 ? "async" : "sync");
  if (api === "sync" && requests > 1) throw new UsageError(`-api sync keeps one request in flight; ${requests} need -api async`);
  const iterations = integerOption(values.niter, "-niter", 1);
  const seconds = positiveNumberOption(values.time, "-t") ?? (iterations === undefined ? 10 : undefined);
  const budget: Budget = { iterations, seconds, warmup: integerOption(values.warmup, "-warmup", 0) ?? 1 };
  const threads = integerOption(values.threads, "-threads", 1);
  const seed = integerOption(values.seed, "-seed", 0);

  const loadStart = performance.now();
  using model = await loadModel(path, { threads });
  const loadMs = performance.now() - loadStart;
  using inputs = buildInputs(model, { inputs: values.input, shapes: values.shape, seed });
  const shapes = Object.fromEntries(inputs.items.map((item) => [item.name, item.shape]));
  const workers: Worker[] = Array.from({ length: requests }, () => ({ request: model.createRequest(), outputs: preallocateOutputs(model, shapes) }));
  const progress = new Progress({ iterations, seconds }, stderr);
  const { latenciesMs, totalMs } = api === "sync"
    ? measureSync(workers[0]!, inputs.tensors, budget, progress)
    : await measureAsync(workers, inputs.tensors, budget, progress);
  const { count, min, median, mean, p90, p99, max } = latenciesMs.statistics();
  const latencyMs = { min, median, mean, p90, p99, max };
  const result = {
    model: path,
    loadMs,
    inputs: inputs.describe(),
    threads: Number(model.getOption("threads")) || cores,
    api,
    hint,
    requests,
    warmup: budget.warmup,
    iterations: count,
    totalMs,
    latencyMs,
    throughput: count / (totalMs / 1000),
  };
  return report === "json" ? benchReportJson(result) : formatBenchReport(result);
}
