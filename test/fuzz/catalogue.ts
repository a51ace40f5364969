/**
 * The structure fuzzer's seeds: small, valid single-node and few-node models over many
 * operators, written with the project's GraphBuilder. Each should load and run as it is, so that
 * a mutation starts one step away from a model the runtime accepts and reaches deep into shape
 * inference and the kernels, not just the decoder. Output types are left out (the loader infers
 * them), which keeps the entries short and lets mutated wiring change them freely.
 */
import { attr, type AttrValue, buildModel, GraphBuilder, tensor, types } from "../../src/onnx/builder.ts";

export interface Seed { readonly name: string; readonly bytes: Uint8Array }

/** A graph input, or an initializer with its data. */
type Arg =
  | { in: string; dtype?: string; shape?: (number | string)[] }
  | { init: string; dtype: string; dims: number[]; data: ArrayLike<number | bigint> | (number | bigint)[] }
  | "";

const x = (shape: (number | string)[] = [2, 3], dtype = "float32", name = "x"): Arg => ({ in: name, dtype, shape });
const y = (shape: (number | string)[] = [2, 3], dtype = "float32"): Arg => ({ in: "y", dtype, shape });
const i64 = (name: string, data: number[], dims = [data.length]): Arg =>
  ({ init: name, dtype: "int64", dims, data: data.map(BigInt) });
const f32 = (name: string, data: number[], dims = [data.length]): Arg =>
  ({ init: name, dtype: "float32", dims, data });
const seq = (n: number) => Array.from({ length: n }, (_, i) => (i % 7) / 7);

interface OneOptions {
  attrs?: Record<string, AttrValue>;
  outputs?: number;
  opset?: number;
  domain?: string;
}

/** A model of one node: its inputs from `args`, its outputs the graph's outputs. */
function one(op: string, args: Arg[], options: OneOptions = {}): Uint8Array {
  const g = new GraphBuilder(`one_${op}`);
  const names = args.map((a) => {
    if (a === "") return "";
    if ("in" in a) return g.input(a.in, a.dtype ?? "float32", a.shape);
    return g.initializer(a.init, a.dtype, a.dims, Array.from(a.data as ArrayLike<number>));
  });
  const outs = g.nodeWithOutputs(op, names, Array.from({ length: options.outputs ?? 1 }, (_, i) => `out${i}`),
    { attrs: options.attrs, domain: options.domain });
  for (const o of outs) g.output(o);
  const opsets: Record<string, number> = { "": options.opset ?? 18 };
  if (options.domain) opsets[options.domain] = 3;
  return buildModel(g, { opsets });
}

const unary = ["Abs", "Neg", "Relu", "Sigmoid", "Tanh", "Exp", "Log", "Sqrt", "Reciprocal", "Floor", "Ceil",
  "Round", "Sin", "Cos", "Tan", "Asin", "Atan", "Sinh", "Erf", "Softplus", "Softsign", "Sign", "HardSwish",
  "Identity", "IsNaN", "IsInf", "Mish", "Acosh"];
const binary = ["Add", "Sub", "Mul", "Div", "Pow", "Max", "Min", "Mean", "Sum", "Equal", "Less", "Greater",
  "LessOrEqual", "GreaterOrEqual", "PRelu"];
const reductions = ["ReduceSum", "ReduceMean", "ReduceMax", "ReduceMin", "ReduceProd", "ReduceL1", "ReduceL2",
  "ReduceLogSumExp", "ReduceSumSquare", "ReduceLogSum"];

function singles(): [string, () => Uint8Array][] {
  const out: [string, () => Uint8Array][] = [];
  const add = (name: string, make: () => Uint8Array) => out.push([name, make]);
  for (const op of unary) add(op, () => one(op, [x()]));
  for (const op of binary) add(op, () => one(op, [x(), y([3])]));
  for (const op of ["And", "Or", "Xor"]) add(op, () => one(op, [x([4], "bool"), y([4], "bool")]));
  add("Not", () => one("Not", [x([4], "bool")]));
  add("BitShift", () => one("BitShift", [x([4], "uint8"), y([4], "uint8")], { attrs: { direction: "LEFT" } }));
  add("BitwiseAnd", () => one("BitwiseAnd", [x([4], "int32"), y([4], "int32")]));
  add("Mod", () => one("Mod", [x([4], "int32"), { init: "d", dtype: "int32", dims: [], data: [3] }]));
  add("Mod_fmod", () => one("Mod", [x(), y()], { attrs: { fmod: 1 } }));
  add("Where", () => one("Where", [x([2, 3], "bool", "c"), x(), y()]));
  add("LeakyRelu", () => one("LeakyRelu", [x()], { attrs: { alpha: attr.float(0.1) } }));
  add("Elu", () => one("Elu", [x()], { attrs: { alpha: attr.float(1) } }));
  add("Selu", () => one("Selu", [x()]));
  add("Celu", () => one("Celu", [x()], { attrs: { alpha: attr.float(2) } }));
  add("HardSigmoid", () => one("HardSigmoid", [x()], { attrs: { alpha: 0.2, beta: 0.5 } }));
  add("ThresholdedRelu", () => one("ThresholdedRelu", [x()], { attrs: { alpha: 0.5 } }));
  add("Shrink", () => one("Shrink", [x()], { attrs: { bias: 0.1, lambd: 0.5 } }));
  add("Gelu", () => one("Gelu", [x()], { attrs: { approximate: "tanh" }, opset: 20 }));
  for (const op of ["Softmax", "LogSoftmax", "Hardmax"]) add(op, () => one(op, [x()], { attrs: { axis: -1 } }));
  add("Clip", () => one("Clip", [x(), f32("lo", [0.2], []), f32("hi", [0.8], [])]));
  add("Cast", () => one("Cast", [x()], { attrs: { to: 7 } }));
  add("CastLike", () => one("CastLike", [x(), x([1], "int32", "like")]));
  add("MatMul", () => one("MatMul", [x([2, 3]), y([3, 4])]));
  add("Gemm", () => one("Gemm", [x([2, 3]), f32("w", seq(12), [4, 3]), f32("b", seq(4))],
    { attrs: { alpha: 0.5, beta: attr.float(1), transA: 0, transB: 1 } }));
  add("Einsum", () => one("Einsum", [x([2, 3]), y([3, 4])], { attrs: { equation: "ij,jk->ik" } }));
  add("Reshape", () => one("Reshape", [x(), i64("s", [3, -1])]));
  add("Transpose", () => one("Transpose", [x([2, 3, 4])], { attrs: { perm: [2, 0, 1] } }));
  add("Flatten", () => one("Flatten", [x([2, 3, 4])], { attrs: { axis: 1 } }));
  add("Squeeze", () => one("Squeeze", [x([1, 3, 1]), i64("a", [0, 2])]));
  add("Unsqueeze", () => one("Unsqueeze", [x(), i64("a", [0, 3])]));
  add("Concat", () => one("Concat", [x(), y([4, 3])], { attrs: { axis: 0 } }));
  add("Split", () => one("Split", [x([6, 2]), i64("s", [2, 4])], { attrs: { axis: 0 }, outputs: 2 }));
  add("Split_num", () => one("Split", [x([6, 2])], { attrs: { axis: 0, num_outputs: 3 }, outputs: 3 }));
  add("Slice", () => one("Slice", [x([4, 5]), i64("st", [1, 0]), i64("en", [3, 5]), i64("ax", [0, 1]), i64("sp", [1, 2])]));
  add("Gather", () => one("Gather", [x([5, 3]), i64("idx", [0, 4, 2])], { attrs: { axis: 0 } }));
  add("GatherElements", () => one("GatherElements", [x([2, 3]), i64("idx", [0, 2, 1, 1], [2, 2])], { attrs: { axis: 1 } }));
  add("GatherND", () => one("GatherND", [x([2, 3]), i64("idx", [1, 2], [1, 2])]));
  add("ScatterElements", () => one("ScatterElements", [x([3, 3]), i64("idx", [1, 0, 2], [1, 3]), f32("u", [9, 8, 7], [1, 3])],
    { attrs: { axis: 0, reduction: "add" } }));
  add("ScatterND", () => one("ScatterND", [x([4]), i64("idx", [1, 3], [2, 1]), f32("u", [5, 6])]));
  add("Expand", () => one("Expand", [x([3, 1]), i64("s", [2, 3, 4])]));
  add("Tile", () => one("Tile", [x(), i64("r", [2, 2])]));
  add("Pad", () => one("Pad", [x(), i64("p", [1, 0, 1, 2]), f32("v", [0.5], [])], { attrs: { mode: "constant" } }));
  add("Pad_reflect", () => one("Pad", [x([3, 4]), i64("p", [0, 2, 0, 2])], { attrs: { mode: "reflect" } }));
  add("Shape", () => one("Shape", [x([2, 3, 4])], { attrs: { start: 1, end: -1 } }));
  add("Size", () => one("Size", [x()]));
  add("ConstantOfShape", () => one("ConstantOfShape", [i64("s", [2, 3])], { attrs: { value: tensor("float32", [1], [7]) } }));
  add("Constant", () => one("Constant", [], { attrs: { value: tensor("int32", [2, 2], [1, 2, 3, 4]) } }));
  add("Range", () => one("Range", [f32("a", [0], []), f32("b", [5], []), f32("d", [0.5], [])]));
  add("OneHot", () => one("OneHot", [i64("i", [0, 2, 1]), i64("d", [4], []), f32("v", [0, 1])], { attrs: { axis: -1 } }));
  add("Trilu", () => one("Trilu", [x([3, 3]), i64("k", [1], [])], { attrs: { upper: 0 } }));
  add("DepthToSpace", () => one("DepthToSpace", [x([1, 4, 2, 2])], { attrs: { blocksize: 2, mode: "CRD" } }));
  add("SpaceToDepth", () => one("SpaceToDepth", [x([1, 1, 4, 4])], { attrs: { blocksize: 2 } }));
  add("EyeLike", () => one("EyeLike", [x([3, 4])], { attrs: { k: 1 } }));
  add("NonZero", () => one("NonZero", [x([2, 3], "int32")]));
  add("TopK", () => one("TopK", [x([2, 5]), i64("k", [3])], { attrs: { axis: -1, largest: 1 }, outputs: 2 }));
  for (const op of ["ArgMax", "ArgMin"]) add(op, () => one(op, [x()], { attrs: { axis: 1, keepdims: 0 } }));
  add("CumSum", () => one("CumSum", [x(), i64("a", [1], [])], { attrs: { exclusive: 1, reverse: 1 } }));
  for (const op of reductions) add(op, () => one(op, [x([2, 3, 4]), i64("a", [1])], { attrs: { keepdims: 1 } }));
  add("ReduceSum_noaxes", () => one("ReduceSum", [x()], { attrs: { noop_with_empty_axes: 1 } }));
  add("Conv", () => one("Conv", [x([1, 2, 5, 5]), f32("w", seq(36), [2, 2, 3, 3]), f32("b", [0.1, 0.2])],
    { attrs: { kernel_shape: [3, 3], strides: [1, 2], pads: [1, 1, 1, 1], dilations: [1, 1], group: 1 } }));
  add("Conv_group", () => one("Conv", [x([1, 4, 4, 4]), f32("w", seq(8), [4, 1, 1, 2])], { attrs: { group: 4, auto_pad: "SAME_UPPER" } }));
  add("ConvTranspose", () => one("ConvTranspose", [x([1, 2, 3, 3]), f32("w", seq(24), [2, 3, 2, 2])],
    { attrs: { strides: [2, 2], output_padding: [1, 0] } }));
  add("MaxPool", () => one("MaxPool", [x([1, 1, 5, 5])], { attrs: { kernel_shape: [2, 2], strides: [2, 2], ceil_mode: 1 }, outputs: 2 }));
  add("AveragePool", () => one("AveragePool", [x([1, 1, 5, 5])],
    { attrs: { kernel_shape: [3, 3], pads: [1, 1, 1, 1], count_include_pad: 1 } }));
  add("LpPool", () => one("LpPool", [x([1, 1, 4, 4])], { attrs: { kernel_shape: [2, 2], p: 3 } }));
  for (const op of ["GlobalAveragePool", "GlobalMaxPool"]) add(op, () => one(op, [x([1, 3, 4, 4])]));
  add("BatchNormalization", () => one("BatchNormalization", [x([1, 2, 3]), f32("s", [1, 2]), f32("b", [0, 1]),
    f32("m", [0.5, 0.5]), f32("v", [1, 2])], { attrs: { epsilon: 1e-5 } }));
  add("InstanceNormalization", () => one("InstanceNormalization", [x([1, 2, 3]), f32("s", [1, 2]), f32("b", [0, 1])]));
  add("LayerNormalization", () => one("LayerNormalization", [x(), f32("s", [1, 2, 3]), f32("b", [0, 0, 1])],
    { attrs: { axis: -1, epsilon: 1e-5 } }));
  add("GroupNormalization", () => one("GroupNormalization", [x([1, 4, 2]), f32("s", [1, 1, 1, 1]), f32("b", [0, 0, 0, 0])],
    { attrs: { num_groups: 2 }, opset: 21 }));
  add("LRN", () => one("LRN", [x([1, 4, 2, 2])], { attrs: { size: 3 } }));
  add("LpNormalization", () => one("LpNormalization", [x()], { attrs: { axis: 1, p: 2 } }));
  add("MeanVarianceNormalization", () => one("MeanVarianceNormalization", [x([1, 2, 3, 3])]));
  add("Dropout", () => one("Dropout", [x()], { outputs: 2 }));
  add("Resize", () => one("Resize", [x([1, 1, 2, 2]), "", f32("sc", [1, 1, 2, 1.5])], { attrs: { mode: "linear" } }));
  add("Resize_sizes", () => one("Resize", [x([1, 1, 2, 2]), "", "", i64("sz", [1, 1, 3, 5])], { attrs: { mode: "nearest" } }));
  add("GridSample", () => one("GridSample", [x([1, 1, 3, 3]), f32("g", seq(8).map((v) => v - 0.5), [1, 2, 2, 2])], { opset: 20 }));
  add("RNN", () => one("RNN", [x([2, 1, 3]), f32("w", seq(12), [1, 4, 3]), f32("r", seq(16), [1, 4, 4])],
    { attrs: { hidden_size: 4 }, outputs: 2 }));
  add("GRU", () => one("GRU", [x([2, 1, 3]), f32("w", seq(36), [1, 12, 3]), f32("r", seq(48), [1, 12, 4])],
    { attrs: { hidden_size: 4 }, outputs: 2 }));
  add("LSTM", () => one("LSTM", [x([2, 1, 3]), f32("w", seq(48), [1, 16, 3]), f32("r", seq(64), [1, 16, 4])],
    { attrs: { hidden_size: 4, direction: "forward" }, outputs: 3 }));
  add("QuantizeLinear", () => one("QuantizeLinear", [x(), f32("s", [0.1], []), { init: "z", dtype: "uint8", dims: [], data: [128] }]));
  add("DequantizeLinear", () => one("DequantizeLinear", [x([4], "int8"), f32("s", [0.5], []), { init: "z", dtype: "int8", dims: [], data: [1] }]));
  add("DynamicQuantizeLinear", () => one("DynamicQuantizeLinear", [x()], { outputs: 3 }));
  add("MatMulInteger", () => one("MatMulInteger", [x([2, 3], "uint8"), y([3, 2], "uint8")]));
  add("ConvInteger", () => one("ConvInteger", [x([1, 1, 3, 3], "uint8"), { init: "w", dtype: "uint8", dims: [1, 1, 2, 2], data: [1, 2, 3, 4] }]));
  add("Compress", () => one("Compress", [x(), { init: "c", dtype: "bool", dims: [2], data: [1, 0] }], { attrs: { axis: 0 } }));
  add("Unique", () => one("Unique", [x([6])], { attrs: { sorted: 1 }, outputs: 4 }));
  add("NonMaxSuppression", () => one("NonMaxSuppression", [x([1, 3, 4]), y([1, 1, 3]), i64("m", [2], []), f32("iou", [0.5], [])]));
  add("RoiAlign", () => one("RoiAlign", [x([1, 1, 4, 4]), f32("r", [0, 0, 2, 2], [1, 4]), i64("bi", [0])],
    { attrs: { output_height: 2, output_width: 2 } }));
  add("Det", () => one("Det", [x([3, 3])]));
  add("ReverseSequence", () => one("ReverseSequence", [x([3, 2]), i64("l", [2, 3])], { attrs: { batch_axis: 1, time_axis: 0 } }));
  add("StringNormalizer", () => one("StringNormalizer", [x([3], "string")], { attrs: { case_change_action: "UPPER" } }));
  add("RandomNormalLike", () => one("RandomNormalLike", [x()], { attrs: { seed: attr.float(1) } }));
  add("Bernoulli", () => one("Bernoulli", [x()], { attrs: { seed: attr.float(2) } }));
  add("SequenceConstruct", () => one("SequenceConstruct", [x(), y()]));
  add("SplitToSequence", () => one("SplitToSequence", [x([4, 2])], { attrs: { axis: 0, keepdims: 0 } }));
  add("Optional", () => one("Optional", [x()]));
  // ai.onnx.ml
  const ml = { domain: "ai.onnx.ml" };
  add("ml.Normalizer", () => one("Normalizer", [x()], { ...ml, attrs: { norm: "L2" } }));
  add("ml.Scaler", () => one("Scaler", [x()], { ...ml, attrs: { offset: [0.1, 0.2, 0.3], scale: [2, 2.5, 3] } }));
  add("ml.Binarizer", () => one("Binarizer", [x()], { ...ml, attrs: { threshold: 0.5 } }));
  add("ml.ArrayFeatureExtractor", () => one("ArrayFeatureExtractor", [x(), i64("i", [0, 2])], ml));
  add("ml.LinearRegressor", () => one("LinearRegressor", [x()], { ...ml, attrs: { coefficients: [0.5, 1.5, 2.5], intercepts: attr.floats([1]) } }));
  add("ml.LinearClassifier", () => one("LinearClassifier", [x()], {
    ...ml, outputs: 2, attrs: { coefficients: seq(6), intercepts: [0.5, 0.25], classlabels_ints: [0, 1] },
  }));
  add("ml.LabelEncoder", () => one("LabelEncoder", [x([3], "int64")],
    { ...ml, attrs: { keys_int64s: [1, 2, 3], values_floats: [0.5, 1.5, 2.5], default_float: attr.float(0) } }));
  add("ml.OneHotEncoder", () => one("OneHotEncoder", [x([3], "int64")], { ...ml, attrs: { cats_int64s: [1, 2, 5] } }));
  add("ml.Imputer", () => one("Imputer", [x()], { ...ml, attrs: { imputed_value_floats: attr.floats([0, 1, 2]), replaced_value_float: attr.float(0) } }));
  add("ml.TreeEnsembleRegressor", () => one("TreeEnsembleRegressor", [x()], {
    ...ml, attrs: {
      nodes_treeids: [0, 0, 0], nodes_nodeids: [0, 1, 2], nodes_featureids: [0, 0, 0], nodes_values: [0.5, 0, 0],
      nodes_modes: ["BRANCH_LEQ", "LEAF", "LEAF"], nodes_truenodeids: [1, 0, 0], nodes_falsenodeids: [2, 0, 0],
      target_treeids: [0, 0], target_nodeids: [1, 2], target_ids: [0, 0], target_weights: [1.5, -1.5], n_targets: 1,
    },
  }));
  return out;
}

/** Few-node models: wiring between nodes, shape arithmetic, subgraphs and sequences. */
function graphs(): [string, () => Uint8Array][] {
  return [
    ["conv_relu_pool", () => {
      const g = new GraphBuilder("cnn");
      g.input("x", "float32", ["N", 1, 6, 6]);
      g.initializer("w", "float32", [2, 1, 3, 3], seq(18));
      const c = g.node("Conv", ["x", "w"], { attrs: { pads: [1, 1, 1, 1] } });
      const r = g.node("Relu", [c]);
      const p = g.node("MaxPool", [r], { attrs: { kernel_shape: [2, 2], strides: [2, 2] } });
      const f = g.node("Flatten", [p]);
      g.initializer("fc", "float32", [18, 3], seq(54));
      g.node("Softmax", [g.node("MatMul", [f, "fc"])], { outputs: ["y"] });
      g.output("y");
      return buildModel(g, { opsets: { "": 17 } });
    }],
    ["dynamic_reshape", () => {
      const g = new GraphBuilder("reshape");
      g.input("x", "float32", ["B", 4, 3]);
      const shape = g.node("Shape", ["x"]);
      g.initializer("zero", "int64", [1], [0n]);
      const b = g.node("Gather", [shape, "zero"], { attrs: { axis: 0 } });
      g.initializer("m1", "int64", [1], [-1n]);
      const target = g.node("Concat", [b, "m1"], { attrs: { axis: 0 } });
      g.node("Reshape", ["x", target], { outputs: ["y"] });
      g.output("y");
      return buildModel(g, { opsets: { "": 18 } });
    }],
    ["attention", () => {
      const g = new GraphBuilder("attn");
      g.input("q", "float32", [1, 4, 8]);
      g.input("k", "float32", [1, 4, 8]);
      const kt = g.node("Transpose", ["k"], { attrs: { perm: [0, 2, 1] } });
      const s = g.node("MatMul", ["q", kt]);
      g.initializer("scale", "float32", [], [0.35]);
      const p = g.node("Softmax", [g.node("Mul", [s, "scale"])], { attrs: { axis: -1 } });
      g.node("MatMul", [p, "k"], { outputs: ["y"] });
      g.output("y");
      return buildModel(g, { opsets: { "": 17 } });
    }],
    ["if", () => {
      const then = new GraphBuilder("then");
      then.node("Add", ["x", "x"], { outputs: ["t"] });
      then.output("t", "float32", [3]);
      const otherwise = new GraphBuilder("else");
      otherwise.node("Neg", ["x"], { outputs: ["e"] });
      otherwise.output("e", "float32", [3]);
      const g = new GraphBuilder("if");
      g.input("c", "bool", []);
      g.input("x", "float32", [3]);
      g.node("If", ["c"], { attrs: { then_branch: then, else_branch: otherwise }, outputs: ["y"] });
      g.output("y");
      return buildModel(g, { opsets: { "": 18 } });
    }],
    ["loop", () => {
      const body = new GraphBuilder("body");
      body.input("i", "int64", []);
      body.input("cond", "bool", []);
      body.input("acc", "float32", [2]);
      body.node("Identity", ["cond"], { outputs: ["cond_out"] });
      body.node("Add", ["acc", "x"], { outputs: ["acc_out"] });
      body.node("Mul", ["acc", "acc"], { outputs: ["scan_out"] });
      body.output("cond_out", "bool", []);
      body.output("acc_out", "float32", [2]);
      body.output("scan_out", "float32", [2]);
      const g = new GraphBuilder("loop");
      g.input("x", "float32", [2]);
      g.initializer("n", "int64", [], [3n]);
      g.initializer("t", "bool", [], [1]);
      g.initializer("a0", "float32", [2], [0, 0]);
      g.nodeWithOutputs("Loop", ["n", "t", "a0"], ["acc", "scans"], { attrs: { body } });
      g.output("acc");
      g.output("scans");
      return buildModel(g, { opsets: { "": 18 } });
    }],
    ["scan", () => {
      const body = new GraphBuilder("body");
      body.input("s", "float32", [2]);
      body.input("xi", "float32", [2]);
      body.node("Add", ["s", "xi"], { outputs: ["s_out"] });
      body.node("Identity", ["s_out"], { outputs: ["y_out"] });
      body.output("s_out", "float32", [2]);
      body.output("y_out", "float32", [2]);
      const g = new GraphBuilder("scan");
      g.input("init", "float32", [2]);
      g.input("x", "float32", [3, 2]);
      g.nodeWithOutputs("Scan", ["init", "x"], ["final", "ys"], { attrs: { body, num_scan_inputs: 1 } });
      g.output("final");
      g.output("ys");
      return buildModel(g, { opsets: { "": 18 } });
    }],
    ["sequence_ops", () => {
      const g = new GraphBuilder("seq");
      g.input("a", "float32", [2, 3]);
      g.input("b", "float32", [2, 3]);
      const s = g.node("SequenceConstruct", ["a", "b"]);
      const s2 = g.node("SequenceInsert", [s, "a"]);
      g.node("SequenceLength", [s2], { outputs: ["n"] });
      g.initializer("one", "int64", [], [1n]);
      g.node("SequenceAt", [s2, "one"], { outputs: ["at"] });
      g.node("ConcatFromSequence", [s2], { attrs: { axis: 0 }, outputs: ["cat"] });
      for (const o of ["n", "at", "cat"]) g.output(o);
      return buildModel(g, { opsets: { "": 18 } });
    }],
    ["sequence_input", () => {
      const g = new GraphBuilder("seq_in");
      g.input("s", types.sequence(types.tensor("float32", [2])));
      g.node("SequenceLength", ["s"], { outputs: ["n"] });
      g.node("ConcatFromSequence", ["s"], { attrs: { axis: 0, new_axis: 1 }, outputs: ["cat"] });
      g.output("n");
      g.output("cat");
      return buildModel(g, { opsets: { "": 18 } });
    }],
    ["optional_input", () => {
      const g = new GraphBuilder("opt_in");
      g.input("o", types.optional(types.tensor("float32", [3])));
      g.node("OptionalHasElement", ["o"], { outputs: ["has"] });
      g.output("has");
      return buildModel(g, { opsets: { "": 18 } });
    }],
    ["quantized_chain", () => {
      const g = new GraphBuilder("qdq");
      g.input("x", "float32", [1, 3]);
      g.initializer("scale", "float32", [], [0.5]);
      g.initializer("zero", "uint8", [], [128]);
      const q = g.node("QuantizeLinear", ["x", "scale", "zero"]);
      const d = g.node("DequantizeLinear", [q, "scale", "zero"]);
      g.initializer("w", "float32", [3, 2], seq(6));
      g.node("Gemm", [d, "w"], { outputs: ["y"] });
      g.output("y");
      return buildModel(g, { opsets: { "": 19 } });
    }],
    ["topk_gather", () => {
      const g = new GraphBuilder("topk");
      g.input("x", "float32", [2, 6]);
      g.initializer("k", "int64", [1], [2n]);
      const [, idx] = g.nodeWithOutputs("TopK", ["x", "k"], 2);
      g.node("GatherElements", ["x", idx!], { attrs: { axis: 1 }, outputs: ["y"] });
      g.output("y");
      return buildModel(g, { opsets: { "": 18 } });
    }],
    ["residual_conv", () => {
      const g = new GraphBuilder("res");
      g.input("x", "float32", [1, 2, 4, 4]);
      g.initializer("w", "float32", [2, 2, 3, 3], seq(36));
      const c = g.node("Conv", ["x", "w"], { attrs: { pads: [1, 1, 1, 1] } });
      const s = g.node("Add", [c, "x"]);
      g.node("Clip", [s, "", ""], { outputs: ["y"] });
      g.output("y");
      return buildModel(g, { opsets: { "": 18 } });
    }],
  ];
}

/** Every seed model, built once. */
export function catalogue(): Seed[] {
  return [...singles(), ...graphs()].map(([name, make]) => ({ name, bytes: make() }));
}
