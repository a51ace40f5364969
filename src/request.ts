/**
 * Inference requests: bind inputs (Tensors or TypedArrays, by name or in model order) and, if
 * wanted, tensors to fill in place with outputs; run on a native worker (infer, then wait(),
 * waitSync() or a callback) or on the calling thread (runSync); read outputs and intermediates.
 *
 * Native code reads inputs and writes bound outputs in place while a run is in flight, so a
 * request keeps those JS objects referenced until the run has ended. A request or model disposed
 * mid-run is cancelled at once but destroyed natively only when its run is over (RunGate): the
 * worker may still be inside it, and freeing it there would be a use-after-free.
 */
import type { DType, TypedArray } from "./dtype.ts";
import { errorFromStatus, InvalidArgumentError, InvalidStateError } from "./errors.ts";
import { NativeHandle, type Owner } from "./handle.ts";
import type { DimValue, Model } from "./model.ts";
import { check, cString, lib, native, outI32, outPointer, outString, outU32, type Pointer } from "./native.ts";
import { activity } from "./runtime.ts";
import { RunGate } from "./run-gate.ts";
import { durationsOf } from "./profile/durations.ts";
import type { ProfileDurations, ProfileEvent, ProfileOptions, ProfileResult } from "./profile/events.ts";
import { readEvents } from "./profile/native-events.ts";
import { profileSettings, runProfileSchedule, runProfileScheduleAsync } from "./profile/profile-loop.ts";
import { adoptNative, Tensor, tensor } from "./tensor.ts";
import { normalizeBools } from "./packing.ts";
import { bindMap, checkElements, isComposite, type MapKey, type MapValue, type Outputs, pointerTable, readOutput, type Value } from "./run-values.ts";
import { checkArray, checkTensor } from "./input-checks.ts";
import { checkInferOptions, runOptionsFrom } from "./run-options.ts";
import { checkObserver, type NodeObserver, Observation } from "./observer.ts";

export type { MapKey, MapValue, Outputs, Value, ValueMap } from "./run-values.ts";

/** A tensor, or a TypedArray that is wrapped zero-copy with the model's declared shape. */
export type TensorLike = Tensor | TypedArray;
/**
 * What a sequence input takes: its tensors in order. An optional input takes a tensor (or, for an
 * optional sequence, an array of tensors), or null for no value.
 */
export type ElementsLike = readonly Tensor[] | null;
/** What a map input takes: a Map, or a plain object by key (see ValueMap for the key and value types). */
export type MapLike = ReadonlyMap<MapKey, MapValue> | Readonly<Record<string, MapValue>>;
/** A value for one model input. */
export type InputValue = TensorLike | ElementsLike | MapLike;
/** By name, by position ({ 0: data }), or an array in the model's order. */
export type Inputs = Record<string | number, InputValue> | readonly InputValue[];
/** Tensors that a run fills in place: by output name or position, or an array in the model's output order. */
export type OutputTargets = Record<string, TensorLike> | readonly (TensorLike | null | undefined)[];
export type RequestStatus = "READY" | "RUNNING" | "FAULT";
/** Called when a run started by infer() ends: "READY" and null, or "FAULT" and its error. */
export type RequestCallback = (status: RequestStatus, error: Error | null) => void;

export interface InferOptions {
  /** Nodes not started this many µs into this run are skipped and it fails (RequestError). */
  deadlineUs?: number;
}

export interface RunOptions extends InferOptions {
  /** Told of each node of this run as it starts and ends (see InferRequest.observe). */
  observer?: NodeObserver | null;
  /** Compute only these outputs (and only the nodes they need); as selectOutputs() does. */
  outputs?: readonly string[] | null;
  /** Tensors to fill in place, as infer()'s second argument. */
  into?: OutputTargets;
}

/** @internal A model input or output as requests check it; made once per model. */
export interface Port {
  readonly name: string;
  readonly cName: Uint8Array;
  /** Tensor, sequence, optional or map (TensorInfo's kinds). */
  readonly kind: string;
  /** The element type; a map's key type. */
  readonly dtype: DType | null;
  /** A map's values' type, where known. */
  readonly valueDtype: DType | null;
  readonly shape: readonly DimValue[] | null;
  readonly optOut: boolean;
}

/** @internal */
export interface Signature {
  readonly inputs: readonly Port[];
  readonly outputs: readonly Port[];
  readonly inputIndex: ReadonlyMap<string, number>;
  readonly outputIndex: ReadonlyMap<string, number>;
}

const states: RequestStatus[] = ["READY", "RUNNING", "FAULT"];

/** One run started by infer(): its job, and its outcome once JS has learnt it. */
class Run {
  settled = false;
  error: Error | null = null;
  readonly done: Promise<void>;
  resolve!: () => void;
  /** Its node observer's events, until it is settled. */
  observation: Observation | null = null;
  /** An observed run is settled only once its events are in (observer.ts). */
  drained = true;
  constructor(readonly job: Pointer) {
    this.done = new Promise((resolve) => (this.resolve = resolve));
  }
}

/** The JS side of a request's bindings, shared with its destroy so wrappers die with it. */
class Bindings {
  readonly inputs: (Tensor | null)[];
  readonly outputs: (Tensor | null)[];
  /** The tensors of sequence and optional inputs, kept alive (and gated) while runs read them. */
  readonly elements: (readonly Tensor[] | null)[];
  /** The keys and values tensors made for map inputs, owned here (the elements of those inputs). */
  readonly maps: ([Tensor, Tensor] | null)[];
  /** TypedArrays wrapped as tensors, per slot, reused while the same array comes back. */
  readonly inputWrappers: ({ array: TypedArray; tensor: Tensor } | null)[];
  readonly outputWrappers: ({ array: TypedArray; tensor: Tensor } | null)[];
  /** Which outputs runs compute; null: all. */
  selected: boolean[] | null = null;
  selectedText = "";
  deadlineUs = 0;
  nativeDeadlineUs = 0;

  constructor(signature: Signature) {
    this.inputs = signature.inputs.map(() => null);
    this.outputs = signature.outputs.map(() => null);
    this.elements = signature.inputs.map(() => null);
    this.maps = signature.inputs.map(() => null);
    this.inputWrappers = signature.inputs.map(() => null);
    this.outputWrappers = signature.outputs.map(() => null);
  }

  disposeWrappers(): void {
    for (const wrapper of [...this.inputWrappers, ...this.outputWrappers]) wrapper?.tensor.dispose();
    for (const pair of this.maps) for (const t of pair ?? []) t.dispose();
  }
}

/**
 * The destroy a request's handle is given: made outside the constructor so that it can never share
 * a scope with a closure that captures `this` (the FinalizationRegistry holds it strongly, and the
 * request would then never be collected). Cancels a run in flight and destroys after it.
 */
function destroyAfterRuns(gate: RunGate, bindings: Bindings): (pointer: Pointer) => void {
  return (pointer) => gate.close(() => {
    lib.tsr_request_destroy(pointer);
    bindings.disposeWrappers();
  }, () => lib.tsr_request_cancel(pointer));
}

export class InferRequest extends NativeHandle {
  readonly model: Model;
  readonly #gate: RunGate;
  readonly #bindings: Bindings;
  readonly #signature: Signature;
  #run: Run | null = null;
  /** The last run started by infer(), whose outcome wait() reports; null after runSync. */
  #last: Run | null = null;
  /** The last run's outcome, whichever way it ran: undefined before any run. */
  #lastError: Error | null | undefined = undefined;
  #callback: RequestCallback | null = null;
  #observer: NodeObserver | null = null;
  /** Whether the native request has an observer installed. */
  #nativeObserver = false;

  /**
   * @internal Use model.createRequest(). Takes over the native request `pointer`: a constructor
   * that throws has destroyed it.
   */
  constructor(pointer: Pointer, model: Model, owner: Owner, gate = new RunGate()) {
    let bindings: Bindings;
    try {
      bindings = new Bindings(model.signature); // reads the model's names: can fail
    } catch (error) {
      // No handle owns the native request yet, so nothing else would ever destroy it, and the
      // library would refuse to finalize for ever.
      lib.tsr_request_destroy(pointer);
      throw error;
    }
    // Nothing below super() may throw: from there on, the handle owns the native request.
    super(pointer, destroyAfterRuns(gate, bindings), owner);
    this.model = model;
    this.#gate = gate;
    this.#bindings = bindings;
    this.#signature = model.signature;
  }

  protected get kind(): string {
    return "InferRequest";
  }

  /** READY, RUNNING, or FAULT when the last run failed (the request stays usable). */
  get status(): RequestStatus {
    const pointer = this.guard();
    // A started job may still wait in the native queue, where the request itself reads READY.
    const run = this.#run;
    if (run && (!run.drained || outU32((slot) => lib.tsr_job_wait(run.job, 0n, slot)) === 0)) return "RUNNING";
    return states[outI32((slot) => lib.tsr_request_status(pointer, slot))] ?? "FAULT";
  }

  /**
   * Starts a run on a native worker and returns at once. Inputs are checked first, and a bad one
   * throws here (TypeError, ShapeError, InvalidArgumentError) without anything running. Tensors
   * in `outputs` are filled in place. Learn the end with wait(), waitSync() or setCallback().
   */
  infer(inputs: Inputs, outputs?: OutputTargets, options: InferOptions = {}): void {
    checkInferOptions(options, this.model.outputNames);
    this.#start(inputs, outputs, options.deadlineUs);
  }

  /** Binds and starts a run on a native worker: infer() and run() after checking their options. */
  #start(inputs: Inputs, outputs: OutputTargets | undefined, deadlineUs: number | undefined, observer?: NodeObserver | null): void {
    const pointer = this.#idle();
    this.#prepare(pointer, inputs, outputs, deadlineUs);
    const observation = this.#observe(pointer, observer, true);
    let job: Pointer;
    try {
      job = outPointer((slot) => lib.tsr_request_run_async(pointer, slot));
    } catch (error) {
      observation?.close();
      throw error;
    }
    const id = outU32((slot) => lib.tsr_job_id(job, slot));
    const run = new Run(job);
    run.observation = observation;
    run.drained = observation === null;
    this.#run = this.#last = run;
    // The gates stay closed until the job has ended and no one waits on it any more: a request,
    // model or bound tensor disposed meanwhile is destroyed natively only then.
    const b = this.#bindings;
    const tensors = [...b.inputs, ...b.outputs, ...b.elements.flatMap((list) => list ?? [])].filter((t): t is Tensor => t !== null);
    for (const t of tensors) t.runs.enter();
    this.#gate.enter();
    this.model.runs.enter();
    activity.runs++;
    const clock = this.model.clock;
    const started = performance.now();
    native.awaitJob(job, id, clock.pollUs).then(async () => {
      clock.ended(started);
      const events = observation?.drained(outI32((slot) => lib.tsr_job_result(job, slot)));
      if (events) await events;
      run.drained = true;
      try {
        this.#settle(run);
      } finally {
        lib.tsr_job_destroy(job);
        activity.runs--;
        this.#gate.leave(); // the request first: a pending model destroy must come after it
        this.model.runs.leave();
        for (const t of tensors) t.runs.leave();
      }
    });
  }

  /**
   * Resolves when the last run started by infer() has ended; rejects with its error (or with
   * what the callback threw). Resolves at once when no run was started.
   */
  async wait(): Promise<void> {
    const run = this.#run ?? this.#last;
    if (!run) return;
    await run.done;
    if (run.error) throw run.error;
  }

  /**
   * Blocks the calling thread until the run ends or `timeoutUs` passes (negative: no limit).
   * Returns true if it timed out. Throws the run's error like wait(). The callback, if any, has
   * run when this returns false.
   */
  waitSync(timeoutUs = -1): boolean {
    this.guard();
    const run = this.#run;
    if (run?.observation) {
      throw new InvalidStateError("an observed run tells its observer on the event loop, which waitSync() would block: await wait(), or use runSync()");
    }
    if (run) {
      const timeout = BigInt(Math.trunc(timeoutUs));
      if (outU32((slot) => lib.tsr_job_wait(run.job, timeout, slot)) === 0) return true;
      this.#settle(run);
    }
    const last = this.#last;
    if (last?.error) throw last.error;
    return false;
  }

  /**
   * Called with the status and error of each run started by infer(), as it ends. It may start
   * the next infer(). What it throws becomes the run's error for wait() and waitSync().
   * Not called for runs that end after the request was disposed.
   */
  setCallback(callback: RequestCallback | null): void {
    this.guard();
    this.#callback = callback;
  }

  /**
   * Runs on the calling thread (blocking it) and returns the outputs, as getOutputs(). `T`
   * narrows the values for a model whose outputs are all of one kind: runSync<Tensor>(…). An
   * array of output names in place of the options selects them, as `{ outputs }` does.
   */
  runSync<T extends Value = Value>(inputs: Inputs, options: RunOptions | readonly string[] = {}): Outputs<T> {
    const chosen = runOptionsFrom(options, this.model.outputNames);
    const pointer = this.#idle();
    if (chosen.outputs !== undefined) this.selectOutputs(chosen.outputs);
    this.#prepare(pointer, inputs, chosen.into, chosen.deadlineUs);
    this.#last = null;
    this.#runHere(pointer, this.#observe(pointer, chosen.observer, false));
    return this.getOutputs<T>();
  }

  /** Runs on a native worker and resolves with the outputs; `T` and options as runSync(). */
  async run<T extends Value = Value>(inputs: Inputs, options: RunOptions | readonly string[] = {}): Promise<Outputs<T>> {
    const chosen = runOptionsFrom(options, this.model.outputNames);
    if (chosen.outputs !== undefined) this.selectOutputs(chosen.outputs);
    this.#start(inputs, chosen.into, chosen.deadlineUs, chosen.observer);
    await this.wait();
    return this.getOutputs<T>();
  }

  /**
   * Later runs tell `observer` as each node of the model's graph starts and ends, with the
   * node's index in model.operations, its name and op type, and at the end its duration in µs
   * (src/observer.ts); null stops. A run's `observer` option wins for that run. Events come in
   * node order, all before the run's promise resolves; runSync() calls the observer as each
   * node runs. An observer that throws fails that run with a RequestError (its cause the throw).
   * waitSync() on an observed run is InvalidStateError: its events need the event loop.
   */
  observe(observer: NodeObserver | null): void {
    this.guard();
    checkObserver(observer);
    this.#observer = observer;
  }

  /** Stops the run between nodes; it then fails with a RequestError. A no-op when idle. */
  cancel(): void {
    check(lib.tsr_request_cancel(this.guard()));
  }

  /** Nodes not started this many µs into a run are skipped, failing it; 0: none. */
  setDeadline(deadlineUs: number): void {
    this.guard();
    this.#bindings.deadlineUs = checkDeadline(deadlineUs);
  }

  /**
   * Later runs compute only these outputs and the nodes they need; null or [] selects all.
   * getOutputs() then holds only the selected ones.
   */
  selectOutputs(names: readonly string[] | null): void {
    const pointer = this.guard();
    const b = this.#bindings;
    const text = (names ?? []).join("\n");
    if (text === b.selectedText) return;
    if (this.#run) throw new InvalidStateError(`InferRequest ${this.id} is running`);
    const selected = names && names.length ? this.#signature.outputs.map(() => false) : null;
    for (const name of names ?? []) {
      const index = this.#signature.outputIndex.get(name);
      if (index === undefined) throw unknownName("output", name, this.#signature.outputs);
      selected![index] = true;
    }
    check(lib.tsr_request_select_outputs(pointer, cString(text)));
    b.selected = selected;
    b.selectedText = text;
  }

  /**
   * The last run's outputs by name, each as what it is (see Value): a tensor, a sequence's
   * tensors (copies, in order), an optional's value, or null for an optional with no value.
   * Tensors bound in place are returned as they are, TypedArrays bound in place as the tensors
   * wrapping them (owned by the request: they are disposed with it, while the arrays stay yours);
   * everything else is copied into JS memory, as tensors you own (dispose them, or leave them to
   * the garbage collector). Unselected outputs are left out. InvalidStateError while a run is in
   * flight, before any run, or after a failed one. `T` narrows the values as runSync<T>() does;
   * it is not checked.
   */
  getOutputs<T extends Value = Value>(): Outputs<T> {
    const pointer = this.#finished();
    const b = this.#bindings;
    const outputs: Outputs = {};
    this.#signature.outputs.forEach((port, i) => {
      if (b.selected && !b.selected[i]) return;
      outputs[port.name] = b.outputs[i] ?? readOutput(pointer, i, port);
    });
    return outputs as Outputs<T>;
  }

  /** Output `name` of the last run, as getOutputs() gives it. */
  getValue(name: string): Value {
    const pointer = this.#finished();
    const index = this.#signature.outputIndex.get(name);
    if (index === undefined) throw unknownName("output", name, this.#signature.outputs);
    return this.#bindings.outputs[index] ?? readOutput(pointer, index, this.#signature.outputs[index]!);
  }

  /**
   * A copy of any value of the last run by name: an input, an output, or an intermediate. An
   * intermediate is InvalidStateError when its memory was reused (memoryOptimization, the
   * default) or the selected outputs did not need it.
   */
  getTensor(name: string): Tensor {
    const pointer = this.#finished();
    return adoptNative(outPointer((slot) => lib.tsr_request_get_tensor(pointer, cString(name), slot)));
  }

  /**
   * Records the events of later runs into a ring of `eventBufferSize` events (a new, empty one;
   * the model's load events come first). Models loaded with `{ profiling: true }` start their
   * requests this way.
   */
  enableProfiling(eventBufferSize = 65536): void {
    check(lib.tsr_request_set_profiling(this.#idle(), profileSettings({ eventBufferSize }).eventBufferSize));
  }

  disableProfiling(): void {
    check(lib.tsr_request_set_profiling(this.#idle(), 0));
  }

  /** The recorded events in time order. InvalidStateError when profiling is off. */
  getProfileEvents(): ProfileEvent[] {
    return readEvents(this.#idle()).events;
  }

  clearProfileEvents(): void {
    check(lib.tsr_request_clear_profile_events(this.#idle()));
  }

  /** Model, per-layer and per-copy durations (ns) of the recorded events. */
  getProfileDurations(): ProfileDurations {
    return durationsOf(this.getProfileEvents(), this.model.operations);
  }

  /**
   * Profiles on the calling thread (blocking it): `warmup` runs and more until `warmupTimeUs`
   * has passed, then up to `repeat` runs, fewer when their total passes `stopThresholdUs`
   * (looked at every `checkPeriod` runs). Returns the timed runs' events and durations; they
   * stay readable with getProfileEvents(), and later runs add theirs.
   */
  profile(inputs: Inputs, outputs?: OutputTargets, options: ProfileOptions = {}): ProfileResult {
    const settings = profileSettings(options);
    const pointer = this.#idle();
    this.#prepare(pointer, inputs, outputs, undefined);
    check(lib.tsr_request_set_profiling(pointer, settings.eventBufferSize));
    this.#last = null;
    const runs = runProfileSchedule({
      run: () => this.#runHere(pointer),
      clear: () => check(lib.tsr_request_clear_profile_events(pointer)),
    }, settings);
    const { events, dropped } = readEvents(pointer);
    return { runs, events, dropped, durations: durationsOf(events, this.model.operations) };
  }

  /**
   * profile() with its runs on a native worker, so the event loop keeps running meanwhile (a
   * server profiles this way). Options and result as profile().
   */
  async profileAsync(inputs: Inputs, outputs?: OutputTargets, options: ProfileOptions = {}): Promise<ProfileResult> {
    const settings = profileSettings(options);
    check(lib.tsr_request_set_profiling(this.#idle(), settings.eventBufferSize));
    const runs = await runProfileScheduleAsync({
      run: async () => {
        this.#start(inputs, outputs, undefined);
        await this.wait();
      },
      clear: () => check(lib.tsr_request_clear_profile_events(this.#idle())),
    }, settings);
    const { events, dropped } = readEvents(this.#idle());
    return { runs, events, dropped, durations: durationsOf(events, this.model.operations) };
  }

  /** @internal Drops the JS references to the last run's tensors (pooled requests). */
  unbind(): void {
    const pointer = this.#idle();
    const b = this.#bindings;
    this.#signature.inputs.forEach((port, i) => {
      if (b.inputs[i] === null && b.elements[i] === null) return;
      check(lib.tsr_request_set_input(pointer, port.cName, null)); // unbinds elements and maps too
      b.inputs[i] = null;
      b.elements[i] = null;
      for (const t of b.maps[i] ?? []) t.dispose(); // made for this request: nothing else holds them
      b.maps[i] = null;
    });
    this.#bindOutputs(pointer, this.#signature.outputs.map(() => null));
  }

  /** Runs on this thread; keeps the outcome for getOutputs() and throws the run's error. */
  #runHere(pointer: Pointer, observation: Observation | null = this.#observe(pointer, undefined, false)): void {
    const started = performance.now();
    const status = lib.tsr_request_run(pointer);
    this.model.clock.ended(started);
    observation?.close();
    this.#lastError = observation?.error ?? (status === 0 ? null : errorFromStatus(status, native.cstring(lib.tsr_last_error())));
    if (this.#lastError) throw this.#lastError;
  }

  /**
   * The observation of the next run (the run's observer, else the request's; none: null), with
   * the native request's observer set to match: threadsafe for a run on a worker.
   */
  #observe(pointer: Pointer, given: NodeObserver | null | undefined, threadsafe: boolean): Observation | null {
    checkObserver(given);
    const observer = given === undefined ? this.#observer : given;
    if (!observer) {
      if (this.#nativeObserver) check(lib.tsr_request_set_observer(pointer, null, null));
      this.#nativeObserver = false;
      return null;
    }
    const observation = new Observation(observer, this.model.operations, pointer, threadsafe);
    try {
      observation.install();
    } catch (error) {
      observation.close();
      throw error;
    }
    this.#nativeObserver = true;
    return observation;
  }

  /** The native pointer of a request with no run in flight (settling one that has ended). */
  #idle(): Pointer {
    const pointer = this.guard();
    if (this.#run) this.#settleIfEnded(this.#run);
    if (this.#run) throw new InvalidStateError(`InferRequest ${this.id} is already running`);
    return pointer;
  }

  /** The pointer of a request whose last run ended well: its results may be read. */
  #finished(): Pointer {
    const pointer = this.#idle();
    const error = this.#lastError;
    if (error === undefined) throw new InvalidStateError(`InferRequest ${this.id} has not run yet`);
    if (error) throw new InvalidStateError(`the last run of InferRequest ${this.id} failed, so it has no results: ${error.message}`, { cause: error });
    return pointer;
  }

  #settleIfEnded(run: Run): void {
    if (!run.drained) return; // settled when its events are in
    if (outU32((slot) => lib.tsr_job_wait(run.job, 0n, slot)) === 1) this.#settle(run);
  }

  /** Records how a run ended and tells the callback; once per run, whoever learns it first. */
  #settle(run: Run): void {
    if (run.settled) return;
    run.settled = true;
    const result = outI32((slot) => lib.tsr_job_result(run.job, slot));
    if (result !== 0) run.error = errorFromStatus(result, outString((slot) => lib.tsr_job_error(run.job, slot)));
    if (run.observation) {
      run.observation.close();
      run.error = run.observation.error ?? run.error; // what the observer threw stopped the run
    }
    if (this.#run === run) this.#run = null;
    if (this.#last === run) this.#lastError = run.error;
    const callback = this.#callback;
    if (callback && !this.disposed) {
      try {
        callback(run.error ? "FAULT" : "READY", run.error);
      } catch (thrown) {
        run.error = thrown instanceof Error ? thrown : new Error(String(thrown));
      }
    }
    run.resolve();
  }

  /** Checks everything, then binds: nothing is bound when anything is wrong. */
  #prepare(pointer: Pointer, inputs: Inputs, outputs: OutputTargets | undefined, deadlineUs: number | undefined): void {
    const b = this.#bindings;
    const deadline = deadlineUs === undefined ? b.deadlineUs : checkDeadline(deadlineUs);
    const inputTensors = this.#resolve(collect(inputs, this.#signature.inputs, this.#signature.inputIndex, "input"), "input");

    const outputTensors = outputs === undefined
      ? this.#signature.outputs.map(() => null)
      : this.#resolve(collect(outputs, this.#signature.outputs, this.#signature.outputIndex, "output"), "output");
    outputTensors.forEach((t, i) => {
      if (t && b.selected && !b.selected[i]) {
        throw new InvalidArgumentError(`output '${this.#signature.outputs[i]!.name}' is not among the selected outputs`);
      }
    });
    const given = collect(inputs, this.#signature.inputs, this.#signature.inputIndex, "input");
    this.#signature.inputs.forEach((port, i) => {
      if (!isComposite(port)) return;
      if (port.kind === "map") {
        const old = b.maps[i];
        b.elements[i] = b.maps[i] = bindMap(pointer, port, given[i]);
        for (const t of old ?? []) t.dispose(); // the request is idle: nothing reads them now
        return;
      }
      const elements = checkElements(given[i], port);
      const list = elements === null ? null : elements.map((t) => t.nativeHandle);
      const table = list === null ? null : pointerTable(list);
      check(lib.tsr_request_set_input_elements(pointer, port.cName, table, list?.length ?? 0));
      b.elements[i] = elements;
    });
    this.#signature.inputs.forEach((port, i) => {
      if (isComposite(port)) return;
      const t = inputTensors[i]!;
      const handle = t?.nativeHandle ?? null; // throws InvalidStateError for a disposed tensor
      if (b.inputs[i] === t) return; // bound already: skip the native call
      check(lib.tsr_request_set_input(pointer, port.cName, handle));
      b.inputs[i] = t;
    });
    this.#bindOutputs(pointer, outputTensors);
    if (deadline !== b.nativeDeadlineUs) {
      check(lib.tsr_request_set_deadline(pointer, BigInt(deadline)));
      b.nativeDeadlineUs = deadline;
    }
    this.#lastError = undefined;
  }

  #bindOutputs(pointer: Pointer, tensors: readonly (Tensor | null)[]): void {
    const b = this.#bindings;
    this.#signature.outputs.forEach((port, i) => {
      const t = tensors[i]!;
      const handle = t?.nativeHandle ?? null;
      if (b.outputs[i] === t) return;
      check(lib.tsr_request_set_output(pointer, port.cName, handle));
      b.outputs[i] = t;
    });
  }

  /** Tensors for each port, TypedArrays wrapped; a missing required input is an error. */
  #resolve(values: readonly unknown[], role: "input" | "output"): (Tensor | null)[] {
    const ports = role === "input" ? this.#signature.inputs : this.#signature.outputs;
    const wrappers = role === "input" ? this.#bindings.inputWrappers : this.#bindings.outputWrappers;
    return ports.map((port, i) => {
      if (role === "input" && isComposite(port)) return null; // bound by its elements
      const value = values[i];
      if (value === undefined || value === null) {
        if (role === "input" && !port.optOut) throw new InvalidArgumentError(`input '${port.name}' is missing`);
        return null;
      }
      if (value instanceof Tensor) {
        checkTensor(value, port, role);
        return value;
      }
      const array = checkArray(value, port, role);
      const cached = wrappers[i];
      if (cached && cached.array === array && !cached.tensor.disposed) {
        // tensor() made the bools 0/1 when it wrapped the array; the caller may refill it between runs.
        if (port.dtype === "bool") normalizeBools(array as Uint8Array);
        return cached.tensor;
      }
      // The old wrapper may still be bound natively; it is disposed with the request, or here
      // once a new one replaced it (the request is idle, so native code no longer reads it).
      cached?.tensor.dispose();
      wrappers[i] = null;
      const wrapped = tensor(array, { shape: port.shape as number[], dtype: port.dtype!, copy: false });
      wrappers[i] = { array, tensor: wrapped };
      return wrapped;
    });
  }
}

function checkDeadline(deadlineUs: number): number {
  if (!(deadlineUs >= 0) || !Number.isFinite(deadlineUs)) {
    throw new InvalidArgumentError(`deadlineUs must be a number of microseconds >= 0, not ${deadlineUs}`);
  }
  // The library takes an int64: 2**63 and up would wrap to a negative number. Past 2**53 µs
  // (285 years) a deadline can never pass, so larger ones are that.
  return Math.min(Math.trunc(deadlineUs), Number.MAX_SAFE_INTEGER);
}

function unknownName(role: string, name: string, ports: readonly Port[]): InvalidArgumentError {
  return new InvalidArgumentError(`the model has no ${role} named '${name}' (${role}s: ${ports.map((p) => p.name).join(", ")})`);
}

/**
 * The given values by port index, from an array in model order or a record by name. A record may
 * key a value by position instead ({ 0: data }), as OpenVINO's infer({ 0: data }) does; a name
 * wins over a position when a port is named "0". The same port given twice, by name and by
 * position, is refused rather than one of them dropped.
 */
function collect(values: object, ports: readonly Port[], index: ReadonlyMap<string, number>, role: string): unknown[] {
  if (Array.isArray(values)) {
    if (values.length > ports.length) {
      throw new InvalidArgumentError(`the model has ${ports.length} ${role}s; ${values.length} were given`);
    }
    return values;
  }
  if (values === null || typeof values !== "object" || ArrayBuffer.isView(values) || values instanceof Tensor) {
    throw new InvalidArgumentError(`${role}s must be an array in model order or a record by name or position`);
  }
  const out: unknown[] = [];
  const keys: string[] = [];
  for (const [key, value] of Object.entries(values)) {
    const i = index.get(key) ?? positionOf(key, ports, role);
    if (keys[i] !== undefined) {
      throw new InvalidArgumentError(`${role} '${ports[i]!.name}' is given twice: as '${keys[i]}' and as '${key}' (by name and by position)`);
    }
    keys[i] = key;
    out[i] = value;
  }
  return out;
}

/** The port a key that is no port's name stands for: a position ("0", "1"), or an error. */
function positionOf(key: string, ports: readonly Port[], role: string): number {
  if (!/^(?:0|[1-9]\d*)$/.test(key)) throw unknownName(role, key, ports);
  const i = Number(key);
  if (i >= ports.length) {
    throw new InvalidArgumentError(`${role} ${i} does not exist: the model has ${ports.length} ${role}s (${ports.map((p) => p.name).join(", ")})`);
  }
  return i;
}
