/**
 * ModelInfer's messages to and from the REST path's request and result. Inputs come as
 * raw_input_contents (one per input, in input order, laid out as Triton's binary tensor data, as
 * tritonclient sends them) or as typed `contents`, which are laid out the same way here so that
 * one decoder serves both transports. Outputs always go back as raw_output_contents, as Triton
 * answers.
 */
import { lengthPrefixed } from "../../oip/elements.ts";
import { badRequest } from "../http-error.ts";
import type { InferenceResult } from "../infer.ts";
import type { InferenceRequest } from "../protocol.ts";

/** Typed elements; int64 and uint64 arrive as decimal strings (proto-loader's `longs: String`). */
export interface TensorContents {
  bool_contents: boolean[];
  int_contents: number[];
  int64_contents: string[];
  uint_contents: number[];
  uint64_contents: string[];
  fp32_contents: number[];
  fp64_contents: number[];
  bytes_contents: Uint8Array[];
}

export interface InferInputTensor {
  name: string;
  datatype: string;
  shape: string[];
  contents: TensorContents | null;
}

export interface ModelInferRequest {
  model_name: string;
  model_version: string;
  id: string;
  inputs: InferInputTensor[];
  outputs: { name: string }[];
  raw_input_contents: Uint8Array[];
}

export interface ModelInferResponse {
  model_name: string;
  model_version: string;
  id: string;
  outputs: { name: string; datatype: string; shape: number[] }[];
  raw_output_contents: Uint8Array[];
}

type IntegerArray = Int8Array | Int16Array | Int32Array | Uint8Array | Uint16Array | Uint32Array;

/** Integers into a typed array, refusing any that the element type cannot hold. */
function integers(Storage: { from(values: ArrayLike<number>): IntegerArray }, values: number[], name: string): Uint8Array {
  const array = Storage.from(values);
  if (array.some((v, i) => v !== values[i])) throw badRequest(`input '${name}': an element is out of range for its datatype`);
  return new Uint8Array(array.buffer);
}

function bigIntegers(Storage: typeof BigInt64Array | typeof BigUint64Array, values: string[], name: string): Uint8Array {
  const wanted = values.map((v) => BigInt(v));
  const array = Storage.from(wanted);
  if (array.some((v, i) => v !== wanted[i])) throw badRequest(`input '${name}': an element is out of range for its datatype`);
  return new Uint8Array(array.buffer);
}

/** Typed contents as binary tensor data, from the field the protocol gives each datatype. */
function contentsBytes(input: InferInputTensor, contents: TensorContents): Uint8Array {
  const name = input.name;
  switch (input.datatype) {
    case "BOOL": return Uint8Array.from(contents.bool_contents, (b) => (b ? 1 : 0));
    case "INT8": return integers(Int8Array, contents.int_contents, name);
    case "INT16": return integers(Int16Array, contents.int_contents, name);
    case "INT32": return integers(Int32Array, contents.int_contents, name);
    case "UINT8": return integers(Uint8Array, contents.uint_contents, name);
    case "UINT16": return integers(Uint16Array, contents.uint_contents, name);
    case "UINT32": return integers(Uint32Array, contents.uint_contents, name);
    case "INT64": return bigIntegers(BigInt64Array, contents.int64_contents, name);
    case "UINT64": return bigIntegers(BigUint64Array, contents.uint64_contents, name);
    case "FP32": return new Uint8Array(Float32Array.from(contents.fp32_contents).buffer);
    case "FP64": return new Uint8Array(Float64Array.from(contents.fp64_contents).buffer);
    case "BYTES": return lengthPrefixed(contents.bytes_contents);
    case "FP16": throw badRequest(`input '${name}': FP16 has no typed contents; send it in raw_input_contents`);
    default: throw badRequest(`input '${name}': unknown datatype '${input.datatype}'`);
  }
}

/** A shape's int64 dims, as numbers. */
function shapeOf(input: InferInputTensor): number[] {
  const shape = input.shape.map(Number);
  if (!shape.every((d) => Number.isSafeInteger(d) && d >= 0)) throw badRequest(`input '${input.name}': shape must hold non-negative integers`);
  return shape;
}

/**
 * The request as the inference path takes it, with each input's binary data: every output is
 * asked for as binary data, which becomes raw_output_contents.
 */
export function fromInferRequest(message: ModelInferRequest): { request: InferenceRequest; slices: Uint8Array[] } {
  const raw = message.raw_input_contents;
  if (raw.length > 0 && raw.length !== message.inputs.length) {
    throw badRequest(`raw_input_contents holds ${raw.length} tensors for ${message.inputs.length} inputs; give every input's, or none`);
  }
  const slices = message.inputs.map((input, i) => {
    if (input.name === "") throw badRequest(`inputs[${i}] needs a name`);
    if (raw.length > 0) {
      if (input.contents !== null) throw badRequest(`input '${input.name}' has both contents and raw_input_contents`);
      return raw[i]!;
    }
    if (input.contents === null) throw badRequest(`input '${input.name}' has neither contents nor raw_input_contents`);
    return contentsBytes(input, input.contents);
  });
  const request: InferenceRequest = {
    ...(message.id === "" ? {} : { id: message.id }),
    parameters: { binary_data_output: true },
    inputs: message.inputs.map((input) => ({ name: input.name, shape: shapeOf(input), datatype: input.datatype, parameters: {} })),
    outputs: message.outputs.length === 0 ? undefined : message.outputs.map((output) => ({ name: output.name, parameters: { binary_data: true } })),
  };
  return { request, slices };
}

export function toInferResponse(result: InferenceResult): ModelInferResponse {
  const { header, binary } = result;
  return {
    model_name: header.model_name,
    model_version: header.model_version,
    id: header.id ?? "",
    outputs: header.outputs.map(({ name, datatype, shape }) => ({ name, datatype, shape })),
    raw_output_contents: binary,
  };
}
