/**
 * model.runBatch: many independent inputs through one model, a few at a time, outputs in input
 * order. It runs on requests of its own (not the model's pooled ones), so that the first failure
 * can cancel the runs in flight through the requests' cancel, and it starts no new run after it.
 */
import { InvalidArgumentError, RequestError } from "./errors.ts";
import type { Model } from "./model.ts";
import type { InferRequest, Inputs, Outputs, RunOptions, Value } from "./request.ts";
import { disposeValue } from "./run-values.ts";
import { checkOptionKeys } from "./option-keys.ts";

export interface BatchOptions extends Omit<RunOptions, "into"> {
  /** Runs in flight at once (default: the model's config.queueSize). */
  concurrency?: number;
}

/** A batch stopped by the failure of one of its inputs: `index` is that input's, `cause` its error. */
export class BatchRunError extends RequestError {
  readonly index: number;
  constructor(index: number, cause: unknown) {
    const message = cause instanceof Error ? cause.message : String(cause);
    super(`input ${index} of the batch failed: ${message}`, { cause });
    this.index = index;
  }
}

const batchOptionNames = new Set(["concurrency", "outputs", "deadlineUs", "observer"]);

export async function runBatch<T extends Value>(model: Model, inputs: readonly Inputs[], options: BatchOptions): Promise<Outputs<T>[]> {
  checkOptionKeys(options, batchOptionNames, "batch option", (key) =>
    key === "into" ? "one set of tensors cannot take every run's outputs" : undefined);
  if (!Array.isArray(inputs)) throw new InvalidArgumentError("runBatch takes an array of inputs, one per run");
  const { concurrency = model.config.queueSize, ...runOptions } = options;
  if (!Number.isInteger(concurrency) || concurrency < 1) {
    throw new InvalidArgumentError(`concurrency must be an integer >= 1, not ${concurrency}`);
  }
  const results: (Outputs<T> | undefined)[] = new Array(inputs.length);
  const requests: InferRequest[] = [];
  let next = 0;
  let failure: BatchRunError | null = null;
  const work = async (request: InferRequest) => {
    while (failure === null && next < inputs.length) {
      const index = next++;
      try {
        results[index] = await request.run<T>(inputs[index]!, runOptions);
      } catch (error) {
        if (failure !== null) return; // cancelled by the first failure, or failed after it
        failure = new BatchRunError(index, error);
        for (const other of requests) if (other !== request) other.cancel();
      }
    }
  };
  try {
    for (let i = 0; i < Math.min(concurrency, inputs.length); i++) requests.push(model.createRequest());
    await Promise.all(requests.map(work));
  } finally {
    for (const request of requests) request.dispose();
  }
  if (failure !== null) {
    for (const outputs of results) if (outputs) for (const value of Object.values(outputs)) disposeValue(value);
    throw failure;
  }
  return results as Outputs<T>[];
}
