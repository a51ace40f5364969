/** tessera/preprocess/text: sentences to int64 tensors through @huggingface/tokenizers, with a tiny tokenizer.json. */
import { describe, expect, test } from "bun:test";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import * as rt from "../src/index.ts";
import { buildModel, GraphBuilder } from "../src/onnx/builder.ts";
import { optionalPackage } from "../src/preprocess/optional-package.ts";
import { loadTokenizer } from "../src/preprocess/text.ts";
import { scratchDir } from "./support/paths.ts";
import { tinyIds as id, tinyTokenizerJson } from "./support/tiny-tokenizer.ts";

const tokenizer = await loadTokenizer(tinyTokenizerJson());
const rows = (t: rt.Tensor) => t.toArray() as bigint[][];
const ids = (...tokens: string[]) => tokens.map((t) => BigInt(id[t]!));

describe("encode", () => {
  test("a batch is padded to its longest sentence with the tokenizer's [PAD] id, masked out", () => {
    const { input_ids, attention_mask, token_type_ids } = tokenizer.encode(["The cats sat on the mat.", "Hello world"]);
    expect(tokenizer.padId).toBe(id["[PAD]"]!);
    expect(input_ids.dtype).toBe("int64");
    expect(input_ids.shape).toEqual([2, 10]);
    expect(rows(input_ids)).toEqual([
      ids("[CLS]", "the", "cat", "##s", "sat", "on", "the", "mat", ".", "[SEP]"),
      [...ids("[CLS]", "hello", "world", "[SEP]"), ...ids("[PAD]", "[PAD]", "[PAD]", "[PAD]", "[PAD]", "[PAD]")],
    ]);
    expect(rows(attention_mask)).toEqual([Array(10).fill(1n), [...Array(4).fill(1n), ...Array(6).fill(0n)]]);
    expect(rows(token_type_ids)).toEqual([Array(10).fill(0n), Array(10).fill(0n)]);
  });

  test("one sentence is a batch of one; unknown words are [UNK]", () => {
    const { input_ids } = tokenizer.encode("hello zebra");
    expect(rows(input_ids)).toEqual([ids("[CLS]", "hello", "[UNK]", "[SEP]")]);
  });

  test('padding "max_length" pads every sentence to maxLength', () => {
    const { input_ids, attention_mask } = tokenizer.encode(["a dog", "hello"], { padding: "max_length", maxLength: 6 });
    expect(input_ids.shape).toEqual([2, 6]);
    expect(rows(attention_mask)).toEqual([[1n, 1n, 1n, 1n, 0n, 0n], [1n, 1n, 1n, 0n, 0n, 0n]]);
  });

  test("truncation cuts the words and keeps [CLS] and [SEP]; shorter sentences are untouched", () => {
    const { input_ids } = tokenizer.encode(["The cats sat on the mat.", "a dog"], { maxLength: 5 });
    expect(rows(input_ids)).toEqual([ids("[CLS]", "the", "cat", "##s", "[SEP]"), ids("[CLS]", "a", "dog", "[SEP]", "[PAD]")]);
  });

  test("a pair is typed 0 then 1, and truncation cuts the second sentence first", () => {
    const { input_ids, token_type_ids } = tokenizer.encode("the cat sat", { pair: "a dog ran on the mat", maxLength: 9 });
    expect(rows(input_ids)).toEqual([ids("[CLS]", "the", "cat", "sat", "[SEP]", "a", "dog", "ran", "[SEP]")]);
    expect(rows(token_type_ids)).toEqual([[0n, 0n, 0n, 0n, 0n, 1n, 1n, 1n, 1n]]);
    expect(() => tokenizer.encode(["a", "b"], { pair: ["c"] })).toThrow(rt.InvalidArgumentError);
  });

  test("without special tokens, only the words", () => {
    expect(rows(tokenizer.encode("a dog", { addSpecialTokens: false }).input_ids)).toEqual([ids("a", "dog")]);
  });

  test("what cannot make a rectangular tensor, or is asked wrongly, is a typed error", () => {
    expect(() => tokenizer.encode(["a dog", "a"], { padding: false })).toThrow(rt.ShapeError);
    expect(tokenizer.encode(["a dog", "a cat"], { padding: false }).input_ids.shape).toEqual([2, 4]);
    expect(() => tokenizer.encode("the cat sat on the mat", { padding: "max_length", maxLength: 4, truncation: false })).toThrow(rt.ShapeError);
    expect(() => tokenizer.encode("a", { padding: "max_length" })).toThrow(rt.InvalidArgumentError);
    expect(() => tokenizer.encode("a", { truncation: true })).toThrow(rt.InvalidArgumentError);
    expect(() => tokenizer.encode("a", { maxLength: 0 })).toThrow(rt.InvalidArgumentError);
    expect(() => tokenizer.encode([])).toThrow(rt.InvalidArgumentError);
    expect(() => tokenizer.encode([1 as unknown as string])).toThrow(rt.InvalidArgumentError);
  });
});

describe("a model's inputs", () => {
  /** y = input_ids * attention_mask: a model that takes two of the three inputs. */
  function maskedIds(): Uint8Array {
    const g = new GraphBuilder("masked_ids");
    g.input("input_ids", "int64", ["batch", "sequence"]);
    g.input("attention_mask", "int64", ["batch", "sequence"]);
    g.node("Mul", ["input_ids", "attention_mask"], { outputs: ["y"] });
    g.output("y", "int64", ["batch", "sequence"]);
    return buildModel(g);
  }

  test("encode({ model }) makes exactly the inputs it takes, and the model runs on them", async () => {
    using model = await rt.loadModel(maskedIds());
    const inputs = tokenizer.encode(["the cat", "a dog ran"], { model });
    expect(Object.keys(inputs).sort()).toEqual(["attention_mask", "input_ids"]);
    const { y } = await model.run<rt.Tensor>(inputs);
    expect(rows(y!)).toEqual([[...ids("[CLS]", "the", "cat", "[SEP]"), 0n], ids("[CLS]", "a", "dog", "ran", "[SEP]")]);
  });

  test("a model input text encoding does not make is named in the error", () => {
    expect(() => tokenizer.encode("a", { model: { inputNames: ["input_ids", "pixel_values"] } })).toThrow(/"pixel_values"/);
  });
});

describe("loadTokenizer", () => {
  const folder = join(scratchDir("tessera-tokenizer-"), "tok");
  mkdirSync(folder, { recursive: true });
  writeFileSync(join(folder, "tokenizer.json"), JSON.stringify(tinyTokenizerJson()));

  test("reads tokenizer.json from a path, with the tokenizer_config.json beside it", async () => {
    expect((await loadTokenizer(join(folder, "tokenizer.json"))).padId).toBe(id["[PAD]"]!);
    writeFileSync(join(folder, "tokenizer_config.json"), JSON.stringify({ pad_token: "[UNK]" }));
    const configured = await loadTokenizer(join(folder, "tokenizer.json"));
    expect(configured.padId).toBe(id["[UNK]"]!);
    expect((await loadTokenizer(join(folder, "tokenizer.json"), { config: {} })).padId).toBe(id["[PAD]"]!);
  });

  test("tokenizer.json's padding.pad_id wins", async () => {
    const json = { ...tinyTokenizerJson(), padding: { pad_id: id["[SEP]"], pad_token: "[SEP]" } };
    expect((await loadTokenizer(json)).padId).toBe(id["[SEP]"]!);
  });

  test("a missing file is an IOError, a file that is not a tokenizer an InvalidArgumentError", async () => {
    await expect(loadTokenizer(join(folder, "absent.json"))).rejects.toThrow(rt.IOError);
    writeFileSync(join(folder, "bad.json"), "{ not json");
    await expect(loadTokenizer(join(folder, "bad.json"))).rejects.toThrow(rt.InvalidArgumentError);
    await expect(loadTokenizer({ model: { type: "NoSuchModel" } })).rejects.toThrow(rt.InvalidArgumentError);
  });
});

describe("the optional packages", () => {
  test("a missing one is an ExtensionError that names it and how to add it", async () => {
    const missing = optionalPackage("tessera-absent-package", "^1.0.0", "tessera/preprocess/test", () => import("tessera-absent-package" as string));
    await expect(missing).rejects.toThrow(rt.ExtensionError);
    await expect(missing).rejects.toThrow(/tessera\/preprocess\/test needs the package tessera-absent-package \(\^1\.0\.0\).*bun add tessera-absent-package/);
  });

  test('"tessera" itself never imports the preprocessing entries', () => {
    const index = readFileSync(new URL("../src/index.ts", import.meta.url), "utf8");
    expect(index).not.toContain("preprocess");
  });
});
