/**
 * Tensors. Numeric tensors keep their elements in JS memory (an ArrayBuffer) that the native
 * tensor wraps without copying, so toTypedArray() is always a zero-copy view that stays valid
 * for as long as JS holds it (a buffer detached or shrunk under a tensor makes the tensor throw
 * instead). String tensors live natively, one owned string per element.
 */
import {
  InvalidArgumentError,
  InvalidStateError,
  NotImplementedError,
  OutOfResourceError,
  ShapeError,
  TypeError as TesseraTypeError,
} from "./errors.ts";
import {
  canStore,
  type DType,
  type DTypeLike,
  dtypeFromCode,
  dtypeInfo,
  dtypeOf,
  dtypes,
  isPacked,
  resolveDType,
  type TypedArray,
  hasFloat16Array,
} from "./dtype.ts";
import { formatElements, type PrintOptions } from "./format.ts";
import { NativeHandle, type Owner } from "./handle.ts";
import { check, cString, lib, native, outI32, outPointer, outU32, outU64, type Pointer } from "./native.ts";
import { fromBFloat16Bits, fromFloat16Bits, normalizeBools, pack, toBFloat16Bits, toFloat16Bits, unpack } from "./packing.ts";
import { root } from "./runtime.ts";
import { RunGate } from "./run-gate.ts";
import { checkOptionKeys } from "./option-keys.ts";

export type Scalar = number | bigint | boolean | string;
export type NestedArray = Scalar | readonly NestedArray[];

export interface TensorOptions {
  shape?: readonly number[];
  dtype?: DTypeLike;
  /**
   * For a TypedArray source: false wraps it without copying. Its ArrayBuffer must then keep its
   * size: once it is detached (transfer(), postMessage) or shrunk (resize()), the tensor throws
   * InvalidStateError. Bool bytes other than 0 are set to 1 in place.
   */
  copy?: boolean;
  /** Quantized types: the scale and zero point. */
  scale?: number;
  zeroPoint?: number;
}

export interface Quantization {
  scale: number;
  zeroPoint: number;
}

const destroyTensor = (pointer: Pointer) => lib.tsr_tensor_destroy(pointer);
const encoder = new TextEncoder();
const decoder = new TextDecoder();

export class Tensor extends NativeHandle {
  readonly dtype: DType;
  readonly shape: readonly number[];
  /** The number of elements. */
  readonly size: number;
  /** Bytes of element storage (packed types round up). */
  readonly byteLength: number;
  readonly #storage: TypedArray | null;

  /** @internal Runs reading or filling this tensor: a dispose meanwhile waits for them natively. */
  readonly runs: RunGate;

  /** @internal Use rt.tensor() or Tensor.load(). */
  constructor(
    pointer: Pointer,
    dtype: DType,
    shape: readonly number[],
    byteLength: number,
    storage: TypedArray | null,
    owner: Owner = root,
    runs = new RunGate(),
  ) {
    // Refused before super(), which would register whatever came first as a native pointer to
    // destroy: onnxruntime's new Tensor(type, data, dims) puts a dtype name there.
    if (typeof dtype !== "string" || !Object.hasOwn(dtypes, dtype)) throw foreignConstruction([pointer, dtype, shape]);
    super(pointer, (p) => runs.close(() => destroyTensor(p)), owner);
    this.runs = runs;
    this.dtype = dtype;
    this.shape = [...shape]; // readonly by type; Object.freeze costs ~0.6 µs in JavaScriptCore
    this.size = shape.reduce((a, b) => a * b, 1);
    this.byteLength = byteLength;
    this.#storage = storage;
  }

  protected get kind(): string {
    return "Tensor";
  }

  /** @internal The native handle, for other parts of the runtime. */
  get nativeHandle(): Pointer {
    return this.guard();
  }

  /**
   * Every use of the tensor passes here, so neither native code nor a JS view ever reaches memory
   * the JS engine took back. Native code holds a raw pointer into the storage's ArrayBuffer, and
   * JS can detach that buffer (transfer(), postMessage) or shrink it (a resizable buffer's
   * resize()) at any time; no engine lets us pin it. Both show, in O(1), as a view whose
   * byteLength fell below the tensor's: 0 once detached or out of bounds, less once shrunk.
   * (Growing in place is harmless: resizable buffers reserve their maximum up front.)
   */
  protected override guard(): Pointer {
    const pointer = super.guard();
    const storage = this.#storage;
    if (storage !== null && storage.byteLength < this.byteLength) throw lostStorage(this, storage);
    return pointer;
  }

  /** Reads a tensor file written by save() (docs/tensor-file-format.md). */
  static load(path: string): Tensor {
    return loadTensor(path);
  }

  /**
   * The elements as a TypedArray: a zero-copy view of the tensor's memory (packed types give
   * their bytes, complex types interleave real and imaginary parts).
   */
  toTypedArray(): TypedArray {
    this.guard();
    if (this.#storage === null) throw new TesseraTypeError("string tensors have no TypedArray; use toArray()");
    return this.#storage;
  }

  get data(): TypedArray {
    return this.toTypedArray();
  }

  /** The elements as nested JS arrays (numbers, bigints, booleans, strings, or [re, im] pairs). */
  toArray(): NestedArray {
    // An empty tensor may still have huge outer dims ([2**32, 0]): the nested arrays alone would
    // not fit, however few elements there are.
    let nested = 1; // the arrays at each depth: 1, then shape[0], then shape[0] * shape[1], ...
    let atDepth = 1;
    for (const dim of this.shape.slice(0, -1)) nested += atDepth *= dim;
    if (nested > maxNestedArrays) {
      throw new OutOfResourceError(`toArray() of a tensor of shape [${this.shape.join(", ")}] would build ${nested} arrays; read it with toTypedArray()`);
    }
    const read = this.#reader();
    const build = (axis: number, offset: number): NestedArray => {
      if (axis === this.shape.length) return read(offset) as NestedArray;
      const stride = this.shape.slice(axis + 1).reduce((a, b) => a * b, 1);
      return Array.from({ length: this.shape[axis]! }, (_, i) => build(axis + 1, offset + i * stride));
    };
    return build(0, 0);
  }

  /** Sets every element to `value`. */
  fill(value: Scalar): this {
    const bytes = encodeScalar(value, this.dtype);
    check(lib.tsr_tensor_fill(this.guard(), bytes.length ? bytes : null, bytes.length));
    return this;
  }

  save(path: string): void {
    check(lib.tsr_tensor_save(this.guard(), cString(path)));
  }

  get quantization(): Quantization | undefined {
    const pointer = this.guard();
    if (!dtypeInfo(this.dtype).quantized) return undefined;
    const scale = new Float32Array(1);
    const zeroPoint = new Int32Array(1);
    check(lib.tsr_tensor_get_quantization(pointer, scale, zeroPoint));
    return { scale: scale[0]!, zeroPoint: zeroPoint[0]! };
  }

  setQuantization(scale: number, zeroPoint = 0): this {
    check(lib.tsr_tensor_set_quantization(this.guard(), scale, zeroPoint));
    return this;
  }

  override toString(options: Partial<PrintOptions> = {}): string {
    const floating = /float|complex/.test(this.dtype);
    const body = formatElements(this.shape, this.#reader(), floating, options);
    return `tensor(${body}, dtype=${this.dtype}, shape=[${this.shape.join(", ")}])`;
  }

  [Symbol.for("nodejs.util.inspect.custom")](): string {
    return this.disposed ? `Tensor(${this.id}, disposed)` : this.toString();
  }

  [Symbol.for("Deno.customInspect")](): string {
    return this.disposed ? `Tensor(${this.id}, disposed)` : this.toString();
  }

  /** Reads element i as a JS value, decoding the encodings TypedArrays lack. */
  #reader(): (index: number) => unknown {
    const pointer = this.guard();
    const dtype = this.dtype;
    const storage = this.#storage;
    if (storage === null) return (i) => readString(pointer, i);
    if (isPacked(dtype)) {
      const values = unpack(storage as Uint8Array, dtype, this.size);
      return (i) => values[i];
    }
    if (dtypeInfo(dtype).lanes === 2) return (i) => [storage[2 * i], storage[2 * i + 1]];
    if (dtype === "bool") return (i) => storage[i] !== 0;
    if (dtype === "bfloat16") return (i) => fromBFloat16Bits(storage[i] as number);
    if (dtype === "float16" && !hasFloat16Array) return (i) => fromFloat16Bits(storage[i] as number);
    return (i) => storage[i];
  }
}

/**
 * The error for `new rt.Tensor(...)` called as onnxruntime's Tensor is, (type, data, dims) or
 * (data, dims): it names the rt.tensor() call that makes that tensor.
 */
function foreignConstruction(args: readonly unknown[]): InvalidArgumentError {
  const typed = typeof args[0] === "string";
  const given = typed ? args[2] : args[1];
  const dtype = typed ? `, dtype: "${args[0]}"` : "";
  const dims = Array.isArray(given) ? `[${given.join(", ")}]` : "dims";
  return new InvalidArgumentError(
    `rt.Tensor's constructor is internal; new Tensor(type, data, dims) is onnxruntime's form. ` +
      `Make this tensor with rt.tensor(data, { shape: ${dims}${dtype} }), or keep onnxruntime's API by importing "tessera/ort"`,
  );
}

/** toArray() refuses to build more nested arrays than this (about a second and a GiB of them). */
const maxNestedArrays = 1 << 24;

function lostStorage(tensor: Tensor, storage: TypedArray): InvalidStateError {
  const buffer = storage.buffer as ArrayBuffer;
  const how = buffer.detached ? "was detached (by transfer() or postMessage)" : `was resized to ${buffer.byteLength} bytes`;
  return new InvalidStateError(
    `Tensor ${tensor.id} cannot be used: the ArrayBuffer under its ${tensor.byteLength} bytes ${how}, so that memory is gone; ` +
      "a zero-copy tensor's buffer must keep its size while the tensor is in use",
  );
}

function readString(pointer: Pointer, index: number): string {
  const bytes = new BigUint64Array(1);
  const len = outU32((slot) => lib.tsr_tensor_get_string(pointer, index, bytes, slot));
  return decoder.decode(native.copyBytes(native.pointerAt(bytes), len));
}

/** Checks a shape in JS terms (integers, no NaN) before native code checks signs and overflow. */
function shapeArray(shape: readonly number[]): BigInt64Array {
  if (!Array.isArray(shape)) throw new ShapeError(`shape must be an array of integers, got ${String(shape)}`);
  const dims = new BigInt64Array(shape.length);
  for (let axis = 0; axis < shape.length; axis++) {
    const dim = shape[axis];
    if (typeof dim !== "number" || !Number.isSafeInteger(dim)) {
      throw new ShapeError(`dim ${axis} of the shape is not an integer: ${String(dim)}`);
    }
    dims[axis] = BigInt(dim);
  }
  return dims;
}

/** A shape checked by the library, with the bytes its elements need. */
interface Layout {
  dtype: DType;
  shape: readonly number[];
  dims: BigInt64Array;
  byteLength: number;
}

function layoutOf(dtype: DType, shape: readonly number[]): Layout {
  const dims = shapeArray(shape);
  return { dtype, shape, dims, byteLength: byteLengthFor(dtype, dims) };
}

/** The bytes a tensor of this dtype and shape needs; native code validates both. */
function byteLengthFor(dtype: DType, dims: BigInt64Array): number {
  const bytes = outU64((slot) => lib.tsr_dtype_byte_size(dtypeInfo(dtype).code, dims, dims.length, slot));
  if (bytes > BigInt(Number.MAX_SAFE_INTEGER)) throw new OutOfResourceError(`a tensor of ${bytes} bytes cannot be held in JS memory`);
  return Number(bytes);
}

function allocateStorage(dtype: DType, byteLength: number): TypedArray {
  const Storage = dtypeInfo(dtype).storage!;
  let buffer: ArrayBuffer;
  try {
    // An explicit ArrayBuffer, never a small "fast" TypedArray: those may move (see wrapStorage).
    buffer = new ArrayBuffer(byteLength);
  } catch (cause) {
    throw new OutOfResourceError(`cannot allocate ${byteLength} bytes for a tensor`, { cause });
  }
  return new Storage(buffer, 0, byteLength / Storage.BYTES_PER_ELEMENT);
}

/** Wraps `storage` in a native tensor; the Tensor keeps the storage alive. */
function wrapStorage(layout: Layout, storage: TypedArray): Tensor {
  const { dtype, dims, byteLength } = layout;
  // Small TypedArrays live inside the JS heap, where the GC (V8) or a later `.buffer` access
  // (JavaScriptCore) moves them. Touching `.buffer` first moves them once, to memory that stays
  // put, so the pointer native code keeps remains valid.
  void storage.buffer;
  const data = byteLength === 0 ? null : storage;
  const pointer = outPointer((slot) => lib.tsr_tensor_wrap(dtypeInfo(dtype).code, dims, dims.length, data, storage.byteLength, slot));
  return new Tensor(pointer, dtype, layout.shape, byteLength, storage);
}

function createStringTensor(shape: readonly number[], values: readonly string[] | null): Tensor {
  const { dims, byteLength } = layoutOf("string", shape);
  const pointer = outPointer((slot) => lib.tsr_tensor_create(dtypeInfo("string").code, dims, dims.length, slot));
  const tensor = new Tensor(pointer, "string", shape, byteLength, null);
  values?.forEach((value, i) => {
    if (typeof value !== "string") throw new TesseraTypeError(`element ${i} of a string tensor is ${typeof value}`);
    const bytes = encoder.encode(value);
    check(lib.tsr_tensor_set_string(pointer, i, bytes.length ? bytes : null, bytes.length));
  });
  return tensor;
}

/** One element's bytes, as tsr_tensor_fill takes them. */
function encodeScalar(value: Scalar, dtype: DType): Uint8Array {
  if (dtype === "string") {
    if (typeof value !== "string") throw new TesseraTypeError(`a string tensor cannot be filled with ${typeof value}`);
    return encoder.encode(value);
  }
  if (typeof value === "string") throw new TesseraTypeError(`a ${dtype} tensor cannot be filled with a string`);
  if (isPacked(dtype)) return pack([Number(value)], dtype);
  if (dtypeInfo(dtype).lanes === 2) throw new NotImplementedError("fill complex tensors through their TypedArray");
  const one = allocateStorage(dtype, dtypeInfo(dtype).bits / 8);
  writeElements(one, dtype, [value]);
  return new Uint8Array(one.buffer);
}

/** Stores JS values into `storage`, encoding what TypedArrays cannot hold natively. */
function writeElements(storage: TypedArray, dtype: DType, values: readonly Scalar[]): void {
  if (/^float8|^float4/.test(dtype)) {
    throw new NotImplementedError(`${dtype} elements cannot be made from numbers yet; pass their bytes in a Uint8Array`);
  }
  if (dtypeInfo(dtype).lanes === 2) throw new NotImplementedError("pass complex elements as an interleaved TypedArray");
  const encode = elementEncoder(dtype);
  values.forEach((value, i) => {
    if (typeof value === "string") throw new TesseraTypeError(`element ${i} is a string; the dtype is ${dtype}`);
    storage[i] = encode(value);
  });
}

/** @internal How a JS value is stored in `dtype`'s TypedArray (also used by random.ts). */
export function elementEncoder(dtype: DType): (value: number | bigint | boolean) => number | bigint {
  switch (dtype) {
    case "int64":
    case "uint64":
      return (v) => (typeof v === "bigint" ? v : BigInt(Math.trunc(Number(v))));
    case "bool":
      return (v) => (v ? 1 : 0);
    case "bfloat16":
      return (v) => toBFloat16Bits(Number(v));
    case "float16":
      return hasFloat16Array ? (v) => Number(v) : (v) => toFloat16Bits(Number(v));
    default:
      return (v) => Number(v);
  }
}

/** The shape of a rectangular nested array, and its elements in row-major order. */
function flatten(value: NestedArray): { shape: number[]; values: Scalar[] } {
  const shape: number[] = [];
  let probe: NestedArray = value;
  while (Array.isArray(probe)) {
    shape.push(probe.length);
    if (probe.length === 0) break;
    probe = probe[0]!;
  }
  const values: Scalar[] = [];
  const walk = (node: NestedArray, axis: number, path: string): void => {
    if (axis === shape.length) {
      if (Array.isArray(node)) throw new ShapeError(`ragged nested array: ${path} is nested deeper than ${path.split("[").length - 1} levels`);
      values.push(node as Scalar);
      return;
    }
    if (!Array.isArray(node) || node.length !== shape[axis]) {
      throw new ShapeError(`ragged nested array: ${path || "the array"} should have ${shape[axis]} elements`);
    }
    node.forEach((child, i) => walk(child, axis + 1, `${path}[${i}]`));
  };
  walk(value, 0, "");
  return { shape, values };
}

function defaultDType(values: readonly Scalar[]): DType {
  const first = values[0];
  if (typeof first === "string") return "string";
  if (typeof first === "boolean") return "bool";
  if (typeof first === "bigint") return "int64";
  return "float32";
}

function fromValues(values: readonly Scalar[], shape: readonly number[], options: TensorOptions): Tensor {
  const dtype = options.dtype !== undefined ? resolveDType(options.dtype) : defaultDType(values);
  const count = shape.reduce((a, b) => a * b, 1);
  if (values.length !== count) {
    throw new ShapeError(`${values.length} elements do not fill shape [${shape.join(", ")}] (${count} elements)`);
  }
  if (dtype === "string") return createStringTensor(shape, values as string[]);
  const layout = layoutOf(dtype, shape);
  const storage = allocateStorage(dtype, layout.byteLength);
  if (isPacked(dtype)) (storage as Uint8Array).set(pack(values as number[], dtype));
  else writeElements(storage, dtype, values);
  return withQuantization(wrapStorage(layout, storage), options);
}

function fromTypedArray(array: TypedArray, options: TensorOptions): Tensor {
  const dtype = options.dtype !== undefined ? resolveDType(options.dtype) : dtypeOf(array);
  if (!canStore(array, dtype)) {
    throw new TesseraTypeError(`a ${array.constructor.name} cannot hold ${dtype} elements; use ${dtypeInfo(dtype).storage?.name ?? "a string array"}`);
  }
  const lanes = dtypeInfo(dtype).lanes;
  if (options.shape === undefined && isPacked(dtype)) throw new ShapeError(`packed ${dtype} data needs an explicit shape`);
  const layout = layoutOf(dtype, options.shape ?? [array.length / lanes]);
  const { shape, byteLength } = layout;
  if (array.byteLength < byteLength) {
    throw new InvalidArgumentError(`buffer too small: shape [${shape.join(", ")}] of ${dtype} needs ${byteLength} bytes, the ${array.constructor.name} has ${array.byteLength}`);
  }
  let storage = array;
  if (options.copy !== false) {
    storage = allocateStorage(dtype, byteLength);
    new Uint8Array(storage.buffer).set(new Uint8Array(array.buffer, array.byteOffset, byteLength));
  }
  // Bool data from users (a mask of 0/255, numpy bytes) may hold any nonzero byte for true. A
  // zero-copy tensor shares the caller's bytes, so they are normalized in place rather than
  // refused: 2 or 255 -> 1 keeps what they mean, and 0/255 masks work without a copy. Bytes the
  // caller writes later, through the array or toTypedArray(), are theirs to keep 0 or 1 (only a
  // TypedArray given to a request directly is normalized again, on every run).
  if (dtype === "bool") normalizeBools(storage as Uint8Array, byteLength);
  return withQuantization(wrapStorage(layout, storage), options);
}

function withQuantization(tensor: Tensor, options: TensorOptions): Tensor {
  if (options.scale === undefined && options.zeroPoint === undefined) return tensor;
  try {
    return tensor.setQuantization(options.scale ?? 1, options.zeroPoint ?? 0);
  } catch (error) {
    tensor.dispose();
    throw error;
  }
}

function uninitialized(options: TensorOptions): Tensor {
  if (options.shape === undefined) throw new ShapeError("a tensor needs a shape");
  const dtype = resolveDType(options.dtype ?? "float32");
  if (dtype === "string") return createStringTensor(options.shape, null);
  const layout = layoutOf(dtype, options.shape);
  return withQuantization(wrapStorage(layout, allocateStorage(dtype, layout.byteLength)), options);
}

function isTypedArray(value: unknown): value is TypedArray {
  return ArrayBuffer.isView(value) && !(value instanceof DataView);
}

const tensorOptionNames = new Set<keyof TensorOptions>(["shape", "dtype", "copy", "scale", "zeroPoint"]);
/** onnxruntime's names, which would otherwise leave a tensor flat or float32 without a word. */
const foreignTensorOptions: Record<string, string> = { dims: "the dims are its shape", type: "the element type is its dtype" };

function checkTensorOptions(options: unknown): void {
  checkOptionKeys(options, tensorOptionNames, "tensor option", (key) => foreignTensorOptions[key]);
}

/**
 * Makes a tensor:
 * - `tensor({shape, dtype})`: uninitialized (float32 by default);
 * - `tensor(value, {shape, dtype})`: every element set to a scalar;
 * - `tensor(nestedArray, options?)`: shape from the nesting, float32 by default;
 * - `tensor(typedArray, {shape, copy})`: copied, or wrapped zero-copy with `copy: false`.
 */
export function tensor(options: TensorOptions): Tensor;
export function tensor(value: Scalar, options: TensorOptions & { shape: readonly number[] }): Tensor;
export function tensor(data: NestedArray | TypedArray, options?: TensorOptions): Tensor;
export function tensor(source: unknown, options: TensorOptions = {}): Tensor {
  checkTensorOptions(options);
  if (isTypedArray(source)) return fromTypedArray(source, options);
  if (Array.isArray(source)) {
    const { shape, values } = flatten(source);
    return fromValues(values, options.shape ?? shape, options);
  }
  if (["number", "bigint", "boolean", "string"].includes(typeof source)) {
    if (options.shape === undefined) return fromValues([source as Scalar], [], options);
    const dtype = resolveDType(options.dtype ?? (typeof source === "string" ? "string" : "float32"));
    return uninitialized({ ...options, dtype }).fill(source as Scalar);
  }
  if (source !== null && typeof source === "object") {
    checkTensorOptions(source);
    return uninitialized(source as TensorOptions);
  }
  throw new InvalidArgumentError(`cannot make a tensor from ${source === null ? "null" : typeof source}`);
}

/** Reads a tensor file; the elements are copied into JS memory and the file's tensor released. */
export function loadTensor(path: string): Tensor {
  return adoptNative(outPointer((slot) => lib.tsr_tensor_load(cString(path), slot)));
}

/** A tensor from the bytes of an ONNX TensorProto (such as ONNX test data's .pb files). */
export function tensorFromOnnx(bytes: Uint8Array): Tensor {
  return adoptNative(outPointer((slot) => lib.tsr_tensor_from_onnx(bytes.length ? bytes : null, bytes.length, slot)));
}

/**
 * @internal Takes a tensor the library made (loaded, decoded, or a request's output): its
 * elements are copied into JS memory, so views of them stay valid, and the native one released.
 */
export function adoptNative(loaded: Pointer): Tensor {
  try {
    const dtype = dtypeFromCode(outI32((slot) => lib.tsr_tensor_dtype(loaded, slot)));
    const rank = outU32((slot) => lib.tsr_tensor_rank(loaded, slot));
    const dims = new BigInt64Array(rank);
    check(lib.tsr_tensor_shape(loaded, dims, rank));
    const shape = Array.from(dims, Number);
    if (dtype === "string") {
      const count = shape.reduce((a, b) => a * b, 1);
      return createStringTensor(shape, Array.from({ length: count }, (_, i) => readString(loaded, i)));
    }
    const layout = layoutOf(dtype, shape);
    const storage = allocateStorage(dtype, layout.byteLength);
    new Uint8Array(storage.buffer).set(native.copyBytes(outPointer((slot) => lib.tsr_tensor_data(loaded, slot)), layout.byteLength));
    const result = wrapStorage(layout, storage);
    if (dtypeInfo(dtype).quantized) {
      const scale = new Float32Array(1);
      const zeroPoint = new Int32Array(1);
      check(lib.tsr_tensor_get_quantization(loaded, scale, zeroPoint));
      result.setQuantization(scale[0]!, zeroPoint[0]!);
    }
    return result;
  } finally {
    lib.tsr_tensor_destroy(loaded);
  }
}
