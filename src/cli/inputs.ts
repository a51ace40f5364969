/**
 * A model's inputs from the command line: `--input name=file.npy|name=file.bin|name=random` and
 * `--shape name=1,3,224,224` (or benchmark_app's `name[1,3,224,224]`), and for `tessera run`
 * `name=photo.jpg` (decoded by tessera/preprocess/image to the input's size and layout, pixels
 * scaled to [0, 1], RGB: see imageInputs). Inputs not given are
 * random (seeded); dims the model leaves open come from --shape. The run, bench and profile
 * commands all build their inputs here.
 */
import { readFileSync } from "node:fs";
import type { DType } from "../dtype.ts";
import { dtypeInfo } from "../dtype.ts";
import { IOError, NotImplementedError, RuntimeException, ShapeError, TypeError as TesseraTypeError } from "../errors.ts";
import type { DimValue, Model, TensorInfo } from "../model.ts";
import { type Tensor, tensor } from "../tensor.ts";
import { UsageError } from "./args.ts";
import { decodeNpy } from "../npy.ts";
import { randomStream, seededTensor } from "../random.ts";

export interface InputSpecs {
  /** `name=path.npy`, `name=path.bin`, `name=random`; the name may be left out for a model with one input. */
  inputs?: readonly string[];
  /** `name=1,3,224,224` or `name[1,3,224,224]` (several: `a[1,3],b[2]`); the name may be left out for one input. */
  shapes?: readonly string[];
  /** Seed of the random inputs (default 0). */
  seed?: number;
  /** Image inputs already decoded by imageInputs, by input name. */
  images?: ReadonlyMap<string, Tensor>;
}

/** An input as reports show it. */
export interface InputDescription {
  name: string;
  dtype: DType;
  shape: number[];
  /** "random", or the file it was read from. */
  source: string;
}

export interface PreparedInput extends InputDescription {
  tensor: Tensor;
}

/** The inputs of one model, ready to run; disposing it disposes the tensors. */
export class ModelInputs implements Disposable {
  constructor(readonly items: readonly PreparedInput[]) {}

  /** By input name, as model.run and request.infer take them. */
  get tensors(): Record<string, Tensor> {
    return Object.fromEntries(this.items.map((item) => [item.name, item.tensor]));
  }

  /** Plain facts for reports: name, dtype, shape, source. */
  describe(): InputDescription[] {
    return this.items.map(({ name, dtype, shape, source }) => ({ name, dtype, shape, source }));
  }

  [Symbol.dispose](): void {
    for (const item of this.items) item.tensor.dispose();
  }
}

type Source = { kind: "random" } | { kind: "npy" | "bin" | "image"; path: string };

const imageExtension = /\.(jpe?g|png|webp|avif|gif|tiff?)$/i;

/**
 * Decodes the --input values that name image files into tensors, sized and laid out as each
 * input declares (open dims from --shape), float pixels scaled to [0, 1], RGB, stretched to
 * the size. Asynchronous, unlike the rest, because decoding is: run passes the result to
 * buildInputs as `images`. sharp is loaded only when an image is given.
 */
export async function imageInputs(model: Model, specs: InputSpecs = {}): Promise<Map<string, Tensor>> {
  const sources = byInput(model.inputs, (specs.inputs ?? []).map(parseInputSpec), "--input");
  const shapes = byInput(model.inputs, (specs.shapes ?? []).flatMap(parseShapeSpec), "--shape");
  const images = new Map<string, Tensor>();
  const { imageToTensor, planImage } = await import("../preprocess/image.ts");
  try {
    for (const [name, source] of sources) {
      if (source.kind !== "image") continue;
      const info = model.getTensor(name);
      const given = shapes.get(name);
      const layout = given ? planImage(info, { width: 1, height: 1, channels: 3 }).layout : undefined;
      const [height, width] = given && given.length === 4 ? (layout === "NHWC" ? [given[1], given[2]] : [given[2], given[3]]) : [];
      const bytes = readFile(source.path);
      images.set(name, await withPathAsync(source.path, () => imageToTensor(bytes, { input: info, width, height })));
    }
  } catch (error) {
    for (const t of images.values()) t.dispose();
    throw error;
  }
  return images;
}

/** Builds every input the model needs from the specs; see InputSpecs. */
export function buildInputs(model: Model, specs: InputSpecs = {}): ModelInputs {
  const infos = model.inputs;
  const sources = byInput(infos, (specs.inputs ?? []).map(parseInputSpec), "--input");
  const shapes = byInput(infos, (specs.shapes ?? []).flatMap(parseShapeSpec), "--shape");
  const next = randomStream(specs.seed ?? 0);
  const items: PreparedInput[] = [];
  try {
    for (const info of infos) {
      const source = sources.get(info.name);
      // An input with a default (an initializer of the same name) keeps it unless one is given.
      if (!source && info.optOut) continue;
      if (source?.kind === "image") {
        const image = specs.images?.get(info.name);
        if (!image) throw new UsageError(`--input '${source.path}': image files are taken by tessera run only`);
        items.push({ name: info.name, dtype: image.dtype, shape: [...image.shape], source: source.path, tensor: image });
      } else items.push(prepare(info, source ?? { kind: "random" }, shapes.get(info.name), next));
    }
  } catch (error) {
    for (const item of items) item.tensor.dispose();
    throw error;
  }
  return new ModelInputs(items);
}

/** `name=value` specs keyed by input; an unnamed one stands for the only input. */
function byInput<T>(infos: readonly TensorInfo[], specs: readonly [string, T][], option: string): Map<string, T> {
  const names = infos.map((info) => info.name);
  const map = new Map<string, T>();
  for (const [given, value] of specs) {
    let name = given;
    if (name === "") {
      const required = infos.filter((info) => !info.optOut);
      if (required.length !== 1) throw new UsageError(`${option} needs an input name: the model's inputs are ${names.join(", ")}`);
      name = required[0]!.name;
    }
    if (!names.includes(name)) throw new UsageError(`${option}: the model has no input named '${name}' (inputs: ${names.join(", ")})`);
    if (map.has(name)) throw new UsageError(`${option} is given twice for input '${name}'`);
    map.set(name, value);
  }
  return map;
}

export function parseInputSpec(spec: string): [string, Source] {
  const equals = spec.indexOf("=");
  const name = equals < 0 ? "" : spec.slice(0, equals);
  const value = equals < 0 ? spec : spec.slice(equals + 1);
  if (value === "random") return [name, { kind: "random" }];
  if (imageExtension.test(value)) return [name, { kind: "image", path: value }];
  const extension = /\.(npy|bin|raw)$/i.exec(value)?.[1]?.toLowerCase();
  if (!extension) throw new UsageError(`--input '${spec}': give name=file.npy, name=file.bin or name=random`);
  return [name, { kind: extension === "npy" ? "npy" : "bin", path: value }];
}

/** `name=1,3`, `name[1,3]`, `a[1,3],b[2]`, or `1,3` / `[1,3]` for the only input. */
export function parseShapeSpec(spec: string): [string, number[]][] {
  const dims = (text: string): number[] => {
    const parts = text.split(",").map((d) => d.trim());
    if (text.trim() === "") return [];
    if (!parts.every((d) => /^\d+$/.test(d))) throw new UsageError(`--shape '${spec}': dims must be integers >= 0`);
    return parts.map(Number);
  };
  if (spec.includes("[")) {
    const entries = [...spec.matchAll(/\s*([^[\],]*?)\s*\[([^\]]*)\]\s*(?:,|$)/g)];
    if (entries.map((m) => m[0]).join("") !== spec) throw new UsageError(`--shape '${spec}': expected name[d1,d2,...]`);
    return entries.map((m) => [m[1]!, dims(m[2]!)]);
  }
  const equals = spec.lastIndexOf("=");
  return [[equals < 0 ? "" : spec.slice(0, equals), dims(spec.slice(equals + 1))]];
}

const formatShape = (shape: readonly DimValue[]) => `[${shape.join(", ")}]`;

function prepare(info: TensorInfo, source: Source, given: number[] | undefined, next: () => number): PreparedInput {
  const { name } = info;
  if (info.kind !== "tensor") throw new NotImplementedError(`input '${name}' is a ${info.kind}: only tensor inputs can be given on the command line`);
  const dtype = info.dtype;
  if (dtype === null || dtype === "string") throw new NotImplementedError(`input '${name}' is ${dtype ?? "of unknown type"}: only numeric inputs are supported here`);
  if (given) checkFits(info, given, "--shape");
  if (source.kind === "npy") {
    const bytes = readFile(source.path);
    const array = withPath(source.path, () => decodeNpy(bytes));
    if (array.dtype !== dtype) throw new TesseraTypeError(`${source.path} holds ${array.dtype}; input '${name}' is ${dtype}`);
    checkFits(info, array.shape, source.path);
    if (given && given.join() !== array.shape.join()) {
      throw new ShapeError(`${source.path} has shape ${formatShape(array.shape)}, --shape says ${formatShape(given)}`);
    }
    return { name, dtype, shape: array.shape, source: source.path, tensor: tensor(array.data, { shape: array.shape, dtype, copy: false }) };
  }
  const shape = given ?? staticShape(info);
  if (source.kind === "random") return { name, dtype, shape, source: "random", tensor: seededTensor(dtype, shape, next, name) };
  const bytes = readFile(source.path);
  const count = shape.reduce((a, b) => a * b, 1);
  const needed = Math.ceil((count * dtypeInfo(dtype).bits) / 8);
  if (bytes.length !== needed) {
    throw new ShapeError(`${source.path} has ${bytes.length} bytes; input '${name}' (${dtype} ${formatShape(shape)}) needs ${needed}`);
  }
  const Storage = dtypeInfo(dtype).storage!;
  const copy = new Uint8Array(needed); // aligned for the element type, unlike a pooled Buffer
  copy.set(bytes);
  const data = new Storage(copy.buffer, 0, needed / Storage.BYTES_PER_ELEMENT);
  return { name, dtype, shape, source: source.path, tensor: tensor(data, { shape, dtype, copy: false }) };
}

/** The declared shape, when it has no open dims. */
function staticShape(info: TensorInfo): number[] {
  const shape = info.shape;
  if (shape === null || shape.some((d) => typeof d !== "number")) {
    const declared = shape ? formatShape(shape) : "of unknown rank";
    throw new UsageError(`input '${info.name}' has shape ${declared}: give its dims with --shape ${info.name}=...`);
  }
  return shape as number[];
}

/** A shape of the declared rank whose dims match the declared fixed ones. */
function checkFits(info: TensorInfo, shape: readonly number[], what: string): void {
  const declared = info.shape;
  if (declared === null) return;
  const fits = declared.length === shape.length && declared.every((d, i) => typeof d !== "number" || d === shape[i]);
  if (!fits) throw new ShapeError(`${what}: shape ${formatShape(shape)} does not fit input '${info.name}' ${formatShape(declared)}`);
}

function readFile(path: string): Uint8Array {
  try {
    return readFileSync(path);
  } catch (error) {
    const code = (error as { code?: string }).code;
    const reason = code === "ENOENT" ? "no such file" : code === "EISDIR" ? "it is a folder" : code === "EACCES" ? "permission denied" : (error as Error).message;
    throw new IOError(`cannot read '${path}': ${reason}`);
  }
}

/** withPath for a promise. */
async function withPathAsync<T>(path: string, read: () => Promise<T>): Promise<T> {
  try {
    return await read();
  } catch (error) {
    return withPath(path, () => {
      throw error;
    });
  }
}

/** Runs `read`, naming the file in any error it throws (the same error class). */
function withPath<T>(path: string, read: () => T): T {
  try {
    return read();
  } catch (error) {
    if (!(error instanceof RuntimeException)) throw error;
    const ErrorClass = error.constructor as new (message: string, options?: object) => RuntimeException;
    throw new ErrorClass(`${path}: ${error.message}`, { cause: error });
  }
}
