/**
 * Dynamic batching settings: the server's defaults (the CLI's --max-batch-size and
 * --max-queue-delay-us) and a model's own overrides, read from `<name>.json` beside the model in
 * the repository. That file takes the two fields of Triton's model configuration that concern
 * batching, with Triton's names, as Triton's JSON form of config.pbtxt writes them:
 *
 *   { "max_batch_size": 8, "dynamic_batching": { "max_queue_delay_microseconds": 500 } }
 *
 * Any other field is refused, so a misspelt name fails loudly instead of leaving batching off.
 */
import { InvalidArgumentError } from "../errors.ts";

export interface BatchingOptions {
  /** The most rows one batched run holds; below 2, requests run alone. */
  maxBatchSize: number;
  /** How long the first request of a batch waits for others to join it, in microseconds. */
  maxQueueDelayUs: number;
}

export const noBatching: BatchingOptions = { maxBatchSize: 0, maxQueueDelayUs: 0 };

/** The largest values taken: a batch beyond 2**20 rows or a wait beyond a minute is a typo. */
export const maxBatchSizeLimit = 2 ** 20;
export const maxQueueDelayUsLimit = 60_000_000;

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

function count(value: unknown, field: string, limit: number, file: string): number {
  if (!Number.isSafeInteger(value) || (value as number) < 0 || (value as number) > limit) {
    throw new InvalidArgumentError(`${file}: ${field} must be a whole number from 0 to ${limit}, not ${JSON.stringify(value)}`);
  }
  return value as number;
}

function onlyFields(object: Record<string, unknown>, allowed: readonly string[], where: string): void {
  const unknown = Object.keys(object).find((key) => !allowed.includes(key));
  if (unknown !== undefined) throw new InvalidArgumentError(`${where}: unknown field '${unknown}' (known: ${allowed.join(", ")})`);
}

/**
 * A model's settings from its config file's text, each field falling back to `defaults`. `file`
 * names the file in messages (its name within the repository, never a full path).
 */
export function parseBatchingConfig(text: string, file: string, defaults: BatchingOptions): BatchingOptions {
  let config: unknown;
  try {
    config = JSON.parse(text);
  } catch (error) {
    throw new InvalidArgumentError(`${file} is not valid JSON (${(error as Error).message})`);
  }
  if (!isObject(config)) throw new InvalidArgumentError(`${file} must hold a JSON object`);
  onlyFields(config, ["max_batch_size", "dynamic_batching"], file);
  const options = { ...defaults };
  if (config.max_batch_size !== undefined) options.maxBatchSize = count(config.max_batch_size, "max_batch_size", maxBatchSizeLimit, file);
  const dynamic = config.dynamic_batching;
  if (dynamic !== undefined) {
    if (!isObject(dynamic)) throw new InvalidArgumentError(`${file}: dynamic_batching must be an object`);
    onlyFields(dynamic, ["max_queue_delay_microseconds"], `${file}: dynamic_batching`);
    if (dynamic.max_queue_delay_microseconds !== undefined) {
      options.maxQueueDelayUs = count(dynamic.max_queue_delay_microseconds, "dynamic_batching.max_queue_delay_microseconds", maxQueueDelayUsLimit, file);
    }
  }
  return options;
}
