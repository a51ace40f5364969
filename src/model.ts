/**
 * Models: loading (on a native thread, so the event loop keeps running; or synchronously),
 * options, and everything the library knows about a model before it runs: signature, TensorInfo
 * with symbolic shapes, operations, metadata, and shape queries.
 */
import { InvalidArgumentError, InvalidStateError } from "./errors.ts";
import { dtypeFromCode } from "./dtype.ts";
import { NativeHandle, type Owner } from "./handle.ts";
import { check, cString, lib, native, outPointer, outString, type Pointer } from "./native.ts";
import { root } from "./runtime.ts";
import { type Inputs, InferRequest, type Outputs, type Port, type RunOptions, type Signature, type Value } from "./request.ts";
import { RunClock } from "./run-clock.ts";
import { RunGate } from "./run-gate.ts";
import { checkOptionKeys } from "./option-keys.ts";
import { runOptionsFrom } from "./run-options.ts";
import { devicesFromArgument, tesseraDeviceName } from "./device-names.ts";
import { completeLoad, completeLoadSync, LoadListener } from "./load-progress.ts";
import { type ModelConfig, modelConfig, setModelThreads } from "./performance.ts";
import { type BatchOptions, runBatch } from "./run-batch.ts";
import { weightOrigins, type WeightOrigins } from "./model-cache.ts";
import { startUpdate } from "./model-update.ts";

import type { Copy, DimValue, InputShapes, Island, LoadOptions, ModelSource, Operation, Quantization, TensorInfo } from "./model-types.ts";
export type { Copy, DimValue, InputShapes, Island, LoadOptions, ModelSource, Operation, Quantization, TensorInfo } from "./model-types.ts";

const optionKeys: Record<keyof LoadOptions, string> = {
  devices: "devices",
  strict: "strict",
  memoryOptimization: "memory_optimization",
  disableDenormals: "disable_denormals",
  intermediateSavePath: "intermediate_save_path",
  passphrase: "passphrase",
  threads: "threads",
  cores: "cores",
  scheduler: "scheduler",
  profiling: "profiling",
  profileBufferSize: "profile_buffer_size",
  inputShapes: "input_shapes",
  onProgress: "", // not a native option: a callback (load-progress.ts)
  performanceHint: "performance_hint",
  numRequests: "num_requests",
  cacheDir: "cache_dir",
};

const loadOptionNames = new Set(Object.keys(optionKeys));

/** What other runtimes call these options, for the message that refuses their names. */
const foreignLoadOptions: Record<string, string> = {
  executionProviders: "Tessera's is devices (tessera/ort takes onnxruntime's session options as they are)",
  intraOpNumThreads: "Tessera's is threads",
  device: "Tessera's is devices",
};

/**
 * Checks load options before anything is made: an object whose keys are all load options. A
 * device name in their place is OpenVINO's compile_model(model, "CPU"), refused with the
 * spelling Tessera takes.
 */
export function checkLoadOptions(options: unknown): asserts options is LoadOptions {
  if (typeof options === "string") {
    const device = tesseraDeviceName(options) ?? options.toLowerCase();
    throw new InvalidArgumentError(`load options must be an object, not the string '${options}': to choose a device, pass { devices: "${device}" }`);
  }
  checkOptionKeys(options, loadOptionNames, "load option", (key) => foreignLoadOptions[key]);
}

/** A native options object with every given option set (each validated by the library). */
function nativeOptions(options: LoadOptions): Pointer {
  checkLoadOptions(options);
  const handle = outPointer((slot) => lib.tsr_options_create(slot));
  try {
    for (const [key, value] of Object.entries(options)) {
      if (value === undefined || key === "onProgress") continue;
      const nativeKey = optionKeys[key as keyof LoadOptions];
      const text = key === "inputShapes" ? shapeSpec(value as InputShapes)
        : Array.isArray(value) ? value.join(",") : String(value);
      check(lib.tsr_options_set(handle, cString(nativeKey), cString(text)));
    }
    return handle;
  } catch (error) {
    lib.tsr_options_destroy(handle);
    throw error;
  }
}

/**
 * Checks load options as a load would, names and values (the library validates each value),
 * without loading anything: for a caller that must tell a wrong option from a model that fails.
 */
export function checkLoadOptionValues(options: unknown): asserts options is LoadOptions {
  lib.tsr_options_destroy(nativeOptions(options as LoadOptions));
}

export function sourceBytes(source: Uint8Array | ArrayBuffer): Uint8Array {
  return source instanceof Uint8Array ? source : new Uint8Array(source);
}

/**
 * Input shapes as the library takes them: "x=8,3,224,224;#1=N,4" (by name, or by position).
 * Names that would break that text are refused.
 */
function shapeSpec(shapes: InputShapes): string {
  if (shapes === null || typeof shapes !== "object") {
    throw new InvalidArgumentError("input shapes must be a record of shapes by input name, or an array of shapes in input order");
  }
  const entries = Array.isArray(shapes)
    ? shapes.map((shape, i) => [`#${i}`, shape] as const)
    : Object.entries(shapes as Record<string, readonly DimValue[]>);
  return entries.map(([name, shape]) => {
    if (name.includes("=") || name.includes(";")) throw new InvalidArgumentError(`input name '${name}' cannot be given here`);
    if (!Array.isArray(shape)) throw new InvalidArgumentError(`the shape given for input '${name}' must be an array of dims`);
    return `${name}=${shape.map(String).join(",")}`;
  }).join(";");
}

/** Loads a model synchronously: a .onnx path, a model folder, or the bytes of a model. */
export function loadModelSync(source: ModelSource, options: LoadOptions = {}): Model {
  const handle = nativeOptions(options);
  const listener = LoadListener.for(options.onProgress, false);
  try {
    listener?.attach(handle);
    const pointer = completeLoadSync(listener, () => typeof source === "string"
      ? outPointer((slot) => lib.tsr_model_load(cString(source), handle, slot))
      : outPointer((slot) => {
        const bytes = sourceBytes(source);
        return lib.tsr_model_load_bytes(bytes.length ? bytes : null, bytes.length, handle, slot);
      }));
    return new Model(pointer).fromSource(source, options);
  } finally {
    lib.tsr_options_destroy(handle);
  }
}

/**
 * Loads a model and prepares it to run, choosing its devices: `devices` absent or "auto" picks
 * "cpu"; a list ("vulkan:0", "auto") is passed on with "auto" read as the CPU, and each operation
 * runs on the first of its devices that supports it.
 *
 * The device may come as the second argument, as OpenVINO's compile_model(model, "AUTO") passes
 * it: "AUTO" (any case), "AUTO:GPU,CPU" (a priority list, read as Tessera's device list), or
 * Tessera's names ("cpu", "vulkan:0", "vulkan:0,cpu"). OpenVINO's "CPU" and "GPU" are refused
 * with Tessera's spelling ("cpu", "vulkan:0"), MULTI: and HETERO: with the device list to pass.
 */
export async function compileModel(source: ModelSource, options?: LoadOptions): Promise<Model>;
export async function compileModel(source: ModelSource, device: string, options?: LoadOptions): Promise<Model>;
export async function compileModel(source: ModelSource, deviceOrOptions: string | LoadOptions = {}, more: LoadOptions = {}): Promise<Model> {
  const options = typeof deviceOrOptions === "string" ? withDevice(deviceOrOptions, more) : deviceOrOptions;
  checkLoadOptions(options); // before the spread below, which would take a string apart
  return await loadModel(source, { ...options, devices: chooseDevices(options.devices) });
}

/** Options with the devices a device argument names; naming them twice is refused. */
function withDevice(device: string, options: LoadOptions): LoadOptions {
  checkLoadOptions(options);
  if (options.devices !== undefined) {
    throw new InvalidArgumentError(`the device is given twice: as the argument "${device}" and as the option devices ${JSON.stringify(options.devices)}`);
  }
  return { ...options, devices: devicesFromArgument(device) };
}

function chooseDevices(devices: LoadOptions["devices"]): string | string[] {
  if (devices === undefined || devices === "auto") return "cpu";
  const names = (Array.isArray(devices) ? devices : String(devices).split(",")).map((d) => d.trim());
  return names.map((d) => (d === "auto" ? "cpu" : d));
}

/** Loads a model on a native thread; the event loop keeps running meanwhile. */
export async function loadModel(source: ModelSource, options: LoadOptions = {}): Promise<Model> {
  const handle = nativeOptions(options);
  const listener = LoadListener.for(options.onProgress, true);
  let job: Pointer;
  try {
    listener?.attach(handle);
    job = typeof source === "string"
      ? outPointer((slot) => lib.tsr_model_load_async(cString(source), null, 0, handle, slot))
      : outPointer((slot) => {
        const bytes = sourceBytes(source);
        return lib.tsr_model_load_async(null, bytes.length ? bytes : null, bytes.length, handle, slot);
      });
  } catch (error) {
    listener?.close();
    throw error;
  } finally {
    lib.tsr_options_destroy(handle); // the job keeps its own copy
  }
  return await completeLoad(job, listener, (done) => new Model(outPointer((slot) => lib.tsr_job_take_model(done, slot))).fromSource(source, options));
}

const modelString = { name: 0, producerName: 1, producerVersion: 2, domain: 3, docString: 4 } as const;
const modelNumber = {
  irVersion: 0, modelVersion: 1, opsetCount: 2, metadataCount: 3, inputCount: 4, outputCount: 5,
  operationCount: 6, isDynamic: 7, parameterCount: 8, copyCount: 9, parameterBytes: 10,
} as const;
const infoNumber = {
  kind: 0, dtype: 1, rank: 2, byteSize: 3, alignment: 4, padding: 5, isConstant: 6, optOut: 7,
  quantKind: 8, quantAxis: 9, quantCount: 10, valueDtype: 11,
} as const;
const kinds: TensorInfo["kind"][] = ["tensor", "sequence", "optional", "map", "sparse-tensor", "unknown"];

const destroyModel = (pointer: Pointer) => lib.tsr_model_destroy(pointer);

/**
 * The destroy a model's handle is given. It is made here, not in the constructor: the
 * FinalizationRegistry holds it strongly, and a closure made in the constructor shares the
 * constructor's scope with the closures there that capture `this`, so it would keep the model
 * reachable and a dropped model would never be freed.
 */
function destroyAfterRuns(runs: RunGate): (pointer: Pointer) => void {
  return (pointer) => runs.close(() => destroyModel(pointer));
}

export class Model extends NativeHandle {
  /** The graph's name. */
  readonly name: string;
  readonly producerName: string;
  readonly producerVersion: string;
  readonly domain: string;
  readonly docString: string;
  readonly irVersion: number;
  readonly modelVersion: number;
  readonly opsets: readonly { domain: string; version: number }[];
  readonly metadata: Readonly<Record<string, string>>;
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
  /** Whether any input has a symbolic dim. */
  readonly isDynamic: boolean;
  /** Elements in all initializers. */
  readonly parameterCount: number;
  /** Bytes all initializers hold, as stored (packed types packed). */
  readonly parameterBytes: number;
  #operations: Operation[] | null = null;
  #copies: Copy[] | null = null;
  #signature: Signature | null = null;
  /** What it was loaded from, and how, for reshape(); null until the loader sets it. */
  #origin: { source: ModelSource; options: LoadOptions } | null = null;
  /** Requests kept for run() and runSync(), so that each call does not create one. */
  readonly #idle: InferRequest[] = [];
  /** @internal Closed while any request of this model runs: the native model outlives its runs. */
  readonly runs: RunGate;
  /** @internal How long its runs take, for how its async runs learn of their end. */
  readonly clock = new RunClock();

  /** @internal Use rt.loadModel() or rt.loadModelSync(). */
  constructor(pointer: Pointer, owner: Owner = root, runs = new RunGate()) {
    super(pointer, destroyAfterRuns(runs), owner);
    this.runs = runs;
    const text = (key: number) => outString((slot) => lib.tsr_model_get_string(pointer, key, slot));
    const number = (key: number) => this.#number(pointer, key);
    this.name = text(modelString.name);
    this.producerName = text(modelString.producerName);
    this.producerVersion = text(modelString.producerVersion);
    this.domain = text(modelString.domain);
    this.docString = text(modelString.docString);
    this.irVersion = number(modelNumber.irVersion);
    this.modelVersion = number(modelNumber.modelVersion);
    this.isDynamic = number(modelNumber.isDynamic) !== 0;
    this.parameterCount = number(modelNumber.parameterCount);
    this.parameterBytes = number(modelNumber.parameterBytes);
    this.opsets = Array.from({ length: number(modelNumber.opsetCount) }, (_, i) => {
      const domain = new BigUint64Array(1);
      const version = new BigInt64Array(1);
      check(lib.tsr_model_opset(pointer, i, domain, version));
      return { domain: native.cstring(native.pointerAt(domain)), version: Number(version[0]) };
    });
    const metadata: Record<string, string> = {};
    for (let i = 0; i < number(modelNumber.metadataCount); i++) {
      const pair = new BigUint64Array(2);
      check(lib.tsr_model_metadata(pointer, i, pair.subarray(0, 1), pair.subarray(1, 2)));
      metadata[native.cstring(native.pointerAt(pair, 0))] = native.cstring(native.pointerAt(pair, 1));
    }
    this.metadata = metadata;
    this.inputNames = Array.from({ length: number(modelNumber.inputCount) }, (_, i) =>
      outString((slot) => lib.tsr_model_input_name(pointer, i, slot)));
    this.outputNames = Array.from({ length: number(modelNumber.outputCount) }, (_, i) =>
      outString((slot) => lib.tsr_model_output_name(pointer, i, slot)));
  }

  protected get kind(): string {
    return "Model";
  }

  /**
   * @internal Remembers the source and options the model was loaded with. The bytes are kept by
   * reference, not copied (models are large): reshape() reads them again, as they are then.
   */
  fromSource(source: ModelSource, options: LoadOptions): this {
    this.#origin = { source, options: { ...options } }; // the caller may change theirs later
    return this;
  }

  /**
   * A new model, loaded again from this one's source and options with these input shapes fixed
   * (OpenVINO's Model.reshape): by input name or in input order, e.g. { input: [8, 3, 224, 224] }.
   * The graph is inferred and its memory planned once for them. This model is left as it is, and
   * both are yours to dispose. A name the model has no input for, or a bytes source with none, is
   * InvalidArgumentError; a rank that differs from the input's, or a dim the model fixes to
   * another size, is ShapeError. Shapes given earlier (loadModel's inputShapes) are replaced.
   * For this, a model loaded from bytes keeps them referenced while it lives (the library holds
   * its own copy): a caller short of memory loads from a path instead.
   */
  reshape(shapes: InputShapes): Model {
    this.guard();
    const origin = this.#origin;
    if (!origin) throw new InvalidStateError("this model does not know what it was loaded from, so it cannot be loaded again");
    return loadModelSync(origin.source, { ...origin.options, inputShapes: shapes });
  }

  /**
   * A hot update: the model at `source` (a path or bytes), loaded with this model's options as a
   * new model that shares with this one every packed weight made the same way from the same
   * bytes (`weights.sharedBytes` counts them), such as a frozen backbone under a new head. This
   * model stays usable, and runs in flight finish on it; dispose each when done, in any order.
   */
  async update(source: ModelSource): Promise<Model> {
    const pointer = this.guard();
    const options = this.#origin?.options ?? {};
    this.runs.enter(); // this native model must outlive the load that shares with it
    try {
      return await completeLoad(startUpdate(pointer, source), null, (done) =>
        new Model(outPointer((slot) => lib.tsr_job_take_model(done, slot))).fromSource(source, options));
    } finally {
      this.runs.leave();
    }
  }

  /** Where the weights this load packed for the GEMM came from, in bytes. */
  get weights(): WeightOrigins {
    return weightOrigins(this.guard());
  }

  #number(pointer: Pointer, key: number): number {
    const slot = new BigInt64Array(1);
    check(lib.tsr_model_get_i64(pointer, key, slot));
    return Number(slot[0]);
  }

  /**
   * What the load chose for its performance hint (OpenVINO's): the kernel threads in use now,
   * the streams (runs that go on at once; null: not limited) and the queue size that keeps them
   * busy (what AsyncInferQueue(model, 0) creates).
   */
  get config(): ModelConfig {
    return modelConfig(this.guard());
  }

  /**
   * Has the model's CPU kernels use `threads` (an integer >= 1) of the threads its pool started
   * with (more is clamped to those) and returns the count now in use. Runs in flight keep theirs.
   */
  setThreads(threads: number): number {
    return setModelThreads(this.guard(), threads);
  }

  /**
   * Runs each of `inputs` (as run() takes them), at most `concurrency` at once (default the
   * model's config.queueSize), and resolves with the outputs in input order. The first failure
   * cancels the runs in flight and rejects with a RequestError naming its input's index, the
   * failure as its cause. Options other than concurrency apply to every run.
   */
  async runBatch<T extends Value = Value>(inputs: readonly Inputs[], options: BatchOptions = {}): Promise<Outputs<T>[]> {
    this.guard();
    return await runBatch<T>(this, inputs, options);
  }

  /** Every node of the main graph, in execution order. */
  get operations(): readonly Operation[] {
    const pointer = this.guard();
    if (this.#operations) return this.#operations;
    const count = this.#number(pointer, modelNumber.operationCount);
    const slots = new BigUint64Array(4);
    this.#operations = Array.from({ length: count }, (_, i) => {
      check(lib.tsr_model_operation(pointer, i, slots.subarray(0, 1), slots.subarray(1, 2), slots.subarray(2, 3), slots.subarray(3, 4)));
      const [name, opType, domain, device] = [0, 1, 2, 3].map((k) => native.cstring(native.pointerAt(slots, k)));
      return { name: name!, opType: opType!, domain: domain!, device: device! };
    });
    return this.#operations;
  }

  /**
   * The operations grouped into islands: runs of consecutive operations on one device, in
   * execution order. Between islands whose devices have different memories, values are copied:
   * `copies` lists them. Islands on devices that compute in host memory (the CPU) copy nothing.
   */
  get partition(): Island[] {
    const islands: Island[] = [];
    this.operations.forEach((operation, i) => {
      const last = islands.at(-1);
      if (last && last.device === operation.device) last.count++;
      else islands.push({ device: operation.device, first: i, count: 1 });
    });
    return islands;
  }

  /** The copies between devices' memories that runs of the main graph make, as the load planned them. */
  get copies(): readonly Copy[] {
    const pointer = this.guard();
    if (this.#copies) return this.#copies;
    const count = this.#number(pointer, modelNumber.copyCount);
    const slots = new BigUint64Array(3);
    const atLoad = new Int32Array(1);
    this.#copies = Array.from({ length: count }, (_, i) => {
      check(lib.tsr_model_copy(pointer, i, slots.subarray(0, 1), slots.subarray(1, 2), slots.subarray(2, 3), atLoad));
      const [value, from, to] = [0, 1, 2].map((k) => native.cstring(native.pointerAt(slots, k)));
      return { value: value!, from: from!, to: to!, atLoad: atLoad[0] !== 0 };
    });
    return this.#copies;
  }

  /** A load option as the model keeps it (text, as the library validated it). */
  getOption(key: keyof LoadOptions): string {
    const pointer = this.guard();
    const nativeKey = cString(optionKeys[key] ?? String(key));
    const length = new Uint32Array(1);
    check(lib.tsr_model_get_option(pointer, nativeKey, null, 0, length));
    const buffer = new Uint8Array(length[0]! + 1);
    check(lib.tsr_model_get_option(pointer, nativeKey, buffer, buffer.length, length));
    return new TextDecoder().decode(buffer.subarray(0, length[0]));
  }

  /** TensorInfo for any value of the main graph: inputs, outputs, initializers, intermediates. */
  getTensor(name: string): TensorInfo {
    const pointer = this.guard();
    const info = outPointer((slot) => lib.tsr_model_tensor_info(pointer, cString(name), slot));
    return describe(info);
  }

  get inputs(): TensorInfo[] {
    return this.inputNames.map((name) => this.getTensor(name));
  }

  get outputs(): TensorInfo[] {
    return this.outputNames.map((name) => this.getTensor(name));
  }

  /**
   * The shape `output` takes when the inputs have the given shapes (by name, or an array in
   * input order). Dims the inputs do not decide stay symbolic (text).
   */
  inferShape(output: string, inputShapes: InputShapes): DimValue[] {
    const pointer = this.guard();
    const outputName = cString(output);
    const specText = cString(shapeSpec(inputShapes));
    const length = new Uint32Array(1);
    check(lib.tsr_model_infer_shape(pointer, outputName, specText, null, 0, length));
    const buffer = new Uint8Array(length[0]! + 1);
    check(lib.tsr_model_infer_shape(pointer, outputName, specText, buffer, buffer.length, length));
    const text = new TextDecoder().decode(buffer.subarray(0, length[0]));
    return text === "" ? [] : text.split(",").map(parseDim);
  }

  /** @internal Inputs and outputs as requests check them. */
  get signature(): Signature {
    if (this.#signature) return this.#signature;
    const port = (name: string): Port => {
      const info = this.getTensor(name);
      const { kind, dtype, shape, optOut } = info;
      return { name, cName: cString(name), kind, dtype, valueDtype: info.valueDtype ?? null, shape, optOut };
    };
    const index = (names: readonly string[]) => new Map(names.map((name, i) => [name, i]));
    this.#signature = {
      inputs: this.inputNames.map(port),
      outputs: this.outputNames.map(port),
      inputIndex: index(this.inputNames),
      outputIndex: index(this.outputNames),
    };
    return this.#signature;
  }

  /**
   * A request to run this model; disposed with the model at the latest. Disposing either while
   * the request runs cancels the run; native memory is freed once it has stopped.
   */
  createRequest(): InferRequest {
    const pointer = this.guard();
    return new InferRequest(outPointer((slot) => lib.tsr_request_create(pointer, slot)), this, this.children);
  }

  /**
   * Runs once on a native worker and resolves with the outputs by name: all of them, or those
   * named in `options.outputs`, or in an array given for the options, as onnxruntime's
   * run(feeds, ["y"]) names them (computing only the nodes they need). Each output is what it is
   * (a Tensor, a sequence's Tensor[], or null for an empty optional; see InferRequest.getOutputs).
   * For a model whose outputs are all tensors, run<Tensor>(…) types them so (unchecked).
   */
  async run<T extends Value = Value>(inputs: Inputs, options: RunOptions | readonly string[] = {}): Promise<Outputs<T>> {
    const chosen = runOptionsFrom(options, this.outputNames);
    const request = this.#take();
    try {
      // A pooled request keeps the last run's selection: no selection here means all outputs.
      return await request.run<T>(inputs, { ...chosen, outputs: chosen.outputs ?? null });
    } finally {
      this.#give(request);
    }
  }

  /** run() under OpenVINO's name (request.infer(inputs) there returns the results by output name). */
  async infer<T extends Value = Value>(inputs: Inputs, options: RunOptions | readonly string[] = {}): Promise<Outputs<T>> {
    return await this.run<T>(inputs, options);
  }

  /**
   * The model as a function of its inputs, for code in the style of OpenVINO's compiled(inputs):
   * `const compiled = model.callable(); await compiled({ x })`. It calls run(), so the model
   * must stay undisposed while the function is in use. (A Model cannot itself be called: a class
   * instance is not a function in JavaScript.)
   */
  callable<T extends Value = Value>(): (inputs: Inputs, options?: RunOptions | readonly string[]) => Promise<Outputs<T>> {
    this.guard();
    return (inputs, options = {}) => this.run<T>(inputs, options);
  }

  /** Runs once on the calling thread; options and `T` as run(). */
  runSync<T extends Value = Value>(inputs: Inputs, options: RunOptions | readonly string[] = {}): Outputs<T> {
    const chosen = runOptionsFrom(options, this.outputNames);
    const request = this.#take();
    try {
      return request.runSync<T>(inputs, { ...chosen, outputs: chosen.outputs ?? null });
    } finally {
      this.#give(request);
    }
  }

  #take(): InferRequest {
    this.guard();
    return this.#idle.pop() ?? this.createRequest();
  }

  /** Keeps a few idle requests (enough for the usual concurrency), without their inputs. */
  #give(request: InferRequest): void {
    if (request.disposed) return;
    if (this.#idle.length >= 8) return request.dispose();
    try {
      request.unbind();
      this.#idle.push(request);
    } catch {
      request.dispose(); // still running (its caller gave up waiting): not reusable now
    }
  }

  /** A plain summary, as `tessera info --json` prints it. */
  toJSON(): Record<string, unknown> {
    return {
      name: this.name,
      producer: { name: this.producerName, version: this.producerVersion },
      irVersion: this.irVersion,
      opsets: this.opsets,
      metadata: this.metadata,
      inputs: this.inputs,
      outputs: this.outputs,
      isDynamic: this.isDynamic,
      parameterCount: this.parameterCount,
      parameterBytes: this.parameterBytes,
      operations: this.operations,
      partition: this.partition,
      copies: this.copies,
    };
  }
}

function parseDim(text: string): DimValue {
  return /^-?\d+$/.test(text) ? Number(text) : text;
}

function describe(info: Pointer): TensorInfo {
  const number = (key: number) => {
    const slot = new BigInt64Array(1);
    check(lib.tsr_tensor_info_get_i64(info, key, slot));
    return Number(slot[0]);
  };
  const name = outString((slot) => lib.tsr_tensor_info_get_string(info, 0, slot));
  const rank = number(infoNumber.rank);
  const shape = rank < 0 ? null : Array.from({ length: rank }, (_, i) => {
    const value = new BigInt64Array(1);
    const text = new BigUint64Array(1);
    check(lib.tsr_tensor_info_dim(info, i, value, text));
    return value[0]! >= 0n ? Number(value[0]) : native.cstring(native.pointerAt(text));
  });
  const code = number(infoNumber.dtype);
  const byteSize = number(infoNumber.byteSize);
  const valueCode = number(infoNumber.valueDtype);
  return {
    name,
    kind: kinds[number(infoNumber.kind)] ?? "unknown",
    dtype: code === 0 ? null : dtypeFromCode(code),
    shape,
    byteSize: byteSize < 0 ? null : byteSize,
    alignment: number(infoNumber.alignment),
    padding: number(infoNumber.padding),
    isConstant: number(infoNumber.isConstant) !== 0,
    optOut: number(infoNumber.optOut) !== 0,
    quantization: quantizationOf(info, number),
    ...(valueCode === 0 ? {} : { valueDtype: dtypeFromCode(valueCode) }),
  };
}

function quantizationOf(info: Pointer, number: (key: number) => number): Quantization | null {
  const kind = number(infoNumber.quantKind);
  if (kind === 0) return null;
  const count = number(infoNumber.quantCount);
  const scales: number[] = [];
  const zeroPoints: number[] = [];
  const scale = new Float64Array(1);
  const zeroPoint = new BigInt64Array(1);
  for (let i = 0; i < count; i++) {
    check(lib.tsr_tensor_info_quant(info, i, scale, zeroPoint));
    scales.push(scale[0]!);
    zeroPoints.push(Number(zeroPoint[0]));
  }
  return { scheme: kind === 1 ? "per-tensor" : "per-channel", axis: number(infoNumber.quantAxis), scales, zeroPoints };
}
