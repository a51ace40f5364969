/**
 * tessera/preprocess/image on images made with sharp (exact values, layouts, sizes from a model's
 * input, center crop, batches, bad bytes), `tessera run --input x=image.png`, and the image
 * examples run as a user runs them, with their models fetched from npm.
 */
import { describe, expect, test } from "bun:test";
import { createRequire } from "node:module";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import sharp from "sharp";
import { classify, loadClassifier } from "../examples/classify-image.ts";
import { ocrAsset, textLineTensor } from "../examples/support/paddle.ts";
import { renderText } from "../examples/support/text-image.ts";
import * as rt from "../src/index.ts";
import { buildModel, GraphBuilder } from "../src/onnx/builder.ts";
import { imageToTensor } from "../src/preprocess/image.ts";
import { tessera } from "./support/cli.ts";
import { bunBinary, repo, scratchDir } from "./support/paths.ts";

const dir = scratchDir("tessera-image-");

/** A solid-colour PNG. */
const solid = (r: number, g: number, b: number, width = 4, height = 2) =>
  sharp({ create: { width, height, channels: 3, background: { r, g, b } } }).png().toBuffer();

/** A PNG whose left half is red and right half blue, 8x4. */
async function halves(): Promise<Buffer> {
  const raw = Buffer.alloc(8 * 4 * 3);
  for (let p = 0; p < 32; p++) raw.set(p % 8 < 4 ? [255, 0, 0] : [0, 0, 255], p * 3);
  return sharp(raw, { raw: { width: 8, height: 4, channels: 3 } }).png().toBuffer();
}

/** Identity over an image input of the given shape and dtype. */
function imageModel(shape: (number | string)[], dtype: "float32" | "uint8" = "float32"): rt.Model {
  const g = new GraphBuilder("image_identity");
  g.input("pixels", dtype, shape);
  g.node("Identity", ["pixels"], { outputs: ["same"] });
  g.output("same", dtype, shape);
  return rt.loadModelSync(buildModel(g));
}

describe("imageToTensor", () => {
  test("a solid colour normalizes to exactly (v/255 - mean) / std per channel, NCHW", async () => {
    using t = await imageToTensor(await solid(255, 128, 0), { width: 4, height: 2, mean: [0.5, 0.25, 0], std: [0.5, 0.25, 2] });
    expect(t.shape).toEqual([1, 3, 2, 4]);
    const values = t.toTypedArray() as Float32Array;
    const expected = [(1 - 0.5) / 0.5, (128 / 255 - 0.25) / 0.25, 0];
    for (let c = 0; c < 3; c++) for (let p = 0; p < 8; p++) expect(values[c * 8 + p]).toBeCloseTo(expected[c]!, 6);
  });

  test("NHWC interleaves channels; BGR reverses them; uint8 keeps raw pixels", async () => {
    using t = await imageToTensor(await solid(10, 20, 30), { width: 4, height: 2, layout: "NHWC", channelOrder: "BGR", dtype: "uint8" });
    expect(t.shape).toEqual([1, 2, 4, 3]);
    expect(t.dtype).toBe("uint8");
    expect([...(t.toTypedArray() as Uint8Array).subarray(0, 6)]).toEqual([30, 20, 10, 30, 20, 10]);
    await expect(imageToTensor(await solid(1, 2, 3), { width: 1, height: 1, dtype: "uint8", mean: [0.5] })).rejects.toBeInstanceOf(rt.InvalidArgumentError);
  });

  test("size, layout and dtype come from a model's input; open dims must be given", async () => {
    using nchw = imageModel([1, 3, 6, 5]);
    using a = await imageToTensor(await solid(255, 0, 0, 20, 20), { input: nchw });
    expect(a.shape).toEqual([1, 3, 6, 5]);
    using nhwc = imageModel([1, 7, 9, 3], "uint8");
    using b = await imageToTensor(await solid(255, 0, 0, 20, 20), { input: nhwc });
    expect([b.shape, b.dtype]).toEqual([[1, 7, 9, 3], "uint8"]);
    const { same } = await nhwc.run({ pixels: b });
    expect(Array.from((same as rt.Tensor).toTypedArray() as Uint8Array)).toEqual(Array.from(b.toTypedArray() as Uint8Array));
    using square = imageModel([1, 3, 4, 3]); // either end could be channels: NCHW, as ONNX vision models are
    using d = await imageToTensor(await solid(1, 2, 3), { input: square });
    expect(d.shape).toEqual([1, 3, 4, 3]);
    expect((d.toTypedArray() as Float32Array)[11]).toBeCloseTo(1 / 255, 6);
    using dynamic = imageModel(["batch", 3, "h", "w"]);
    await expect(imageToTensor(await solid(1, 2, 3), { input: dynamic })).rejects.toThrow(/leaves its height open/);
    using c = await imageToTensor(await solid(1, 2, 3), { input: dynamic, width: 16, height: 8 });
    expect(c.shape).toEqual([1, 3, 8, 16]);
    await expect(imageToTensor(await solid(1, 2, 3), { input: nchw, width: 7 })).rejects.toBeInstanceOf(rt.ShapeError);
  });

  test("a batch stacks images in order; a fixed batch dim must match", async () => {
    using t = await imageToTensor([await solid(255, 255, 255), await solid(0, 0, 0)], { width: 2, height: 2 });
    expect(t.shape).toEqual([2, 3, 2, 2]);
    const values = [...(t.toTypedArray() as Float32Array)];
    expect(values.slice(0, 12).every((v) => v === 1)).toBe(true);
    expect(values.slice(12).every((v) => v === 0)).toBe(true);
    using one = imageModel([1, 3, 2, 2]);
    await expect(imageToTensor([await solid(1, 1, 1), await solid(2, 2, 2)], { input: one })).rejects.toBeInstanceOf(rt.ShapeError);
  });

  test("center-crop keeps the middle at the aspect ratio; stretch squeezes all of it in", async () => {
    const image = await halves(); // red | blue, 8x4
    using crop = await imageToTensor(image, { width: 2, height: 4, resize: "center-crop", resizeShorter: 4, kernel: "nearest", dtype: "uint8", layout: "NHWC" });
    const cropped = [...(crop.toTypedArray() as Uint8Array)];
    expect(cropped.slice(0, 3)).toEqual([255, 0, 0]); // column 3 of 8: red
    expect(cropped.slice(3, 6)).toEqual([0, 0, 255]); // column 4 of 8: blue
    using stretched = await imageToTensor(image, { width: 2, height: 1, kernel: "nearest", dtype: "uint8", layout: "NHWC" });
    expect([...(stretched.toTypedArray() as Uint8Array)]).toEqual([255, 0, 0, 0, 0, 255]);
  });

  test("float16 output, and grey images from one-channel inputs", async () => {
    using half = await imageToTensor(await solid(255, 0, 51), { width: 1, height: 1, dtype: "float16" });
    expect(half.dtype).toBe("float16");
    expect((half.toArray() as number[][][][]).flat(3)).toEqual([1, 0, expect.closeTo(0.2, 3)] as number[]);
    using grey = imageModel([1, 1, 3, 3]);
    using g = await imageToTensor(await solid(200, 200, 200), { input: grey });
    expect(g.shape).toEqual([1, 1, 3, 3]);
    expect((g.toTypedArray() as Float32Array)[0]).toBeCloseTo(200 / 255, 2);
  });

  test("bytes that are no image, and a missing file, are typed errors", async () => {
    const bad = imageToTensor(new Uint8Array([1, 2, 3, 4]), { width: 2, height: 2 });
    await expect(bad).rejects.toBeInstanceOf(rt.InvalidArgumentError);
    await expect(imageToTensor(new Uint8Array([1, 2, 3, 4]), { width: 2, height: 2 })).rejects.toThrow(/cannot decode image/);
    await expect(imageToTensor(join(dir, "absent.png"), { width: 2, height: 2 })).rejects.toBeInstanceOf(rt.IOError);
  });
});

describe("tessera run with an image input", () => {
  test("--input x=photo.png is decoded to the input's shape, scaled to [0, 1]", async () => {
    const model = join(dir, "identity.onnx");
    const g = new GraphBuilder("identity");
    g.input("x", "float32", [1, 3, 4, 6]);
    g.node("Identity", ["x"], { outputs: ["y"] });
    g.output("y", "float32", [1, 3, 4, 6]);
    writeFileSync(model, buildModel(g));
    const photo = join(dir, "photo.png");
    writeFileSync(photo, await solid(255, 0, 0, 30, 20));
    const result = tessera("run", model, "--input", `x=${photo}`, "--json");
    expect(result.err).toBe("");
    const report = JSON.parse(result.out);
    expect(report.inputs[0]).toEqual({ name: "x", dtype: "float32", shape: [1, 3, 4, 6], source: photo });
    expect(report.outputs[0].summary.min).toBe(0);
    expect(report.outputs[0].summary.max).toBe(1);
    expect(report.outputs[0].summary.mean).toBeCloseTo(1 / 3, 6);
    const broken = join(dir, "broken.jpg");
    writeFileSync(broken, "not a jpeg");
    const failed = tessera("run", model, "--input", `x=${broken}`);
    expect(failed.code).toBe(1);
    expect(failed.err).toContain("cannot decode image");
  });
});

/** Runs an example as a user would: one command, from the checkout. */
function runExample(...args: string[]) {
  const result = Bun.spawnSync([bunBinary, ...args], { cwd: repo, env: process.env });
  // The first run of an example fetches its models and says so on stderr; nothing else may be there.
  const err = result.stderr.toString().split("\n").filter((line) => !line.startsWith("fetching ")).join("\n");
  return { code: result.exitCode, out: result.stdout.toString(), err };
}

describe("examples", () => {
  test("classify-image: a rendered line is upright, the same turned over is 180°, as onnxruntime-node says", async () => {
    const { code, out, err } = runExample("examples/classify-image.ts");
    expect(err).toBe("");
    expect(code).toBe(0);
    const blocks = out.split(/\n(?=rendered)/);
    expect(blocks[0]).toMatch(/^rendered 'Tessera 2026'\n {2}1\. 0° +(9\d\.\d\d|100\.00)%/);
    expect(blocks[1]).toMatch(/^rendered 'Tessera 2026', turned over\n {2}1\. 180° +(9\d\.\d\d|100\.00)%/);

    // The same tensor through onnxruntime-node: the probabilities agree.
    const peers = process.env.TESSERA_PEERS ?? join(repo, ".cache/peers/node_modules/");
    const ort = createRequire(peers)("onnxruntime-node");
    const image = await renderText("Tessera 2026");
    const { width, height } = (await sharp(image).metadata()) as { width: number; height: number };
    using input = await textLineTensor(image, { width, height }, 48, { maxWidth: 192, padTo: 192 });
    using model = await loadClassifier();
    const ours = (await model.runSync({ x: input }))[model.outputNames[0]!] as rt.Tensor;
    const session = await ort.InferenceSession.create(await ocrAsset("ch_ppocr_mobile_v2.0_cls_infer.onnx"));
    const theirs = await session.run({ x: new ort.Tensor("float32", input.toTypedArray(), [...input.shape]) });
    const expected = theirs[session.outputNames[0]].data as Float32Array;
    const got = ours.toTypedArray() as Float32Array;
    for (let i = 0; i < 2; i++) expect(Math.abs(got[i]! - expected[i]!)).toBeLessThan(1e-4);
    expect((await classify(model, image))[0]!.label).toBe("0°");
    ours.dispose();
    await session.release();
  }, 120_000);

  test("ocr: reads back exactly the line the test rendered", async () => {
    const text = "Tessera 2026 reads 48 lines";
    const path = join(dir, "line.png");
    writeFileSync(path, await renderText(text));
    const { code, out, err } = runExample("examples/ocr.ts", path);
    expect(err).toBe("");
    expect(code).toBe(0);
    const lines = out.split("\n").filter((l) => l.startsWith('"'));
    expect(lines.length).toBe(1);
    expect(JSON.parse(lines[0]!.slice(0, lines[0]!.indexOf('"', 1) + 1))).toBe(text);
    expect(out).toContain("1 line(s)");
  }, 120_000);
});
