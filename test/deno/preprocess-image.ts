/**
 * tessera/preprocess/image under Deno: sharp loads through Deno's npm support and the tensor it
 * makes runs through a model. Run by scripts/test with the Deno suites' flags.
 */
import assert from "node:assert/strict";
import sharp from "sharp";
import * as rt from "../../src/index.ts";
import { buildModel, GraphBuilder } from "../../src/onnx/builder.ts";
import { imageToTensor } from "../../src/preprocess/image.ts";

// deno-lint-ignore no-explicit-any
const Deno = (globalThis as any).Deno;

Deno.test("imageToTensor decodes a PNG to the model's NCHW input, normalized, and the model runs it", async () => {
  const g = new GraphBuilder("image_identity");
  g.input("pixels", "float32", [1, 3, 2, 4]);
  g.node("Identity", ["pixels"], { outputs: ["same"] });
  g.output("same", "float32", [1, 3, 2, 4]);
  using model = rt.loadModelSync(buildModel(g));
  const png = await sharp({ create: { width: 9, height: 6, channels: 3, background: { r: 255, g: 0, b: 102 } } }).png().toBuffer();
  using t = await imageToTensor(png, { input: model, mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5] });
  assert.deepEqual(t.shape, [1, 3, 2, 4]);
  const { same } = await model.run({ pixels: t });
  const values = Array.from((same as rt.Tensor).toTypedArray() as Float32Array);
  assert.deepEqual(values.slice(0, 8), [1, 1, 1, 1, 1, 1, 1, 1]);
  assert.deepEqual(values.slice(8, 16), [-1, -1, -1, -1, -1, -1, -1, -1]);
  assert.ok(Math.abs(values[16]! - (102 / 255 - 0.5) / 0.5) < 1e-6);
  (same as rt.Tensor).dispose();
});

Deno.test("bytes that are no image are an InvalidArgumentError", async () => {
  await assert.rejects(imageToTensor(new Uint8Array([0, 1, 2]), { width: 2, height: 2 }), rt.InvalidArgumentError);
});
