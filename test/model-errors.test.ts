/** Bad models get a typed, precise error, never a crash, and leave nothing behind. */
import { describe, expect, test } from "bun:test";
import { rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import * as rt from "../src/index.ts";
import { buildModel, GraphBuilder } from "../src/onnx/builder.ts";
import { ProtoWriter } from "../src/onnx/protobuf.ts";
import { addRelu, externalFolder } from "./support/models.ts";
import { scratchDir } from "./support/paths.ts";

const good = addRelu();

function graph(build: (g: GraphBuilder) => void, opsets: Record<string, number> = { "": 17 }): Uint8Array {
  const g = new GraphBuilder("bad");
  build(g);
  return buildModel(g, { opsets });
}

/** If nodes nested `depth` deep, each branch holding the next. */
function nestedIfs(depth: number): Uint8Array {
  const make = (level: number): GraphBuilder => {
    const g = new GraphBuilder(`level${level}`);
    if (level === depth) {
      g.node("Identity", ["x"], { outputs: [`out${level}`] });
    } else {
      // One branch nests further, the other stays flat: two nested branches would double per level.
      const flat = new GraphBuilder(`flat${level}`);
      flat.node("Identity", ["x"], { outputs: [`flat_out${level}`] });
      flat.output(`flat_out${level}`, "float32", [1]);
      g.node("If", ["cond"], { attrs: { then_branch: make(level + 1), else_branch: flat }, outputs: [`out${level}`] });
    }
    g.output(`out${level}`, "float32", [1]);
    return g;
  };
  const root = make(0);
  root.input("cond", "bool", []);
  root.input("x", "float32", [1]);
  return buildModel(root);
}

describe("malformed bytes", () => {
  test("every truncation of a valid model is a ModelError", () => {
    for (let length = 1; length < good.length; length += 7) {
      expect(() => rt.loadModelSync(good.subarray(0, length))).toThrow(rt.ModelError);
    }
  });

  test("text, noise, wrong wire types and lengths past the end are ModelErrors with positions", () => {
    expect(() => rt.loadModelSync(new TextEncoder().encode("this is not protobuf at all"))).toThrow(rt.ModelError);
    expect(() => rt.loadModelSync(new Uint8Array([0x0a, 0x01, 0x00]))).toThrow(/ModelProto.ir_version: wire type len where varint is expected, at byte 0/);
    expect(() => rt.loadModelSync(new Uint8Array([0x3a, 0x64, 0x00, 0x00]))).toThrow(/length past the end/);
    expect(() => rt.loadModelSync(new Uint8Array(0))).toThrow(/the model has no graph/);
  });

  test("nesting past the limit is refused, below it accepted", () => {
    expect(() => rt.loadModelSync(nestedIfs(100))).toThrow(rt.ModelError);
    expect(() => rt.loadModelSync(nestedIfs(100))).toThrow(/deep|nest/);
  });
});

describe("broken graphs", () => {
  test("a cycle names a node on it", () => {
    const bytes = graph((g) => {
      g.input("x", "float32", [2]);
      g.node("Add", ["x", "b"], { name: "first", outputs: ["a"] });
      g.node("Relu", ["a"], { name: "second", outputs: ["b"] });
      g.output("b", "float32", [2]);
    });
    expect(() => rt.loadModelSync(bytes)).toThrow(/has a cycle through node '(first|second)'/);
  });

  test("a dangling value and a missing initializer name the reader", () => {
    const dangling = graph((g) => {
      g.input("x", "float32", [2]);
      g.node("Add", ["x", "weights"], { name: "adder", outputs: ["y"] });
      g.output("y", "float32", [2]);
    });
    expect(() => rt.loadModelSync(dangling)).toThrow(/node 'adder' \(Add\) reads 'weights', which no node, input or initializer provides/);
    const orphanOutput = graph((g) => {
      g.input("x", "float32", [2]);
      g.output("nothing", "float32", [2]);
    });
    expect(() => rt.loadModelSync(orphanOutput)).toThrow(/output 'nothing', which nothing produces/);
  });

  test("a value produced twice is a ModelError", () => {
    const bytes = graph((g) => {
      g.input("x", "float32", [2]);
      g.node("Relu", ["x"], { name: "one", outputs: ["y"] });
      g.node("Neg", ["x"], { name: "two", outputs: ["y"] });
      g.output("y", "float32", [2]);
    });
    expect(() => rt.loadModelSync(bytes)).toThrow(/value 'y' is produced twice/);
  });

  test("a missing external-data file is a ModelError naming it", () => {
    const folder = externalFolder();
    rmSync(join(folder, "weights.bin"));
    expect(() => rt.loadModelSync(folder)).toThrow(rt.ModelError);
    expect(() => rt.loadModelSync(folder)).toThrow(/external data file '.*weights.bin' is missing/);
  });

  test("external data cannot leave the model's folder, and bytes cannot have it", () => {
    const folder = externalFolder();
    const model = join(folder, "model.onnx");
    const text = Buffer.from(require("node:fs").readFileSync(model)).toString("latin1").replace("weights.bin", "../weights1"); // same length: the protobuf stays valid
    writeFileSync(model, Buffer.from(text, "latin1"));
    expect(() => rt.loadModelSync(folder)).toThrow(/leaves the model's folder/);
    const bytes = require("node:fs").readFileSync(join(externalFolder(), "model.onnx"));
    expect(() => rt.loadModelSync(new Uint8Array(bytes))).toThrow(/load it from its folder/);
  });
});

describe("unsupported and absurd", () => {
  test("an unknown operator is NotImplementedError naming op, domain and opset", () => {
    const unknown = graph((g) => {
      g.input("x", "float32", [2]);
      g.node("Frobnicate", ["x"], { outputs: ["y"] });
      g.output("y", "float32", [2]);
    });
    expect(() => rt.loadModelSync(unknown)).toThrow(rt.NotImplementedError);
    expect(() => rt.loadModelSync(unknown)).toThrow(/operator Frobnicate \(domain ai.onnx, opset 17\) is not supported/);
    const custom = graph((g) => {
      g.input("x", "float32", [2]);
      g.node("Gelu", ["x"], { domain: "com.acme", outputs: ["y"] });
      g.output("y", "float32", [2]);
    }, { "": 17, "com.acme": 3 });
    expect(() => rt.loadModelSync(custom)).toThrow(/operator Gelu \(domain com.acme, opset 3\)/);
  });

  test("an opset newer than the runtime is NotImplementedError; a domain without opset is a ModelError", () => {
    expect(() => rt.loadModelSync(addRelu({ opset: 99 }))).toThrow(/needs ai.onnx opset 99; this runtime reads up to 28/);
    const noOpset = graph((g) => {
      g.input("x", "float32", [2]);
      g.node("Relu", ["x"], { domain: "com.other", outputs: ["y"] });
      g.output("y", "float32", [2]);
    });
    expect(() => rt.loadModelSync(noOpset)).toThrow(/domain 'com.other', which the model imports no opset for/);
  });

  test("absurd sizes are refused before any allocation", () => {
    const hugeInput = graph((g) => {
      g.input("x", "float32", [2 ** 50, 2 ** 50]);
      g.node("Relu", ["x"], { outputs: ["y"] });
      g.output("y", "float32", [2 ** 50, 2 ** 50]);
    });
    expect(() => rt.loadModelSync(hugeInput)).toThrow(/too large for any memory/);
    expect(() => rt.loadModelSync(hugeInitializer())).toThrow(/tensor 'w' has an invalid shape: shape overflows/);
  });

  test("a declared shape that contradicts inference is a ShapeError naming the node", () => {
    const bytes = graph((g) => {
      g.input("x", "float32", [3]);
      g.node("Relu", ["x"], { name: "act", outputs: ["y"] });
      g.output("y", "float32", [4]);
    });
    expect(() => rt.loadModelSync(bytes)).toThrow(rt.ShapeError);
    expect(() => rt.loadModelSync(bytes)).toThrow(/node 'act' \(Relu\): 'y' is declared with dim 0 = 4 but has 3/);
  });
});

/** A model whose initializer claims 2^62 × 8 float elements but holds 4 bytes, written by hand:
 * the builder itself refuses to write such a tensor. */
function hugeInitializer(): Uint8Array {
  const w = new ProtoWriter();
  w.int64(1, 8n); // ir_version
  w.message(8, (o) => o.int64(2, 17n)); // opset_import { version: 17 }
  w.message(7, (g) => {
    g.message(1, (n) => { // node Identity(w) -> y
      n.string(1, "w");
      n.string(2, "y");
      n.string(4, "Identity");
    });
    g.string(2, "huge");
    g.message(5, (t) => { // initializer w
      t.packedInt64(1, [2n ** 62n, 8n]);
      t.int32(2, 1);
      t.string(8, "w");
      t.bytes(9, new Uint8Array(4));
    });
    g.message(12, (v) => v.string(1, "y"));
  });
  return w.finish();
}

describe("after every failure", () => {
  test("the process and the runtime are healthy, and nothing leaked", async () => {
    // Warm up first: the job queue and handle table keep their capacity once grown.
    expect(() => rt.loadModelSync(good.subarray(0, 30))).toThrow();
    await expect(rt.loadModel(good.subarray(0, 30))).rejects.toThrow();
    const before = rt.nativeStats();
    for (let i = 0; i < 20; i++) {
      expect(() => rt.loadModelSync(good.subarray(0, 30 + i))).toThrow();
      await expect(rt.loadModel(good.subarray(0, 30 + i))).rejects.toThrow();
    }
    const after = rt.nativeStats();
    expect(after.liveModels).toBe(before.liveModels);
    expect(after.liveBytes).toBe(before.liveBytes);
    using model = rt.loadModelSync(good);
    expect(model.inputNames).toEqual(["x"]);
  });
});

void scratchDir;
