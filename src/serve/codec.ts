/**
 * Tensors to and from OIP v2: JSON `data` (flat, or nested as some clients send it) and Triton's
 * binary tensor data extension (raw little-endian elements; BOOL one byte each; FP16 raw halves;
 * BYTES as a 4-byte little-endian length before each element's bytes).
 */
import { type DType, hasFloat16Array, typedArrayFor } from "../dtype.ts";
import type { TensorInfo } from "../model.ts";
import { fromFloat16Bits } from "../packing.ts";
import { type Tensor, tensor } from "../tensor.ts";
import { datatypeForDtype, dtypeForDatatype, elementBytes, type Datatype } from "./datatypes.ts";
import { badRequest } from "./http-error.ts";
import type { RequestInput } from "./protocol.ts";

const utf8 = new TextEncoder();
const fromUtf8 = new TextDecoder();

/** Integer ranges of the fixed-width types JSON numbers may fill. */
const integerRanges: Partial<Record<DType, [number, number]>> = {
  uint8: [0, 255], int8: [-128, 127], uint16: [0, 65535], int16: [-32768, 32767],
  uint32: [0, 2 ** 32 - 1], int32: [-(2 ** 31), 2 ** 31 - 1],
  uint64: [0, Number.MAX_SAFE_INTEGER], int64: [Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER],
};

/** Whether a JSON value may be an element of `dtype`. */
function acceptsElement(dtype: DType, value: unknown): boolean {
  if (dtype === "bool") return typeof value === "boolean";
  if (dtype === "string") return typeof value === "string";
  if (typeof value !== "number") return false;
  const range = integerRanges[dtype];
  return range === undefined || (Number.isInteger(value) && value >= range[0] && value <= range[1]);
}

/** Nested arrays' elements in row-major order (the count is checked against the shape after). */
function flattened(values: readonly unknown[]): unknown[] {
  // Typed as one level: TypeScript's type for flat(Infinity) recurses without end on unknown[].
  return (values as unknown[][]).flat(Infinity as 1);
}

/** The model's shape for an input, checked against what the request says: rank and fixed dims. */
function checkShape(info: TensorInfo, shape: readonly number[]): void {
  const expected = info.shape;
  if (expected === null) return;
  const fits = expected.length === shape.length && expected.every((d, i) => typeof d !== "number" || d < 0 || d === shape[i]);
  if (!fits) {
    const wanted = expected.map((d) => (typeof d === "number" && d >= 0 ? d : -1));
    throw badRequest(`input '${info.name}' has shape [${shape.join(", ")}]; the model takes [${wanted.join(", ")}]`);
  }
}

/** A request's BYTES elements from the binary extension's length-prefixed layout. */
function readStrings(bytes: Uint8Array, count: number, name: string): string[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const strings: string[] = [];
  let offset = 0;
  while (offset < bytes.length) {
    if (offset + 4 > bytes.length) throw badRequest(`input '${name}': a BYTES element's length is cut off`);
    const length = view.getUint32(offset, true);
    offset += 4;
    if (offset + length > bytes.length) throw badRequest(`input '${name}': a BYTES element runs past its binary data`);
    strings.push(fromUtf8.decode(bytes.subarray(offset, offset + length)));
    offset += length;
  }
  if (strings.length !== count) throw badRequest(`input '${name}' holds ${strings.length} BYTES elements; its shape needs ${count}`);
  return strings;
}

/**
 * One input as a tensor. `binary` is this input's slice of the binary section when it came that
 * way (parameters.binary_data_size), else the elements are in `input.data`.
 */
export function decodeInput(input: RequestInput, info: TensorInfo, binary: Uint8Array | null): Tensor {
  const dtype = dtypeForDatatype(input.datatype);
  if (dtype === undefined) throw badRequest(`input '${input.name}': unknown datatype '${input.datatype}'`);
  if (info.kind !== "tensor" || dtype !== info.dtype) {
    throw badRequest(`input '${input.name}' is ${input.datatype}; the model takes ${datatypeForDtype(info.dtype) ?? info.dtype ?? "a non-tensor value"}`);
  }
  checkShape(info, input.shape);
  const count = input.shape.reduce((a, b) => a * b, 1);
  const shape = input.shape;
  if (binary !== null) {
    if (dtype === "string") return tensor(readStrings(binary, count, input.name), { dtype, shape });
    const size = count * elementBytes(input.datatype as Datatype);
    if (binary.length !== size) throw badRequest(`input '${input.name}' has ${binary.length} bytes of binary data; shape [${shape.join(", ")}] needs ${size}`);
    // The slice is this request's own body, which nothing else writes to and which the tensor
    // keeps alive, so it is wrapped where it lies when it sits at its element alignment (a
    // TypedArray needs that); otherwise its bytes are copied to a buffer of their own, with
    // ArrayBuffer.slice (a node Buffer's slice() would be a view, not a copy). On a 600 KB image
    // the copy and its garbage cost a few hundred microseconds a request.
    const Storage = typedArrayFor(dtype);
    const elements = binary.byteOffset % Storage.BYTES_PER_ELEMENT === 0
      ? new Storage(binary.buffer, binary.byteOffset, count)
      : new Storage(binary.buffer.slice(binary.byteOffset, binary.byteOffset + binary.byteLength));
    return tensor(elements, { dtype, shape, copy: false });
  }
  if (input.data === undefined) throw badRequest(`input '${input.name}' has neither data nor binary_data_size`);
  const values = Array.isArray(input.data) ? flattened(input.data) : [input.data];
  if (values.length !== count) throw badRequest(`input '${input.name}' has ${values.length} elements; shape [${shape.join(", ")}] needs ${count}`);
  const wrong = values.findIndex((value) => !acceptsElement(dtype, value));
  if (wrong >= 0) throw badRequest(`input '${input.name}': element ${wrong} is not a valid ${input.datatype} value`);
  return tensor(values as (number | boolean | string)[], { dtype, shape });
}

/** An output as OIP describes it; the elements go either in `data` or in `binary`. */
export interface EncodedOutput {
  name: string;
  datatype: Datatype;
  shape: number[];
  data?: (number | boolean | string)[];
  parameters?: { binary_data_size: number };
}

/** An output's elements as JSON values (int64 past 2**53 loses precision there; binary keeps it). */
function jsonElements(output: Tensor): (number | boolean | string)[] {
  if (output.dtype === "string") return flattened([output.toArray()]) as string[];
  const data = output.data;
  if (output.dtype === "bool") return Array.from(data as Uint8Array, (b) => b !== 0);
  if (output.dtype === "float16" && !hasFloat16Array) return Array.from(data as Uint16Array, fromFloat16Bits);
  return Array.from(data as ArrayLike<number | bigint>, Number);
}

/** An output's elements as binary tensor data, copied out of the tensor's memory. */
function binaryElements(output: Tensor): Uint8Array {
  if (output.dtype !== "string") {
    const data = output.data;
    return new Uint8Array(data.buffer, data.byteOffset, data.byteLength).slice();
  }
  return lengthPrefixed((jsonElements(output) as string[]).map((s) => utf8.encode(s)));
}

/** BYTES elements as the binary extension lays them out: a 4-byte little-endian length before each. */
export function lengthPrefixed(elements: readonly Uint8Array[]): Uint8Array {
  const bytes = new Uint8Array(elements.reduce((sum, e) => sum + 4 + e.length, 0));
  const view = new DataView(bytes.buffer);
  let offset = 0;
  for (const element of elements) {
    view.setUint32(offset, element.length, true);
    bytes.set(element, offset + 4);
    offset += 4 + element.length;
  }
  return bytes;
}

/** One output for the response; its bytes are returned apart when it goes as binary data. */
export function encodeOutput(name: string, output: Tensor, binary: boolean): { output: EncodedOutput; bytes: Uint8Array | null } {
  const datatype = datatypeForDtype(output.dtype);
  if (datatype === undefined) throw new Error(`output '${name}' is ${output.dtype}, which OIP v2 has no datatype for`);
  const described = { name, datatype, shape: [...output.shape] };
  if (!binary) return { output: { ...described, data: jsonElements(output) }, bytes: null };
  const bytes = binaryElements(output);
  return { output: { ...described, parameters: { binary_data_size: bytes.length } }, bytes };
}
