/**
 * `tessera bench <model>`: latency and throughput, with benchmark_app's options (single-dash
 * long names such as -niter, or the --long spelling). -hint latency keeps one request in flight;
 * -hint throughput keeps max(2, cores) unless -nireq says how many. -api sync runs one request
 * on this thread in a loop; -api async keeps the requests in flight on the native workers.
 */
import { writeSync } from "node:fs";
import { devices } from "../device.ts";
import { loadModel } from "../model.ts";
import { passphraseFileOption, passphraseFromFile } from "./passphrase.ts";
import { choiceOption, integerOption, modelPath, positiveNumberOption, UsageError } from "./args.ts";
import { batchOf, batchShapeSpecs, checkBatch } from "./batch.ts";
import { formatBenchReport } from "./bench-report.ts";
import { type Command, type CommandSpec, parseCommand } from "./command.ts";
import { buildInputs } from "./inputs.ts";
import { type Budget, measureAsync, measureSync, preallocateOutputs, type Worker } from "./measure.ts";
import { toJson } from "./json.ts";
import { Progress } from "./progress.ts";

const spec = {
  name: "bench",
  operands: "<model>",
  summary: "latency and throughput, benchmark_app style",
  description: "Measures a model's latency and throughput with OpenVINO benchmark_app's options, each spelt with one " +
    "dash or two. Runs until -niter iterations or -t seconds are done (both: until both are), after untimed warm-up " +
    "runs, and reports the latency percentiles and the inferences per second; when the inputs have a batch (their " +
    "leading dim) above 1, items per second too. Progress goes to stderr.",
  singleDash: true,
  options: {
    niter: { type: "string", value: "N", help: "timed iterations" },
    time: { type: "string", value: "S", short: "t", help: "seconds to run; with -niter too, the run lasts until both are reached", default: "10 when -niter is not given" },
    hint: { type: "string", value: "latency|throughput", help: "1 request in flight, or max(2, cores)", default: "latency" },
    nireq: { type: "string", value: "N", help: "requests in flight (overrides the hint)" },
    api: { type: "string", value: "sync|async", help: "runSync in a loop, or requests in flight on the native workers", default: "sync for 1 request, else async" },
    threads: { type: "string", value: "N", help: "the model's kernel threads", default: "one per core" },
    batch: { type: "string", value: "N", short: "b", help: "the batch: the size of every input's open leading dim, and the items per inference in items/s", default: "the inputs' shared leading dim" },
    shape: { type: "string", value: "name[1,3,224,224]", multiple: true, help: "the dims of an input whose shape the model leaves open; name=1,3,224,224 too" },
    input: { type: "string", value: "name=file.npy|name=file.bin", short: "i", multiple: true, help: "an input from a file", default: "random" },
    seed: { type: "string", value: "N", help: "the seed of the random inputs", default: "0" },
    warmup: { type: "string", value: "N", help: "untimed runs of each request first", default: "1" },
    report: { type: "string", value: "json|text", help: "one JSON object on stdout, or the text report", default: "text" },
    "passphrase-file": passphraseFileOption,
  },
} as const satisfies CommandSpec;

/** Progress goes straight to stderr: the sync loop holds the event loop that a stream would wait for. */
const stderr = { write: (text: string) => writeSync(2, text), isTTY: process.stderr.isTTY };

export async function bench(args: string[]): Promise<string> {
  const { values, positionals } = parseCommand(spec, args);
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
  const batch = integerOption(values.batch, "-b", 1);

  const loadStart = performance.now();
  using model = await loadModel(path, { threads, passphrase: passphraseFromFile(values["passphrase-file"]) });
  const loadMs = performance.now() - loadStart;
  const batchShapes = batch === undefined ? [] : batchShapeSpecs(model.inputs, batch, values.shape ?? [], values.input ?? []);
  using inputs = buildInputs(model, { inputs: values.input, shapes: [...(values.shape ?? []), ...batchShapes], seed });
  const shapes = Object.fromEntries(inputs.items.map((item) => [item.name, item.shape]));
  if (batch !== undefined) checkBatch("-b", batch, model.inputs, shapes);
  const workers: Worker[] = Array.from({ length: requests }, () => ({ request: model.createRequest(), outputs: preallocateOutputs(model, shapes) }));
  const progress = new Progress({ iterations, seconds }, stderr);
  const { latenciesMs, totalMs } = api === "sync"
    ? measureSync(workers[0]!, inputs.tensors, budget, progress)
    : await measureAsync(workers, inputs.tensors, budget, progress);
  const { count, min, median, mean, p90, p99, max } = latenciesMs.statistics();
  const latencyMs = { min, median, mean, p90, p99, max };
  const throughput = count / (totalMs / 1000);
  const items = batchOf(model.inputs, shapes); // -b's, checked above
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
    throughput,
    batch: items,
    itemsPerSecond: items * throughput,
  };
  return report === "json" ? toJson(result) : formatBenchReport(result);
}

export const benchCommand: Command = { spec, run: bench };
