/**
 * getModelInfo: what a model file is, in one plain object, for tools and first looks: its
 * signature with symbolic dims, opsets, producer, operator counts, parameters and a guess at its
 * kind. The library has no way to read a model without preparing it to run, so the model is
 * loaded on the CPU with one thread and disposed before this returns.
 */
import { loadModel, type ModelSource, type TensorInfo } from "./model.ts";
import { guessModelKind, type ModelKind } from "./model-kind.ts";

export interface ModelInfo {
  /** The graph's name. */
  name: string;
  producer: { name: string; version: string };
  irVersion: number;
  opsets: { domain: string; version: number }[];
  metadata: Record<string, string>;
  inputs: TensorInfo[];
  outputs: TensorInfo[];
  /** Whether any input has a symbolic dim. */
  isDynamic: boolean;
  /** Operations of the main graph, as loaded (after constant folding and fusion). */
  operationCount: number;
  /** Operations by type, most frequent first; operators of other domains as "domain:OpType". */
  operationCounts: Record<string, number>;
  /** Elements in all initializers. */
  parameterCount: number;
  /** Bytes all initializers hold, as stored. */
  parameterBytes: number;
  /** A heuristic guess at what the model does (see model-kind.ts), and what it rests on. */
  kind: ModelKind;
  evidence: string[];
}

/** Reads a model (a path, a model folder, or its bytes) and describes it. */
export async function getModelInfo(source: ModelSource): Promise<ModelInfo> {
  using model = await loadModel(source, { devices: "cpu", threads: 1 });
  const inputs = model.inputs;
  const outputs = model.outputs;
  const operations = model.operations;
  const counts = new Map<string, number>();
  for (const op of operations) {
    const key = op.domain === "ai.onnx" ? op.opType : `${op.domain}:${op.opType}`;
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  const { kind, evidence } = guessModelKind({ inputs, outputs, operations });
  return {
    name: model.name,
    producer: { name: model.producerName, version: model.producerVersion },
    irVersion: model.irVersion,
    opsets: [...model.opsets],
    metadata: { ...model.metadata },
    inputs,
    outputs,
    isDynamic: model.isDynamic,
    operationCount: operations.length,
    operationCounts: Object.fromEntries([...counts].sort((a, b) => b[1] - a[1])),
    parameterCount: model.parameterCount,
    parameterBytes: model.parameterBytes,
    kind,
    evidence,
  };
}
