/**
 * Builds ONNX ModelProto bytes in TypeScript, so tests and examples can make models without
 * Python. Field numbers follow onnx/onnx.proto (onnx 1.23); proto2 repeated scalars that the
 * schema does not mark packed (dims, ints, floats) are written unpacked, as protoc would.
 */
import { type DType, type DTypeLike, dtypes, resolveDType } from "../dtype.ts";
import { ProtoWriter } from "./protobuf.ts";

// raw_data is little-endian; TypedArray bytes are copied as they are.
if (new Uint8Array(new Uint16Array([1]).buffer)[0] !== 1) throw new Error("big-endian host");

/** A dimension: a size, a symbolic name (dim_param), or null for unknown. */
export type Dim = number | string | null;
export type Shape = readonly Dim[];

/** The type of a graph value; `shape` undefined means unknown rank, [] a scalar. */
export type ValueType =
  | { readonly kind: "tensor" | "sparse_tensor"; readonly dtype: DType; readonly shape?: Shape }
  | { readonly kind: "sequence" | "optional"; readonly elem: ValueType }
  | { readonly kind: "map"; readonly key: DType; readonly value: ValueType };

export const types = {
  tensor: (dtype: DTypeLike, shape?: Shape): ValueType =>
    ({ kind: "tensor", dtype: onnxDType(dtype), shape }),
  sparseTensor: (dtype: DTypeLike, shape?: Shape): ValueType =>
    ({ kind: "sparse_tensor", dtype: onnxDType(dtype), shape }),
  sequence: (elem: ValueType): ValueType => ({ kind: "sequence", elem }),
  optional: (elem: ValueType): ValueType => ({ kind: "optional", elem }),
  map: (key: DTypeLike, value: ValueType): ValueType =>
    ({ kind: "map", key: onnxDType(key), value }),
};

/**
 * Element data: a TypedArray of the dtype's storage (Uint16Array bits for float16/bfloat16,
 * packed bytes for 4- and 2-bit types), raw little-endian bytes in a Uint8Array, or values in
 * any array (numbers are converted; float8, float4 and sub-byte types take raw codes).
 */
export type TensorData =
  | ArrayBufferView
  | readonly (number | bigint | boolean | string | Uint8Array)[];

/** Where a tensor's bytes live outside the model file (`location` is relative to the model). */
export type ExternalRef = {
  readonly location: string;
  readonly offset?: number;
  readonly length?: number;
};

export interface TensorOptions {
  /** raw_data (default) or the typed field (float_data, int32_data, ...); strings: string_data. */
  readonly encoding?: "raw" | "typed";
  /** Stores the data outside the model: data_location = EXTERNAL. */
  readonly external?: ExternalRef | ExternalDataFile;
  readonly doc?: string;
}

/**
 * Collects the bytes of external-data tensors for one file, each at an aligned offset; write
 * `bytes()` beside the model under `location`.
 */
export class ExternalDataFile {
  private parts: Uint8Array[] = [];
  private size_bytes = 0;

  /** onnx.proto asks for offsets that are multiples of the 4096-byte page, for mmap. */
  constructor(readonly location: string, readonly align_bytes = 4096) {}

  add(data: Uint8Array): ExternalRef {
    const offset = Math.ceil(this.size_bytes / this.align_bytes) * this.align_bytes;
    if (offset > this.size_bytes) this.parts.push(new Uint8Array(offset - this.size_bytes));
    this.parts.push(data);
    this.size_bytes = offset + data.length;
    return { location: this.location, offset, length: data.length };
  }

  bytes(): Uint8Array {
    const out = new Uint8Array(this.size_bytes);
    let at = 0;
    for (const part of this.parts) {
      out.set(part, at);
      at += part.length;
    }
    return out;
  }
}

/** A dense tensor value, for initializers and tensor attributes; data is converted eagerly. */
export class Tensor {
  readonly dtype: DType;
  readonly dims: readonly number[];
  /** Elements in their storage TypedArray, or UTF-8 strings for dtype string. */
  readonly elements: ArrayBufferView | readonly Uint8Array[];
  readonly external?: ExternalRef;

  constructor(dtype: DTypeLike, dims: readonly number[], data: TensorData,
    readonly options: TensorOptions = {}) {
    this.dtype = onnxDType(dtype);
    if (!dims.every((d) => Number.isSafeInteger(d) && d >= 0)) throw new RangeError(`dims ${dims}`);
    this.dims = [...dims];
    this.elements = toElements(this.dtype, dims.reduce((a, b) => a * b, 1), data);
    const external = options.external;
    if (external instanceof ExternalDataFile) this.external = external.add(this.rawBytes());
    else if (external) this.external = { length: this.rawBytes().length, ...external };
  }

  /** The raw_data encoding: fixed-width little-endian elements. */
  rawBytes(): Uint8Array {
    if (Array.isArray(this.elements)) throw new TypeError("string tensors have no raw_data");
    const view = this.elements as ArrayBufferView;
    return new Uint8Array(view.buffer, view.byteOffset, view.byteLength);
  }
}

export function tensor(dtype: DTypeLike, dims: readonly number[], data: TensorData,
  options?: TensorOptions): Tensor {
  return new Tensor(dtype, dims, data, options);
}

export type SparseIndices = readonly (number | bigint)[] | BigInt64Array;

/** A sparse tensor: `values` at `indices`, either linear [NNZ] or coordinates [NNZ, rank]. */
export class SparseTensor {
  readonly values: Tensor;
  readonly indices: Tensor;

  constructor(dtype: DTypeLike, readonly dims: readonly number[], values: TensorData,
    indices: SparseIndices) {
    const nnz = (values as ArrayLike<unknown>).length / dtypes[onnxDType(dtype)].lanes;
    if (indices.length !== nnz && indices.length !== nnz * dims.length) {
      throw new RangeError(`sparse tensor: ${indices.length} indices for ${nnz} values`);
    }
    this.values = new Tensor(dtype, [nnz], values);
    const indexDims = indices.length === nnz ? [nnz] : [nnz, dims.length];
    this.indices = new Tensor("int64", indexDims, Array.from(indices, (i) => BigInt(i)));
  }
}

export function sparseTensor(dtype: DTypeLike, dims: readonly number[], values: TensorData,
  indices: SparseIndices): SparseTensor {
  return new SparseTensor(dtype, dims, values, indices);
}

const attrTypeCodes = {
  float: 1, int: 2, string: 3, tensor: 4, graph: 5, floats: 6, ints: 7, strings: 8, tensors: 9,
  graphs: 10, sparse_tensor: 11, sparse_tensors: 12, type: 13, types: 14,
} as const;
export type AttrKind = keyof typeof attrTypeCodes;

/** An attribute with its kind spelled out, or a reference to an enclosing function's attribute. */
export class Attr {
  constructor(readonly kind: AttrKind, readonly value: unknown, readonly refAttrName?: string) {}
}

/** Explicit attributes, for values whose kind a plain JS value cannot tell (1.0, []). */
export const attr = {
  float: (v: number) => new Attr("float", v),
  int: (v: number | bigint) => new Attr("int", v),
  string: (v: string | Uint8Array) => new Attr("string", v),
  tensor: (v: Tensor) => new Attr("tensor", v),
  graph: (v: GraphBuilder) => new Attr("graph", v),
  sparseTensor: (v: SparseTensor) => new Attr("sparse_tensor", v),
  type: (v: ValueType) => new Attr("type", v),
  floats: (v: readonly number[]) => new Attr("floats", v),
  ints: (v: readonly (number | bigint)[]) => new Attr("ints", v),
  strings: (v: readonly (string | Uint8Array)[]) => new Attr("strings", v),
  tensors: (v: readonly Tensor[]) => new Attr("tensors", v),
  graphs: (v: readonly GraphBuilder[]) => new Attr("graphs", v),
  sparseTensors: (v: readonly SparseTensor[]) => new Attr("sparse_tensors", v),
  types: (v: readonly ValueType[]) => new Attr("types", v),
  /** Inside a FunctionBuilder: takes the value of the function's attribute `name`. */
  ref: (name: string, kind: AttrKind) => new Attr(kind, undefined, name),
};

export type AttrValue =
  | number | bigint | boolean | string | Uint8Array | Tensor | SparseTensor | GraphBuilder | Attr
  | readonly number[] | readonly bigint[] | readonly string[] | readonly Tensor[]
  | readonly GraphBuilder[] | readonly SparseTensor[];

export interface NodeOptions {
  readonly name?: string;
  readonly domain?: string;
  readonly overload?: string;
  readonly doc?: string;
  readonly attrs?: Readonly<Record<string, AttrValue>>;
}

type NodeSpec = { opType: string; inputs: string[]; outputs: string[]; options: NodeOptions };
type ValueInfoSpec = { name: string; type?: ValueType; doc?: string };

/** What graphs and functions share: nodes, and generated output names unique to the scope. */
abstract class NodeScope {
  protected readonly nodes: NodeSpec[] = [];
  private nodeCount = 0;

  constructor(readonly name: string) {
    if (!name) throw new TypeError("a graph or function needs a name");
  }

  /** Adds a one-output node and returns its output name; "" in `inputs` skips an input. */
  node(opType: string, inputs: readonly string[],
    options: NodeOptions & { outputs?: readonly [string] } = {}): string {
    const outputs = options.outputs ?? 1;
    if (outputs !== 1 && outputs.length !== 1) throw new TypeError("use nodeWithOutputs for many");
    return this.nodeWithOutputs(opType, inputs, outputs, options)[0]!;
  }

  /** Adds a node with `outputs` (names, or how many to name) and returns the output names. */
  nodeWithOutputs(opType: string, inputs: readonly string[], outputs: number | readonly string[],
    options: NodeOptions = {}): string[] {
    const index = this.nodeCount++;
    const names = typeof outputs === "number"
      ? Array.from({ length: outputs }, (_, i) => `${this.name}/${opType}_${index}:${i}`)
      : [...outputs];
    const name = options.name ?? `${this.name}/${opType}_${index}`;
    this.nodes.push({ opType, inputs: [...inputs], outputs: names, options: { ...options, name } });
    return names;
  }
}

type TypeArg = DTypeLike | ValueType;

export class GraphBuilder extends NodeScope {
  private readonly inputs: ValueInfoSpec[] = [];
  private readonly outputs: ValueInfoSpec[] = [];
  private readonly valueInfos: ValueInfoSpec[] = [];
  private readonly initializers: { name: string; tensor: Tensor }[] = [];
  private readonly sparseInitializers: { name: string; tensor: SparseTensor }[] = [];

  constructor(name: string, readonly options: { readonly doc?: string } = {}) {
    super(name);
  }

  /** A graph input: a dtype and shape, or a ValueType from `types` (sequence, optional, map). */
  input(name: string, type: TypeArg, shape?: Shape, options: { doc?: string } = {}): string {
    this.inputs.push({ name, type: valueType(type, shape), doc: options.doc });
    return name;
  }

  /** A graph output; the type may be left out inside subgraphs. */
  output(name: string, type?: TypeArg, shape?: Shape, options: { doc?: string } = {}): string {
    const spec = type === undefined ? undefined : valueType(type, shape);
    this.outputs.push({ name, type: spec, doc: options.doc });
    return name;
  }

  valueInfo(name: string, type: TypeArg, shape?: Shape, options: { doc?: string } = {}): string {
    this.valueInfos.push({ name, type: valueType(type, shape), doc: options.doc });
    return name;
  }

  initializer(name: string, dtype: DTypeLike, dims: readonly number[], data: TensorData,
    options?: TensorOptions): string {
    this.initializers.push({ name, tensor: new Tensor(dtype, dims, data, options) });
    return name;
  }

  sparseInitializer(name: string, dtype: DTypeLike, dims: readonly number[], values: TensorData,
    indices: SparseIndices): string {
    this.sparseInitializers.push({ name, tensor: new SparseTensor(dtype, dims, values, indices) });
    return name;
  }

  /** Writes this graph as a GraphProto. */
  write(w: ProtoWriter): void {
    for (const node of this.nodes) w.message(1, (n) => writeNode(n, node));
    w.string(2, this.name);
    for (const { name, tensor } of this.initializers) {
      w.message(5, (t) => writeTensor(t, tensor, name));
    }
    if (this.options.doc) w.string(10, this.options.doc);
    for (const info of this.inputs) w.message(11, (v) => writeValueInfo(v, info));
    for (const info of this.outputs) w.message(12, (v) => writeValueInfo(v, info));
    for (const info of this.valueInfos) w.message(13, (v) => writeValueInfo(v, info));
    for (const { name, tensor } of this.sparseInitializers) {
      w.message(15, (s) => writeSparse(s, tensor, name));
    }
  }
}

export interface FunctionOptions {
  readonly domain: string;
  readonly opsets: Readonly<Record<string, number>>;
  readonly doc?: string;
}

/** A model-local function (FunctionProto); a node calls it by `domain` and name as op type. */
export class FunctionBuilder extends NodeScope {
  private readonly inputs: string[] = [];
  private readonly outputs: string[] = [];
  private readonly attributes: { name: string; default?: AttrValue }[] = [];

  constructor(name: string, readonly options: FunctionOptions) {
    super(name);
  }

  input(name: string): string {
    this.inputs.push(name);
    return name;
  }

  output(name: string): string {
    this.outputs.push(name);
    return name;
  }

  /** Declares an attribute; one with a default goes to attribute_proto, as onnx.proto asks. */
  attribute(name: string, defaultValue?: AttrValue): string {
    this.attributes.push({ name, default: defaultValue });
    return name;
  }

  write(w: ProtoWriter): void {
    w.string(1, this.name);
    for (const name of this.inputs) w.string(4, name);
    for (const name of this.outputs) w.string(5, name);
    for (const a of this.attributes) if (a.default === undefined) w.string(6, a.name);
    for (const node of this.nodes) w.message(7, (n) => writeNode(n, node));
    if (this.options.doc) w.string(8, this.options.doc);
    writeOpsets(w, 9, this.options.opsets);
    w.string(10, this.options.domain);
    for (const { name, default: value } of this.attributes) {
      if (value !== undefined) w.message(11, (p) => writeAttribute(p, name, value));
    }
  }
}

export interface ModelOptions {
  /** Operator set per domain ("" is the default ONNX domain). Default { "": 17 }. */
  readonly opsets?: Readonly<Record<string, number>>;
  /** Default 8, which every onnxruntime since 1.10 reads. */
  readonly irVersion?: number;
  readonly producerName?: string;
  readonly producerVersion?: string;
  readonly domain?: string;
  readonly modelVersion?: number | bigint;
  readonly doc?: string;
  readonly metadata?: Readonly<Record<string, string>>;
  readonly functions?: readonly FunctionBuilder[];
}

/** The bytes of a ModelProto with `graph` as its main graph. */
export function buildModel(graph: GraphBuilder, options: ModelOptions = {}): Uint8Array {
  const w = new ProtoWriter();
  w.int64(1, options.irVersion ?? 8);
  if (options.producerName !== undefined) w.string(2, options.producerName);
  if (options.producerVersion !== undefined) w.string(3, options.producerVersion);
  if (options.domain !== undefined) w.string(4, options.domain);
  if (options.modelVersion !== undefined) w.int64(5, options.modelVersion);
  if (options.doc !== undefined) w.string(6, options.doc);
  w.message(7, (g) => graph.write(g));
  writeOpsets(w, 8, options.opsets ?? { "": 17 });
  writeEntries(w, 14, options.metadata ?? {});
  for (const f of options.functions ?? []) w.message(25, (p) => f.write(p));
  return w.finish();
}

/** The bytes of a standalone TensorProto, as in ONNX test data (`input_0.pb`). */
export function encodeTensorProto(name: string, dtype: DTypeLike, dims: readonly number[],
  data: TensorData, options?: TensorOptions): Uint8Array {
  const w = new ProtoWriter();
  writeTensor(w, new Tensor(dtype, dims, data, options), name);
  return w.finish();
}

const f32Scratch = new Float32Array(1);
const u32Scratch = new Uint32Array(f32Scratch.buffer);

/** IEEE half-precision bits of `value` (first rounded to float32), rounded to nearest even. */
export function float16Bits(value: number): number {
  f32Scratch[0] = value;
  const x = u32Scratch[0]!;
  const sign = (x >>> 16) & 0x8000;
  const exponent = (x >>> 23) & 0xff;
  const mantissa = x & 0x7fffff;
  if (exponent === 0xff) return sign | 0x7c00 | (mantissa ? 0x200 : 0);
  const e = exponent - 112; // rebias from 127 to 15
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) return e < -10 ? sign : sign | roundShift(mantissa | 0x800000, 14 - e);
  // A carry out of the mantissa correctly bumps the exponent (up to infinity).
  return sign | roundShift((e << 23) | mantissa, 13);
}

/** bfloat16 bits of `value`: the top half of its float32 bits, rounded to nearest even. */
export function bfloat16Bits(value: number): number {
  f32Scratch[0] = value;
  const x = u32Scratch[0]!;
  if (Number.isNaN(value)) return ((x >>> 16) & 0x8000) | 0x7fc0;
  return Math.floor((x + 0x7fff + ((x >>> 16) & 1)) / 0x10000) & 0xffff;
}

function roundShift(value: number, shift: number): number {
  const kept = value >>> shift;
  const rest = value & ((1 << shift) - 1);
  const half = 1 << (shift - 1);
  return rest > half || (rest === half && (kept & 1) === 1) ? kept + 1 : kept;
}

/** The dtype name of an ONNX element type; Tessera-only types (codes 100+) are refused. */
function onnxDType(name: DTypeLike): DType {
  const dtype = resolveDType(name);
  if (dtypes[dtype].code > 26) throw new TypeError(`dtype '${dtype}' has no ONNX element type`);
  return dtype;
}

function valueType(type: TypeArg, shape: Shape | undefined): ValueType {
  if (typeof type === "string") return types.tensor(type, shape);
  if (shape !== undefined) throw new TypeError("give the shape inside the ValueType");
  return type;
}

/** Converts tensor data to its storage TypedArray (or UTF-8 strings), checking the count. */
function toElements(dtype: DType, count: number, data: TensorData):
  ArrayBufferView | readonly Uint8Array[] {
  const info = dtypes[dtype];
  if (dtype === "string") {
    const strings = data as readonly (string | Uint8Array)[];
    if (!Array.isArray(strings) || strings.length !== count) {
      throw new RangeError(`string tensor needs ${count} strings`);
    }
    return strings.map((s) => (typeof s === "string" ? new TextEncoder().encode(s) : s));
  }
  const size_bytes = Math.ceil((count * info.bits) / 8);
  if (ArrayBuffer.isView(data)) {
    const raw = data instanceof Uint8Array && data.byteLength === size_bytes;
    const bits16 = (dtype === "float16" || dtype === "bfloat16") && data instanceof Uint16Array;
    const native = data.constructor === info.storage && data.byteLength === size_bytes;
    if (raw || bits16 || native) {
      return new Uint8Array(data.buffer, data.byteOffset, data.byteLength).slice();
    }
    // Any other TypedArray holds element values, converted below.
    if (data instanceof DataView) throw new TypeError(`${dtype} tensor: a DataView is not data`);
  }
  const values = Array.from(data as ArrayLike<number | bigint | boolean>);
  const wanted = count * info.lanes;
  if (values.length !== wanted) throw new RangeError(`${dtype} tensor needs ${wanted} values`);
  if (info.bits < 8) return packSubByte(values.map(Number), info.bits, size_bytes);
  if (dtype === "float16") return Uint16Array.from(values, (v) => float16Bits(Number(v)));
  if (dtype === "bfloat16") return Uint16Array.from(values, (v) => bfloat16Bits(Number(v)));
  if (dtype === "int64") return BigInt64Array.from(values, (v) => BigInt(v));
  if (dtype === "uint64") return BigUint64Array.from(values, (v) => BigInt(v));
  return new (info.storage as new (v: number[]) => ArrayBufferView)(values.map(Number));
}

/** Packs 4- or 2-bit codes, the first element in the least significant bits (onnx.proto). */
function packSubByte(values: readonly number[], bits: number, size_bytes: number): Uint8Array {
  const out = new Uint8Array(size_bytes);
  const perByte = 8 / bits;
  const mask = (1 << bits) - 1;
  values.forEach((v, i) => {
    out[Math.floor(i / perByte)]! |= (v & mask) << (bits * (i % perByte));
  });
  return out;
}

function writeTensor(w: ProtoWriter, t: Tensor, name?: string): void {
  for (const d of t.dims) w.int64(1, d);
  w.int32(2, dtypes[t.dtype].code);
  if (name !== undefined) w.string(8, name);
  if (t.options.doc) w.string(12, t.options.doc);
  if (Array.isArray(t.elements)) {
    for (const s of t.elements as readonly Uint8Array[]) w.bytes(6, s);
  } else if (t.external) {
    const { location, offset, length } = t.external;
    writeEntries(w, 13, { location });
    if (offset !== undefined) writeEntries(w, 13, { offset: String(offset) });
    if (length !== undefined) writeEntries(w, 13, { length: String(length) });
    w.int32(14, 1); // data_location = EXTERNAL
  } else if (t.options.encoding === "typed") {
    writeTypedData(w, t);
  } else {
    w.bytes(9, t.rawBytes());
  }
}

/** The typed field for each element type, per the comments on onnx.proto's TensorProto. */
function writeTypedData(w: ProtoWriter, t: Tensor): void {
  const bytes = t.rawBytes();
  const view = <T>(Ctor: new (b: ArrayBufferLike, at: number, n: number) => T, width: number) =>
    new Ctor(bytes.buffer, bytes.byteOffset, bytes.byteLength / width);
  switch (t.dtype) {
    case "float32": case "complex64": return void w.packedFloat(4, view(Float32Array, 4));
    case "float64": case "complex128": return void w.packedDouble(10, view(Float64Array, 8));
    case "int64": return void w.packedInt64(7, view(BigInt64Array, 8));
    case "uint64": return void w.packedUint64(11, view(BigUint64Array, 8));
    case "uint32": return void w.packedUint64(11, view(Uint32Array, 4));
    case "int32": return void w.packedInt32(5, view(Int32Array, 4));
    case "int16": return void w.packedInt32(5, view(Int16Array, 2));
    case "int8": return void w.packedInt32(5, view(Int8Array, 1));
    case "uint16": case "float16": case "bfloat16":
      return void w.packedInt32(5, view(Uint16Array, 2));
    default: w.packedInt32(5, bytes); // 8-bit codes, bool, and packed sub-byte bytes
  }
}

function writeSparse(w: ProtoWriter, s: SparseTensor, name?: string): void {
  w.message(1, (v) => writeTensor(v, s.values, name ?? ""));
  w.message(2, (i) => writeTensor(i, s.indices));
  for (const d of s.dims) w.int64(3, d);
}

function writeNode(w: ProtoWriter, node: NodeSpec): void {
  const { options } = node;
  for (const input of node.inputs) w.string(1, input);
  for (const output of node.outputs) w.string(2, output);
  if (options.name) w.string(3, options.name);
  w.string(4, node.opType);
  for (const [name, value] of Object.entries(options.attrs ?? {})) {
    w.message(5, (a) => writeAttribute(a, name, value));
  }
  if (options.doc) w.string(6, options.doc);
  if (options.domain) w.string(7, options.domain);
  if (options.overload) w.string(8, options.overload);
}

function kindOf(v: unknown): AttrKind | undefined {
  if (typeof v === "number") return Number.isInteger(v) ? "int" : "float";
  if (typeof v === "bigint" || typeof v === "boolean") return "int";
  if (typeof v === "string" || v instanceof Uint8Array) return "string";
  if (v instanceof Tensor) return "tensor";
  if (v instanceof GraphBuilder) return "graph";
  if (v instanceof SparseTensor) return "sparse_tensor";
  return undefined;
}

/** The kind a plain JS value stands for; ambiguous values (an empty list) need `attr.*`. */
function inferAttr(name: string, value: AttrValue): Attr {
  if (value instanceof Attr) return value;
  if (!Array.isArray(value)) {
    const kind = kindOf(value);
    if (kind) return new Attr(kind, typeof value === "boolean" ? Number(value) : value);
  } else if (value.length > 0) {
    const kinds = new Set((value as unknown[]).map(kindOf));
    const floats = kinds.size === 2 && kinds.has("float") && kinds.has("int");
    if (floats) return new Attr("floats", value);
    const [kind] = kinds;
    if (kinds.size === 1 && kind) return new Attr(`${kind}s` as AttrKind, value);
  }
  throw new TypeError(`attribute '${name}': its kind is ambiguous in ${String(value)}; use attr.*`);
}

function writeAttribute(w: ProtoWriter, name: string, value: AttrValue): void {
  const a = inferAttr(name, value);
  w.string(1, name);
  w.int32(20, attrTypeCodes[a.kind]);
  if (a.refAttrName !== undefined) return void w.string(21, a.refAttrName);
  const list = a.value as readonly unknown[];
  const bytesOf = (s: unknown) => (typeof s === "string" ? new TextEncoder().encode(s) : s);
  const intOf = (v: unknown) => (typeof v === "boolean" ? Number(v) : v) as number | bigint;
  switch (a.kind) {
    case "float": return void w.float(2, a.value as number);
    case "int": return void w.int64(3, intOf(a.value));
    case "string": return void w.bytes(4, bytesOf(a.value) as Uint8Array);
    case "tensor": return void w.message(5, (t) => writeTensor(t, a.value as Tensor));
    case "graph": return void w.message(6, (g) => (a.value as GraphBuilder).write(g));
    case "sparse_tensor": return void w.message(22, (s) => writeSparse(s, a.value as SparseTensor));
    case "type": return void w.message(14, (t) => writeType(t, a.value as ValueType));
  }
  for (const v of list) {
    switch (a.kind) {
      case "floats": w.float(7, v as number); break;
      case "ints": w.int64(8, intOf(v)); break;
      case "strings": w.bytes(9, bytesOf(v) as Uint8Array); break;
      case "tensors": w.message(10, (t) => writeTensor(t, v as Tensor)); break;
      case "graphs": w.message(11, (g) => (v as GraphBuilder).write(g)); break;
      case "sparse_tensors": w.message(23, (s) => writeSparse(s, v as SparseTensor)); break;
      case "types": w.message(15, (t) => writeType(t, v as ValueType)); break;
    }
  }
}

function writeValueInfo(w: ProtoWriter, info: ValueInfoSpec): void {
  w.string(1, info.name);
  if (info.type) w.message(2, (t) => writeType(t, info.type!));
  if (info.doc) w.string(3, info.doc);
}

/** A TypeProto: tensor_type 1, sequence_type 4, map_type 5, sparse_tensor_type 8, optional 9. */
function writeType(w: ProtoWriter, type: ValueType): void {
  switch (type.kind) {
    case "tensor":
    case "sparse_tensor":
      return void w.message(type.kind === "tensor" ? 1 : 8, (t) => {
        t.int32(1, dtypes[type.dtype].code);
        if (type.shape) t.message(2, (s) => writeShape(s, type.shape!));
      });
    case "sequence":
    case "optional":
      return void w.message(type.kind === "sequence" ? 4 : 9, (t) => {
        t.message(1, (e) => writeType(e, type.elem));
      });
    case "map":
      w.message(5, (t) => {
        t.int32(1, dtypes[type.key].code).message(2, (v) => writeType(v, type.value));
      });
  }
}

/** Each dim is a Dimension message: dim_value 1, dim_param 2, or neither when unknown. */
function writeShape(w: ProtoWriter, shape: Shape): void {
  for (const dim of shape) {
    w.message(1, (d) => {
      if (typeof dim === "number") d.int64(1, dim);
      else if (typeof dim === "string") d.string(2, dim);
    });
  }
}

function writeOpsets(w: ProtoWriter, field: number, opsets: Record<string, number>): void {
  for (const [domain, version] of Object.entries(opsets)) {
    w.message(field, (o) => o.string(1, domain).int64(2, version));
  }
}

/** StringStringEntryProto lists: metadata_props and external_data. */
function writeEntries(w: ProtoWriter, field: number, entries: Record<string, string>): void {
  for (const [key, value] of Object.entries(entries)) {
    w.message(field, (e) => e.string(1, key).string(2, value));
  }
}
