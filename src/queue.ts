/**
 * AsyncInferQueue, as in OpenVINO's Python API: a fixed set of requests on one model that jobs
 * are spread over. startAsync() waits (without blocking) for an idle request and starts it; the
 * queue's callback sees each finished request with the userdata its job was started with.
 *
 * Errors: a job's error reaches the callback (its third argument, and request.status is
 * "FAULT"), and waitAll() rejects with the first error since the previous waitAll(), so a batch
 * that lost jobs cannot pass unnoticed. The failed request goes back to the idle set and the
 * queue stays usable.
 */
import { InvalidArgumentError, InvalidStateError } from "./errors.ts";
import type { Model } from "./model.ts";
import type { InferOptions, InferRequest, Inputs, OutputTargets } from "./request.ts";

/** Runs when a job ends, before its request is reused; outputs are readable here. */
export type QueueCallback<U> = (request: InferRequest, userdata: U, error: Error | null) => void;

/**
 * How many requests keep the model busy: its config.queueSize, which the library chose at load
 * (exec/performance.zig). Without a performance hint that is one per physical core, and never
 * fewer than the two native workers that run requests: each run already spreads its kernels over
 * the model's thread pool, and requests beyond what the workers can take wait in the native
 * queue, so more requests add memory, not throughput; but a second request queued behind each
 * running one means a worker never waits for JS to start the next job after a completion. Under
 * a hint, numRequests, or else the hint's own choice.
 */
function optimalJobs(model: Model): number {
  return model.config.queueSize;
}

export class AsyncInferQueue<U = unknown> implements Iterable<InferRequest>, Disposable {
  readonly model: Model;
  readonly #requests: InferRequest[];
  readonly #userdata: (U | undefined)[];
  /** Which requests run a job the queue started (a caller may also use queue.at(i) directly). */
  readonly #started: boolean[];
  /** Indexes of idle requests, first in first out. */
  readonly #idle: number[];
  /** startAsync calls waiting for a request, first come first served. */
  readonly #waiting: { take: (index: number) => void; fail: (error: Error) => void }[] = [];
  readonly #drained: { resolve: () => void; reject: (error: Error) => void }[] = [];
  /** Requests reserved for a job or running one. */
  #busy = 0;
  #firstError: Error | null = null;
  #callback: QueueCallback<U> | null = null;
  #disposed = false;

  /** `jobs` requests on `model`; 0 picks the count its config asks for (see optimalJobs). */
  constructor(model: Model, jobs = 0) {
    if (!Number.isInteger(jobs) || jobs < 0) throw new InvalidArgumentError(`jobs must be an integer >= 0, not ${jobs}`);
    this.model = model;
    const count = jobs === 0 ? optimalJobs(model) : jobs;
    this.#requests = [];
    try {
      for (let i = 0; i < count; i++) this.#requests.push(model.createRequest());
    } catch (error) {
      for (const request of this.#requests) request.dispose();
      throw error;
    }
    this.#userdata = this.#requests.map(() => undefined);
    this.#started = this.#requests.map(() => false);
    this.#idle = this.#requests.map((_, i) => i);
    this.#requests.forEach((request, i) => request.setCallback((_, error) => this.#finished(i, error)));
  }

  get length(): number {
    return this.#requests.length;
  }

  /** The request at `index` (negative counts from the end, as Array.prototype.at). */
  at(index: number): InferRequest | undefined {
    return this.#requests.at(index);
  }

  [Symbol.iterator](): Iterator<InferRequest> {
    return this.#requests[Symbol.iterator]();
  }

  setCallback(callback: QueueCallback<U> | null): void {
    this.#callback = callback;
  }

  /** Whether a request is idle, so that startAsync() would start at once. */
  isReady(): boolean {
    return this.#idle.length > 0 && this.#waiting.length === 0;
  }

  /** The index of an idle request, or -1 when every request is busy. */
  getIdleRequestId(): number {
    return this.isReady() ? this.#idle[0]! : -1;
  }

  /**
   * Starts a job on the next idle request, waiting (without blocking) until one is idle.
   * Resolves once the job has started; rejects if its inputs are invalid (nothing runs then).
   */
  async startAsync(inputs: Inputs, userdata?: U, outputs?: OutputTargets, options?: InferOptions): Promise<void> {
    if (this.#disposed) throw new InvalidStateError("the AsyncInferQueue has been disposed");
    let index: number;
    if (this.isReady()) {
      index = this.#idle.shift()!;
      this.#busy++;
    } else {
      index = await new Promise<number>((take, fail) => this.#waiting.push({ take, fail }));
    }
    this.#userdata[index] = userdata;
    try {
      this.#requests[index]!.infer(inputs, outputs, options);
      this.#started[index] = true;
    } catch (error) {
      this.#release(index);
      throw error;
    }
  }

  /**
   * Resolves when every job started so far (and every startAsync still waiting) has finished.
   * Rejects with the first job error (or callback exception) since the previous waitAll().
   */
  async waitAll(): Promise<void> {
    if (this.#busy > 0 || this.#waiting.length > 0) {
      await new Promise<void>((resolve, reject) => this.#drained.push({ resolve, reject }));
    }
    const error = this.#firstError;
    this.#firstError = null;
    if (error) throw error;
  }

  /**
   * Disposes every request: running jobs are cancelled, and pending startAsync() and waitAll()
   * calls reject with InvalidStateError. Safe to call twice.
   */
  dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    for (const request of this.#requests) request.dispose();
    const error = new InvalidStateError("the AsyncInferQueue was disposed");
    for (const waiter of this.#waiting.splice(0)) waiter.fail(error);
    for (const waiter of this.#drained.splice(0)) waiter.reject(error);
  }

  [Symbol.dispose](): void {
    this.dispose();
  }

  #finished(index: number, error: Error | null): void {
    if (!this.#started[index]) return;
    this.#started[index] = false;
    if (error) this.#firstError ??= error;
    try {
      this.#callback?.(this.#requests[index]!, this.#userdata[index] as U, error);
    } catch (thrown) {
      this.#firstError ??= thrown instanceof Error ? thrown : new Error(String(thrown));
    }
    this.#userdata[index] = undefined;
    this.#release(index);
  }

  /** Hands a request to the next waiting startAsync, or back to the idle set. */
  #release(index: number): void {
    const next = this.#waiting.shift();
    if (next) return next.take(index); // stays busy: reserved for that job
    this.#busy--;
    this.#idle.push(index);
    if (this.#busy === 0) for (const waiter of this.#drained.splice(0)) waiter.resolve();
  }
}
