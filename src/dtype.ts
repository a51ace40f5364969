/**
 * Element types in TypeScript: names and aliases, the codes of tessera.h (ONNX's numbering), bit
 * widths, and the TypedArray each one is stored in. Packed sub-byte types live in Uint8Arrays.
 */
import { TypeError as TesseraTypeError } from "./errors.ts";

export type TypedArray =
  | Int8Array
  | Uint8Array
  | Int16Array
  | Uint16Array
  | Int32Array
  | Uint32Array
  | Float32Array
  | Float64Array
  | BigInt64Array
  | BigUint64Array
  // deno-lint-ignore no-explicit-any
  | (ArrayBufferView & { length: number; [index: number]: any });

// deno-lint-ignore no-explicit-any
export type TypedArrayConstructor = { new (length: number): TypedArray; new (buffer: ArrayBuffer, offset?: number, length?: number): TypedArray; BYTES_PER_ELEMENT: number; name: string } & any;

/** Float16Array where the runtime has it, else Uint16Array holding the raw bits. */
export const Float16Storage: TypedArrayConstructor =
  (globalThis as { Float16Array?: TypedArrayConstructor }).Float16Array ?? Uint16Array;
export const hasFloat16Array = Float16Storage !== Uint16Array;

interface DTypeInfo {
  readonly code: number;
  readonly bits: number;
  /** The TypedArray holding the elements; null for strings. */
  readonly storage: TypedArrayConstructor | null;
  /** Array slots per element (2 for complex numbers). */
  readonly lanes: number;
  readonly quantized: boolean;
}

function info(code: number, bits: number, storage: TypedArrayConstructor | null, lanes = 1, quantized = false): DTypeInfo {
  return { code, bits, storage, lanes, quantized };
}

export const dtypes = {
  float32: info(1, 32, Float32Array),
  uint8: info(2, 8, Uint8Array),
  int8: info(3, 8, Int8Array),
  uint16: info(4, 16, Uint16Array),
  int16: info(5, 16, Int16Array),
  int32: info(6, 32, Int32Array),
  int64: info(7, 64, BigInt64Array),
  string: info(8, 128, null),
  bool: info(9, 8, Uint8Array),
  float16: info(10, 16, Float16Storage),
  float64: info(11, 64, Float64Array),
  uint32: info(12, 32, Uint32Array),
  uint64: info(13, 64, BigUint64Array),
  complex64: info(14, 64, Float32Array, 2),
  complex128: info(15, 128, Float64Array, 2),
  bfloat16: info(16, 16, Uint16Array),
  float8e4m3fn: info(17, 8, Uint8Array),
  float8e4m3fnuz: info(18, 8, Uint8Array),
  float8e5m2: info(19, 8, Uint8Array),
  float8e5m2fnuz: info(20, 8, Uint8Array),
  uint4: info(21, 4, Uint8Array),
  int4: info(22, 4, Uint8Array),
  float4e2m1: info(23, 4, Uint8Array),
  float8e8m0: info(24, 8, Uint8Array),
  uint2: info(25, 2, Uint8Array),
  int2: info(26, 2, Uint8Array),
  tfloat32: info(100, 32, Float32Array),
  uint1: info(101, 1, Uint8Array),
  qint8: info(102, 8, Int8Array, 1, true),
  quint8: info(103, 8, Uint8Array, 1, true),
  qint16: info(104, 16, Int16Array, 1, true),
  quint16: info(105, 16, Uint16Array, 1, true),
  qint32: info(106, 32, Int32Array, 1, true),
  qint4: info(107, 4, Uint8Array, 1, true),
  quint4: info(108, 4, Uint8Array, 1, true),
} as const satisfies Record<string, DTypeInfo>;

export type DType = keyof typeof dtypes;

/** Other spellings users bring: numpy/torch short names and ONNX's TensorProto names. */
const aliases: Record<string, DType> = {
  float: "float32",
  f32: "float32",
  half: "float16",
  f16: "float16",
  double: "float64",
  f64: "float64",
  bf16: "bfloat16",
  tf32: "tfloat32",
  i8: "int8",
  u8: "uint8",
  i16: "int16",
  u16: "uint16",
  i32: "int32",
  int: "int32",
  u32: "uint32",
  i64: "int64",
  long: "int64",
  u64: "uint64",
  i4: "int4",
  u4: "uint4",
  u1: "uint1",
  bit: "uint1",
  boolean: "bool",
  str: "string",
};

export type DTypeLike = DType | (string & {});

/** The canonical name for a dtype name or alias (case-insensitive); TypeError if unknown. */
export function resolveDType(name: DTypeLike): DType {
  if (typeof name !== "string") throw new TesseraTypeError(`dtype must be a string, got ${typeof name}`);
  const lower = name.toLowerCase();
  if (lower in dtypes) return lower as DType;
  const alias = aliases[lower];
  if (alias) return alias;
  throw new TesseraTypeError(`unknown dtype '${name}'`);
}

export function dtypeInfo(dtype: DType): DTypeInfo {
  return dtypes[dtype];
}

const byCode = new Map<number, DType>(Object.entries(dtypes).map(([name, d]) => [d.code, name as DType]));

export function dtypeFromCode(code: number): DType {
  const name = byCode.get(code);
  if (!name) throw new TesseraTypeError(`unknown element type code ${code}`);
  return name;
}

export function isPacked(dtype: DType): boolean {
  return dtypes[dtype].bits < 8;
}

export function isSigned(dtype: DType): boolean {
  return ["int4", "int2", "qint4"].includes(dtype);
}

/** The TypedArray constructor that stores `dtype` (Uint8Array for packed types). */
export function typedArrayFor(dtype: DTypeLike): TypedArrayConstructor {
  const storage = dtypes[resolveDType(dtype)].storage;
  if (!storage) throw new TesseraTypeError("string tensors are not stored in a TypedArray");
  return storage;
}

const defaultDTypeByConstructor = new Map<unknown, DType>([
  [Float32Array, "float32"],
  [Float64Array, "float64"],
  [Int8Array, "int8"],
  [Uint8Array, "uint8"],
  [Uint8ClampedArray, "uint8"],
  [Int16Array, "int16"],
  [Uint16Array, "uint16"],
  [Int32Array, "int32"],
  [Uint32Array, "uint32"],
  [BigInt64Array, "int64"],
  [BigUint64Array, "uint64"],
]);
if (hasFloat16Array) defaultDTypeByConstructor.set(Float16Storage, "float16");

/** The dtype a TypedArray (or its constructor) holds by default. */
export function dtypeOf(array: TypedArray | TypedArrayConstructor): DType {
  const constructor = typeof array === "function" ? array : (array as object).constructor;
  const dtype = defaultDTypeByConstructor.get(constructor);
  if (!dtype) throw new TesseraTypeError(`no dtype is stored in ${(constructor as { name?: string }).name}`);
  return dtype;
}

/** Whether `array` may hold `dtype`'s elements: its storage type, or raw bits for 16-bit floats. */
export function canStore(array: TypedArray, dtype: DType): boolean {
  const storage = dtypes[dtype].storage;
  if (storage === null) return false;
  if (array.constructor === storage) return true;
  if (array instanceof Uint8ClampedArray && storage === Uint8Array) return true;
  return dtype === "float16" && array instanceof Uint16Array;
}
