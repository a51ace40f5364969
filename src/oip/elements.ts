/**
 * Tensors to and from OIP v2's wire form, for both ends of the protocol (the server's codec and
 * the remote client): JSON `data` (flat, or nested as some clients send it) and Triton's binary
 * tensor data extension (raw little-endian elements; BOOL one byte each; FP16 raw halves; BYTES
 * as a 4-byte little-endian length before each element's bytes). A malformed tensor is an
 * InvalidArgumentError here; each end says whose mistake it was (a 400 on the server, a
 * RemoteError on the client).
 */
import { type DType, hasFloat16Array, typedArrayFor } from "../dtype.ts";
import { InvalidArgumentError } from "../errors.ts";
import { fromFloat16Bits } from "../packing.ts";
import { type Tensor, tensor } from "../tensor.ts";
import { datatypeForDtype, type Datatype, dtypeForDatatype, elementBytes } from "./datatypes.ts";

const utf8 = new TextEncoder();
const fromUtf8 = new TextDecoder();

/** A tensor as OIP describes it; the elements go either in `data` or in binary data after the JSON. */
export interface WireTensor {
  name: string;
  datatype: Datatype;
  shape: number[];
  data?: (number | boolean | string)[];
  parameters?: { binary_data_size: number };
}

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

/** BYTES elements from the binary extension's length-prefixed layout. */
function readStrings(bytes: Uint8Array, count: number, name: string): string[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const strings: string[] = [];
  let offset = 0;
  while (offset < bytes.length) {
    if (offset + 4 > bytes.length) throw new InvalidArgumentError(`'${name}': a BYTES element's length is cut off`);
    const length = view.getUint32(offset, true);
    offset += 4;
    if (offset + length > bytes.length) throw new InvalidArgumentError(`'${name}': a BYTES element runs past its binary data`);
    strings.push(fromUtf8.decode(bytes.subarray(offset, offset + length)));
    offset += length;
  }
  if (strings.length !== count) throw new InvalidArgumentError(`'${name}' holds ${strings.length} BYTES elements; its shape needs ${count}`);
  return strings;
}

/** The Tessera dtype of a wire datatype; InvalidArgumentError for one OIP does not define. */
export function dtypeOfWire(datatype: unknown, name: string): DType {
  const dtype = dtypeForDatatype(datatype);
  if (dtype === undefined) throw new InvalidArgumentError(`'${name}': unknown datatype '${String(datatype)}'`);
  return dtype;
}

/**
 * A tensor from its wire form: `binary` is its slice of the binary section when it came that way
 * (parameters.binary_data_size), else its elements are in `data`.
 */
export function tensorFromWire(wire: { name: string; datatype: string; shape: number[]; data?: unknown }, binary: Uint8Array | null): Tensor {
  const { name, shape } = wire;
  const dtype = dtypeOfWire(wire.datatype, name);
  const count = shape.reduce((a, b) => a * b, 1);
  if (binary !== null) {
    if (dtype === "string") return tensor(readStrings(binary, count, name), { dtype, shape });
    const size = count * elementBytes(wire.datatype as Datatype);
    if (binary.length !== size) throw new InvalidArgumentError(`'${name}' has ${binary.length} bytes of binary data; shape [${shape.join(", ")}] needs ${size}`);
    // The slice is a received message's own bytes, which nothing else writes to and which the
    // tensor keeps alive, so it is wrapped where it lies when it sits at its element alignment (a
    // TypedArray needs that); otherwise its bytes are copied to a buffer of their own, with
    // ArrayBuffer.slice (a node Buffer's slice() would be a view, not a copy). On a 600 KB image
    // the copy and its garbage cost a few hundred microseconds a request.
    const Storage = typedArrayFor(dtype);
    const elements = binary.byteOffset % Storage.BYTES_PER_ELEMENT === 0
      ? new Storage(binary.buffer, binary.byteOffset, count)
      : new Storage(binary.buffer.slice(binary.byteOffset, binary.byteOffset + binary.byteLength));
    return tensor(elements, { dtype, shape, copy: false });
  }
  if (wire.data === undefined) throw new InvalidArgumentError(`'${name}' has neither data nor binary_data_size`);
  const values = Array.isArray(wire.data) ? flattened(wire.data) : [wire.data];
  if (values.length !== count) throw new InvalidArgumentError(`'${name}' has ${values.length} elements; shape [${shape.join(", ")}] needs ${count}`);
  const wrong = values.findIndex((value) => !acceptsElement(dtype, value));
  if (wrong >= 0) throw new InvalidArgumentError(`'${name}': element ${wrong} is not a valid ${wire.datatype} value`);
  return tensor(values as (number | boolean | string)[], { dtype, shape });
}

/** A tensor's elements as JSON values (int64 past 2**53 loses precision there; binary keeps it). */
function jsonElements(t: Tensor): (number | boolean | string)[] {
  if (t.dtype === "string") return flattened([t.toArray()]) as string[];
  const data = t.data;
  if (t.dtype === "bool") return Array.from(data as Uint8Array, (b) => b !== 0);
  if (t.dtype === "float16" && !hasFloat16Array) return Array.from(data as Uint16Array, fromFloat16Bits);
  return Array.from(data as ArrayLike<number | bigint>, Number);
}

/** A tensor's elements as binary tensor data, copied out of the tensor's memory. */
function binaryElements(t: Tensor): Uint8Array {
  if (t.dtype !== "string") {
    const data = t.data;
    return new Uint8Array(data.buffer, data.byteOffset, data.byteLength).slice();
  }
  return lengthPrefixed((jsonElements(t) as string[]).map((s) => utf8.encode(s)));
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

/**
 * A tensor in wire form; its bytes are returned apart when it goes as binary data. A dtype OIP
 * has no datatype for (bfloat16, int4, ...) is InvalidArgumentError.
 */
export function tensorToWire(name: string, t: Tensor, binary: boolean): { wire: WireTensor; bytes: Uint8Array | null } {
  const datatype = datatypeForDtype(t.dtype);
  if (datatype === undefined) throw new InvalidArgumentError(`'${name}' is ${t.dtype}, which OIP v2 has no datatype for`);
  const described = { name, datatype, shape: [...t.shape] };
  if (!binary) return { wire: { ...described, data: jsonElements(t) }, bytes: null };
  const bytes = binaryElements(t);
  return { wire: { ...described, parameters: { binary_data_size: bytes.length } }, bytes };
}
