/**
 * Reproducible random tensors for inputs the user did not give (the CLI's and the profilers'): a seeded xorshift generator and,
 * per dtype, a range that the usual inputs of that type accept.
 */
import { type DType, dtypeInfo } from "./dtype.ts";
import { NotImplementedError } from "./errors.ts";
import { tensor, type Tensor } from "./tensor.ts";

/** Uniform numbers in [0, 1) from Marsaglia's xorshift32; the same seed gives the same stream. */
export function randomStream(seed: number): () => number {
  // Spread nearby seeds (0, 1, 2 …) apart, and keep the state non-zero, which xorshift needs.
  let state = (Math.imul(seed ^ 0x5bd1e995, 0x9e3779b1) >>> 0) || 0x2545f491;
  return () => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    state >>>= 0;
    return state / 0x1_0000_0000;
  };
}

/**
 * The range random elements are drawn from, [low, high] for integers and [low, high) for floats.
 * Floats get [0, 1), like normalised pixels or probabilities. uint8 and int8 take their whole
 * range (images, quantized data). Wider integers are mostly indices, token ids, lengths or
 * masks, so they get small non-negative values that any such table or axis accepts.
 */
function rangeOf(dtype: DType): [number, number] {
  switch (dtype) {
    case "bool":
      return [0, 1];
    case "uint8":
      return [0, 255];
    case "int8":
      return [-128, 127];
    case "int16":
    case "int32":
    case "int64":
    case "uint16":
    case "uint32":
    case "uint64":
      return [0, 9];
    default:
      return [0, 1];
  }
}

const floats = new Set<DType>(["float16", "float32", "float64", "bfloat16"]);
const integers = new Set<DType>(["bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64"]);

/** A tensor of `dtype` and `shape` filled from `next` (randomStream). */
export function seededTensor(dtype: DType, shape: readonly number[], next: () => number): Tensor {
  const count = shape.reduce((a, b) => a * b, 1);
  const [low, high] = rangeOf(dtype);
  if (floats.has(dtype)) {
    const values = new Float64Array(count);
    for (let i = 0; i < count; i++) values[i] = low + (high - low) * next();
    if (dtype === "float64") return tensor(values, { shape, dtype, copy: false });
    if (dtype === "float32") return tensor(Float32Array.from(values), { shape, dtype, copy: false });
    // float16 and bfloat16 are encoded by tensor() from plain numbers.
    return tensor(Array.from(values), { shape, dtype });
  }
  if (!integers.has(dtype)) {
    throw new NotImplementedError(`random ${dtype} inputs are not supported: give this input as a .npy or .bin file`);
  }
  const Storage = dtypeInfo(dtype).storage!;
  const data = new Storage(count);
  const wide = dtype === "int64" || dtype === "uint64";
  for (let i = 0; i < count; i++) {
    const value = low + Math.floor((high - low + 1) * next());
    data[i] = wide ? BigInt(value) : value;
  }
  return tensor(data, { shape, dtype, copy: false });
}
