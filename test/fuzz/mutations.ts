/**
 * Structure-aware mutations of a decoded ONNX model (onnx-ir.ts). Each one changes one thing a
 * broken or hostile exporter could get wrong: an attribute's value or kind, a dim, an element
 * type, an operator, the wiring between nodes, the opsets, or the kind of a value. Each returns a
 * one-line description of what it did (kept with every finding), or null when the model has
 * nothing it applies to (the caller then draws another).
 */
import type { IrAttr, IrDim, IrGraph, IrModel, IrNode, IrType, IrValueInfo } from "./onnx-ir.ts";
import type { Rng } from "./rng.ts";

const enc = new TextEncoder();

/** Integers that sit on the edges of the ranges code tends to assume (int32, int53, int64). */
export const INT_EDGES: readonly bigint[] = [0n, 1n, -1n, 2n, -2n, 3n, 0x7fffffffn, -0x80000000n, 0x80000000n,
  0xffffffffn, 1n << 40n, (1n << 53n) + 1n, 1n << 62n, (1n << 63n) - 1n, -(1n << 63n)];
export const FLOAT_EDGES: readonly number[] = [0, -0, 1, -1, 0.5, NaN, Infinity, -Infinity, 3.4e38, -3.4e38,
  1e-45, 1e-30, 2 ** 31, 2 ** 63];
const DIM_EDGES: readonly IrDim[] = [0n, 1n, -1n, -2n, 7n, 0x7fffffffn, 1n << 32n, 1n << 40n, 1n << 62n,
  (1n << 63n) - 1n, -(1n << 63n), "N", "", "batch*2", null];
/** Every ONNX element type (0 is UNDEFINED; 17-26 the float8/4-bit/2-bit ones) and some that are not. */
export const DTYPE_CODES: readonly number[] = [...Array.from({ length: 27 }, (_, i) => i), 27, 31, 99, 100, 101, 107,
  108, -1, 0x7fffffff];

/** Operators a node may be swapped for: the ONNX default domain, ai.onnx.ml, training, others. */
const ONNX_OPS = `Abs Acos Acosh Add AffineGrid And ArgMax ArgMin Asin Asinh Atan Atanh Attention AveragePool
BatchNormalization Bernoulli BitShift BitwiseAnd BitwiseNot BitwiseOr BitwiseXor BlackmanWindow Cast CastLike
Ceil Celu CenterCropPad Clip Col2Im Compress Concat ConcatFromSequence Constant ConstantOfShape Conv ConvInteger
ConvTranspose Cos Cosh CumSum DFT DeformConv DepthToSpace DequantizeLinear Det Div Dropout DynamicQuantizeLinear
Einsum Elu Equal Erf Exp Expand EyeLike Flatten Floor GRU Gather GatherElements GatherND Gelu Gemm
GlobalAveragePool GlobalLpPool GlobalMaxPool Greater GreaterOrEqual GridSample GroupNormalization HammingWindow
HannWindow HardSigmoid HardSwish Hardmax Identity If ImageDecoder InstanceNormalization IsInf IsNaN LRN LSTM
LayerNormalization LeakyRelu Less LessOrEqual Log LogSoftmax Loop LpNormalization LpPool MatMul MatMulInteger Max
MaxPool MaxRoiPool MaxUnpool Mean MeanVarianceNormalization MelWeightMatrix Min Mish Mod Mul Multinomial Neg
NegativeLogLikelihoodLoss NonMaxSuppression NonZero Not OneHot Optional OptionalGetElement OptionalHasElement Or
PRelu Pad Pow QLinearConv QLinearMatMul QuantizeLinear RMSNormalization RNN RandomNormal RandomNormalLike
RandomUniform RandomUniformLike Range Reciprocal ReduceL1 ReduceL2 ReduceLogSum ReduceLogSumExp ReduceMax
ReduceMean ReduceMin ReduceProd ReduceSum ReduceSumSquare RegexFullMatch Relu Reshape Resize ReverseSequence
RoiAlign RotaryEmbedding Round STFT Scan Scatter ScatterElements ScatterND Selu SequenceAt SequenceConstruct
SequenceEmpty SequenceErase SequenceInsert SequenceLength SequenceMap Shape Shrink Sigmoid Sign Sin Sinh Size
Slice Softmax SoftmaxCrossEntropyLoss Softplus Softsign SpaceToDepth Split SplitToSequence Sqrt Squeeze
StringConcat StringNormalizer StringSplit Sub Sum Swish Tan Tanh TensorScatter TfIdfVectorizer ThresholdedRelu
Tile TopK Transpose Trilu Unique Unsqueeze Upsample Where Xor`.split(/\s+/);
const ML_OPS = `ArrayFeatureExtractor Binarizer CastMap CategoryMapper DictVectorizer FeatureVectorizer Imputer
LabelEncoder LinearClassifier LinearRegressor Normalizer OneHotEncoder SVMClassifier SVMRegressor Scaler
TreeEnsemble TreeEnsembleClassifier TreeEnsembleRegressor ZipMap`.split(/\s+/);
const TRAINING_OPS = ["Adagrad", "Adam", "Gradient", "Momentum"];
const ODD_OPS = ["", "relu", "RELU", "Relu ", "Foo", "X".repeat(300), "Conv\u0000", "Ünïcode"];
const DOMAINS = ["", "ai.onnx", "ai.onnx.ml", "ai.onnx.preview.training", "com.microsoft", "unknown.domain"];

/** Attribute names operators read, by the kind they expect, to add ones a node lacks. */
const INT_ATTRS = ["axis", "axes", "perm", "keepdims", "group", "kernel_shape", "strides", "pads", "dilations",
  "output_padding", "output_shape", "blocksize", "k", "num_outputs", "hidden_size", "to", "upper", "batch_dims",
  "exclusive", "reverse", "largest", "sorted", "num_scan_inputs", "ceil_mode", "count_include_pad", "p", "size",
  "transA", "transB", "fmod", "start", "end", "noop_with_empty_axes", "new_axis", "depth", "scan_input_axes",
  "output_height", "output_width", "sampling_ratio", "center_point_box", "split", "allowzero", "saturate",
  "block_size", "output_dtype", "stash_type", "num_groups", "layout", "linear_before_reset", "dtype"];
const FLOAT_ATTRS = ["alpha", "beta", "epsilon", "gamma", "bias", "lambd", "threshold", "momentum", "scale",
  "value_float", "spatial_scale", "extrapolation_value", "cubic_coeff_a", "clip", "mean", "seed", "high", "low"];
const STRING_ATTRS = ["mode", "auto_pad", "direction", "coordinate_transformation_mode", "nearest_mode", "equation",
  "reduction", "approximate", "activations", "norm", "post_transform", "case_change_action", "padding_mode"];
const STRING_VALUES = ["", "constant", "reflect", "edge", "wrap", "linear", "nearest", "cubic", "bilinear", "CRD",
  "DCR", "SAME_UPPER", "SAME_LOWER", "VALID", "NOTSET", "forward", "reverse", "bidirectional", "add", "mul", "max",
  "min", "none", "tanh", "Sigmoid", "L1", "L2", "MAX", "SOFTMAX", "LEFT", "RIGHT", "UPPER", "ij,jk->ik",
  "...ii->...i", "i,i,i,i->", "a->aaaa", "->", "ij->", "abc,cd->abd"];

/** AttributeProto.type codes: FLOAT 1 … TYPE_PROTOS 14; 0 is UNDEFINED. */
const ATTR_TYPES = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 99, -1];

type Mutation = (rng: Rng, m: IrModel) => string | null;

// ---------------------------------------------------------------------------------- helpers

/** The main graph and every subgraph under it (If branches, Loop and Scan bodies). */
export function allGraphs(g: IrGraph, out: IrGraph[] = []): IrGraph[] {
  out.push(g);
  for (const n of g.nodes) for (const a of n.attrs) {
    if (a.g) allGraphs(a.g, out);
    for (const s of a.graphs) allGraphs(s, out);
  }
  return out;
}

/** Mostly the main graph, where the loader starts; sometimes a subgraph. */
function pickGraph(rng: Rng, m: IrModel): IrGraph {
  const graphs = allGraphs(m.graph);
  return graphs.length > 1 && rng.chance(0.3) ? rng.pick(graphs.slice(1)) : m.graph;
}

function pickNode(rng: Rng, m: IrModel): { g: IrGraph; n: IrNode } | null {
  const g = pickGraph(rng, m);
  return g.nodes.length ? { g, n: rng.pick(g.nodes) } : null;
}

/** Names a graph can see: its inputs, initializers and node outputs. */
function valueNames(g: IrGraph): string[] {
  return [...g.inputs.map((v) => v.name), ...g.initializers.map((t) => t.name), ...g.nodes.flatMap((n) => n.outputs)];
}

const show = (v: unknown) => (typeof v === "bigint" ? `${v}` : typeof v === "number" ? String(v) : JSON.stringify(v));

function edgeInt(rng: Rng): bigint {
  return rng.chance(0.8) ? rng.pick(INT_EDGES) : BigInt(rng.int(33) - 16);
}

/** A list of ints: empty, one edge value, a few mixed, or very long (up to 4096 entries). */
function edgeInts(rng: Rng): bigint[] {
  switch (rng.int(5)) {
    case 0: return [];
    case 1: return [edgeInt(rng)];
    case 2: return Array.from({ length: 1 + rng.int(6) }, () => edgeInt(rng));
    case 3: return Array.from({ length: 64 + rng.int(4033) }, () => BigInt(rng.int(4)));
    default: return Array.from({ length: 1 + rng.int(8) }, () => BigInt(rng.int(5) - 1));
  }
}

function edgeFloats(rng: Rng): number[] {
  switch (rng.int(4)) {
    case 0: return [];
    case 1: return [rng.pick(FLOAT_EDGES)];
    case 2: return Array.from({ length: 2048 + rng.int(2048) }, () => rng.next());
    default: return Array.from({ length: 1 + rng.int(6) }, () => rng.pick(FLOAT_EDGES));
  }
}

function newAttr(name: string): IrAttr {
  return { name, floats: [], ints: [], strings: [], graphs: [], extra: [] };
}

/** An attribute of `n` to change: one it has, or a new one with a name operators read. */
function pickAttr(rng: Rng, n: IrNode, names: readonly string[], has: (a: IrAttr) => boolean): IrAttr {
  const existing = n.attrs.filter(has);
  if (existing.length && rng.chance(0.75)) return rng.pick(existing);
  const name = rng.pick(names);
  let a = n.attrs.find((x) => x.name === name);
  if (!a) n.attrs.push(a = newAttr(name));
  return a;
}

function tensorTypes(g: IrGraph): { info: IrValueInfo; t: Extract<IrType, { kind: "tensor" | "sparse" }> }[] {
  const out = [];
  for (const info of [...g.inputs, ...g.outputs, ...g.valueInfo]) {
    let t = info.type;
    while (t && (t.kind === "sequence" || t.kind === "optional")) t = t.elem;
    if (t && (t.kind === "tensor" || t.kind === "sparse")) out.push({ info, t });
  }
  return out;
}

// ---------------------------------------------------------------------------------- attributes

const attrInt: Mutation = (rng, m) => {
  const p = pickNode(rng, m);
  if (!p) return null;
  const a = pickAttr(rng, p.n, INT_ATTRS, (x) => x.i !== undefined || x.ints.length > 0);
  if (a.ints.length || (a.i === undefined && rng.chance(0.5))) {
    a.ints = edgeInts(rng);
    a.i = undefined;
    a.type = 7;
    return `${p.n.opType}.${a.name} = ints[${a.ints.length}] ${a.ints.slice(0, 6).map(show).join(",")}`;
  }
  a.i = edgeInt(rng);
  a.type = 2;
  return `${p.n.opType}.${a.name} = ${a.i}`;
};

const attrFloat: Mutation = (rng, m) => {
  const p = pickNode(rng, m);
  if (!p) return null;
  const a = pickAttr(rng, p.n, FLOAT_ATTRS, (x) => x.f !== undefined || x.floats.length > 0);
  if (a.floats.length || (a.f === undefined && rng.chance(0.4))) {
    a.floats = edgeFloats(rng);
    a.f = undefined;
    a.type = 6;
    return `${p.n.opType}.${a.name} = floats[${a.floats.length}] ${a.floats.slice(0, 4).join(",")}`;
  }
  a.f = rng.pick(FLOAT_EDGES);
  a.type = 1;
  return `${p.n.opType}.${a.name} = ${a.f}`;
};

const attrString: Mutation = (rng, m) => {
  const p = pickNode(rng, m);
  if (!p) return null;
  const a = pickAttr(rng, p.n, STRING_ATTRS, (x) => x.s !== undefined || x.strings.length > 0);
  const value = (): Uint8Array => {
    switch (rng.int(4)) {
      case 0: return new Uint8Array([0xff, 0xfe, 0x00, 0xc3]); // not UTF-8, with a NUL
      case 1: return enc.encode("A".repeat(1 + rng.int(5000)));
      default: return enc.encode(rng.pick(STRING_VALUES));
    }
  };
  if (a.strings.length || rng.chance(0.2)) {
    a.strings = Array.from({ length: rng.int(4) }, value);
    a.s = undefined;
    a.type = 8;
    return `${p.n.opType}.${a.name} = strings[${a.strings.length}]`;
  }
  a.s = value();
  a.type = 3;
  return `${p.n.opType}.${a.name} = "${new TextDecoder().decode(a.s.subarray(0, 24))}"${a.s.length > 24 ? "…" : ""}`;
};

/** The declared kind and the payload disagree, the attribute is duplicated, dropped or empty. */
const attrKind: Mutation = (rng, m) => {
  const p = pickNode(rng, m);
  if (!p || !p.n.attrs.length) return null;
  const a = rng.pick(p.n.attrs);
  switch (rng.int(6)) {
    case 0: a.type = rng.pick(ATTR_TYPES); return `${p.n.opType}.${a.name} declared type ${a.type}`;
    case 1:
      p.n.attrs.splice(p.n.attrs.indexOf(a), 1);
      return `${p.n.opType}.${a.name} removed`;
    case 2: {
      const copy: IrAttr = { ...a, ints: [...a.ints, 1n], i: a.i === undefined ? undefined : a.i + 1n };
      p.n.attrs.push(copy);
      return `${p.n.opType}.${a.name} duplicated`;
    }
    case 3:
      Object.assign(a, { f: undefined, i: undefined, s: undefined, g: undefined, floats: [], ints: [], strings: [], graphs: [], extra: [] });
      return `${p.n.opType}.${a.name} has no value`;
    case 4:
      // An int payload where a float is declared, and the other way round.
      if (a.i !== undefined) { a.f = Number(a.i); a.i = undefined; } else if (a.f !== undefined) { a.i = Number.isFinite(a.f) ? BigInt(Math.trunc(a.f)) : 0n; a.f = undefined; } else if (a.ints.length) { a.floats = a.ints.map(Number); a.ints = []; } else { a.ints = a.floats.map((v) => BigInt(Number.isFinite(v) ? Math.trunc(v) : 0)); a.floats = []; }
      return `${p.n.opType}.${a.name} payload switched int/float (type ${a.type})`;
    default:
      a.name = rng.pick(["", "unknown_attr", a.name.toUpperCase(), `${a.name}\u0000`]);
      return `${p.n.opType} attribute renamed to ${JSON.stringify(a.name)}`;
  }
};

/** Subgraph attributes: swapped, emptied, dropped, or given to an operator that takes none. */
const attrGraph: Mutation = (rng, m) => {
  const graphs = allGraphs(m.graph);
  const owners = graphs.flatMap((g) => g.nodes.filter((n) => n.attrs.some((a) => a.g)));
  const p = pickNode(rng, m);
  if (!p) return null;
  if (!owners.length || rng.chance(0.25)) {
    p.n.attrs.push({ ...newAttr(rng.pick(["body", "then_branch", "else_branch", "axis"])), type: 5, g: emptyGraph() });
    return `${p.n.opType} given a graph attribute`;
  }
  const n = rng.pick(owners);
  const a = rng.pick(n.attrs.filter((x) => x.g));
  const g = a.g!;
  switch (rng.int(5)) {
    case 0: a.g = emptyGraph(); return `${n.opType}.${a.name} = empty graph`;
    case 1: g.outputs.reverse(); g.inputs.reverse(); return `${n.opType}.${a.name} inputs/outputs reversed`;
    case 2: g.outputs.push({ name: g.outputs[0]?.name ?? "ghost", extra: [] }); return `${n.opType}.${a.name} extra output`;
    case 3: g.inputs.pop(); return `${n.opType}.${a.name} input dropped`;
    default: {
      const other = n.attrs.find((x) => x.g && x !== a);
      if (other) { [a.g, other.g] = [other.g, a.g]; return `${n.opType} branches swapped`; }
      g.nodes.push({ inputs: ["nowhere"], outputs: ["z"], opType: "Identity", attrs: [], extra: [] });
      return `${n.opType}.${a.name} reads an outer name that does not exist`;
    }
  }
};

function emptyGraph(): IrGraph {
  return { name: "empty", nodes: [], initializers: [], inputs: [], outputs: [], valueInfo: [], extra: [] };
}

// ---------------------------------------------------------------------------------- dims and dtypes

const dims: Mutation = (rng, m) => {
  const g = pickGraph(rng, m);
  const found = tensorTypes(g);
  if (!found.length) return null;
  const { info, t } = rng.pick(found);
  const shape = t.shape ?? [];
  switch (rng.int(6)) {
    case 0: t.shape = undefined; return `${info.name}: unknown rank`;
    case 1: t.shape = []; return `${info.name}: scalar`;
    case 2: t.shape = [...shape, ...Array.from({ length: 1 + rng.int(rng.chance(0.2) ? 70 : 3) }, () => rng.pick(DIM_EDGES))];
      return `${info.name}: rank ${t.shape.length}`;
    case 3: t.shape = shape.slice(0, -1); return `${info.name}: dim dropped`;
    default: {
      if (!shape.length) return null;
      const at = rng.int(shape.length);
      shape[at] = rng.pick(DIM_EDGES);
      t.shape = shape;
      return `${info.name}: dim ${at} = ${show(shape[at])}`;
    }
  }
};

const initializer: Mutation = (rng, m) => {
  const g = pickGraph(rng, m);
  if (!g.initializers.length) return null;
  const t = rng.pick(g.initializers);
  switch (rng.int(5)) {
    case 0: t.dtype = rng.pick(DTYPE_CODES); return `initializer ${t.name}: dtype ${t.dtype}`;
    case 1: t.dims = []; return `initializer ${t.name}: dims []`;
    case 2: t.dims.push(rng.pick(INT_EDGES)); return `initializer ${t.name}: dims ${t.dims.map(show)}`;
    case 3:
      if (!t.dims.length) return null;
      t.dims[rng.int(t.dims.length)] = rng.pick(INT_EDGES);
      return `initializer ${t.name}: dims ${t.dims.map(show)}`;
    default: {
      // raw_data (field 9) cut short or emptied, so the data no longer matches the dims.
      const raw = t.extra.find((f) => f.field === 9);
      if (!raw) return null;
      const bytes = raw.value as Uint8Array;
      raw.value = bytes.subarray(0, rng.int(bytes.length));
      return `initializer ${t.name}: raw_data ${bytes.length} -> ${(raw.value as Uint8Array).length} bytes`;
    }
  }
};

const dtype: Mutation = (rng, m) => {
  const code = rng.pick(DTYPE_CODES);
  const g = pickGraph(rng, m);
  const found = tensorTypes(g);
  const casts = g.nodes.flatMap((n) => n.attrs.filter((a) => ["to", "dtype", "output_dtype"].includes(a.name)).map((a) => ({ n, a })));
  if (casts.length && rng.chance(0.3)) {
    const { n, a } = rng.pick(casts);
    a.i = BigInt(code);
    return `${n.opType}.${a.name} = dtype ${code}`;
  }
  if (!found.length) return null;
  const { info, t } = rng.pick(found);
  t.elem = code;
  return `${info.name}: dtype ${code}`;
};

// ---------------------------------------------------------------------------------- operators

const opSwap: Mutation = (rng, m) => {
  const p = pickNode(rng, m);
  if (!p) return null;
  const was = p.n.opType;
  const r = rng.next();
  if (r < 0.6) { p.n.opType = rng.pick(ONNX_OPS); p.n.domain = undefined; }
  else if (r < 0.8) { p.n.opType = rng.pick(ML_OPS); p.n.domain = "ai.onnx.ml"; ensureOpset(m, "ai.onnx.ml", 3n); }
  else if (r < 0.85) { p.n.opType = rng.pick(TRAINING_OPS); p.n.domain = "ai.onnx.preview.training"; }
  else if (r < 0.92) p.n.opType = rng.pick(ODD_OPS);
  else { p.n.domain = rng.pick(DOMAINS); return `${was} in domain "${p.n.domain}"`; }
  return `${was} -> ${p.n.domain ? `${p.n.domain}.` : ""}${JSON.stringify(p.n.opType).slice(0, 40)}`;
};

function ensureOpset(m: IrModel, domain: string, version: bigint): void {
  if (!m.opsets.some((o) => o.domain === domain)) m.opsets.push({ domain, version });
}

// ---------------------------------------------------------------------------------- wiring

const wiring: Mutation = (rng, m) => {
  const g = pickGraph(rng, m);
  if (!g.nodes.length) return null;
  const i = rng.int(g.nodes.length);
  const n = g.nodes[i]!;
  const names = valueNames(g);
  const what = n.opType;
  switch (rng.int(14)) {
    case 0: {
      if (n.inputs.length < 2) return null;
      const a = rng.int(n.inputs.length);
      const b = rng.int(n.inputs.length);
      [n.inputs[a], n.inputs[b]] = [n.inputs[b]!, n.inputs[a]!];
      return `${what}: inputs ${a} and ${b} swapped`;
    }
    case 1: if (!n.inputs.length) return null; n.inputs.splice(rng.int(n.inputs.length), 1); return `${what}: an input removed`;
    case 2: if (!n.inputs.length) return null; n.inputs.push(rng.pick(n.inputs)); return `${what}: an input duplicated`;
    case 3: n.inputs.push(rng.pick([...names, "ghost", ""])); return `${what}: extra input ${n.inputs.at(-1)}`;
    case 4: if (!n.inputs.length) return null; n.inputs[rng.int(n.inputs.length)] = ""; return `${what}: an input left empty`;
    case 5: n.outputs.push(`extra_${rng.int(100)}`); return `${what}: extra output`;
    case 6: if (!n.outputs.length) return null; n.outputs.pop(); return `${what}: last output removed`;
    case 7: {
      // Two producers of one name, or a node writing over a graph input or initializer.
      if (!n.outputs.length || !names.length) return null;
      n.outputs[rng.int(n.outputs.length)] = rng.pick(names);
      return `${what}: output renamed to an existing value`;
    }
    case 8: {
      // Used before it is made: the consumer moves in front of its producer.
      const moved = g.nodes.splice(rng.int(g.nodes.length), 1)[0]!;
      g.nodes.unshift(moved);
      if (rng.chance(0.3)) g.nodes.reverse();
      return `${moved.opType}: moved to the front`;
    }
    case 9: {
      // A cycle: the first node reads the last node's output (or its own).
      const last = g.nodes.at(-1)!;
      const first = g.nodes[0]!;
      if (!last.outputs.length) return null;
      if (first.inputs.length) first.inputs[rng.int(first.inputs.length)] = last.outputs[0]!;
      else first.inputs.push(last.outputs[0]!);
      return `cycle: ${first.opType} reads ${last.opType}'s output`;
    }
    case 10: g.nodes.splice(i, 1); return `${what}: node removed`;
    case 11: g.nodes.splice(i, 0, structuredCloneNode(n)); return `${what}: node duplicated`;
    case 12: {
      if (!n.outputs.length) return null;
      n.outputs[0] = n.inputs[0] ?? "";
      return `${what}: output named like its input (${JSON.stringify(n.outputs[0])})`;
    }
    default: {
      n.name = rng.pick(["", g.nodes[0]!.name ?? "", "x".repeat(2000)]);
      return `${what}: node name ${JSON.stringify(n.name).slice(0, 20)}`;
    }
  }
};

function structuredCloneNode(n: IrNode): IrNode {
  return { ...n, inputs: [...n.inputs], outputs: [...n.outputs], attrs: [...n.attrs] };
}

/** The graph's own inputs and outputs: missing, duplicated, extra, or naming the wrong thing. */
const graphIo: Mutation = (rng, m) => {
  const g = pickGraph(rng, m);
  const names = valueNames(g);
  switch (rng.int(8)) {
    case 0: if (!g.inputs.length) return null; g.inputs.splice(rng.int(g.inputs.length), 1); return "a graph input removed";
    case 1: if (!g.inputs.length) return null; g.inputs.push({ ...rng.pick(g.inputs) }); return "a graph input duplicated";
    case 2: g.inputs.push({ name: `extra_in_${rng.int(10)}`, type: { kind: "tensor", elem: 1, shape: [2n] }, extra: [] }); return "extra graph input";
    case 3: if (!g.outputs.length) return null; g.outputs.splice(rng.int(g.outputs.length), 1); return "a graph output removed";
    case 4: g.outputs.push({ name: rng.pick([...names, "ghost", ""]), extra: [] }); return `extra graph output ${g.outputs.at(-1)!.name}`;
    case 5: if (!g.outputs.length || !g.inputs.length) return null; g.outputs[0]!.name = rng.pick(g.inputs).name; return "graph output is a graph input";
    case 6: {
      if (!g.initializers.length) return null;
      const t = rng.pick(g.initializers);
      g.inputs.push({ name: t.name, type: { kind: "tensor", elem: rng.pick([1, 7, t.dtype]), shape: [1n] }, extra: [] });
      return `initializer ${t.name} is also a graph input`;
    }
    default: {
      if (!g.initializers.length) return null;
      const t = rng.pick(g.initializers);
      g.initializers.push({ ...t, dims: [...t.dims], extra: [...t.extra] });
      return `initializer ${t.name} twice`;
    }
  }
};

// ---------------------------------------------------------------------------------- opsets

const OPSET_VERSIONS = [0n, 1n, 5n, 6n, 7n, 9n, 10n, 11n, 13n, 16n, 17n, 21n, 22n, 23n, 24n, 25n, 99n, 10000n, -1n, 1n << 40n];

const opsets: Mutation = (rng, m) => {
  const main = m.opsets.find((o) => o.domain === "" || o.domain === "ai.onnx");
  switch (rng.int(7)) {
    case 0: if (!main) return null; main.version = rng.pick(OPSET_VERSIONS); return `opset ${main.version}`;
    case 1: m.opsets = m.opsets.filter((o) => o !== main); return "default opset absent";
    case 2: m.opsets = []; return "no opsets at all";
    case 3: m.opsets.push({ domain: "", version: rng.pick(OPSET_VERSIONS) }); return "default opset twice";
    case 4: {
      const v = rng.pick([1n, 2n, 3n, 4n, 5n, 99n, 0n]);
      m.opsets = m.opsets.filter((o) => o.domain !== "ai.onnx.ml");
      m.opsets.push({ domain: "ai.onnx.ml", version: v });
      return `ai.onnx.ml opset ${v}`;
    }
    case 5: if (!main) return null; main.version = undefined; return "default opset without a version";
    default: {
      const v = rng.pick([undefined, 0n, 1n, 3n, 7n, 10n, 11n, 12n, 13n, 100n, -1n]);
      m.irVersion = v;
      return `ir_version ${v ?? "absent"}`;
    }
  }
};

// ---------------------------------------------------------------------------------- value kinds

function oddType(rng: Rng, elem: number): IrType {
  const tensor: IrType = { kind: "tensor", elem, shape: [2n] };
  switch (rng.int(9)) {
    case 0: return { kind: "sequence", elem: tensor };
    case 1: return { kind: "optional", elem: tensor };
    case 2: return { kind: "optional", elem: { kind: "sequence", elem: tensor } };
    case 3: return { kind: "sequence", elem: { kind: "sequence", elem: tensor } };
    case 4: return { kind: "map", key: rng.pick([7, 8, 1]), value: tensor };
    case 5: return { kind: "sparse", elem, shape: [2n, 2n] };
    case 6: return { kind: "sequence" };
    case 7: return { kind: "empty" };
    default: return { kind: "tensor", elem };
  }
}

const valueKind: Mutation = (rng, m) => {
  const g = pickGraph(rng, m);
  const infos = [...g.inputs, ...g.outputs, ...g.valueInfo];
  if (!infos.length || rng.chance(0.15)) {
    // value_info for an intermediate, which the loader may trust over its own inference.
    const produced = g.nodes.flatMap((n) => n.outputs).filter(Boolean);
    if (!produced.length) return null;
    const name = rng.pick(produced);
    g.valueInfo.push({ name, type: oddType(rng, rng.pick([1, 7, 9])), extra: [] });
    return `value_info ${name}: ${g.valueInfo.at(-1)!.type!.kind}`;
  }
  const info = rng.pick(infos);
  const elem = info.type && "elem" in info.type && typeof info.type.elem === "number" ? info.type.elem : 1;
  info.type = rng.chance(0.1) ? undefined : oddType(rng, elem);
  return `${info.name}: ${info.type?.kind ?? "no type"}`;
};

/** The mutations with weights: the ones with more ways to go wrong are drawn more often. */
export const MUTATIONS: readonly [Mutation, number, string][] = [
  [attrInt, 4, "attr-int"], [attrFloat, 2, "attr-float"], [attrString, 2, "attr-string"], [attrKind, 2, "attr-kind"],
  [attrGraph, 1, "attr-graph"], [dims, 3, "dims"], [initializer, 2, "initializer"], [dtype, 3, "dtype"],
  [opSwap, 4, "op"], [wiring, 4, "wiring"], [graphIo, 2, "graph-io"], [opsets, 2, "opset"], [valueKind, 2, "value-kind"],
];

/** Applies one mutation drawn by weight, retrying a few draws when one does not apply. */
export function mutateOnce(rng: Rng, m: IrModel, without: ReadonlySet<string> = new Set()): string {
  const chosen = MUTATIONS.filter(([, , name]) => !without.has(name));
  const total = chosen.reduce((s, [, w]) => s + w, 0);
  for (let attempt = 0; attempt < 8 && total > 0; attempt++) {
    let r = rng.next() * total;
    for (const [mutate, weight, name] of chosen) {
      if ((r -= weight) > 0) continue;
      const done = mutate(rng, m);
      if (done !== null) return `${name}: ${done}`;
      break;
    }
  }
  return "none applied";
}
