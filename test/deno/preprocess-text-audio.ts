/**
 * tessera/preprocess/text and tessera/preprocess/audio under Deno: the optional packages resolve
 * from node_modules through Deno's npm support (wavefile through its CommonJS build), with no
 * network. Run with: deno test --no-check --allow-ffi --allow-read --allow-write --allow-env
 */
import assert from "node:assert/strict";
import * as wavefile from "wavefile";
import * as rt from "../../src/index.ts";
import { buildModel, GraphBuilder } from "../../src/onnx/builder.ts";
import { audioTensor, readWav } from "../../src/preprocess/audio.ts";
import { loadTokenizer } from "../../src/preprocess/text.ts";
import { tinyIds, tinyTokenizerJson } from "../support/tiny-tokenizer.ts";

// deno-lint-ignore no-explicit-any
const Deno = (globalThis as any).Deno;
// Deno loads wavefile's CommonJS build: its classes are under the default export.
const { WaveFile } = (wavefile as unknown as { default?: typeof wavefile }).default ?? wavefile;

Deno.test("text: a padded batch of int64 tensors, fed straight to a model", async () => {
  const tokenizer = await loadTokenizer(tinyTokenizerJson());
  const g = new GraphBuilder("masked_ids");
  g.input("input_ids", "int64", ["batch", "sequence"]);
  g.input("attention_mask", "int64", ["batch", "sequence"]);
  g.node("Mul", ["input_ids", "attention_mask"], { outputs: ["y"] });
  g.output("y", "int64", ["batch", "sequence"]);
  using model = await rt.loadModel(buildModel(g));
  const inputs = tokenizer.encode(["the cat sat", "a dog"], { model, maxLength: 4 });
  assert.deepEqual(Object.keys(inputs).sort(), ["attention_mask", "input_ids"]);
  const ids = (...tokens: string[]) => tokens.map((t) => BigInt(tinyIds[t]!));
  assert.deepEqual(inputs.input_ids!.toArray(), [ids("[CLS]", "the", "cat", "[SEP]"), ids("[CLS]", "a", "dog", "[SEP]")]);
  const { y } = await model.run<rt.Tensor>(inputs);
  assert.deepEqual(y!.toArray(), inputs.input_ids!.toArray());
  const path = Deno.makeTempFileSync({ suffix: ".json" });
  Deno.writeTextFileSync(path, JSON.stringify(tinyTokenizerJson()));
  const fromFile = await loadTokenizer(path);
  assert.deepEqual(fromFile.encode("hello world", { padding: "max_length", maxLength: 6 }).attention_mask.toArray(), [[1n, 1n, 1n, 1n, 0n, 0n]]);
});

Deno.test("audio: 24-bit stereo at 44.1 kHz to float32 mono at 16 kHz, as a [1, n] tensor", async () => {
  const rate = 44100;
  const tone = Array.from({ length: rate / 2 }, (_, i) => Math.round(0.5 * (2 ** 23 - 1) * Math.sin((2 * Math.PI * 440 * i) / rate)));
  const file = new WaveFile();
  file.fromScratch(2, rate, "24", [tone, tone.map(() => 0)]);
  const path = Deno.makeTempFileSync({ suffix: ".wav" });
  Deno.writeFileSync(path, file.toBuffer());
  const audio = await readWav(path);
  assert.deepEqual(audio.source, { sampleRate: rate, channels: 2, bitDepth: "24" });
  assert.equal(audio.sampleRate, 16000);
  assert.ok(Math.abs(audio.samples.length - 8000) <= 1);
  const peak = Math.max(...audio.samples.subarray(1000, 7000));
  assert.ok(peak > 0.22 && peak < 0.28, `the mean of a 0.5 tone and silence peaks near 0.25, not ${peak}`);
  using t = audioTensor(audio.samples);
  assert.deepEqual(t.shape, [1, audio.samples.length]);
  await assert.rejects(readWav(new Uint8Array(8)), rt.InvalidArgumentError);
});
