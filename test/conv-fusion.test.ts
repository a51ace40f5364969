/**
 * Convolutions fused with what follows them (a residual Add, Relu, Clip, Sigmoid, SiLU): the
 * fused run (memoryOptimization on, where intermediates are not observable) must give the same
 * bits as the unfused one (memoryOptimization off, every node on its own), on the shapes each
 * convolution engine takes: the GEMM with W on the left and on the right, and the depthwise kernel.
 * Chains that must not fuse (an intermediate that is also a graph output, a residual made after
 * the convolution) are checked too, and with memoryOptimization off intermediates stay readable.
 */
import { describe, expect, test } from "bun:test";
import { scratchDir } from "./support/paths.ts";
import { join } from "node:path";
import { buildModel, GraphBuilder } from "../src/onnx/builder.ts";
import * as rt from "../src/index.ts";

/** Deterministic values in [-2, 2). */
function values(count: number, seed: number): Float32Array {
  let state = seed >>> 0;
  return Float32Array.from({ length: count }, () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return (state / 2 ** 32) * 4 - 2;
  });
}

interface ConvSpec {
  channels: number;
  maps: number;
  size: number;
  kernel: number;
  group?: number;
}

/** Adds Conv(x) with a bias and "same" padding; returns its output's name. */
function conv(g: GraphBuilder, x: string, spec: ConvSpec, seed: number, name = `conv${seed}`): string {
  const group = spec.group ?? 1;
  const w = g.initializer(`${name}_w`, "float32", [spec.maps, spec.channels / group, spec.kernel, spec.kernel],
    values(spec.maps * (spec.channels / group) * spec.kernel * spec.kernel, seed));
  const b = g.initializer(`${name}_b`, "float32", [spec.maps], values(spec.maps, seed + 1));
  const pad = (spec.kernel - 1) / 2;
  return g.node("Conv", [x, w, b], { outputs: [name], attrs: { pads: [pad, pad, pad, pad], group } });
}

type Tail = "relu" | "clip" | "sigmoid" | "silu" | "add" | "add-relu";

/** x -> Conv -> tail -> y, with x shaped like the conv's output when a residual is added. */
function chain(spec: ConvSpec, tail: Tail): Uint8Array {
  const g = new GraphBuilder(`conv-${tail}`);
  g.input("x", "float32", [1, spec.channels, spec.size, spec.size]);
  const c = conv(g, "x", spec, 3);
  let y: string;
  if (tail === "relu") y = g.node("Relu", [c]);
  else if (tail === "sigmoid") y = g.node("Sigmoid", [c]);
  else if (tail === "silu") y = g.node("Mul", [c, g.node("Sigmoid", [c])]);
  else if (tail === "clip") {
    const lo = g.initializer("lo", "float32", [], new Float32Array([0]));
    const hi = g.node("Constant", [], { attrs: { value_float: 0.75 } });
    y = g.node("Clip", [c, lo, hi]);
  } else {
    const sum = g.node("Add", ["x", c]);
    y = tail === "add" ? sum : g.node("Relu", [sum]);
  }
  g.node("Identity", [y], { outputs: ["y"] });
  g.output("y", "float32", [1, spec.maps, spec.size, spec.size]);
  return buildModel(g, { opsets: { "": 17 } });
}

function run(bytes: Uint8Array, memoryOptimization: boolean, x: Float32Array, shape: number[], names = ["y"]) {
  using model = rt.loadModelSync(bytes, { memoryOptimization, threads: 2 });
  using request = model.createRequest();
  using input = rt.tensor(x, { shape });
  let result: Float32Array[] = [];
  // Twice: the first run records the memory plan, the second replays it.
  for (let i = 0; i < 2; i++) {
    const outputs = request.runSync<rt.Tensor>([input]);
    result = names.map((n) => (outputs[n]!.toTypedArray() as Float32Array).slice());
    for (const t of Object.values(outputs)) t.dispose();
  }
  return result;
}

const bits = (a: Float32Array) => Array.from(new Uint32Array(a.buffer, a.byteOffset, a.length));

const engines: [string, ConvSpec][] = [
  ["GEMM, W on the left (16x16, 3x3)", { channels: 8, maps: 8, size: 16, kernel: 3 }],
  ["GEMM, W on the left (14x14, 1x1)", { channels: 24, maps: 24, size: 14, kernel: 1 }],
  ["GEMM, W on the right (7x7, 1x1)", { channels: 16, maps: 16, size: 7, kernel: 1 }],
  ["depthwise (10x10, 3x3)", { channels: 12, maps: 12, size: 10, kernel: 3, group: 12 }],
];
const tails: Tail[] = ["relu", "clip", "sigmoid", "silu", "add", "add-relu"];

describe("convolution fusion", () => {
  for (const [engine, spec] of engines) {
    for (const tail of tails) {
      test(`${engine} + ${tail}: the fused run gives the unfused bits`, () => {
        const bytes = chain(spec, tail);
        const shape = [1, spec.channels, spec.size, spec.size];
        const x = values(spec.channels * spec.size * spec.size, 99);
        const [fused] = run(bytes, true, x, shape);
        const [plain] = run(bytes, false, x, shape);
        expect(bits(fused!)).toEqual(bits(plain!));
        if (tail === "relu" || tail === "add-relu") expect(Math.min(...fused!)).toBe(0);
        if (tail === "clip") expect(Math.max(...fused!)).toBe(0.75);
      });
    }
  }

  test("a convolution whose output is also a graph output keeps its own value", () => {
    const g = new GraphBuilder("exposed");
    const spec = { channels: 4, maps: 4, size: 8, kernel: 3 };
    g.input("x", "float32", [1, 4, 8, 8]);
    const c = conv(g, "x", spec, 5, "c");
    g.node("Relu", [c], { outputs: ["y"] });
    g.output("y", "float32", [1, 4, 8, 8]);
    g.output("c", "float32", [1, 4, 8, 8]);
    const x = values(256, 7);
    const [y, raw] = run(buildModel(g), true, x, [1, 4, 8, 8], ["y", "c"]);
    expect(Math.min(...raw!)).toBeLessThan(0);
    expect(Array.from(y!)).toEqual(Array.from(raw!, (v) => Math.max(v, 0)));
  });

  test("a residual computed after the convolution is still added", () => {
    // y = Conv(x) + Relu(x): the Add's other operand comes from a node after the Conv in file order.
    const g = new GraphBuilder("late-residual");
    const spec = { channels: 4, maps: 4, size: 8, kernel: 1 };
    g.input("x", "float32", [1, 4, 8, 8]);
    const c = conv(g, "x", spec, 9, "c");
    const r = g.node("Relu", ["x"]);
    g.node("Add", [c, r], { outputs: ["y"] });
    g.output("y", "float32", [1, 4, 8, 8]);
    const x = values(256, 8);
    const bytes = buildModel(g);
    const [fused] = run(bytes, true, x, [1, 4, 8, 8]);
    const [plain] = run(bytes, false, x, [1, 4, 8, 8]);
    expect(bits(fused!)).toEqual(bits(plain!));
  });

  test("without memoryOptimization, a fused chain's intermediates are the true values", () => {
    const spec = { channels: 4, maps: 4, size: 8, kernel: 3 };
    using model = rt.loadModelSync(chain(spec, "relu"), { memoryOptimization: false });
    using request = model.createRequest();
    using input = rt.tensor(values(256, 3), { shape: [1, 4, 8, 8] });
    request.runSync<rt.Tensor>([input]).y!.dispose();
    using c = request.getTensor("conv3");
    expect(Math.min(...(c.toTypedArray() as Float32Array))).toBeLessThan(0);
    expect(model.operations.map((o) => o.opType)).toEqual(["Conv", "Relu", "Identity"]);
  });

  test("with intermediateSavePath, a planned run does not fuse: the saved files are the true values", () => {
    const spec = { channels: 4, maps: 4, size: 8, kernel: 3 };
    const folder = join(scratchDir("tessera-fusion-save-"), "run");
    using model = rt.loadModelSync(chain(spec, "relu"), { intermediateSavePath: folder });
    using request = model.createRequest();
    using input = rt.tensor(values(256, 3), { shape: [1, 4, 8, 8] });
    // Twice: the second run replays the memory plan, where fusion would otherwise happen.
    for (let i = 0; i < 2; i++) request.runSync<rt.Tensor>([input]).y!.dispose();
    const saved = rt.loadTensor(join(folder, "conv3.tsr"));
    expect(Math.min(...(saved.toTypedArray() as Float32Array))).toBeLessThan(0);
    saved.dispose();
  });
});
