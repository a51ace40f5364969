/**
 * Reproducible random tensors for inputs the user did not give (the CLI's and the profilers'): a seeded xorshift generator and,
 * per dtype, a range that the usual inputs of that type accept.
 */
import { type DType, dtypeInfo } from "./dtype.ts";
import { NotImplementedError, OutOfResourceError } from "./errors.ts";
import { elementEncoder, tensor, type Tensor } from "./tensor.ts";

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

/** The most bytes one random input may take (2 GiB): far above real inputs, far below a typo's. */
export const maxRandomInputBytes = 2 ** 31;

/**
 * Refuses a random input too large to make, before anything is allocated. A declared shape (or
 * a --shape) can be huge, and an allocation that size either fails with a bare RangeError
 * (JavaScriptCore) or succeeds lazily (V8), to be filled page by page until memory runs out.
 * Dims that are not sizes are left to tensor(), whose ShapeError names them.
 */
export function checkRandomInputSize(name: string, dtype: DType, shape: readonly number[]): void {
  if (!shape.every((d) => Number.isSafeInteger(d) && d >= 0)) return;
  const count = shape.reduce((a, b) => a * b, 1);
  const bytes = Math.ceil((count * dtypeInfo(dtype).bits) / 8);
  if (bytes <= maxRandomInputBytes) return;
  const gib = (n: number) => `${(n / 2 ** 30).toFixed(1)} GiB`;
  throw new OutOfResourceError(
    `random input '${name}' (${dtype} [${shape.join(", ")}], ${count} elements) would take ${bytes} bytes (${gib(bytes)}); ` +
      `random inputs are limited to ${gib(maxRandomInputBytes)}: give it smaller dims, or give its data`,
  );
}

/**
 * A tensor of `dtype` and `shape` filled from `next` (randomStream), for input `name` (named in
 * errors). Elements are written straight into the tensor's memory, with no temporary arrays.
 */
export function seededTensor(dtype: DType, shape: readonly number[], next: () => number, name = "random"): Tensor {
  const float = floats.has(dtype);
  if (!float && !integers.has(dtype)) {
    throw new NotImplementedError(`random ${dtype} inputs are not supported: give this input as a .npy or .bin file`);
  }
  checkRandomInputSize(name, dtype, shape);
  const [low, high] = rangeOf(dtype);
  const result = tensor({ shape, dtype });
  const data = result.toTypedArray();
  // The encoder turns numbers into the stored form: bigints for 64-bit integers, bits for
  // bfloat16 (and float16 where the runtime lacks Float16Array).
  const encode = elementEncoder(dtype);
  for (let i = 0; i < result.size; i++) {
    data[i] = encode(float ? low + (high - low) * next() : low + Math.floor((high - low + 1) * next()));
  }
  return result;
}
