/**
 * A served model's counters, answered in the shape of Triton's statistics extension
 * (`GET /v2/models/<name>/stats`): requests are `inference_count` (in rows, as Triton counts them)
 * and model runs `execution_count`, so a dynamic batcher at work shows as fewer executions than
 * inferences, and `batch_stats` lists the batch sizes that actually ran.
 */

/** A count and the nanoseconds those events took in all. */
interface Duration {
  count: number;
  ns: number;
}

const nanoseconds = (ms: number) => Math.round(ms * 1e6);

function add(duration: Duration, ms: number): void {
  duration.count++;
  duration.ns += nanoseconds(ms);
}

export class ModelStatistics {
  #inferences = 0;
  #executions = 0;
  #lastInference = 0;
  readonly #success: Duration = { count: 0, ns: 0 };
  readonly #fail: Duration = { count: 0, ns: 0 };
  readonly #computeInfer: Duration = { count: 0, ns: 0 };
  /** Rows per run -> the runs of that size and their time. */
  readonly #batches = new Map<number, Duration>();

  /** One run of the model over `rows` rows that took `ms` milliseconds. */
  execution(rows: number, ms: number): void {
    this.#executions++;
    add(this.#computeInfer, ms);
    let batch = this.#batches.get(rows);
    if (batch === undefined) this.#batches.set(rows, (batch = { count: 0, ns: 0 }));
    add(batch, ms);
  }

  /** One request answered (or failed) after `ms` in all, waiting for a batch included. */
  request(ok: boolean, rows: number, ms: number): void {
    this.#lastInference = Date.now();
    add(ok ? this.#success : this.#fail, ms);
    if (ok) this.#inferences += rows;
  }

  /** One entry of Triton's `model_stats`. */
  toJSON(name: string, version: string) {
    return {
      name,
      version,
      last_inference: this.#lastInference,
      inference_count: this.#inferences,
      execution_count: this.#executions,
      inference_stats: { success: { ...this.#success }, fail: { ...this.#fail }, compute_infer: { ...this.#computeInfer } },
      batch_stats: [...this.#batches].sort(([a], [b]) => a - b).map(([size, d]) => ({ batch_size: size, compute_infer: { ...d } })),
    };
  }
}
