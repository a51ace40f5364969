/**
 * Inputs for timing a model when the caller gives none: a tensor per input from its TensorInfo,
 * with every dynamic dim set to 1 (or to the sizes given by name) and seeded pseudo-random
 * elements, so repeated profiles see the same data.
 *
 * Elements come from random.ts, as the CLI's random inputs do (its ranges per dtype). Element
 * types that cannot be made from numbers (float8, float4, complex) and strings are zeros/empty.
 */
import { InvalidArgumentError } from "../errors.ts";
import type { TensorInfo } from "../model.ts";
import { checkRandomInputSize, randomStream, seededTensor } from "../random.ts";
import { type Tensor, tensor } from "../tensor.ts";

export interface RandomInputOptions {
  /** Sizes of symbolic dims by name (e.g. { batch: 8 }); the others are 1. */
  dims?: Record<string, number>;
  /** Seed of the generator (default 1). */
  seed?: number;
}

/** The concrete shape of an input: symbolic dims from `dims`, else 1. */
export function concreteShape(info: TensorInfo, dims: Record<string, number> = {}): number[] {
  if (info.shape === null) {
    throw new InvalidArgumentError(`input '${info.name}' has an unknown rank; give inputs for it`);
  }
  return info.shape.map((dim) => (typeof dim === "number" ? dim : (dims[dim] ?? 1)));
}

/** Element types that cannot be made from numbers: these inputs are zeros. */
const zeroFilled = /^float8|^float4|^complex/;

/** A tensor for `info` with seeded random elements. */
export function randomTensor(info: TensorInfo, options: RandomInputOptions = {}): Tensor {
  if (info.kind !== "tensor") {
    throw new InvalidArgumentError(`input '${info.name}' is a ${info.kind}; random inputs are made only for tensors, give inputs for it`);
  }
  if (info.dtype === null) throw new InvalidArgumentError(`input '${info.name}' has no known element type; give inputs for it`);
  const shape = concreteShape(info, options.dims);
  const dtype = info.dtype;
  if (dtype === "string" || zeroFilled.test(dtype)) {
    checkRandomInputSize(info.name, dtype, shape); // seededTensor checks the others
    return tensor({ shape, dtype });
  }
  return seededTensor(dtype, shape, randomStream(options.seed ?? 1), info.name);
}

/**
 * One random tensor per model input, by name. Inputs the model may leave out (optOut) are left
 * out. A sequence, map or unknown-rank input cannot be made up: InvalidArgumentError.
 */
export function randomInputs(model: { readonly inputs: readonly TensorInfo[] }, options: RandomInputOptions = {}): Record<string, Tensor> {
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
