/** tessera/preprocess/audio: WAV files that wavefile writes, decoded, mixed down and resampled. */
import { describe, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { WaveFile } from "wavefile";
import * as rt from "../src/index.ts";
import { audioTensor, readWav, wavTensor } from "../src/preprocess/audio.ts";
import { scratchDir } from "./support/paths.ts";

function sine(frequency: number, rate: number, seconds: number, amplitude = 0.5): Float64Array {
  return new Float64Array(Math.round(rate * seconds)).map((_, i) => amplitude * Math.sin((2 * Math.PI * frequency * i) / rate));
}

/** A WAV file of the float samples (in [-1, 1]) at an integer bit depth or "32f"; 8-bit WAV is unsigned. */
function wav(channels: Float64Array[], rate: number, bitDepth: string): Uint8Array {
  const scale = bitDepth === "32f" ? 1 : 2 ** (Number(bitDepth) - 1) - 1;
  const offset = bitDepth === "8" ? 128 : 0;
  const file = new WaveFile();
  const coded = channels.map((c) => Array.from(c, (v) => (scale === 1 ? v : Math.round(v * scale) + offset)));
  file.fromScratch(channels.length, rate, bitDepth, channels.length === 1 ? coded[0]! : coded);
  return file.toBuffer();
}

function maxDifference(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i]! - b[i]!));
  return worst;
}

/** The frequency of a clean tone from its upward zero crossings, edges left out. */
function frequencyOf(samples: Float32Array, rate: number): number {
  const crossings: number[] = [];
  for (let i = 1; i < samples.length; i++) if (samples[i - 1]! < 0 && samples[i]! >= 0) crossings.push(i);
  const inner = crossings.slice(2, -2);
  return ((inner.length - 1) * rate) / (inner.at(-1)! - inner[0]!);
}

describe("readWav", () => {
  const tone = sine(440, 16000, 0.5);

  for (const [bitDepth, tolerance] of [["8", 1 / 100], ["16", 1 / 30000], ["24", 1e-6], ["32", 1e-6], ["32f", 1e-7]] as const) {
    test(`${bitDepth}-bit samples decode to floats in [-1, 1]`, async () => {
      const audio = await readWav(wav([tone], 16000, bitDepth));
      expect(audio.samples).toBeInstanceOf(Float32Array);
      expect(audio.source).toEqual({ sampleRate: 16000, channels: 1, bitDepth });
      expect(audio.sampleRate).toBe(16000);
      expect(audio.duration).toBeCloseTo(0.5, 6);
      expect(maxDifference(audio.samples, tone)).toBeLessThan(tolerance);
    });
  }

  test("A-law and mu-law are decoded", async () => {
    for (const encode of ["toALaw", "toMuLaw"] as const) {
      const file = new WaveFile(wav([tone], 16000, "16"));
      file[encode]();
      const audio = await readWav(file.toBuffer());
      expect(audio.source.bitDepth).toBe(encode === "toALaw" ? "8a" : "8m");
      expect(maxDifference(audio.samples, tone)).toBeLessThan(0.02); // 8-bit companding's error
    }
  });

  test("stereo is mixed down to the mean of its channels", async () => {
    const left = sine(300, 16000, 0.25, 0.6);
    const right = sine(700, 16000, 0.25, 0.2);
    const audio = await readWav(wav([left, right], 16000, "32f"));
    expect(audio.source.channels).toBe(2);
    expect(maxDifference(audio.samples, left.map((v, i) => (v + right[i]!) / 2))).toBeLessThan(1e-7);
  });

  test("44.1 kHz is resampled to 16 kHz: the length scales and a tone keeps its pitch", async () => {
    const seconds = 1;
    for (const method of ["cubic", "sinc"] as const) {
      const audio = await readWav(wav([sine(1000, 44100, seconds)], 44100, "16"), { sampleRate: 16000, method });
      expect(audio.sampleRate).toBe(16000);
      expect(Math.abs(audio.samples.length - 16000 * seconds)).toBeLessThanOrEqual(1);
      expect(frequencyOf(audio.samples, 16000)).toBeCloseTo(1000, 0);
      const middle = audio.samples.subarray(2000, 14000);
      expect(Math.max(...middle)).toBeGreaterThan(0.45); // the low-pass filter leaves a 1 kHz tone's level
      expect(Math.max(...middle)).toBeLessThan(0.55);
    }
  });

  test('upsampling works too, and sampleRate "source" keeps the file\'s rate', async () => {
    const bytes = wav([sine(200, 8000, 0.5)], 8000, "16");
    const up = await readWav(bytes, { sampleRate: 16000 });
    expect(up.samples.length).toBe(8000);
    expect(frequencyOf(up.samples, 16000)).toBeCloseTo(200, 0);
    const kept = await readWav(bytes, { sampleRate: "source" });
    expect(kept.sampleRate).toBe(8000);
    expect(kept.samples.length).toBe(4000);
  });

  test("reads a path, a URL and an ArrayBuffer", async () => {
    const bytes = wav([tone], 16000, "16");
    const path = join(scratchDir("tessera-wav-"), "tone.wav");
    writeFileSync(path, bytes);
    for (const source of [path, new URL(`file://${path}`), bytes.slice().buffer]) {
      expect((await readWav(source)).samples.length).toBe(tone.length);
    }
  });

  test("what is not a readable WAV file is a typed error", async () => {
    await expect(readWav(new Uint8Array([1, 2, 3, 4]))).rejects.toThrow(rt.InvalidArgumentError);
    await expect(readWav("/nonexistent/file.wav")).rejects.toThrow(rt.IOError);
    await expect(readWav(wav([tone], 16000, "16"), { sampleRate: -1 })).rejects.toThrow(rt.InvalidArgumentError);
    await expect(readWav(wav([tone], 16000, "16"), { method: "fft" as "sinc" })).rejects.toThrow(rt.InvalidArgumentError);
  });
});

describe("tensors", () => {
  test("audioTensor is float32 [1, n] over the samples' own memory", () => {
    const samples = new Float32Array([0.1, -0.2, 0.3]);
    using t = audioTensor(samples);
    expect(t.dtype).toBe("float32");
    expect(t.shape).toEqual([1, 3]);
    samples[0] = 0.5;
    expect((t.toTypedArray() as Float32Array)[0]).toBe(0.5);
  });

  test("wavTensor decodes and resamples in one call", async () => {
    using t = await wavTensor(wav([sine(440, 48000, 0.5), sine(440, 48000, 0.5)], 48000, "24"));
    expect(t.shape).toEqual([1, 8000]);
  });
});
