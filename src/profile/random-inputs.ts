/**
 * Inputs for timing a model when the caller gives none: a tensor per input from its TensorInfo,
 * with every dynamic dim set to 1 (or to the sizes given by name) and seeded pseudo-random
 * elements, so repeated profiles see the same data.
 *
 * Floats are uniform in [-1, 1); integers are small and non-negative (0..3; 0..1 for 2-bit types), so that inputs used
 * as indices (token ids, gather indices) stay in range for most models; bools are random.
 * Element types that cannot be made from numbers (float8, float4, complex) are zeros.
 */
import { type DType, dtypeInfo } from "../dtype.ts";
import { InvalidArgumentError } from "../errors.ts";
import type { Model, TensorInfo } from "../model.ts";
import { type Tensor, tensor } from "../tensor.ts";

export interface RandomInputOptions {
  /** Sizes of symbolic dims by name (e.g. { batch: 8 }); the others are 1. */
  dims?: Record<string, number>;
  /** Seed of the generator (default 1). */
  seed?: number;
}

/** A small seeded generator (xorshift32) of numbers in [0, 1). */
function generator(seed: number): () => number {
  let state = seed >>> 0 || 0x9e3779b9;
  return () => {
    state ^= state << 13;
    state >>>= 0;
    state ^= state >>> 17;
    state ^= state << 5;
    state >>>= 0;
    return state / 4294967296;
  };
}

/** The concrete shape of an input: symbolic dims from `dims`, else 1. */
export function concreteShape(info: TensorInfo, dims: Record<string, number> = {}): number[] {
  if (info.shape === null) {
    throw new InvalidArgumentError(`input '${info.name}' has an unknown rank; give inputs for it`);
  }
  return info.shape.map((dim) => (typeof dim === "number" ? dim : (dims[dim] ?? 1)));
}

const zeroFilled = /^float8|^float4|^complex/;
const directlyFilled = new Set<DType>(["float32", "float64", "int8", "uint8", "int16", "uint16", "int32", "uint32", "bool"]);

function elementSource(dtype: DType, next: () => number): () => number {
  if (dtype === "bool") return () => (next() < 0.5 ? 0 : 1);
  // 0..3, or 0..1 where that is all a signed 2-bit type holds.
  if (/^(u?int|qu?int)/.test(dtype)) return dtypeInfo(dtype).bits < 4 ? () => Math.floor(next() * 2) : () => Math.floor(next() * 4);
  return () => next() * 2 - 1;
}

/** A tensor for `info` with seeded random elements. */
export function randomTensor(info: TensorInfo, options: RandomInputOptions = {}): Tensor {
  if (info.kind !== "tensor") {
    throw new InvalidArgumentError(`input '${info.name}' is a ${info.kind}; random inputs are made only for tensors, give inputs for it`);
  }
  if (info.dtype === null) throw new InvalidArgumentError(`input '${info.name}' has no known element type; give inputs for it`);
  const shape = concreteShape(info, options.dims);
  const dtype = info.dtype;
  if (dtype === "string" || zeroFilled.test(dtype)) return tensor({ shape, dtype });
  const count = shape.reduce((a, b) => a * b, 1);
  const next = elementSource(dtype, generator(options.seed ?? 1));
  // Types stored as plain numbers are filled directly; the rest (int64, float16, packed) go through tensor()'s encoders.
  if (directlyFilled.has(dtype)) {
    const data = new (dtypeInfo(dtype).storage!)(count);
    for (let i = 0; i < count; i++) data[i] = next();
    return tensor(data, { shape, dtype, copy: false });
  }
  const values = Array.from({ length: count }, next);
  return tensor(values, { shape, dtype });
}

/**
 * One random tensor per model input, by name. Inputs the model may leave out (optOut) are left
 * out. A sequence, map or unknown-rank input cannot be made up: InvalidArgumentError.
 */
export function randomInputs(model: Model, options: RandomInputOptions = {}): Record<string, Tensor> {
  const inputs: Record<string, Tensor> = {};
  const seed = options.seed ?? 1;
  try {
    model.inputs.forEach((info, i) => {
      if (info.optOut) return;
      inputs[info.name] = randomTensor(info, { ...options, seed: seed + i });
    });
  } catch (error) {
    for (const made of Object.values(inputs)) made.dispose();
    throw error;
  }
  return inputs;
}
