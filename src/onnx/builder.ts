/**
 * Builds ONNX ModelProto bytes in TypeScript, so tests and examples can make models without
 * Python. Field numbers follow onnx/onnx.proto (onnx 1.23); proto2 repeated scalars that the
 * schema does not mark packed (dims, ints, floats) are written unpacked, as protoc would.
 */
import { type DType, type DTypeLike, dtypes } from "../dtype.ts";
import { ProtoWriter } from "./protobuf.ts";
import {
  onnxDType, type SparseIndices, SparseTensor, Tensor, type TensorData, type TensorOptions,
  writeEntries, writeSparse, writeTensor,
} from "./tensor-encoding.ts";

export {
  bfloat16Bits, encodeTensorProto, type ExternalRef, ExternalDataFile, float16Bits,
  type SparseIndices, SparseTensor, sparseTensor, Tensor, tensor, type TensorData,
  type TensorOptions,
} from "./tensor-encoding.ts";

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

function valueType(type: TypeArg, shape: Shape | undefined): ValueType {
  if (typeof type === "string") return types.tensor(type, shape);
  if (shape !== undefined) throw new TypeError("give the shape inside the ValueType");
  return type;
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
