/**
 * The client's side of an inference over OIP v2: the caller's inputs (as a local model takes
 * them) checked against the remote model's TensorInfo and encoded, binary or JSON, with the
 * outputs to compute; and the answer decoded into tensors. The wire forms are src/oip's, the
 * same code the server decodes with.
 */
import { type TypedArray, typedArrayFor } from "../dtype.ts";
import { InvalidArgumentError, NotImplementedError, RemoteError } from "../errors.ts";
import type { DimValue, TensorInfo } from "../model.ts";
import { dtypeForDatatype } from "../oip/datatypes.ts";
import { tensorFromWire, tensorToWire, type WireTensor } from "../oip/elements.ts";
import { binarySlices, joinBody, splitBody } from "../oip/framing.ts";
import type { Inputs } from "../request.ts";
import { Tensor, tensor } from "../tensor.ts";

/** The inputs by name, as tensors: a record by name or position, or an array in input order. */
export function inputsByName(inputs: Inputs, infos: readonly TensorInfo[]): Record<string, Tensor> {
  if (inputs === null || typeof inputs !== "object" || inputs instanceof Tensor || ArrayBuffer.isView(inputs)) {
    throw new InvalidArgumentError("inputs must be an array in model order or a record by name or position");
  }
  const entries: [number, unknown][] = Array.isArray(inputs)
    ? inputs.map((value, i) => [i, value])
    : Object.entries(inputs).map(([key, value]) => [indexOf(key, infos), value]);
  const byName: Record<string, Tensor> = {};
  for (const [i, value] of entries) {
    const info = infos[i];
    if (info === undefined) throw new InvalidArgumentError(`the model has ${infos.length} inputs; ${entries.length} were given`);
    if (byName[info.name]) throw new InvalidArgumentError(`input '${info.name}' is given twice`);
    byName[info.name] = asTensor(value, info);
  }
  const missing = infos.find((info) => !info.optOut && !byName[info.name]);
  if (missing) throw new InvalidArgumentError(`input '${missing.name}' is missing`);
  return byName;
}

function indexOf(key: string, infos: readonly TensorInfo[]): number {
  const byName = infos.findIndex((info) => info.name === key);
  if (byName >= 0) return byName;
  if (/^(?:0|[1-9]\d*)$/.test(key) && Number(key) < infos.length) return Number(key);
  throw new InvalidArgumentError(`the model has no input named '${key}' (inputs: ${infos.map((i) => i.name).join(", ")})`);
}

/** A tensor for an input; a TypedArray is wrapped with the input's shape, which must be fixed. */
function asTensor(value: unknown, info: TensorInfo): Tensor {
  if (value instanceof Tensor) return value;
  if (ArrayBuffer.isView(value) && info.dtype !== null && value instanceof typedArrayFor(info.dtype)) {
    const shape = info.shape;
    if (shape === null || !shape.every((d): d is number => typeof d === "number")) {
      throw new InvalidArgumentError(`input '${info.name}' has dynamic dims: give it as a tensor with its shape`);
    }
    return tensor(value as TypedArray, { dtype: info.dtype, shape });
  }
  throw new NotImplementedError(`input '${info.name}': a remote model takes tensors (or TypedArrays of the input's type); sequences, maps and optionals do not travel over OIP v2`);
}

/**
 * An inference request's body: each input as binary tensor data or JSON, the outputs asked for
 * (all when `outputs` is absent) in the same form, and any extra `parameters`.
 */
export function encodeInference(inputs: Record<string, Tensor>, outputs: readonly string[] | undefined, binary: boolean, parameters?: Record<string, unknown>): { body: Uint8Array; headers: Record<string, string> } {
  const wires: WireTensor[] = [];
  const parts: Uint8Array[] = [];
  for (const [name, t] of Object.entries(inputs)) {
    const { wire, bytes } = tensorToWire(name, t, binary);
    wires.push(wire);
    if (bytes) parts.push(bytes);
  }
  const header = {
    inputs: wires,
    ...(outputs === undefined ? {} : { outputs: outputs.map((name) => ({ name, ...(binary ? { parameters: { binary_data: true } } : {}) })) }),
    ...(binary || parameters ? { parameters: { ...(binary ? { binary_data_output: true } : {}), ...parameters } } : {}),
  };
  const { body, headerLength } = joinBody(header, parts);
  const headers: Record<string, string> = { "content-type": headerLength === null ? "application/json" : "application/octet-stream" };
  if (headerLength !== null) headers["inference-header-content-length"] = String(headerLength);
  return { body, headers };
}

/** An inference answer's outputs as tensors by name, and its JSON header (for extra fields). */
export function decodeInference(body: Uint8Array, headerLength: string | null): { outputs: Record<string, Tensor>; header: Record<string, unknown> } {
  try {
    const { header, binary } = splitBody(body, headerLength);
    const outputs = (header as { outputs?: unknown }).outputs;
    if (!Array.isArray(outputs)) throw new InvalidArgumentError("it has no outputs array");
    const wires = outputs as (WireTensor & { parameters?: Record<string, unknown> })[];
    const slices = binarySlices(wires, binary, "output");
    const tensors: Record<string, Tensor> = {};
    wires.forEach((wire, i) => (tensors[wire.name] = tensorFromWire(wire, slices[i]!)));
    return { outputs: tensors, header: header as Record<string, unknown> };
  } catch (error) {
    if (error instanceof InvalidArgumentError) throw new RemoteError(`the server's inference answer is malformed: ${error.message}`, { cause: error });
    throw error;
  }
}

/** OIP model metadata's tensor: name, datatype, shape with -1 for a dim it does not fix. */
export interface TensorMetadata {
  name: string;
  datatype: string;
  shape: number[];
}

/**
 * TensorInfo from a plain server's model metadata, which says less than Tessera's extension:
 * a dim it does not fix (-1) becomes the symbolic dim "?", and the layout facts are defaults.
 */
export function infoFromMetadata(meta: TensorMetadata): TensorInfo {
  const dtype = dtypeForDatatype(meta.datatype) ?? null;
  const shape: DimValue[] = meta.shape.map((d) => (d >= 0 ? d : "?"));
  const fixed = shape.every((d): d is number => typeof d === "number");
  const elementBytes = dtype === null || dtype === "string" ? null : new (typedArrayFor(dtype))(0).BYTES_PER_ELEMENT;
  return {
    name: meta.name,
    kind: "tensor",
    dtype,
    shape,
    byteSize: fixed && elementBytes !== null ? shape.reduce((a, b) => a * b, 1) * elementBytes : null,
    alignment: 0,
    padding: 0,
    isConstant: false,
    optOut: false,
    quantization: null,
  };
}
