/**
 * Small versions of common CNNs and a BERT-style encoder, built in TypeScript (no torch): the
 * real architectures' op patterns as the TorchScript exporter writes them (BatchNorm folded into
 * Conv except where noted, ReLU6 as Clip with Constant bounds, SiLU as Sigmoid and Mul,
 * squeeze-excite as GlobalAveragePool, Conv, Sigmoid and a broadcast Mul, GELU through Erf,
 * attention through Reshape and Transpose), at reduced width and input size. Weights are
 * deterministic and scaled by 1/sqrt(fan-in), so activations stay of order 1 through the depth.
 */
import { attr, buildModel, GraphBuilder } from "../../src/onnx/builder.ts";

/** Deterministic values in [-scale, scale). */
export function values(count: number, seed: number, scale = 1): Float32Array {
  let state = (seed * 2654435761) >>> 0;
  return Float32Array.from({ length: count }, () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return (state / 2 ** 31 - 1) * scale;
  });
}

export interface SmallModel {
  readonly name: string;
  readonly bytes: Uint8Array;
  readonly inputShape: readonly number[];
}

/** A graph under construction, with a counter for weight names and seeds. */
class Net {
  readonly g: GraphBuilder;
  private count = 0;

  constructor(name: string) {
    this.g = new GraphBuilder(name);
  }

  private weight(dims: number[], fanIn: number): string {
    const n = ++this.count;
    const size = dims.reduce((a, b) => a * b, 1);
    return this.g.initializer(`w${n}`, "float32", dims, values(size, n, Math.sqrt(3 / fanIn)));
  }

  private bias(size: number): string {
    const n = ++this.count;
    return this.g.initializer(`b${n}`, "float32", [size], values(size, n, 0.1));
  }

  /** Conv with a bias, as an exporter writes a Conv whose BatchNorm it folded. */
  conv(x: string, inC: number, outC: number, kernel: number, options: { stride?: number; group?: number; pad?: number } = {}): string {
    const group = options.group ?? 1;
    const pad = options.pad ?? (kernel - 1) >> 1;
    const stride = options.stride ?? 1;
    const w = this.weight([outC, inC / group, kernel, kernel], (inC / group) * kernel * kernel);
    return this.g.node("Conv", [x, w, this.bias(outC)], {
      attrs: { dilations: [1, 1], group, kernel_shape: [kernel, kernel], pads: [pad, pad, pad, pad], strides: [stride, stride] },
    });
  }

  /** BatchNormalization left in the graph, as an export without folding has it. */
  batchNorm(x: string, channels: number): string {
    const n = ++this.count;
    const scale = this.g.initializer(`bn_scale${n}`, "float32", [channels], values(channels, n, 0.25).map((v) => v + 1));
    const shift = this.g.initializer(`bn_bias${n}`, "float32", [channels], values(channels, n + 1, 0.1));
    const mean = this.g.initializer(`bn_mean${n}`, "float32", [channels], values(channels, n + 2, 0.1));
    const variance = this.g.initializer(`bn_var${n}`, "float32", [channels], values(channels, n + 3, 0.25).map((v) => v + 1));
    return this.g.node("BatchNormalization", [x, scale, shift, mean, variance], { attrs: { epsilon: 1e-5 } });
  }

  relu(x: string): string {
    return this.g.node("Relu", [x]);
  }

  relu6(x: string): string {
    const lo = this.g.node("Constant", [], { attrs: { value_float: attr.float(0) } });
    const hi = this.g.node("Constant", [], { attrs: { value_float: attr.float(6) } });
    return this.g.node("Clip", [x, lo, hi]);
  }

  silu(x: string): string {
    return this.g.node("Mul", [x, this.g.node("Sigmoid", [x])]);
  }

  /** GlobalAveragePool, Flatten and a Gemm classifier (transB, as torch's Linear exports). */
  classifier(x: string, channels: number, classes: number): string {
    const pooled = this.g.node("Flatten", [this.g.node("GlobalAveragePool", [x])], { attrs: { axis: 1 } });
    const w = this.weight([classes, channels], channels);
    return this.g.node("Gemm", [pooled, w, this.bias(classes)], { outputs: ["output"], attrs: { alpha: attr.float(1), beta: attr.float(1), transB: 1 } });
  }

  /** Linear as the TorchScript exporter writes it for 3-D inputs: MatMul by Wᵀ, then Add. */
  linear(x: string, inF: number, outF: number): string {
    const w = this.weight([inF, outF], inF);
    return this.g.node("Add", [this.bias(outF), this.g.node("MatMul", [x, w])]);
  }

  layerNorm(x: string, features: number, output?: string): string {
    const n = ++this.count;
    const scale = this.g.initializer(`ln_scale${n}`, "float32", [features], values(features, n, 0.2).map((v) => v + 1));
    const shift = this.g.initializer(`ln_bias${n}`, "float32", [features], values(features, n + 1, 0.1));
    return this.g.node("LayerNormalization", [x, scale, shift], { outputs: output ? [output] : undefined, attrs: { axis: -1, epsilon: 1e-12 } });
  }

  constantInts(values: readonly number[]): string {
    const n = ++this.count;
    return this.g.initializer(`shape${n}`, "int64", [values.length], BigInt64Array.from(values.map(BigInt)));
  }

  scalarInt(v: number): string {
    const n = ++this.count;
    return this.g.initializer(`i${n}`, "int64", [], BigInt64Array.from([BigInt(v)]));
  }

  scalar(v: number): string {
    const n = ++this.count;
    return this.g.initializer(`c${n}`, "float32", [], new Float32Array([v]));
  }

  finish(inputShape: number[], outputShape: number[]): SmallModel {
    this.g.input("input", "float32", inputShape);
    this.g.output("output", "float32", outputShape);
    return { name: this.g.name, bytes: buildModel(this.g, { opsets: { "": 17 } }), inputShape };
  }
}

/** SqueezeNet 1.1 at width 1/4 on 64x64: Fire modules (squeeze, two expands, Concat), MaxPool with ceil_mode. */
export function squeezenet(): SmallModel {
  const net = new Net("squeezenet1_1");
  const g = net.g;
  const pool = (x: string) => g.node("MaxPool", [x], { attrs: { ceil_mode: 1, kernel_shape: [3, 3], pads: [0, 0, 0, 0], strides: [2, 2] } });
  const fire = (x: string, inC: number, squeeze: number, expand: number) => {
    const s = net.relu(net.conv(x, inC, squeeze, 1));
    const e1 = net.relu(net.conv(s, squeeze, expand, 1));
    const e3 = net.relu(net.conv(s, squeeze, expand, 3));
    return g.node("Concat", [e1, e3], { attrs: { axis: 1 } });
  };
  let x = pool(net.relu(net.conv("input", 3, 16, 3, { stride: 2, pad: 0 })));
  x = fire(x, 16, 4, 16);
  x = fire(x, 32, 4, 16);
  x = pool(x);
  x = fire(x, 32, 8, 32);
  x = fire(x, 64, 8, 32);
  x = pool(x);
  x = fire(x, 64, 12, 48);
  x = fire(x, 96, 12, 48);
  x = fire(x, 96, 16, 64);
  x = fire(x, 128, 16, 64);
  const head = net.relu(net.conv(x, 128, 10, 1));
  g.node("Flatten", [g.node("GlobalAveragePool", [head])], { outputs: ["output"], attrs: { axis: 1 } });
  return net.finish([1, 3, 64, 64], [1, 10]);
}

/** MobileNetV2 at width 1/4 on 64x64: all 17 inverted-residual blocks, ReLU6, depthwise convs, residual Adds. */
export function mobilenetv2(): SmallModel {
  const net = new Net("mobilenetv2");
  let x = net.relu6(net.conv("input", 3, 8, 3, { stride: 2 }));
  let channels = 8;
  const settings = [[1, 4, 1, 1], [6, 8, 2, 2], [6, 8, 3, 2], [6, 16, 4, 2], [6, 24, 3, 1], [6, 40, 3, 2], [6, 80, 1, 1]] as const;
  for (const [t, c, n, s] of settings) {
    for (let i = 0; i < n; i++) {
      const stride = i === 0 ? s : 1;
      const hidden = channels * t;
      let h = t === 1 ? x : net.relu6(net.conv(x, channels, hidden, 1));
      h = net.relu6(net.conv(h, hidden, hidden, 3, { stride, group: hidden }));
      h = net.conv(h, hidden, c, 1);
      x = stride === 1 && channels === c ? net.g.node("Add", [x, h]) : h;
      channels = c;
    }
  }
  x = net.relu6(net.conv(x, channels, 320, 1));
  net.classifier(x, 320, 10);
  return net.finish([1, 3, 64, 64], [1, 10]);
}

/** ResNet-50 at width 1/8 on 64x64: 3-4-6-3 bottlenecks with projection shortcuts, a stem with its BatchNorm unfolded. */
export function resnet50(): SmallModel {
  const net = new Net("resnet50");
  const g = net.g;
  const stem = net.relu(net.batchNorm(net.conv("input", 3, 8, 7, { stride: 2 }), 8));
  let x = g.node("MaxPool", [stem], { attrs: { ceil_mode: 0, kernel_shape: [3, 3], pads: [1, 1, 1, 1], strides: [2, 2] } });
  let channels = 8;
  for (const [width, blocks, stride] of [[8, 3, 1], [16, 4, 2], [32, 6, 2], [64, 3, 2]] as const) {
    for (let i = 0; i < blocks; i++) {
      const s = i === 0 ? stride : 1;
      const out = width * 4;
      let h = net.relu(net.conv(x, channels, width, 1));
      h = net.relu(net.conv(h, width, width, 3, { stride: s }));
      h = net.conv(h, width, out, 1);
      const shortcut = i === 0 ? net.conv(x, channels, out, 1, { stride: s }) : x;
      x = net.relu(g.node("Add", [h, shortcut]));
      channels = out;
    }
  }
  net.classifier(x, channels, 10);
  return net.finish([1, 3, 64, 64], [1, 10]);
}

/** EfficientNet-B0 at width 1/2 on 64x64: all 16 MBConv blocks with SiLU, squeeze-excite and residual Adds. */
export function efficientnetB0(): SmallModel {
  const net = new Net("efficientnet_b0");
  const g = net.g;
  let x = net.silu(net.conv("input", 3, 16, 3, { stride: 2 }));
  let channels = 16;
  const settings = [[1, 3, 1, 8, 1], [6, 3, 2, 12, 2], [6, 5, 2, 20, 2], [6, 3, 2, 40, 3], [6, 5, 1, 56, 3], [6, 5, 2, 96, 4], [6, 3, 1, 160, 1]] as const;
  for (const [expand, kernel, stride, out, repeats] of settings) {
    for (let i = 0; i < repeats; i++) {
      const s = i === 0 ? stride : 1;
      const hidden = channels * expand;
      let h = expand === 1 ? x : net.silu(net.conv(x, channels, hidden, 1));
      h = net.silu(net.conv(h, hidden, hidden, kernel, { stride: s, group: hidden }));
      const squeezed = Math.max(1, channels >> 2);
      const gate = g.node("Sigmoid", [net.conv(net.silu(net.conv(g.node("GlobalAveragePool", [h]), hidden, squeezed, 1)), squeezed, hidden, 1)]);
      h = g.node("Mul", [h, gate]);
      h = net.conv(h, hidden, out, 1);
      x = s === 1 && channels === out ? g.node("Add", [h, x]) : h;
      channels = out;
    }
  }
  x = net.silu(net.conv(x, channels, 640, 1));
  net.classifier(x, 640, 10);
  return net.finish([1, 3, 64, 64], [1, 10]);
}

/**
 * A BERT-style encoder as scripts/bench_models.py writes one (2 layers, hidden 64, 4 heads, FFN
 * 256, sequence 16): separate Q, K, V projections, scaled dot-product attention through Reshape
 * and Transpose, residual + LayerNormalization, an exact (Erf) GELU FFN. The first layer splits
 * heads by a shape it computes (Shape, Gather, Unsqueeze, Concat), as exports of models with a
 * dynamic sequence length do; the shapes here are static, so that chain folds at load.
 */
export function bertEncoder(): SmallModel {
  const net = new Net("bert_encoder");
  const g = net.g;
  const [sequence, hidden, heads, ffn] = [16, 64, 4, 256];
  const size = hidden / heads;
  let x = "input";
  for (let layer = 0; layer < 2; layer++) {
    let split: string;
    if (layer === 0) {
      const shape = g.node("Shape", [x]);
      const dim = (i: number) => g.node("Unsqueeze", [g.node("Gather", [shape, net.scalarInt(i)], { attrs: { axis: 0 } }), net.constantInts([0])]);
      split = g.node("Concat", [dim(0), dim(1), net.constantInts([heads, size])], { attrs: { axis: 0 } });
    } else {
      split = net.constantInts([1, sequence, heads, size]);
    }
    const headsOf = (t: string, perm: number[]) => g.node("Transpose", [g.node("Reshape", [t, split])], { attrs: { perm } });
    const q = headsOf(net.linear(x, hidden, hidden), [0, 2, 1, 3]);
    const k = headsOf(net.linear(x, hidden, hidden), [0, 2, 3, 1]);
    const v = headsOf(net.linear(x, hidden, hidden), [0, 2, 1, 3]);
    const scores = g.node("Div", [g.node("MatMul", [q, k]), net.scalar(Math.sqrt(size))]);
    const context = g.node("MatMul", [g.node("Softmax", [scores], { attrs: { axis: -1 } }), v]);
    const merged = g.node("Reshape", [g.node("Transpose", [context], { attrs: { perm: [0, 2, 1, 3] } }), net.constantInts([1, sequence, hidden])]);
    x = net.layerNorm(g.node("Add", [x, net.linear(merged, hidden, hidden)]), hidden);
    const up = net.linear(x, hidden, ffn);
    const erf = g.node("Erf", [g.node("Div", [up, net.scalar(Math.SQRT2)])]);
    const gelu = g.node("Mul", [g.node("Mul", [up, g.node("Add", [erf, net.scalar(1)])]), net.scalar(0.5)]);
    const sum = g.node("Add", [x, net.linear(gelu, ffn, hidden)]);
    x = net.layerNorm(sum, hidden, layer === 1 ? "output" : undefined);
  }
  return net.finish([1, sequence, hidden], [1, sequence, hidden]);
}
