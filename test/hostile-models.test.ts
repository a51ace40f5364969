/**
 * Models and files built to break the loader or the kernels: each gets a typed error (or the
 * right answer) and leaves the process healthy. One test per defect the hostile pass found.
 */
import { describe, expect, test } from "bun:test";
import { mkdirSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { attr, buildModel, ExternalDataFile, GraphBuilder } from "../src/onnx/builder.ts";
import { ProtoWriter } from "../src/onnx/protobuf.ts";
import * as rt from "../src/index.ts";
import { addRelu } from "./support/models.ts";
import { scratchDir } from "./support/paths.ts";

/** x → SequenceConstruct → op (with x as a second input where the op takes two). */
function sequenceInto(op: string): Uint8Array {
  const g = new GraphBuilder("sequence_into_" + op);
  g.input("x", "float32", [2]);
  const seq = g.node("SequenceConstruct", ["x"]);
  const twoInputs = ["Add", "Max", "CastLike"].includes(op);
  g.node(op, twoInputs ? [seq, "x"] : [seq], { outputs: ["y"] });
  g.output("y", "float32", [2]);
  return buildModel(g, { opsets: { "": 18 } });
}

describe("values of the wrong kind", () => {
  for (const op of ["Relu", "Abs", "Add", "Max", "Clip", "Dropout", "Shape", "Size", "CastLike"]) {
    test(`a sequence fed to ${op} is a TypeError at load, not a crash at run`, () => {
      expect(() => rt.loadModelSync(sequenceInto(op))).toThrow(rt.TypeError);
      expect(() => rt.loadModelSync(sequenceInto(op))).toThrow(/input 0 is a sequence, but .* takes tensors only/);
    });
  }

  test("a node with more inputs than its operator takes is a ModelError at load", () => {
    const g = new GraphBuilder("relu_two_inputs");
    g.input("x", "float32", [2]);
    g.node("Relu", ["x", "x"], { outputs: ["y"] });
    g.output("y", "float32", [2]);
    expect(() => rt.loadModelSync(buildModel(g, { opsets: { "": 18 } }))).toThrow(/has 2 inputs; it takes 1/);
  });
});

describe("attributes and declared sizes that ask for the impossible", () => {
  function tfIdf(attrs: Record<string, unknown>): Uint8Array {
    const g = new GraphBuilder("tfidf");
    g.input("x", "int64", [1, "N"]);
    g.node("TfIdfVectorizer", ["x"], {
      outputs: ["y"],
      attrs: {
        mode: "TF", min_gram_length: 1, max_gram_length: 2, max_skip_count: 0,
        ngram_counts: attr.ints([0, 2]), ngram_indexes: attr.ints([0, 1, 2]), pool_int64s: attr.ints([2, 3, 5, 4]),
        ...attrs,
      },
    });
    g.output("y", "float32", [1, 3]);
    return buildModel(g, { opsets: { "": 18 } });
  }

  test("TfIdfVectorizer with gram length and skip count of 2^40 finishes with the right counts", () => {
    using model = rt.loadModelSync(tfIdf({ max_gram_length: attr.int(2n ** 40n), max_skip_count: attr.int(2n ** 40n) }));
    const x = rt.tensor(new BigInt64Array([2n, 3n, 5n, 4n, 2n, 9n, 4n]), { shape: [1, 7] });
    const start = performance.now();
    const { y } = model.createRequest().runSync<rt.Tensor>({ x });
    expect(performance.now() - start).toBeLessThan(5_000);
    // The unigram 2 twice and 3 once; the bigram (5, 4) twice: 5 at 2, 4 at 3 (distance 1) and 6 (4).
    expect(Array.from(y!.toTypedArray() as Float32Array)).toEqual([2, 1, 2]);
  });

  test("a long TfIdfVectorizer run stops at its deadline and on cancel", async () => {
    using model = rt.loadModelSync(tfIdf({ max_skip_count: attr.int(2n ** 40n) }));
    const n = 40_000;
    const x = rt.tensor(BigInt64Array.from({ length: n }, (_, i) => BigInt(i % 7)), { shape: [1, n] });
    const request = model.createRequest();
    const start = performance.now();
    expect(() => request.runSync({ x }, { deadlineUs: 50_000 })).toThrow(rt.TimeoutError);
    expect(performance.now() - start).toBeLessThan(3_000);
    const running = request.run({ x });
    setTimeout(() => request.cancel(), 50);
    await expect(running).rejects.toThrow(/cancelled/);
    // Still usable: a short input runs to the end.
    const { y } = request.runSync<rt.Tensor>({ x: rt.tensor(new BigInt64Array([5n, 4n]), { shape: [1, 2] }) });
    expect(Array.from(y!.toTypedArray() as Float32Array)).toEqual([0, 0, 1]);
  });

  test("a 100-byte model declaring 2^31 floats it does not hold is refused before it is allocated", () => {
    const tensor = new ProtoWriter().int64(1, 1 << 16).int64(1, 1 << 15).int32(2, 1).string(8, "w").packedFloat(4, [1]);
    const graph = new ProtoWriter()
      .message(1, (n) => n.string(1, "w").string(2, "y").string(4, "Identity"))
      .string(2, "g")
      .embed(5, tensor)
      .message(12, (v) => v.string(1, "y"));
    const bytes = new ProtoWriter().int64(1, 8).embed(7, graph).message(8, (o) => o.string(1, "").int64(2, 17)).finish();
    expect(bytes.length).toBeLessThan(120);
    const before = rt.nativeStats().peakBytes;
    expect(() => rt.loadModelSync(bytes)).toThrow(/holds 1 values; its shape has 2147483648 elements/);
    expect(rt.nativeStats().peakBytes - before).toBeLessThan(64 << 20);
  });
});

describe("files that are not what they seem", () => {
  test("external data through a symbolic link out of the model's folder is refused", () => {
    const root = scratchDir("tessera-symlink-");
    const outside = join(root, "secret.bin");
    writeFileSync(outside, new Uint8Array(24).fill(7));
    const folder = join(root, "model");
    mkdirSync(folder);
    const file = new ExternalDataFile("weights.bin");
    const g = new GraphBuilder("external");
    g.input("x", "float32", [2, 3]);
    g.initializer("w", "float32", [2, 3], new Float32Array(6), { external: file });
    g.node("Add", ["x", "w"], { outputs: ["y"] });
    g.output("y", "float32", [2, 3]);
    writeFileSync(join(folder, "model.onnx"), buildModel(g));
    symlinkSync(outside, join(folder, "weights.bin"));
    expect(() => rt.loadModelSync(folder)).toThrow(/leaves the model's folder through a symbolic link/);
    // A link that stays inside the folder is fine.
    const inside = join(root, "model2");
    mkdirSync(inside);
    writeFileSync(join(inside, "model.onnx"), buildModel(g));
    writeFileSync(join(inside, "real.bin"), file.bytes());
    symlinkSync(join(inside, "real.bin"), join(inside, "weights.bin"));
    rt.loadModelSync(inside).dispose();
  });

  test("a FIFO as the model path is an IOError at once, not a load that blocks for ever", () => {
    const dir = scratchDir("tessera-fifo-");
    const fifo = join(dir, "model.onnx");
    expect(Bun.spawnSync(["mkfifo", fifo]).exitCode).toBe(0);
    expect(() => rt.loadModelSync(fifo)).toThrow(/it is a named pipe/);
  });

  test("a folder named model.onnx inside a model folder is an IOError in words", () => {
    const dir = scratchDir("tessera-dir-");
    mkdirSync(join(dir, "model.onnx"));
    expect(() => rt.loadModelSync(dir)).toThrow(/it is a folder/);
    // The words around the path, not the path: a random temp name can look like an error name.
    let message = "";
    try {
      rt.loadModelSync(dir);
    } catch (error) {
      message = String(error).replaceAll(join(dir, "model.onnx"), "<path>");
    }
    expect(message).toContain("<path>");
    expect(message).not.toMatch(/MemoryMapping|[A-Z][a-z]+[A-Z][a-z]+[A-Z]/);
  });

  test("a symbolic link loop is described in words, not by a Zig error name", () => {
    const dir = scratchDir("tessera-loop-");
    symlinkSync(join(dir, "b.onnx"), join(dir, "a.onnx"));
    symlinkSync(join(dir, "a.onnx"), join(dir, "b.onnx"));
    expect(() => rt.loadModelSync(join(dir, "a.onnx"))).toThrow(/too many levels of symbolic links/);
  });

  test("intermediateSavePath under /proc fails the run with an IOError instead of hanging", () => {
    using model = rt.loadModelSync(addRelu(), { memoryOptimization: false, intermediateSavePath: `/proc/${process.pid}/tessera/x` });
    expect(() => model.createRequest().runSync({ x: rt.tensor([[1, 2, 3, 4]]) })).toThrow(/cannot create folder/);
  });
});

describe("the log callback", () => {
  test("may replace itself from inside the callback without a deadlock", async () => {
    const seen: string[] = [];
    const level = rt.logging.getLevel();
    rt.logging.setLevel("warn");
    try {
      rt.logging.setCallback((_level, message) => {
        seen.push(message);
        rt.logging.setCallback(null);
      });
      rt.logging.write("warn", "first");
      rt.logging.write("warn", "second");
    } finally {
      rt.logging.setCallback(null);
      rt.logging.setLevel(level);
    }
    await Bun.sleep(1);
    expect(seen).toEqual(["first"]);
  });
});

describe("deadlines", () => {
  test("a deadline of 2^63 µs or more is a deadline that never passes, not an error", async () => {
    using model = rt.loadModelSync(addRelu());
    const x = rt.tensor([[1, 2, 3, 4]]);
    for (const deadlineUs of [2 ** 63, 2 ** 64, Number.MAX_VALUE]) {
      expect(Array.from((await model.run<rt.Tensor>({ x }, { deadlineUs })).y!.toTypedArray() as Float32Array)).toEqual([4, 8, 12, 16]);
    }
    expect(() => model.runSync({ x }, { deadlineUs: -1 })).toThrow(rt.InvalidArgumentError);
  });
});
