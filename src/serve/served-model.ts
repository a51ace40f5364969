/**
 * A loaded model as the server runs it: the model, its dynamic batcher when batching is asked for
 * and the model allows it, and its statistics. REST and gRPC both run requests through here.
 */
import type { Model, TensorInfo } from "../model.ts";
import type { Tensor } from "../tensor.ts";
import type { BatchingOptions } from "./batching-config.ts";
import { Batcher, batchingBlocker, type Outputs } from "./batcher.ts";
import { ModelStatistics } from "./model-stats.ts";

export class ServedModel {
  readonly statistics = new ModelStatistics();
  /**
   * The inputs' infos by name, read once: Model.inputs asks the native library afresh on every
   * access (a dozen calls per input), which showed in profiles of every request.
   */
  readonly inputs: ReadonlyMap<string, TensorInfo>;
  readonly #batcher: Batcher | null;
  /** Why requests run alone although batching was asked for (the model has no dynamic batch dim). */
  readonly #unbatched: string | null;
  /** Rows are counted only for models with a batch dim; others count one per request, as Triton does. */
  readonly #hasBatchDim: boolean;

  constructor(readonly model: Model, readonly batching: BatchingOptions) {
    this.inputs = new Map(model.inputs.map((info) => [info.name, info]));
    const blocker = batchingBlocker(model);
    this.#hasBatchDim = blocker === null;
    const asked = batching.maxBatchSize >= 2;
    this.#unbatched = asked ? blocker : null;
    this.#batcher = asked && blocker === null ? new Batcher(batching, (inputs, outputs, rows) => this.#execute(inputs, outputs, rows)) : null;
  }

  /** null when requests are batched or batching was not asked for; else why they run alone. */
  get unbatchedReason(): string | null {
    return this.#unbatched;
  }

  /** The batch size the model takes (Triton's max_batch_size): 0 when it does not batch. */
  get maxBatchSize(): number {
    return this.#batcher === null ? 0 : this.batching.maxBatchSize;
  }

  /**
   * The model's configuration as Triton's model config endpoint answers it, for the fields that
   * apply: max_batch_size 0 means requests are not batched, and then `parameters.batching` says
   * why when batching was asked for.
   */
  config(name: string) {
    const reason = this.unbatchedReason;
    return {
      name,
      platform: "onnx",
      max_batch_size: this.maxBatchSize,
      ...(this.maxBatchSize > 0 ? { dynamic_batching: { max_queue_delay_microseconds: this.batching.maxQueueDelayUs } } : {}),
      ...(reason === null ? {} : { parameters: { batching: { string_value: `off: ${reason}` } } }),
    };
  }

  /** Runs one request's checked inputs, computing `outputs`; the caller disposes both sides. */
  async run(inputs: Record<string, Tensor>, outputs: readonly string[]): Promise<Outputs> {
    const started = performance.now();
    const rows = this.#hasBatchDim ? (Object.values(inputs)[0]?.shape[0] ?? 1) : 1;
    try {
      const results = this.#batcher === null ? await this.#execute(inputs, outputs, rows) : await this.#batcher.run(inputs, outputs);
      this.statistics.request(true, rows, performance.now() - started);
      return results;
    } catch (error) {
      this.statistics.request(false, rows, performance.now() - started);
      throw error;
    }
  }

  async #execute(inputs: Outputs, outputs: readonly string[], rows: number): Promise<Outputs> {
    const started = performance.now();
    const results = await this.model.run<Tensor>(inputs, { outputs: [...outputs] });
    this.statistics.execution(rows, performance.now() - started);
    return results;
  }

  /** Starts what waits for a batch, then disposes the model (which waits for its runs natively). */
  dispose(): void {
    this.#batcher?.flush();
    this.model.dispose();
  }
}
