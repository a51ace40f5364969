/**
 * Foundation costs, measured in whichever runtime runs this file (Bun or Deno):
 * a trivial FFI call, a status-returning call with an out-parameter, creating and disposing a
 * tensor (through the TS API and through the raw symbols), and the library's size.
 * Prints one JSON line so scripts/bench can put Bun and Deno side by side.
 */
import { statSync } from "node:fs";
import * as rt from "../src/index.ts";
import { lib, native } from "../src/native.ts";

function nsPerOp(iterations: number, body: () => void): { min: number; median: number } {
  const samples: number[] = [];
  for (let round = 0; round < 7; round++) {
    const start = performance.now();
    for (let i = 0; i < iterations; i++) body();
    samples.push(((performance.now() - start) * 1e6) / iterations);
  }
  samples.sort((a, b) => a - b);
  return { min: samples[0]!, median: samples[3]! };
}

const slot = new Uint32Array(1);
const shape = new BigInt64Array([16n]);
const pointerSlot = new BigUint64Array(1);
const float32 = rt.dtypes.float32.code;

const results = {
  runtime: native.runtime,
  trivialCall: nsPerOp(2_000_000, () => lib.tsr_abi_version()),
  outParameterCall: nsPerOp(500_000, () => lib.tsr_dtype_bits(float32, slot)),
  rawTensorCreateDestroy: nsPerOp(100_000, () => {
    lib.tsr_tensor_create(float32, shape, 1, pointerSlot);
    lib.tsr_tensor_destroy(native.pointerAt(pointerSlot));
  }),
  tensorCreateDispose: nsPerOp(50_000, () => rt.tensor({ shape: [16], dtype: "float32" }).dispose()),
  tensorFromArrayDispose: nsPerOp(50_000, () => rt.tensor([1, 2, 3, 4]).dispose()),
  librarySizeBytes: statSync(native.path).size,
};
console.log(JSON.stringify(results));
