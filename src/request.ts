/**
 * Inference requests: bind inputs (Tensors, by name or in model order), run on a native worker
 * (infer + wait) or on the calling thread (runSync), read the outputs. A request keeps its input
 * tensors alive until its run has finished, since the library reads them in place.
 */
import { errorFromStatus, InvalidArgumentError, InvalidStateError } from "./errors.ts";
import { NativeHandle, type Owner } from "./handle.ts";
import type { Model } from "./model.ts";
import { check, cString, lib, native, outI32, outPointer, outString, outU32, type Pointer } from "./native.ts";
import { adoptNative, Tensor } from "./tensor.ts";

export type Inputs = Record<string, Tensor> | readonly Tensor[];
export type Outputs = Record<string, Tensor>;

const destroyRequest = (pointer: Pointer) => lib.tsr_request_destroy(pointer);

export class InferRequest extends NativeHandle {
  readonly model: Model;
  #bound: Tensor[] = [];
  #running: Promise<void> | null = null;

  /** @internal Use model.createRequest(). */
  constructor(pointer: Pointer, model: Model, owner: Owner) {
    super(pointer, destroyRequest, owner);
    this.model = model;
  }

  protected get kind(): string {
    return "InferRequest";
  }

  #bind(inputs: Inputs): void {
    const pointer = this.guard();
    const names = this.model.inputNames;
    const entries: [string, Tensor][] = Array.isArray(inputs)
      ? inputs.map((t, i) => {
        if (i >= names.length) throw new InvalidArgumentError(`the model has ${names.length} inputs; ${inputs.length} were given`);
        return [names[i]!, t];
      })
      : Object.entries(inputs);
    const bound: Tensor[] = [];
    for (const [name, tensor] of entries) {
      if (!(tensor instanceof Tensor)) throw new InvalidArgumentError(`input '${name}' must be a Tensor (make one with rt.tensor)`);
      check(lib.tsr_request_set_input(pointer, cString(name), tensor.nativeHandle));
      bound.push(tensor);
    }
    this.#bound = bound; // keeps the JS memory the library reads alive during the run
  }

  /** Starts a run on a native worker and returns at once; `await wait()` for the end. */
  infer(inputs: Inputs): void {
    if (this.#running) throw new InvalidStateError("the request is already running");
    const pointer = this.guard();
    this.#bind(inputs);
    const job = outPointer((slot) => lib.tsr_request_run_async(pointer, slot));
    const id = outU32((slot) => lib.tsr_job_id(job, slot));
    this.#running = native.awaitJob(job, id).then(() => {
      const result = outI32((slot) => lib.tsr_job_result(job, slot));
      if (result !== 0) throw errorFromStatus(result, outString((slot) => lib.tsr_job_error(job, slot)));
    }).finally(() => {
      lib.tsr_job_destroy(job);
      this.#running = null;
    });
  }

  /** Resolves when the run started by infer() has finished; rejects with its error. */
  async wait(): Promise<void> {
    if (this.#running) await this.#running;
  }

  /** Runs on the calling thread (blocking it) and returns the outputs. */
  runSync(inputs: Inputs): Outputs {
    if (this.#running) throw new InvalidStateError("the request is already running");
    const pointer = this.guard();
    this.#bind(inputs);
    check(lib.tsr_request_run(pointer));
    return this.getOutputs();
  }

  /** Runs on a native worker and resolves with the outputs. */
  async run(inputs: Inputs): Promise<Outputs> {
    this.infer(inputs);
    await this.wait();
    return this.getOutputs();
  }

  /** Stops the run between nodes; wait() then rejects with a RequestError. */
  cancel(): void {
    check(lib.tsr_request_cancel(this.guard()));
  }

  /** Nodes not started this many microseconds into a run are skipped, failing it; 0: none. */
  setDeadline(deadlineUs: number): void {
    check(lib.tsr_request_set_deadline(this.guard(), BigInt(Math.trunc(deadlineUs))));
  }

  /** The last run's outputs by name, copied into JS memory. */
  getOutputs(): Outputs {
    const pointer = this.guard();
    const count = outU32((slot) => lib.tsr_request_output_count(pointer, slot));
    const outputs: Outputs = {};
    for (let i = 0; i < count; i++) {
      outputs[this.model.outputNames[i] ?? `output_${i}`] = adoptNative(outPointer((slot) => lib.tsr_request_get_output(pointer, i, slot)));
    }
    return outputs;
  }
}
