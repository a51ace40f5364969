/**
 * WAV to a speech model's input: `tessera/preprocess/audio`.
 *
 *   import { readWav, audioTensor } from "tessera/preprocess/audio";
 *   const { samples } = await readWav("speech.wav", { sampleRate: 16000 });   // float32 mono in [-1, 1]
 *   const input = audioTensor(samples);                                        // float32 [1, n]
 *
 * Decoding and resampling are wavefile's (an optional peer dependency imported on first use):
 * every PCM bit depth from 8 to 32 bits, 32- and 64-bit float, A-law, mu-law and IMA ADPCM, in
 * RIFF, RIFX or RF64 containers. What is done here is the choice of steps: decode to float,
 * average the channels to mono, then resample the one channel (cheaper than resampling each).
 */
import { readFileSync } from "node:fs";
import type { WaveFile } from "wavefile";
import { InvalidArgumentError, IOError } from "../errors.ts";
import { type Tensor, tensor } from "../tensor.ts";
import { optionalPackage } from "./optional-package.ts";

/** A WAV file's path, or its bytes. */
export type WavSource = string | URL | Uint8Array | ArrayBuffer;

/** wavefile's resamplers: sinc is the most faithful and the slowest (about 1.4 times cubic), point the crudest. */
export type ResampleMethod = "sinc" | "cubic" | "linear" | "point";

export interface ReadWavOptions {
  /** The rate to return, in Hz; "source" keeps the file's. Default 16000, what speech models take. */
  sampleRate?: number | "source";
  /** How to resample when the rates differ. Default "cubic", wavefile's own, with its low-pass filter. */
  method?: ResampleMethod;
}

export interface Audio {
  /** Mono samples in [-1, 1] at `sampleRate`. */
  samples: Float32Array;
  sampleRate: number;
  /** Seconds of audio. */
  duration: number;
  /** What the file held before it was decoded, mixed down and resampled. */
  source: { sampleRate: number; channels: number; bitDepth: string };
}

const methods: readonly string[] = ["sinc", "cubic", "linear", "point"];

/** Decodes a WAV file to float32 mono at the rate asked for. */
export async function readWav(source: WavSource, options: ReadWavOptions = {}): Promise<Audio> {
  const target = options.sampleRate ?? 16000;
  if (target !== "source" && !(Number.isInteger(target) && target > 0)) {
    throw new InvalidArgumentError(`readWav: sampleRate must be a positive integer or "source", not ${target}`);
  }
  const method = options.method ?? "cubic";
  if (!methods.includes(method)) throw new InvalidArgumentError(`readWav: method must be one of ${methods.join(", ")}, not ${method}`);
  const WaveFileClass = await waveFileClass();
  const bytes = bytesOf(source);
  const wav = new WaveFileClass();
  try {
    wav.fromBuffer(bytes);
  } catch (cause) {
    throw new InvalidArgumentError(`${describe(source)} is not a WAV file wavefile can read: ${(cause as Error).message}`, { cause });
  }
  const format = wav.fmt as { numChannels: number; sampleRate: number };
  const found = { sampleRate: format.sampleRate, channels: format.numChannels, bitDepth: wav.bitDepth };
  toFloat(wav);
  let samples = mixDown(wav.getSamples(false, Float32Array) as unknown as Float32Array | Float32Array[], found.channels);
  const sampleRate = target === "source" ? found.sampleRate : target;
  if (sampleRate !== found.sampleRate && samples.length > 0) {
    const mono = new WaveFileClass();
    mono.fromScratch(1, found.sampleRate, "32f", samples);
    mono.toSampleRate(sampleRate, { method });
    samples = mono.getSamples(false, Float32Array) as unknown as Float32Array;
  }
  return { samples, sampleRate, duration: samples.length / sampleRate, source: found };
}

/** Mono samples as the float32 tensor [1, n] that speech models take, sharing the samples' memory. */
export function audioTensor(samples: Float32Array): Tensor {
  if (!(samples instanceof Float32Array)) throw new InvalidArgumentError("audioTensor: samples must be a Float32Array");
  return tensor(samples, { shape: [1, samples.length], copy: false });
}

/** readWav, then audioTensor: a WAV file as float32 [1, n]. */
export async function wavTensor(source: WavSource, options: ReadWavOptions = {}): Promise<Tensor> {
  return audioTensor((await readWav(source, options)).samples);
}

async function waveFileClass(): Promise<typeof WaveFile> {
  const module = await optionalPackage("wavefile", "^11.0.0", "tessera/preprocess/audio", () => import("wavefile"));
  // Bun reads wavefile's ES module (a named export); Deno its CommonJS build (under default).
  const found = (module as { WaveFile?: typeof WaveFile }).WaveFile ?? (module as { default?: { WaveFile?: typeof WaveFile } }).default?.WaveFile;
  if (found === undefined) throw new InvalidArgumentError("the wavefile package has no WaveFile class: is it version 11?");
  return found;
}

/** Compressed codes are decoded, integer PCM scaled: afterwards every sample is a float in [-1, 1]. */
function toFloat(wav: WaveFile): void {
  switch (wav.bitDepth) {
    case "4":
      return wav.fromIMAADPCM("32f");
    case "8a":
      return wav.fromALaw("32f");
    case "8m":
      return wav.fromMuLaw("32f");
    case "32f":
      return;
    default:
      return wav.toBitDepth("32f");
  }
}

function mixDown(samples: Float32Array | Float32Array[], channels: number): Float32Array {
  if (!Array.isArray(samples)) return samples;
  if (channels === 1 || samples.length === 1) return samples[0]!;
  const mono = new Float32Array(samples[0]!.length);
  for (const channel of samples) for (let i = 0; i < mono.length; i++) mono[i]! += channel[i]!;
  for (let i = 0; i < mono.length; i++) mono[i]! /= samples.length;
  return mono;
}

function bytesOf(source: WavSource): Uint8Array {
  if (source instanceof Uint8Array) return source;
  if (source instanceof ArrayBuffer) return new Uint8Array(source);
  if (typeof source !== "string" && !(source instanceof URL)) throw new InvalidArgumentError("readWav: expected a path, a URL or bytes");
  try {
    return readFileSync(source);
  } catch (cause) {
    throw new IOError(`cannot read ${String(source)}: ${(cause as Error).message}`, { cause });
  }
}

function describe(source: WavSource): string {
  return typeof source === "string" || source instanceof URL ? String(source) : "the bytes";
}
