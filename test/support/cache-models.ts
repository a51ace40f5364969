/**
 * Models whose load packs weights for the GEMM, for the compiled-model cache and hot-update
 * tests: a convolution whose weights go on the GEMM's left (many output positions), one whose
 * weights go on its right (few positions), and a MatMul head. `head` seeds the head's weights
 * alone, so two models can differ only in their last layer.
 */
import { buildModel, GraphBuilder } from "../../src/onnx/builder.ts";

/** Deterministic values in [-1, 1). */
export function values(count: number, seed: number): Float32Array {
  let state = seed >>> 0;
  return Float32Array.from({ length: count }, () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return (state / 2 ** 32) * 2 - 1;
  });
}

export const inputShape = [1, 8, 16, 16];
/** Bytes of the head's float32 weight, as stored in the model. */
export const headWeightBytes = 256 * 10 * 4;

export function packedModel(head = 7): Uint8Array {
  const g = new GraphBuilder("packed");
  g.input("x", "float32", inputShape);
  const w1 = g.initializer("w1", "float32", [16, 8, 3, 3], values(16 * 8 * 9, 1));
  const b1 = g.initializer("b1", "float32", [16], values(16, 2));
  const c1 = g.node("Relu", [g.node("Conv", ["x", w1, b1], { attrs: { pads: [1, 1, 1, 1] } })]);
  // 4x4 windows, stride 4: 16 output positions, so W sits on the GEMM's right.
  const w2 = g.initializer("w2", "float32", [16, 16, 4, 4], values(16 * 16 * 16, 3));
  const c2 = g.node("Conv", [c1, w2], { attrs: { strides: [4, 4] } });
  const flat = g.node("Flatten", [c2]);
  const w3 = g.initializer("w3", "float32", [256, 10], values(256 * 10, head));
  g.node("MatMul", [flat, w3], { outputs: ["y"] });
  g.output("y", "float32", [1, 10]);
  return buildModel(g);
}

export function packedInput(): Float32Array {
  return values(inputShape.reduce((a, b) => a * b, 1), 11);
}
