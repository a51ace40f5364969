/**
 * The dynamic batcher: requests for one model that arrive within `maxQueueDelayUs` of the first
 * waiting one are joined along dimension 0 and run as one, up to `maxBatchSize` rows, and each
 * request gets back exactly its own rows. It applies only to models whose every input and output
 * has a dynamic first dimension; a request joins others only when they agree on every input's
 * dtype and other dims and on the outputs asked for, so joining never changes what a request
 * computes. Requests arrive here already checked against the model (codec.ts), so a malformed one
 * fails alone before any joining.
 *
 * Whether a model's outputs carry the batch in dim 0 is asked of shape inference once, at load:
 * each output's first dim must follow the inputs' first dim (a transpose's would not).
 *
 * The joined rows are copied byte for byte and each request's rows copied back out, so for a model
 * whose rows are independent (no op mixes rows) a batched result is bit-equal to a lone run.
 */
import { isPacked, typedArrayFor } from "../dtype.ts";
import type { DimValue, Model } from "../model.ts";
import { type Tensor, tensor } from "../tensor.ts";
import type { BatchingOptions } from "./batching-config.ts";
import { isClientMistake } from "./http-error.ts";

export type Outputs = Record<string, Tensor>;
/** Runs the model once over `rows` rows (the server's run, counted in its statistics). */
export type Execute = (inputs: Outputs, outputs: readonly string[], rows: number) => Promise<Outputs>;

interface Waiting {
  inputs: Outputs;
  outputs: readonly string[];
  rows: number;
  /** Requests with the same key may be joined: input dtypes, trailing dims and outputs agree. */
  key: string;
  resolve(outputs: Outputs): void;
  reject(error: unknown): void;
}

/** A dim name no model uses, standing for the batch in shape inference. */
const batchDim = "tessera_batch_rows";

/**
 * Why `model` cannot be batched, or null when every input and output has a dynamic first dim
 * and every output's first dim is the inputs' first dim.
 */
export function batchingBlocker(model: Model): string | null {
  if (model.inputs.length === 0) return "it has no inputs";
  for (const [role, infos] of [["input", model.inputs], ["output", model.outputs]] as const) {
    for (const info of infos) {
      if (info.kind !== "tensor" || info.dtype === null) return `${role} '${info.name}' is not a tensor`;
      if (info.dtype === "string" || isPacked(info.dtype)) return `${role} '${info.name}' is ${info.dtype}, whose rows are not fixed-size bytes`;
      if (info.shape === null || info.shape.length === 0) return `${role} '${info.name}' has no first dimension`;
      const first = info.shape[0]!;
      if (typeof first === "number" && first >= 0) return `${role} '${info.name}' has a fixed first dimension (${first})`;
    }
  }
  const shapes = Object.fromEntries(model.inputs.map((info) => [info.name, [batchDim, ...info.shape!.slice(1)]]));
  for (const output of model.outputNames) {
    let first: DimValue | undefined;
    try {
      first = model.inferShape(output, shapes)[0];
    } catch {
      return `output '${output}': its shape cannot be inferred from the inputs'`;
    }
    if (first !== batchDim) return `output '${output}': its first dimension is not the inputs' first dimension`;
  }
  return null;
}

/** The request's rows and joining key, or null when it must run alone (its inputs disagree on dim 0). */
function rowsAndKey(inputs: Outputs, outputs: readonly string[]): { rows: number; key: string } | null {
  const names = Object.keys(inputs).sort();
  const rows = inputs[names[0]!]!.shape[0];
  if (rows === undefined || rows === 0) return null;
  const parts = [outputs.join(",")];
  for (const name of names) {
    const input = inputs[name]!;
    if (input.shape[0] !== rows) return null;
    parts.push(`${name}:${input.dtype}:${input.shape.slice(1).join("x")}`);
  }
  return { rows, key: parts.join(";") };
}

/** Tensors with the same trailing dims, one after another along dim 0, as one tensor. */
function joinRows(parts: readonly Tensor[], rows: number): Tensor {
  const first = parts[0]!;
  const bytes = new Uint8Array(parts.reduce((sum, t) => sum + t.byteLength, 0));
  let offset = 0;
  for (const part of parts) {
    const data = part.data;
    bytes.set(new Uint8Array(data.buffer, data.byteOffset, part.byteLength), offset);
    offset += part.byteLength;
  }
  const Storage = typedArrayFor(first.dtype);
  return tensor(new Storage(bytes.buffer), { dtype: first.dtype, shape: [rows, ...first.shape.slice(1)], copy: false });
}

/** Rows [start, start + count) of `output` (of `total` rows) as a tensor of their own. */
function takeRows(output: Tensor, start: number, count: number, total: number): Tensor {
  const rowBytes = output.byteLength / total;
  const data = output.data;
  const bytes = new Uint8Array(data.buffer, data.byteOffset + start * rowBytes, count * rowBytes).slice();
  const Storage = typedArrayFor(output.dtype);
  return tensor(new Storage(bytes.buffer), { dtype: output.dtype, shape: [count, ...output.shape.slice(1)], copy: false });
}

export class Batcher {
  #queue: Waiting[] = [];
  #queuedRows = 0;
  #timer: ReturnType<typeof setTimeout> | ReturnType<typeof setImmediate> | undefined;

  constructor(readonly options: BatchingOptions, private readonly execute: Execute) {}

  /** Runs one request's inputs (checked against the model), batched with others when it can be. */
  run(inputs: Outputs, outputs: readonly string[]): Promise<Outputs> {
    const joinable = rowsAndKey(inputs, outputs);
    if (joinable === null || joinable.rows > this.options.maxBatchSize) return this.execute(inputs, outputs, joinable?.rows ?? 1);
    return new Promise((resolve, reject) => {
      this.#queue.push({ inputs, outputs, ...joinable, resolve, reject });
      this.#queuedRows += joinable.rows;
      if (this.#queuedRows >= this.options.maxBatchSize) this.flush();
      else if (this.#timer === undefined) {
        const delayUs = this.options.maxQueueDelayUs;
        // No delay: what arrived in this turn of the event loop still joins (setImmediate runs
        // after the pending I/O callbacks, where other requests are read).
        this.#timer = delayUs === 0 ? setImmediate(() => this.flush()) : setTimeout(() => this.flush(), delayUs / 1000);
      }
    });
  }

  /** Starts every waiting request now: each group of joinable ones in runs of at most maxBatchSize rows. */
  flush(): void {
    if (this.#timer !== undefined) {
      clearTimeout(this.#timer as ReturnType<typeof setTimeout>);
      clearImmediate(this.#timer as ReturnType<typeof setImmediate>);
      this.#timer = undefined;
    }
    const groups = new Map<string, Waiting[]>();
    for (const waiting of this.#queue) {
      const group = groups.get(waiting.key);
      if (group) group.push(waiting);
      else groups.set(waiting.key, [waiting]);
    }
    this.#queue = [];
    this.#queuedRows = 0;
    for (const group of groups.values()) {
      let batch: Waiting[] = [];
      let rows = 0;
      for (const waiting of group) {
        if (rows + waiting.rows > this.options.maxBatchSize) {
          this.#start(batch, rows);
          batch = [];
          rows = 0;
        }
        batch.push(waiting);
        rows += waiting.rows;
      }
      this.#start(batch, rows);
    }
  }

  #start(batch: Waiting[], rows: number): void {
    if (batch.length === 1) this.#runAlone(batch[0]!);
    else if (batch.length > 1) void this.#runJoined(batch, rows);
  }

  #runAlone(waiting: Waiting): void {
    this.execute(waiting.inputs, waiting.outputs, waiting.rows).then(waiting.resolve, waiting.reject);
  }

  async #runJoined(batch: Waiting[], rows: number): Promise<void> {
    const joined: Outputs = {};
    let results: Outputs = {};
    try {
      for (const name of Object.keys(batch[0]!.inputs)) joined[name] = joinRows(batch.map((w) => w.inputs[name]!), rows);
      results = await this.execute(joined, batch[0]!.outputs, rows);
      // Shape inference promised this at load; a run that breaks the promise fails rather than
      // hand anyone rows that are not theirs.
      const bad = Object.entries(results).find(([, output]) => output.shape[0] !== rows);
      if (bad) throw new Error(`output '${bad[0]}' has ${bad[1].shape[0]} rows for a batch of ${rows}`);
      let start = 0;
      const parts = batch.map((waiting) => {
        const own = Object.fromEntries(Object.entries(results).map(([name, output]) => [name, takeRows(output, start, waiting.rows, rows)]));
        start += waiting.rows;
        return own;
      });
      batch.forEach((waiting, i) => waiting.resolve(parts[i]!));
    } catch (error) {
      // A mistake in the inputs that the checks before joining let through: each request runs
      // alone, so each gets its own answer. Any other failure goes to every request in the run.
      if (isClientMistake(error)) for (const waiting of batch) this.#runAlone(waiting);
      else for (const waiting of batch) waiting.reject(error);
    } finally {
      for (const t of Object.values(joined)) t.dispose();
      for (const t of Object.values(results)) t?.dispose?.();
    }
  }
}
