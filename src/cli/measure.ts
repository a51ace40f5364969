/**
 * The timed loops of `tessera bench`: one request run on this thread (runSync), or several
 * requests kept in flight on the native workers (infer, then await wait()). Each iteration's
 * latency is timed from its start to its end; the total from the first start to the last end.
 * Latencies go into a StreamingStatistics, not an array: a run of a billion iterations must not
 * hold a billion numbers.
 */
import type { DType } from "../dtype.ts";
import type { InferRequest } from "../request.ts";
import type { Model } from "../model.ts";
import { StreamingStatistics } from "../profile/statistics.ts";
import { type Tensor, tensor } from "../tensor.ts";
import type { Progress } from "./progress.ts";

/** When to stop: after `iterations`, after `seconds`, or (both given) once both are reached. */
export interface Budget {
  iterations?: number;
  seconds?: number;
  /** Untimed runs of each request first. */
  warmup: number;
}

export interface Measurement {
  latenciesMs: StreamingStatistics;
  totalMs: number;
}

/** A request with the output tensors it fills in place. */
export interface Worker {
  request: InferRequest;
  outputs: Record<string, Tensor>;
}

function unfinished(budget: Budget, iterations: number, elapsedMs: number): boolean {
  const countDone = budget.iterations === undefined || iterations >= budget.iterations;
  const timeDone = budget.seconds === undefined || elapsedMs >= budget.seconds * 1000;
  return !(countDone && timeDone);
}

/**
 * Output tensors for one request, made once so that iterations neither allocate outputs nor copy
 * them out; outputs whose shape the inputs do not settle are left to the request.
 */
export function preallocateOutputs(model: Model, inputShapes: Record<string, readonly number[]>): Record<string, Tensor> {
  const outputs: Record<string, Tensor> = {};
  for (const info of model.outputs) {
    if (info.kind !== "tensor" || info.dtype === null || info.dtype === "string") continue;
    let shape: (number | string)[];
    try {
      shape = model.inferShape(info.name, inputShapes);
    } catch {
      continue; // a shape the library cannot tell ahead: the run allocates it
    }
    if (shape.every((d): d is number => typeof d === "number")) outputs[info.name] = tensor({ shape, dtype: info.dtype as DType });
  }
  return outputs;
}

export function measureSync(worker: Worker, inputs: Record<string, Tensor>, budget: Budget, progress: Progress): Measurement {
  const into = worker.outputs;
  for (let i = 0; i < budget.warmup; i++) worker.request.runSync(inputs, { into });
  const latenciesMs = new StreamingStatistics();
  const start = performance.now();
  let end = start;
  while (unfinished(budget, latenciesMs.count, end - start)) {
    const began = performance.now();
    worker.request.runSync(inputs, { into });
    end = performance.now();
    latenciesMs.add(end - began);
    progress.update(latenciesMs.count, end - start);
  }
  progress.finish(latenciesMs.count, end - start);
  return { latenciesMs, totalMs: end - start };
}

export async function measureAsync(workers: readonly Worker[], inputs: Record<string, Tensor>, budget: Budget, progress: Progress): Promise<Measurement> {
  const once = async ({ request, outputs }: Worker) => {
    request.infer(inputs, outputs);
    await request.wait();
  };
  await Promise.all(workers.map(async (worker) => {
    for (let i = 0; i < budget.warmup; i++) await once(worker);
  }));
  const latenciesMs = new StreamingStatistics();
  let started = 0;
  const start = performance.now();
  let end = start;
  await Promise.all(workers.map(async (worker) => {
    // Each request claims an iteration before starting it, so that no more than asked are run.
    while (unfinished(budget, started, performance.now() - start)) {
      started++;
      const began = performance.now();
      await once(worker);
      const now = performance.now();
      end = Math.max(end, now);
      latenciesMs.add(now - began);
      progress.update(latenciesMs.count, now - start);
    }
  }));
  progress.finish(latenciesMs.count, end - start);
  return { latenciesMs, totalMs: end - start };
}
