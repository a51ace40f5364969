/**
 * Profilers over a model: BasicProfiler (per-layer times of one input, from the engine's events),
 * BatchProfiler (the same for several inputs, per batch and in total), PerformanceProfiler
 * (latency, throughput and memory by wall clock, without profiling's overhead) and
 * optimizeBatchSize (throughput per item at growing batch sizes).
 *
 * Times are reported in milliseconds, with the unit in every field name (StatisticsMs); the raw
 * durations the engine measured stay in ns (ProfileDurations). Where no inputs are given, seeded
 * random ones are made from the model's input TensorInfo (random-inputs.ts).
 */
import { dtypeInfo } from "../dtype.ts";
import { InvalidArgumentError, InvalidStateError, NotImplementedError, ShapeError } from "../errors.ts";
import { memorySample } from "../memory-monitor.ts";
import type { Model, Operation, TensorInfo } from "../model.ts";
import type { InferRequest, InputValue, Inputs } from "../request.ts";
import { disposeValue } from "../run-values.ts";
import { type NestedArray, Tensor, tensor } from "../tensor.ts";
import { writeFileSync } from "node:fs";
import type { ProfileDurations, ProfileOptions, ProfileResult } from "./events.ts";
import { randomInputs } from "./random-inputs.ts";
import { MS_PER_NS, statisticsMs, type StatisticsMs } from "./statistics.ts";
import { type ChromeTrace, type ChromeTraceOptions, toChromeTrace, writeChromeTrace } from "./trace.ts";

export interface LayerStatistics extends StatisticsMs {
  /** Index in model.operations. */
  opIndex: number;
  name: string;
  opType: string;
}

export interface ProfileStatistics {
  /** Timed runs profiled. */
  runs: number;
  /** Events the ring buffer lost (the oldest); non-zero means some spans are missing. */
  dropped: number;
  /** Each whole run. */
  model: StatisticsMs;
  /** Each top-level operation executed, the most total time first. */
  layers: LayerStatistics[];
}

/** Statistics of the durations of one or more profiles. */
export function profileStatistics(durations: ProfileDurations, runs: number, dropped: number): ProfileStatistics {
  if (durations.model.length === 0) {
    throw new InvalidStateError("the profile holds no complete model run: the event buffer may be too small for one run");
  }
  const layers = durations.layers
    .filter((layer) => layer.ns.length > 0)
    .map((layer) => ({ opIndex: layer.opIndex, name: layer.name, opType: layer.opType, ...statisticsMs(layer.ns, MS_PER_NS) }))
    .sort((a, b) => b.totalMs - a.totalMs || a.opIndex - b.opIndex);
  return { runs, dropped, model: statisticsMs(durations.model, MS_PER_NS), layers };
}

/** The durations of several profiles as one: every sample of each, layers joined by opIndex. */
export function mergeDurations(list: readonly ProfileDurations[]): ProfileDurations {
  const layers = new Map<number, ProfileDurations["layers"][number]>();
  for (const durations of list) {
    for (const layer of durations.layers) {
      const merged = layers.get(layer.opIndex);
      if (merged) merged.ns.push(...layer.ns);
      else layers.set(layer.opIndex, { ...layer, ns: [...layer.ns] });
    }
  }
  return {
    model: list.flatMap((durations) => durations.model),
    layers: [...layers.values()].sort((a, b) => a.opIndex - b.opIndex),
    copies: list.flatMap((durations) => durations.copies),
  };
}

export interface BasicProfilerOptions extends ProfileOptions {
  /** Inputs to profile with when run() is given none; absent: seeded random ones. */
  inputs?: Inputs;
}

/** Runs `body` with the given inputs, or with random ones made (and disposed) around it. */
function withInputs<T>(model: Model, inputs: Inputs | undefined, body: (inputs: Inputs) => T): T {
  if (inputs !== undefined) return body(inputs);
  const made = randomInputs(model);
  try {
    return body(made);
  } finally {
    for (const t of Object.values(made)) t.dispose();
  }
}

/**
 * What BasicProfiler profiles: a local Model, whose requests profile on the calling thread
 * (`R` is ProfileResult), or a model served elsewhere (src/remote), whose requests answer with a
 * promise (`R` is Promise<ProfileResult>).
 */
export interface ProfileTarget<R extends ProfileResult | Promise<ProfileResult> = ProfileResult> {
  readonly name: string;
  readonly inputs: readonly TensorInfo[];
  readonly operations: readonly Operation[];
  createRequest(): { profile(inputs: Inputs, outputs: undefined, options: ProfileOptions): R; [Symbol.dispose](): void };
}

function writeJson(path: string, value: unknown): void {
  writeFileSync(path, JSON.stringify(value, null, 2));
}

/**
 * Per-layer times of a model on one input, from the engine's profile events. run() returns the
 * result for a local model, and a promise of it for a remote one.
 */
export class BasicProfiler<R extends ProfileResult | Promise<ProfileResult> = ProfileResult> {
  readonly model: ProfileTarget<R>;
  readonly #options: ProfileOptions;
  readonly #inputs: Inputs | undefined;
  #result: ProfileResult | null = null;

  constructor(model: ProfileTarget<R>, options: BasicProfilerOptions = {}) {
    const { inputs, ...profileOptions } = options;
    this.model = model;
    this.#inputs = inputs;
    this.#options = profileOptions;
  }

  /**
   * Profiles (warmup, then the timed runs) on a request of its own, with the given inputs or
   * seeded random ones; keeps and returns the result. The request and any inputs made here are
   * disposed once the profile has ended, a promised one included.
   */
  run(inputs?: Inputs): R {
    const given = inputs ?? this.#inputs;
    const request = this.model.createRequest(); // profile() turns on its events, in a ring of eventBufferSize
    let made: Record<string, Tensor> | null = null;
    const release = () => {
      request[Symbol.dispose]();
      for (const t of Object.values(made ?? {})) t.dispose();
    };
    let result: R;
    try {
      made = given === undefined ? randomInputs(this.model) : null;
      result = request.profile(given ?? made!, undefined, this.#options);
    } catch (error) {
      release();
      throw error;
    }
    if (!(result instanceof Promise)) {
      release();
      this.#result = result as ProfileResult;
      return result;
    }
    return result.then((done) => (this.#result = done)).finally(release) as R;
  }

  /** The last run()'s result; InvalidStateError before any. */
  get result(): ProfileResult {
    if (!this.#result) throw new InvalidStateError("the profiler has not run yet: call run() first");
    return this.#result;
  }

  statistics(): ProfileStatistics {
    const { durations, runs, dropped } = this.result;
    return profileStatistics(durations, runs, dropped);
  }

  /** Writes the statistics and the raw durations (ns) as JSON. */
  dumpJson(path: string): void {
    const { durations, runs, dropped } = this.result;
    writeJson(path, { model: this.model.name, options: this.#options, runs, dropped, statistics: this.statistics(), durations });
  }

  toChromeTrace(options?: ChromeTraceOptions): ChromeTrace {
    return toChromeTrace(this.result.events, this.model.operations, options);
  }

  dumpChromeTrace(path: string, options?: ChromeTraceOptions): ChromeTrace {
    return writeChromeTrace(path, this.result.events, this.model.operations, options);
  }
}

export interface BatchStatistics {
  /** One per batch, in the order given. */
  batches: ProfileStatistics[];
  /** Every batch's samples together. */
  total: ProfileStatistics;
}

/** Profiles a model on several input batches, one profile each, on one request. */
export class BatchProfiler {
  readonly model: Model;
  readonly #options: ProfileOptions;
  #results: ProfileResult[] = [];

  constructor(model: Model, options: ProfileOptions = {}) {
    this.model = model;
    this.#options = { ...options };
  }

  run(batches: readonly Inputs[]): ProfileResult[] {
    if (!Array.isArray(batches) || batches.length === 0) {
      throw new InvalidArgumentError("BatchProfiler.run needs a non-empty array of input batches");
    }
    using request = this.model.createRequest(); // profile() turns on its events, in a ring of eventBufferSize
    this.#results = batches.map((inputs) => request.profile(inputs, undefined, this.#options));
    return this.#results;
  }

  /** The last run()'s results, one per batch; InvalidStateError before any. */
  get results(): ProfileResult[] {
    if (this.#results.length === 0) throw new InvalidStateError("the profiler has not run yet: call run() first");
    return this.#results;
  }

  statistics(): BatchStatistics {
    const results = this.results;
    return {
      batches: results.map((r) => profileStatistics(r.durations, r.runs, r.dropped)),
      total: profileStatistics(
        mergeDurations(results.map((r) => r.durations)),
        results.reduce((sum, r) => sum + r.runs, 0),
        results.reduce((sum, r) => sum + r.dropped, 0),
      ),
    };
  }

  dumpJson(path: string): void {
    const results = this.results;
    writeJson(path, {
      model: this.model.name,
      options: this.#options,
      statistics: this.statistics(),
      batches: results.map(({ runs, dropped, durations }) => ({ runs, dropped, durations })),
    });
  }

  /** Every batch's events in one trace (they share the library's clock). */
  toChromeTrace(options?: ChromeTraceOptions): ChromeTrace {
    return toChromeTrace(this.results.flatMap((r) => r.events), this.model.operations, options);
  }

  dumpChromeTrace(path: string, options?: ChromeTraceOptions): ChromeTrace {
    return writeChromeTrace(path, this.results.flatMap((r) => r.events), this.model.operations, options);
  }
}

export interface BenchmarkOptions {
  /** Timed runs (default 100). */
  iterations?: number;
  /** Untimed runs first (default 10). */
  warmup?: number;
  /** Absent: seeded random inputs. */
  inputs?: Inputs;
  /** Items per run, for itemsPerSecond; absent: the first input's dim 0 when the model declares it dynamic. */
  batchSize?: number;
}

const BYTES_PER_MIB = 1024 * 1024;

export interface BenchmarkResult {
  iterations: number;
  warmup: number;
  /** Wall clock of each timed runSync, outputs included. */
  latency: StatisticsMs;
  /** Timed runs per second of wall clock. */
  runsPerSecond: number;
  /** runsPerSecond × batchSize; null when the batch size is not known. */
  itemsPerSecond: number | null;
  batchSize: number | null;
  /** In MiB (2^20 bytes). RSS is sampled after every run; the runtime's peak is its peak since the library was loaded. */
  memory: {
    rssBeforeMiB: number;
    rssAfterMiB: number;
    rssPeakMiB: number;
    runtimeLiveBeforeMiB: number;
    runtimeLiveAfterMiB: number;
    runtimePeakMiB: number;
  };
}

function checkCount(name: string, value: number, minimum: number): number {
  if (!Number.isInteger(value) || value < minimum) throw new InvalidArgumentError(`${name} must be an integer ≥ ${minimum}, got ${value}`);
  return value;
}

/** Wall-clock ms of each timed run; `afterRun` sees every run, warmup included. */
function timeRuns(request: InferRequest, inputs: Inputs, iterations: number, warmup: number, afterRun: () => void = () => {}): number[] {
  const once = () => {
    const outputs = request.runSync(inputs);
    const end = performance.now();
    for (const output of Object.values(outputs)) disposeValue(output);
    afterRun();
    return end;
  };
  for (let i = 0; i < warmup; i++) once();
  const times: number[] = [];
  for (let i = 0; i < iterations; i++) {
    const start = performance.now();
    times.push(once() - start);
  }
  return times;
}

/** The value given for input `index` (by name or by position). */
function inputValue(model: Model, inputs: Inputs, index: number): InputValue | undefined {
  return Array.isArray(inputs) ? (inputs as readonly InputValue[])[index] : (inputs as Record<string, InputValue>)[model.inputNames[index]!];
}

function hasDynamicBatch(model: Model): boolean {
  return typeof model.inputs[0]?.shape?.[0] === "string";
}

/** Latency, throughput and memory of plain runSync calls: no profiling events, so no profiling overhead. */
export class PerformanceProfiler {
  readonly model: Model;

  constructor(model: Model) {
    this.model = model;
  }

  benchmark(options: BenchmarkOptions = {}): BenchmarkResult {
    const iterations = checkCount("iterations", options.iterations ?? 100, 1);
    const warmup = checkCount("warmup", options.warmup ?? 10, 0);
    if (options.batchSize !== undefined) checkCount("batchSize", options.batchSize, 1);
    using request = this.model.createRequest();
    return withInputs(this.model, options.inputs, (inputs) => {
      const before = memorySample();
      let rssPeak = before.rssBytes;
      const times = timeRuns(request, inputs, iterations, warmup, () => {
        rssPeak = Math.max(rssPeak, memorySample().rssBytes);
      });
      const after = memorySample();
      const latency = statisticsMs(times, 1);
      const runsPerSecond = (iterations * 1000) / latency.totalMs;
      const batchSize = options.batchSize ?? this.#batchSizeOf(inputs);
      return {
        iterations,
        warmup,
        latency,
        runsPerSecond,
        itemsPerSecond: batchSize === null ? null : runsPerSecond * batchSize,
        batchSize,
        memory: {
          rssBeforeMiB: before.rssBytes / BYTES_PER_MIB,
          rssAfterMiB: after.rssBytes / BYTES_PER_MIB,
          rssPeakMiB: Math.max(rssPeak, after.rssBytes) / BYTES_PER_MIB,
          runtimeLiveBeforeMiB: before.runtimeLiveBytes / BYTES_PER_MIB,
          runtimeLiveAfterMiB: after.runtimeLiveBytes / BYTES_PER_MIB,
          runtimePeakMiB: after.runtimePeakBytes / BYTES_PER_MIB,
        },
      };
    });
  }

  #batchSizeOf(inputs: Inputs): number | null {
    if (!hasDynamicBatch(this.model)) return null;
    const value = inputValue(this.model, inputs, 0);
    return value instanceof Tensor ? (value.shape[0] ?? null) : null;
  }
}

export interface BatchSizeResult {
  batchSize: number;
  /** Median wall clock of one run at this batch size. */
  latencyMs: number;
  itemsPerSecond: number;
}

export interface OptimizeBatchSizeOptions {
  /** Timed runs per batch size (default 10). */
  iterations?: number;
  /** Untimed runs per batch size first (default 2). */
  warmup?: number;
}

/**
 * `t` with `size` items along dim 0, taken cyclically from its own items: its one item repeated,
 * or its first `size` items when it has more.
 */
export function repeatAlongFirstDim(t: Tensor, size: number): Tensor {
  const items = t.shape[0];
  if (items === undefined || items === 0) {
    throw new ShapeError(`a tensor of shape [${t.shape.join(", ")}] has no items along dim 0 to repeat`);
  }
  const shape = [size, ...t.shape.slice(1)];
  if (t.dtype === "string") {
    const rows = t.toArray() as NestedArray[];
    return tensor(Array.from({ length: size }, (_, i) => rows[i % items]!), { shape, dtype: "string" });
  }
  const itemBits = (t.size / items) * dtypeInfo(t.dtype).bits * dtypeInfo(t.dtype).lanes;
  if (itemBits % 8 !== 0) throw new NotImplementedError(`items of ${t.dtype} that do not fill whole bytes cannot be repeated`);
  const itemBytes = itemBits / 8;
  const source = t.toTypedArray();
  const bytes = new Uint8Array(source.buffer, source.byteOffset, items * itemBytes);
  const out = new Uint8Array(size * itemBytes);
  for (let i = 0; i < size; i++) {
    const item = i % items;
    out.set(bytes.subarray(item * itemBytes, (item + 1) * itemBytes), i * itemBytes);
  }
  const Storage = dtypeInfo(t.dtype).storage!;
  const quantization = t.quantization;
  return tensor(new Storage(out.buffer), { shape, dtype: t.dtype, copy: false, ...quantization });
}

/** 1, 2, 4, ... up to `max`, and `max` itself when it is not a power of two. */
function batchSizesUpTo(max: number): number[] {
  const sizes: number[] = [];
  for (let size = 1; size <= max; size *= 2) sizes.push(size);
  if (sizes[sizes.length - 1] !== max) sizes.push(max);
  return sizes;
}

/**
 * Throughput per item at batch sizes 1, 2, 4, ... up to maxBatchSize, for a model whose first
 * input has a dynamic dim 0. Every input whose dim 0 is that same dim is made from the given
 * tensors by repeating (or slicing) them along dim 0; the others are passed as given. ShapeError
 * for a model whose first input has a fixed dim 0.
 */
export function optimizeBatchSize(
  model: Model,
  inputs: Inputs,
  maxBatchSize: number,
  options: OptimizeBatchSizeOptions = {},
): { best: number; results: BatchSizeResult[] } {
  checkCount("maxBatchSize", maxBatchSize, 1);
  const iterations = checkCount("iterations", options.iterations ?? 10, 1);
  const warmup = checkCount("warmup", options.warmup ?? 2, 0);
  const infos = model.inputs;
  const batchDim = infos[0]?.shape?.[0];
  if (typeof batchDim !== "string") {
    const first = infos[0];
    throw new ShapeError(
      first
        ? `model input '${first.name}' has ${first.shape === null ? "an unknown rank" : `a fixed dim 0 (${first.shape[0]})`}; optimizeBatchSize needs a dynamic batch dim`
        : "the model has no inputs to batch",
    );
  }
  const batched = infos.map((info, i) => {
    if (info.shape?.[0] !== batchDim) return null;
    const value = inputValue(model, inputs, i);
    if (!(value instanceof Tensor)) {
      throw new InvalidArgumentError(`input '${info.name}' must be given as a Tensor to be batched along '${batchDim}'`);
    }
    return value;
  });

  using request = model.createRequest();
  const results = batchSizesUpTo(maxBatchSize).map((batchSize) => {
    const made: Tensor[] = [];
    try {
      const values: Record<string, InputValue> = {};
      infos.forEach((info, i) => {
        const source = batched[i];
        if (source) {
          const repeated = repeatAlongFirstDim(source, batchSize);
          made.push(repeated);
          values[info.name] = repeated;
        } else {
          const value = inputValue(model, inputs, i);
          if (value !== undefined) values[info.name] = value;
        }
      });
      const times = timeRuns(request, values, iterations, warmup);
      const latencyMs = statisticsMs(times, 1).medianMs;
      return { batchSize, latencyMs, itemsPerSecond: (batchSize * 1000) / latencyMs };
    } finally {
      for (const t of made) t.dispose();
    }
  });
  const best = results.reduce((a, b) => (b.itemsPerSecond > a.itemsPerSecond ? b : a));
  return { best: best.batchSize, results };
}
