/**
 * A request on a remote model, with the local InferRequest's surface where it can travel:
 * infer() starts an inference over HTTP and returns at once, wait() learns its end, cancel()
 * aborts it (the wait then rejects with RequestError, as a cancelled local run does), and the
 * last run's tensors are read with getOutputs() and getTensor(). profile() runs a profiled
 * inference on the server (Tessera's extension) and brings back its events and durations.
 */
import { InvalidStateError, NotImplementedError, RequestError } from "../errors.ts";
import type { ProfileDurations, ProfileEvent, ProfileOptions, ProfileResult } from "../profile/events.ts";
import type { Inputs, OutputTargets, RequestStatus, RunOptions } from "../request.ts";
import { runOptionsFrom } from "../run-options.ts";
import type { Tensor } from "../tensor.ts";
import type { RemoteModel } from "./model.ts";

/** One inference over the wire: its inputs (for getTensor) and the outputs the server sent back. */
export interface Exchange {
  inputs: Record<string, Tensor>;
  outputs: Record<string, Tensor>;
  profile?: ProfileResult;
}

/** What a request needs of its model: the inference itself, run through the session's transport. */
export interface Inferring {
  exchange(inputs: Inputs, outputs: readonly string[] | undefined, signal: AbortSignal, profile?: ProfileOptions): Promise<Exchange>;
}

export class RemoteRequest {
  readonly model: RemoteModel;
  readonly #inferring: Inferring;
  #controller: AbortController | null = null;
  #pending: Promise<Exchange> | null = null;
  #last: Exchange | null = null;
  #error: Error | null = null;
  #profile: ProfileResult | null = null;
  #disposed = false;

  /** @internal Use remoteModel.createRequest(). */
  constructor(model: RemoteModel, inferring: Inferring) {
    this.model = model;
    this.#inferring = inferring;
  }

  get disposed(): boolean {
    return this.#disposed;
  }

  /** RUNNING while an inference is in flight; FAULT when the last one failed; else READY. */
  get status(): RequestStatus {
    if (this.#pending) return "RUNNING";
    return this.#error ? "FAULT" : "READY";
  }

  #guard(): void {
    if (this.#disposed) throw new InvalidStateError("this remote request is disposed");
    if (this.#pending) throw new InvalidStateError("this remote request is already running");
  }

  /** Starts an inference and returns at once; learn its end with wait(). */
  infer(inputs: Inputs, outputs?: OutputTargets, options: RunOptions = {}): void {
    if (outputs !== undefined) throw new NotImplementedError("a remote request cannot fill tensors in place: read the outputs with getOutputs()");
    this.#start(inputs, options);
  }

  #start(inputs: Inputs, options: RunOptions | readonly string[], profile?: ProfileOptions): Promise<Exchange> {
    this.#guard();
    const chosen = runOptionsFrom(options, this.model.outputNames);
    if (chosen.into !== undefined) throw new NotImplementedError("a remote model cannot fill tensors in place (into): its outputs come back as new tensors");
    if (chosen.deadlineUs !== undefined) throw new NotImplementedError("deadlineUs is not carried over OIP v2: give connect() a timeoutMs, or cancel()");
    const controller = new AbortController();
    const pending = this.#inferring.exchange(inputs, chosen.outputs ?? undefined, controller.signal, profile);
    this.#controller = controller;
    this.#pending = pending;
    this.#error = null;
    // Settled here, before any caller's await resumes (this handler was attached first), so a
    // caller may start the next run at once; a rejection nobody awaits is kept, not thrown.
    const settle = () => {
      this.#pending = null;
      this.#controller = null;
    };
    pending.then((exchange) => {
      this.#last = exchange;
      settle();
    }, (error: Error) => {
      this.#error = error;
      settle();
    });
    return pending;
  }

  /** Resolves when the inference started by infer() has ended; rejects with its error. */
  async wait(): Promise<void> {
    const pending = this.#pending;
    if (pending) await pending.then(() => {}, () => {});
    if (this.#error) throw this.#error;
  }

  /** Runs and resolves with the outputs; an array of output names selects them, as locally. */
  async run(inputs: Inputs, options: RunOptions | readonly string[] = {}): Promise<Record<string, Tensor>> {
    return (await this.#start(inputs, options)).outputs;
  }

  /**
   * Aborts the inference in flight: its promise rejects with RequestError at once (the server
   * may still finish the run, and its answer is dropped). A no-op when idle.
   */
  cancel(): void {
    this.#controller?.abort(new RequestError("the remote request was cancelled"));
  }

  /** The last run's outputs by name; InvalidStateError while one is in flight, before any, or after a failed one. */
  getOutputs(): Record<string, Tensor> {
    return this.#finished().outputs;
  }

  /** An input or output of the last run by name (intermediates stay on the server). */
  getTensor(name: string): Tensor {
    const last = this.#finished();
    const found = last.outputs[name] ?? last.inputs[name];
    if (found === undefined) {
      throw new InvalidStateError(`the last run has no tensor '${name}': a remote request holds its inputs and the outputs computed (${[...Object.keys(last.inputs), ...Object.keys(last.outputs)].join(", ")})`);
    }
    return found;
  }

  #finished(): Exchange {
    if (this.#disposed) throw new InvalidStateError("this remote request is disposed");
    if (this.#pending) throw new InvalidStateError("this remote request is running");
    if (this.#error) throw new InvalidStateError(`the last run of this remote request failed, so it has no results: ${this.#error.message}`, { cause: this.#error });
    if (!this.#last) throw new InvalidStateError("this remote request has not run yet");
    return this.#last;
  }

  /**
   * Profiles on the server (Tessera's extension): warmup and timed runs as the local
   * request.profile() takes them, with the timed runs' events and durations coming back.
   */
  async profile(inputs: Inputs, outputs?: OutputTargets, options: ProfileOptions = {}): Promise<ProfileResult> {
    if (outputs !== undefined) throw new NotImplementedError("a remote request cannot fill tensors in place: read the outputs with getOutputs()");
    const exchange = await this.#start(inputs, {}, options);
    this.#profile = exchange.profile!;
    return this.#profile;
  }

  /** The last profile's events, in time order. InvalidStateError before any profile. */
  getProfileEvents(): ProfileEvent[] {
    return this.#profiled().events;
  }

  /** Model, per-layer and per-copy durations (ns) of the last profile. */
  getProfileDurations(): ProfileDurations {
    return this.#profiled().durations;
  }

  #profiled(): ProfileResult {
    if (!this.#profile) throw new InvalidStateError("this remote request has not profiled yet: call profile() first");
    return this.#profile;
  }

  /** Cancels what is in flight and forgets the last results. Safe to call twice. */
  dispose(): void {
    if (this.#disposed) return;
    this.cancel();
    this.#disposed = true;
    this.#last = null;
    this.#profile = null;
  }

  [Symbol.dispose](): void {
    this.dispose();
  }
}
