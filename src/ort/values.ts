/**
 * Values between onnxruntime-common and Tessera: onnxruntime's tensors as Tessera's (zero-copy
 * where the data allows), Tessera's outputs as onnxruntime's, and a model's inputs and outputs as
 * onnxruntime's metadata. onnxruntime's element type names are Tessera's dtype names.
 */
import { type InferenceSession, Tensor as OrtTensor } from "onnxruntime-common";
import { NotImplementedError } from "../errors.ts";
import type { TensorInfo } from "../model.ts";
import { type Tensor, tensor } from "../tensor.ts";
import type { TypedArray } from "../dtype.ts";

/** The element types onnxruntime-common's Tensor can hold. */
const ortTypes = new Set<string>([
  "float32", "uint8", "int8", "uint16", "int16", "int32", "int64", "string", "bool", "float16",
  "float64", "uint32", "uint64", "uint4", "int4",
]);

/** What Tessera reads of an onnxruntime tensor: duck-typed, so tensors of any copy of onnxruntime-common do. */
interface OrtTensorLike {
  readonly type: string;
  readonly dims: readonly number[];
  readonly data: unknown;
  readonly location: string;
}

/**
 * A Tessera tensor over an onnxruntime tensor's data: wrapped without a copy, so an output
 * tensor is filled in place. Bools are copied, since a wrapped bool array has its nonzero bytes
 * set to 1 in place, and the caller's array is not Tessera's to rewrite.
 */
export function toTessera(value: OrtTensorLike, what: string): Tensor {
  if (value.location !== "cpu" && value.location !== "cpu-pinned") {
    throw new NotImplementedError(`${what} is in '${value.location}' memory: Tessera reads tensors in CPU memory only`);
  }
  if (value.type === "string") return tensor(value.data as string[], { shape: value.dims, dtype: "string" });
  return tensor(value.data as TypedArray, { shape: value.dims, dtype: value.type, copy: value.type === "bool" });
}

/** An onnxruntime tensor holding a Tessera output's elements (numeric ones are not copied). */
export function toOrt(value: Tensor): OrtTensor {
  // toArray() nests strings by the shape; onnxruntime keeps them flat, in row-major order.
  if (value.dtype === "string") {
    const nested: unknown[] = [value.toArray()];
    return new OrtTensor("string", nested.flat(value.shape.length) as string[], value.shape);
  }
  return new OrtTensor(value.dtype as OrtTensor.Type, value.toTypedArray() as OrtTensor.DataType, value.shape);
}

/**
 * onnxruntime's metadata for a model input or output. A value of a type onnxruntime-common's
 * Tensor cannot hold refuses the model, as onnxruntime-node refuses it.
 */
export function metadataOf(info: TensorInfo, role: string): InferenceSession.ValueMetadata {
  if (info.kind !== "tensor") return { name: info.name, isTensor: false };
  if (info.dtype === null || !ortTypes.has(info.dtype)) {
    throw new NotImplementedError(`${role} '${info.name}' is ${info.dtype ?? "of unknown type"}, which onnxruntime-common's Tensor cannot hold; run the model through Tessera's own API`);
  }
  return { name: info.name, isTensor: true, type: info.dtype as OrtTensor.Type, shape: info.shape ?? [] };
}
