/**
 * The TensorProto half of the ONNX builder: element data converted to its storage (float16 and
 * bfloat16 bits, packed sub-byte codes, UTF-8 strings), written as raw_data, the typed fields or
 * external data, and sparse tensors. builder.ts re-exports the public part.
 */
import { type DType, type DTypeLike, dtypes, resolveDType } from "../dtype.ts";
import { ProtoWriter } from "./protobuf.ts";

// raw_data is little-endian; TypedArray bytes are copied as they are.
if (new Uint8Array(new Uint16Array([1]).buffer)[0] !== 1) throw new Error("big-endian host");

/**
 * Element data: a TypedArray of the dtype's storage (Uint16Array bits for float16/bfloat16,
 * packed bytes for 4- and 2-bit types), raw little-endian bytes in a Uint8Array, or values in
 * any array (numbers are converted; float8, float4 and sub-byte types take raw codes).
 */
export type TensorData =
  | ArrayBufferView
  | readonly (number | bigint | boolean | string | Uint8Array)[];

/** Where a tensor's bytes live outside the model file (`location` is relative to the model). */
export type ExternalRef = {
  readonly location: string;
  readonly offset?: number;
  readonly length?: number;
};

export interface TensorOptions {
  /** raw_data (default) or the typed field (float_data, int32_data, ...); strings: string_data. */
  readonly encoding?: "raw" | "typed";
  /** Stores the data outside the model: data_location = EXTERNAL. */
  readonly external?: ExternalRef | ExternalDataFile;
  readonly doc?: string;
}

/**
 * Collects the bytes of external-data tensors for one file, each at an aligned offset; write
 * `bytes()` beside the model under `location`.
 */
export class ExternalDataFile {
  private parts: Uint8Array[] = [];
  private size_bytes = 0;

  /** onnx.proto asks for offsets that are multiples of the 4096-byte page, for mmap. */
  constructor(readonly location: string, readonly align_bytes = 4096) {}

  add(data: Uint8Array): ExternalRef {
    const offset = Math.ceil(this.size_bytes / this.align_bytes) * this.align_bytes;
    if (offset > this.size_bytes) this.parts.push(new Uint8Array(offset - this.size_bytes));
    this.parts.push(data);
    this.size_bytes = offset + data.length;
    return { location: this.location, offset, length: data.length };
  }

  bytes(): Uint8Array {
    const out = new Uint8Array(this.size_bytes);
    let at = 0;
    for (const part of this.parts) {
      out.set(part, at);
      at += part.length;
    }
    return out;
  }
}

/** A dense tensor value, for initializers and tensor attributes; data is converted eagerly. */
export class Tensor {
  readonly dtype: DType;
  readonly dims: readonly number[];
  /** Elements in their storage TypedArray, or UTF-8 strings for dtype string. */
  readonly elements: ArrayBufferView | readonly Uint8Array[];
  readonly external?: ExternalRef;

  constructor(dtype: DTypeLike, dims: readonly number[], data: TensorData,
    readonly options: TensorOptions = {}) {
    this.dtype = onnxDType(dtype);
    if (!dims.every((d) => Number.isSafeInteger(d) && d >= 0)) throw new RangeError(`dims ${dims}`);
    this.dims = [...dims];
    this.elements = toElements(this.dtype, dims.reduce((a, b) => a * b, 1), data);
    const external = options.external;
    if (external instanceof ExternalDataFile) this.external = external.add(this.rawBytes());
    else if (external) this.external = { length: this.rawBytes().length, ...external };
  }

  /** The raw_data encoding: fixed-width little-endian elements. */
  rawBytes(): Uint8Array {
    if (Array.isArray(this.elements)) throw new TypeError("string tensors have no raw_data");
    const view = this.elements as ArrayBufferView;
    return new Uint8Array(view.buffer, view.byteOffset, view.byteLength);
  }
}

export function tensor(dtype: DTypeLike, dims: readonly number[], data: TensorData,
  options?: TensorOptions): Tensor {
  return new Tensor(dtype, dims, data, options);
}

export type SparseIndices = readonly (number | bigint)[] | BigInt64Array;

/** A sparse tensor: `values` at `indices`, either linear [NNZ] or coordinates [NNZ, rank]. */
export class SparseTensor {
  readonly values: Tensor;
  readonly indices: Tensor;

  constructor(dtype: DTypeLike, readonly dims: readonly number[], values: TensorData,
    indices: SparseIndices) {
    const nnz = (values as ArrayLike<unknown>).length / dtypes[onnxDType(dtype)].lanes;
    if (indices.length !== nnz && indices.length !== nnz * dims.length) {
      throw new RangeError(`sparse tensor: ${indices.length} indices for ${nnz} values`);
    }
    this.values = new Tensor(dtype, [nnz], values);
    const indexDims = indices.length === nnz ? [nnz] : [nnz, dims.length];
    this.indices = new Tensor("int64", indexDims, Array.from(indices, (i) => BigInt(i)));
  }
}

export function sparseTensor(dtype: DTypeLike, dims: readonly number[], values: TensorData,
  indices: SparseIndices): SparseTensor {
  return new SparseTensor(dtype, dims, values, indices);
}

/** The bytes of a standalone TensorProto, as in ONNX test data (`input_0.pb`). */
export function encodeTensorProto(name: string, dtype: DTypeLike, dims: readonly number[],
  data: TensorData, options?: TensorOptions): Uint8Array {
  const w = new ProtoWriter();
  writeTensor(w, new Tensor(dtype, dims, data, options), name);
  return w.finish();
}

const f32Scratch = new Float32Array(1);
const u32Scratch = new Uint32Array(f32Scratch.buffer);

/** IEEE half-precision bits of `value` (first rounded to float32), rounded to nearest even. */
export function float16Bits(value: number): number {
  f32Scratch[0] = value;
  const x = u32Scratch[0]!;
  const sign = (x >>> 16) & 0x8000;
  const exponent = (x >>> 23) & 0xff;
  const mantissa = x & 0x7fffff;
  if (exponent === 0xff) return sign | 0x7c00 | (mantissa ? 0x200 : 0);
  const e = exponent - 112; // rebias from 127 to 15
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) return e < -10 ? sign : sign | roundShift(mantissa | 0x800000, 14 - e);
  // A carry out of the mantissa correctly bumps the exponent (up to infinity).
  return sign | roundShift((e << 23) | mantissa, 13);
}

/** bfloat16 bits of `value`: the top half of its float32 bits, rounded to nearest even. */
export function bfloat16Bits(value: number): number {
  f32Scratch[0] = value;
  const x = u32Scratch[0]!;
  if (Number.isNaN(value)) return ((x >>> 16) & 0x8000) | 0x7fc0;
  return Math.floor((x + 0x7fff + ((x >>> 16) & 1)) / 0x10000) & 0xffff;
}

function roundShift(value: number, shift: number): number {
  const kept = value >>> shift;
  const rest = value & ((1 << shift) - 1);
  const half = 1 << (shift - 1);
  return rest > half || (rest === half && (kept & 1) === 1) ? kept + 1 : kept;
}

/** The dtype name of an ONNX element type; Tessera-only types (codes 100+) are refused. */
export function onnxDType(name: DTypeLike): DType {
  const dtype = resolveDType(name);
  if (dtypes[dtype].code > 26) throw new TypeError(`dtype '${dtype}' has no ONNX element type`);
  return dtype;
}

/** Converts tensor data to its storage TypedArray (or UTF-8 strings), checking the count. */
function toElements(dtype: DType, count: number, data: TensorData):
  ArrayBufferView | readonly Uint8Array[] {
  const info = dtypes[dtype];
  if (dtype === "string") {
    const strings = data as readonly (string | Uint8Array)[];
    if (!Array.isArray(strings) || strings.length !== count) {
      throw new RangeError(`string tensor needs ${count} strings`);
    }
    return strings.map((s) => (typeof s === "string" ? new TextEncoder().encode(s) : s));
  }
  const size_bytes = Math.ceil((count * info.bits) / 8);
  if (ArrayBuffer.isView(data)) {
    const raw = data instanceof Uint8Array && data.byteLength === size_bytes;
    const bits16 = (dtype === "float16" || dtype === "bfloat16") && data instanceof Uint16Array;
    const native = data.constructor === info.storage && data.byteLength === size_bytes;
    if (raw || bits16 || native) {
      return new Uint8Array(data.buffer, data.byteOffset, data.byteLength).slice();
    }
    // Any other TypedArray holds element values, converted below.
    if (data instanceof DataView) throw new TypeError(`${dtype} tensor: a DataView is not data`);
  }
  const values = Array.from(data as ArrayLike<number | bigint | boolean>);
  const wanted = count * info.lanes;
  if (values.length !== wanted) throw new RangeError(`${dtype} tensor needs ${wanted} values`);
  if (info.bits < 8) return packSubByte(values.map(Number), info.bits, size_bytes);
  if (dtype === "float16") return Uint16Array.from(values, (v) => float16Bits(Number(v)));
  if (dtype === "bfloat16") return Uint16Array.from(values, (v) => bfloat16Bits(Number(v)));
  if (dtype === "int64") return BigInt64Array.from(values, (v) => BigInt(v));
  if (dtype === "uint64") return BigUint64Array.from(values, (v) => BigInt(v));
  return new (info.storage as new (v: number[]) => ArrayBufferView)(values.map(Number));
}

/** Packs 4- or 2-bit codes, the first element in the least significant bits (onnx.proto). */
function packSubByte(values: readonly number[], bits: number, size_bytes: number): Uint8Array {
  const out = new Uint8Array(size_bytes);
  const perByte = 8 / bits;
  const mask = (1 << bits) - 1;
  values.forEach((v, i) => {
    out[Math.floor(i / perByte)]! |= (v & mask) << (bits * (i % perByte));
  });
  return out;
}

export function writeTensor(w: ProtoWriter, t: Tensor, name?: string): void {
  for (const d of t.dims) w.int64(1, d);
  w.int32(2, dtypes[t.dtype].code);
  if (name !== undefined) w.string(8, name);
  if (t.options.doc) w.string(12, t.options.doc);
  if (Array.isArray(t.elements)) {
    for (const s of t.elements as readonly Uint8Array[]) w.bytes(6, s);
  } else if (t.external) {
    const { location, offset, length } = t.external;
    writeEntries(w, 13, { location });
    if (offset !== undefined) writeEntries(w, 13, { offset: String(offset) });
    if (length !== undefined) writeEntries(w, 13, { length: String(length) });
    w.int32(14, 1); // data_location = EXTERNAL
  } else if (t.options.encoding === "typed") {
    writeTypedData(w, t);
  } else {
    w.bytes(9, t.rawBytes());
  }
}

/** The typed field for each element type, per the comments on onnx.proto's TensorProto. */
function writeTypedData(w: ProtoWriter, t: Tensor): void {
  const bytes = t.rawBytes();
  const view = <T>(Ctor: new (b: ArrayBufferLike, at: number, n: number) => T, width: number) =>
    new Ctor(bytes.buffer, bytes.byteOffset, bytes.byteLength / width);
  switch (t.dtype) {
    case "float32": case "complex64": return void w.packedFloat(4, view(Float32Array, 4));
    case "float64": case "complex128": return void w.packedDouble(10, view(Float64Array, 8));
    case "int64": return void w.packedInt64(7, view(BigInt64Array, 8));
    case "uint64": return void w.packedUint64(11, view(BigUint64Array, 8));
    case "uint32": return void w.packedUint64(11, view(Uint32Array, 4));
    case "int32": return void w.packedInt32(5, view(Int32Array, 4));
    case "int16": return void w.packedInt32(5, view(Int16Array, 2));
    case "int8": return void w.packedInt32(5, view(Int8Array, 1));
    case "uint16": case "float16": case "bfloat16":
      return void w.packedInt32(5, view(Uint16Array, 2));
    default: w.packedInt32(5, bytes); // 8-bit codes, bool, and packed sub-byte bytes
  }
}

export function writeSparse(w: ProtoWriter, s: SparseTensor, name?: string): void {
  w.message(1, (v) => writeTensor(v, s.values, name ?? ""));
  w.message(2, (i) => writeTensor(i, s.indices));
  for (const d of s.dims) w.int64(3, d);
}

/** StringStringEntryProto lists: metadata_props and external_data. */
export function writeEntries(w: ProtoWriter, field: number,
  entries: Record<string, string>): void {
  for (const [key, value] of Object.entries(entries)) {
    w.message(field, (e) => e.string(1, key).string(2, value));
  }
}
