/**
 * Bit-level helpers: packing 1-, 2- and 4-bit elements into bytes (first element in the lowest
 * bits, as ONNX does for int4/uint4), and 16-bit float encodings that TypedArrays may lack.
 */
import { InvalidArgumentError, TypeError as TesseraTypeError } from "./errors.ts";
import { type DType, type DTypeLike, dtypes, isPacked, isSigned, resolveDType } from "./dtype.ts";

function packedBits(dtype: DType): number {
  if (!isPacked(dtype)) throw new TesseraTypeError(`${dtype} is not a packed type`);
  return dtypes[dtype].bits;
}

function valueRange(dtype: DType): [number, number] {
  const bits = packedBits(dtype);
  return isSigned(dtype) ? [-(1 << (bits - 1)), (1 << (bits - 1)) - 1] : [0, (1 << bits) - 1];
}

/** Packs integer values of a 1-, 2- or 4-bit type into bytes; padding bits stay zero. */
export function pack(values: ArrayLike<number | boolean>, dtypeLike: DTypeLike): Uint8Array {
  const dtype = resolveDType(dtypeLike);
  const bits = packedBits(dtype);
  const [low, high] = valueRange(dtype);
  const mask = (1 << bits) - 1;
  const perByte = 8 / bits;
  const out = new Uint8Array(Math.ceil(values.length / perByte));
  for (let i = 0; i < values.length; i++) {
    const value = Number(values[i]);
    if (!Number.isInteger(value) || value < low || value > high) {
      throw new InvalidArgumentError(`element ${i} (${values[i]}) is outside ${dtype}'s range ${low}..${high}`);
    }
    out[Math.floor(i / perByte)]! |= (value & mask) << ((i % perByte) * bits);
  }
  return out;
}

/** Unpacks `count` elements of a 1-, 2- or 4-bit type, sign-extending the signed ones. */
export function unpack(bytes: Uint8Array, dtypeLike: DTypeLike, count: number): Int8Array | Uint8Array {
  const dtype = resolveDType(dtypeLike);
  const bits = packedBits(dtype);
  const perByte = 8 / bits;
  if (bytes.length * perByte < count) {
    throw new InvalidArgumentError(`${bytes.length} bytes hold at most ${bytes.length * perByte} ${dtype} elements, not ${count}`);
  }
  const signed = isSigned(dtype);
  const out = signed ? new Int8Array(count) : new Uint8Array(count);
  const mask = (1 << bits) - 1;
  const signBit = 1 << (bits - 1);
  for (let i = 0; i < count; i++) {
    const raw = (bytes[Math.floor(i / perByte)]! >> ((i % perByte) * bits)) & mask;
    out[i] = signed && raw & signBit ? raw - (1 << bits) : raw;
  }
  return out;
}

/**
 * Makes every nonzero byte of the first `count` bool elements 1, in place. Native kernels take
 * bools to be 0 or 1 (Cast copies the byte, Equal compares bytes), so a 2 or 255 from user data
 * must become the canonical true before native code reads it. Writes only the bytes that change.
 */
export function normalizeBools(bytes: Uint8Array | Uint8ClampedArray, count = bytes.length): void {
  for (let i = 0; i < count; i++) if (bytes[i]! > 1) bytes[i] = 1;
}

const scratch = new DataView(new ArrayBuffer(4));

/** bfloat16 bits for a number, rounding to nearest even (NaN stays NaN). */
export function toBFloat16Bits(value: number): number {
  scratch.setFloat32(0, value);
  const bits = scratch.getUint32(0);
  if (Number.isNaN(value)) return 0x7fc0;
  return ((bits + 0x7fff + ((bits >>> 16) & 1)) >>> 16) & 0xffff;
}

export function fromBFloat16Bits(bits: number): number {
  scratch.setUint32(0, (bits & 0xffff) << 16);
  return scratch.getFloat32(0);
}

/** IEEE half bits for a number, rounding to nearest even; for runtimes without Float16Array. */
export function toFloat16Bits(value: number): number {
  if (Number.isNaN(value)) return 0x7e00;
  const sign = value < 0 || Object.is(value, -0) ? 0x8000 : 0;
  const magnitude = Math.abs(value);
  if (magnitude >= 65520) return sign | 0x7c00; // rounds past the largest half: infinity
  if (magnitude < 2 ** -24 / 2) return sign;
  if (magnitude < 2 ** -14) return sign | roundEven(magnitude / 2 ** -24); // subnormal
  const exponent = Math.floor(Math.log2(magnitude));
  const scaled = magnitude / 2 ** exponent; // in [1, 2)
  const mantissa = roundEven((scaled - 1) * 1024);
  // A mantissa that rounds up to 1024 carries into the exponent, which the addition does itself.
  return sign | (((exponent + 15) << 10) + mantissa);
}

export function fromFloat16Bits(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >> 10) & 0x1f;
  const mantissa = bits & 0x3ff;
  if (exponent === 0) return sign * mantissa * 2 ** -24;
  if (exponent === 31) return mantissa ? NaN : sign * Infinity;
  return sign * (1 + mantissa / 1024) * 2 ** (exponent - 15);
}

function roundEven(x: number): number {
  const floor = Math.floor(x);
  const diff = x - floor;
  if (diff > 0.5) return floor + 1;
  if (diff < 0.5) return floor;
  return floor % 2 === 0 ? floor : floor + 1;
}
