/**
 * queryModel (OpenVINO's Core.query_model): where each operation of a model would run on the
 * given devices, read from the partition a load makes. The model is loaded as compileModel loads
 * it, not strict, so that an operation a device refuses falls back to the next device (the CPU
 * last) instead of failing the load, and is disposed before this returns. A query naming a
 * Vulkan device opens it, as the load would.
 */
import { compileModel, type ModelSource, type Operation } from "./model.ts";

export interface QueryResult {
  /** Each operation's device ("cpu:0"), by operation name; unnamed ones as "OpType #index". */
  devices: Record<string, string>;
  /** Every operation of the main graph in execution order, with its device. */
  operations: Operation[];
  /** The operations none of the asked devices runs: those that fell back to another device. */
  refused: Operation[];
}

/**
 * Where each operation would run on `device`: a device argument as compileModel takes it
 * ("cpu", "AUTO", "AUTO:GPU,CPU", "vulkan:0,cpu"), or a list of Tessera's device names.
 */
export async function queryModel(source: ModelSource, device: string | readonly string[]): Promise<QueryResult> {
  using model = typeof device === "string"
    ? await compileModel(source, device, { strict: false, threads: 1 })
    : await compileModel(source, { devices: [...device], strict: false, threads: 1 });
  const asked = (model.getOption("devices") || "auto").split(",").map((name) => name.trim());
  const operations = [...model.operations];
  return {
    devices: Object.fromEntries(operations.map((op, i) => [op.name || `${op.opType} #${i}`, op.device])),
    operations,
    refused: operations.filter((op) => !asked.some((name) => runsOn(name, op.device))),
  };
}

/** Whether an asked name covers the device an operation was placed on ("cpu" covers "cpu:0"). */
function runsOn(asked: string, placed: string): boolean {
  return asked === "auto" || asked === placed || `${asked}:0` === placed;
}
