/**
 * Images to input tensors: `import { imageToTensor } from "tessera/preprocess/image"`.
 *
 * Decoding and resizing are done by sharp (libvips): it decodes JPEG, PNG, WebP, AVIF, TIFF and
 * GIF, resizes fast with high-quality kernels, ships prebuilt binaries on npm for Linux, macOS
 * and Windows on x64 and arm64, and runs under both Bun and Deno. It is an optional peer
 * dependency, loaded on first use, so the core package never needs it; without it this module
 * throws ExtensionError saying how to install it.
 *
 * Layout, size and dtype can be read from a model's input ([1, 3, 224, 224] is NCHW 224x224,
 * [1, 224, 224, 3] NHWC); dims the model leaves open must be given. See docs/preprocessing.md.
 */
import type { Sharp } from "sharp";
import { dtypeInfo, hasFloat16Array, type TypedArray } from "../dtype.ts";
import { InvalidArgumentError, IOError, ShapeError } from "../errors.ts";
import type { Model, TensorInfo } from "../model.ts";
import { toFloat16Bits } from "../packing.ts";
import { type Tensor, tensor } from "../tensor.ts";
import { optionalPackage } from "./optional-package.ts";

export type ImageSource = string | Uint8Array | ArrayBuffer;
export type ImageLayout = "NCHW" | "NHWC";
export type ImageDType = "float32" | "float16" | "uint8";

export interface ImageToTensorOptions {
  /** Read layout, size, channels and dtype from this input (a Model: its only input, or `inputName`). */
  input?: TensorInfo | Model;
  inputName?: string;
  /** Output size in pixels; required where the input's dims are open. */
  width?: number;
  height?: number;
  /** Default NCHW, or the input's. */
  layout?: ImageLayout;
  /** 3 (colour) or 1 (grey); default 3, or the input's. */
  channels?: 1 | 3;
  /** Default "RGB". Mean and std are given in this order. */
  channelOrder?: "RGB" | "BGR";
  /** Default float32, or the input's. uint8 takes the raw pixels and no normalization. */
  dtype?: ImageDType;
  /** value = (pixel * scale - mean[c]) / std[c]; defaults 1/255, 0, 1. */
  scale?: number;
  mean?: readonly number[];
  std?: readonly number[];
  /**
   * "stretch" (default) resizes to width x height ignoring the aspect ratio; "center-crop"
   * resizes the shorter side to `resizeShorter` (default the crop's shorter side / 0.875, the
   * ImageNet recipe's 256 for 224), then cuts width x height from the middle.
   */
  resize?: "stretch" | "center-crop";
  resizeShorter?: number;
  /** sharp's resampling kernel; default lanczos3. */
  kernel?: "nearest" | "linear" | "cubic" | "mitchell" | "lanczos2" | "lanczos3";
}

/** What an image tensor will be: resolved from the options and the model's input. */
export interface ImagePlan {
  layout: ImageLayout;
  width: number;
  height: number;
  channels: 1 | 3;
  dtype: ImageDType;
}

type SharpModule = typeof import("sharp").default;

/** sharp, loaded once on first use; a missing install is an ExtensionError that says what to do. */
export async function loadSharp(): Promise<SharpModule> {
  return (await optionalPackage("sharp", "^0.35.0", "tessera/preprocess/image", () => import("sharp"))).default;
}

/**
 * Decodes one image, or several as a batch, and makes the tensor a model's image input expects:
 * resized, in NCHW or NHWC, RGB or BGR, scaled and normalized per channel.
 */
export async function imageToTensor(source: ImageSource | readonly ImageSource[], options: ImageToTensorOptions = {}): Promise<Tensor> {
  const sources = Array.isArray(source) ? (source as readonly ImageSource[]) : [source as ImageSource];
  if (sources.length === 0) throw new InvalidArgumentError("imageToTensor needs at least one image");
  const info = inputInfo(options);
  const plan = planImage(info, options);
  if (info?.shape && typeof info.shape[0] === "number" && info.shape[0] !== sources.length) {
    throw new ShapeError(`input '${info.name}' takes a batch of ${info.shape[0]}; ${sources.length} image(s) given`);
  }
  const pixels = await Promise.all(sources.map((s) => decodeResized(s, plan, options)));
  return toTensor(pixels, plan, options);
}

/** The input named by options.input / options.inputName, if any. */
function inputInfo(options: ImageToTensorOptions): TensorInfo | undefined {
  const given = options.input;
  if (given === undefined) return undefined;
  if (!("getTensor" in given)) return given;
  if (options.inputName !== undefined) return given.getTensor(options.inputName);
  const required = given.inputs.filter((i) => !i.optOut);
  if (required.length !== 1) throw new InvalidArgumentError(`the model has ${required.length} inputs (${given.inputNames.join(", ")}): name one with inputName`);
  return required[0]!;
}

/** Layout, size, channels and dtype: the options first, then what the input's shape says. */
export function planImage(info: TensorInfo | undefined, options: ImageToTensorOptions = {}): ImagePlan {
  const shape = info?.shape ?? null;
  const name = info ? `input '${info.name}'` : "the image";
  if (info && shape && shape.length !== 4) throw new ShapeError(`${name} has shape [${shape.join(", ")}]: an image input has rank 4`);
  const isChannels = (d: unknown) => d === 1 || d === 3;
  let layout = options.layout;
  // NCHW wins where both could be channels ([1, 3, 8, 3]): it is what ONNX vision models use.
  if (!layout && shape) layout = isChannels(shape[1]) ? "NCHW" : isChannels(shape[3]) ? "NHWC" : undefined;
  layout ??= "NCHW";
  const [cDim, hDim, wDim] = layout === "NCHW" ? [1, 2, 3] : [3, 1, 2];
  const fixed = (i: number) => (shape && typeof shape[i] === "number" ? (shape[i] as number) : undefined);
  const pick = (given: number | undefined, i: number, what: string, fallback?: number) => {
    const declared = fixed(i) ?? (given === undefined ? fallback : undefined);
    if (given !== undefined && declared !== undefined && given !== declared) throw new ShapeError(`${what} ${given} does not fit ${name}, whose ${what} is ${declared}`);
    const value = given ?? declared;
    if (value === undefined) throw new InvalidArgumentError(`${name} leaves its ${what} open: give ${what} in the options`);
    if (!Number.isInteger(value) || value < 1) throw new InvalidArgumentError(`${what} must be a positive integer, not ${value}`);
    return value;
  };
  const channels = pick(options.channels, cDim, "channels", 3);
  if (!isChannels(channels)) throw new ShapeError(`${name} has ${channels} channels: images give 1 or 3`);
  const dtype = options.dtype ?? imageDType(info);
  return { layout, height: pick(options.height, hDim, "height"), width: pick(options.width, wDim, "width"), channels: channels as 1 | 3, dtype };
}

function imageDType(info: TensorInfo | undefined): ImageDType {
  const dtype = info?.dtype ?? "float32";
  if (dtype !== "float32" && dtype !== "float16" && dtype !== "uint8") throw new ShapeError(`input '${info!.name}' is ${dtype}: images give float32, float16 or uint8`);
  return dtype;
}

/** Decodes (honouring EXIF orientation, dropping alpha) and resizes; raw HWC bytes out. */
async function decodeResized(source: ImageSource, plan: ImagePlan, options: ImageToTensorOptions): Promise<Uint8Array> {
  const sharp = await loadSharp();
  const what = typeof source === "string" ? `'${source}'` : "the image bytes";
  const input = source instanceof ArrayBuffer ? new Uint8Array(source) : source;
  const kernel = options.kernel ?? "lanczos3";
  try {
    let image: Sharp = sharp(input, { failOn: "error" }).rotate().removeAlpha();
    if ((options.resize ?? "stretch") === "stretch") {
      image = image.resize(plan.width, plan.height, { fit: "fill", kernel });
    } else {
      // Two steps, because the shorter side's target and the crop are sized independently.
      const decoded = await image.raw().toBuffer({ resolveWithObject: true });
      const { width, height, channels } = decoded.info;
      const shorter = options.resizeShorter ?? Math.round(Math.min(plan.width, plan.height) / 0.875);
      const ratio = shorter / Math.min(width, height);
      const w = Math.max(plan.width, Math.round(width * ratio));
      const h = Math.max(plan.height, Math.round(height * ratio));
      image = sharp(decoded.data, { raw: { width, height, channels } })
        .resize(w, h, { fit: "fill", kernel })
        .extract({ left: Math.floor((w - plan.width) / 2), top: Math.floor((h - plan.height) / 2), width: plan.width, height: plan.height });
    }
    image = image.toColourspace(plan.channels === 1 ? "b-w" : "srgb");
    const { data, info } = await image.raw().toBuffer({ resolveWithObject: true });
    if (info.channels !== plan.channels || info.width !== plan.width || info.height !== plan.height) {
      throw new InvalidArgumentError(`${what} decoded to ${info.width}x${info.height}x${info.channels}, not ${plan.width}x${plan.height}x${plan.channels}`);
    }
    return data;
  } catch (error) {
    if (error instanceof InvalidArgumentError) throw error;
    const message = (error as Error).message ?? String(error);
    if (/missing|ENOENT|no such file/i.test(message)) throw new IOError(`cannot read image ${what}: ${message}`, { cause: error });
    throw new InvalidArgumentError(`cannot decode image ${what}: ${message}`, { cause: error });
  }
}

/** Interleaved HWC pixels of each image into one N-image tensor in the planned layout and dtype. */
function toTensor(images: readonly Uint8Array[], plan: ImagePlan, options: ImageToTensorOptions): Tensor {
  const { width, height, channels, layout, dtype } = plan;
  const plane = width * height;
  const shape = layout === "NCHW" ? [images.length, channels, height, width] : [images.length, height, width, channels];
  const normalize = options.scale !== undefined || options.mean !== undefined || options.std !== undefined;
  if (dtype === "uint8" && normalize) throw new InvalidArgumentError("uint8 images take raw pixels: scale, mean and std need a float dtype");
  const scale = options.scale ?? 1 / 255;
  const mean = perChannel(options.mean, 0, channels, "mean");
  const std = perChannel(options.std, 1, channels, "std");
  const bgr = options.channelOrder === "BGR" && channels === 3;
  const out = dtype === "uint8" ? new Uint8Array(images.length * plane * channels) : new Float32Array(images.length * plane * channels);
  images.forEach((pixels, n) => {
    const base = n * plane * channels;
    for (let c = 0; c < channels; c++) {
      const from = bgr ? 2 - c : c; // output channel c reads this source channel
      const m = mean[c]!, s = std[c]!;
      for (let p = 0; p < plane; p++) {
        const v = pixels[p * channels + from]!;
        const at = layout === "NCHW" ? base + c * plane + p : base + p * channels + c;
        out[at] = dtype === "uint8" ? v : (v * scale - m) / s;
      }
    }
  });
  if (dtype !== "float16") return tensor(out, { shape, copy: false });
  // Float16Array where the engine has one (what Tessera stores float16 in), else the raw bits.
  const Half = dtypeInfo("float16").storage as unknown as new (values: ArrayLike<number>) => TypedArray;
  const half = hasFloat16Array ? new Half(out) : Uint16Array.from(out, toFloat16Bits);
  return tensor(half, { shape, dtype: "float16", copy: false });
}

function perChannel(values: readonly number[] | undefined, fallback: number, channels: number, what: string): number[] {
  if (values === undefined) return new Array(channels).fill(fallback);
  if (values.length === 1) return new Array(channels).fill(values[0]);
  if (values.length !== channels) throw new InvalidArgumentError(`${what} has ${values.length} values; the image has ${channels} channels`);
  if (what === "std" && values.some((v) => v === 0)) throw new InvalidArgumentError("std values must not be 0");
  return [...values];
}
