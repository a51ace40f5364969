/**
 * WAV to a speech model's input: `tessera/preprocess/audio`.
 *
 *   import { readWav, audioTensor } from "tessera/preprocess/audio";
 *   const { samples } = await readWav("speech.wav", { sampleRate: 16000 });   // float32 mono in [-1, 1]
 *   const input = audioTensor(samples);                                        // float32 [1, n]
 *
 * Decoding and resampling are wavefile's (an optional peer dependency imported on first use):
 * every PCM bit depth from 8 to 32 bits, 32- and 64-bit float, A-law, mu-law and IMA ADPCM, in
 * RIFF, RIFX or RF64 containers. What is done here is the choice of steps: unpack, average the
 * channels to mono as floats, then resample the one channel (cheaper than resampling each).
 */
import { readFileSync } from "node:fs";
import { URL } from "node:url"; // by name: under deno check the global URL is a value only
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
    throw new InvalidArgumentError(`wavefile cannot read ${describe(source)} as WAV: ${(cause as Error).message}`, { cause });
  }
  const format = wav.fmt as { numChannels: number; sampleRate: number };
  const found = { sampleRate: format.sampleRate, channels: format.numChannels, bitDepth: wav.bitDepth };
  decodeCompressed(wav);
  let samples = mixDown(wav.getSamples(false, Float64Array) as unknown as Float64Array | Float64Array[], wav.bitDepth);
  const sampleRate = target === "source" ? found.sampleRate : target;
  if (sampleRate !== found.sampleRate && samples.length > 0) {
    const mono = new WaveFileClass(floatWav(samples, found.sampleRate));
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

/** A-law, mu-law and IMA ADPCM become 16-bit PCM (wavefile's codecs); PCM and float are read as they are. */
function decodeCompressed(wav: WaveFile): void {
  if (wav.bitDepth === "4") wav.fromIMAADPCM();
  else if (wav.bitDepth === "8a") wav.fromALaw();
  else if (wav.bitDepth === "8m") wav.fromMuLaw();
}

/**
 * The mean of the channels as floats in [-1, 1]. wavefile unpacks the samples of any bit depth;
 * integers are scaled here as its toBitDepth("32f") scales them (8-bit is unsigned, centred on
 * 128), in one pass with the mixdown: toBitDepth plus getSamples take ten times longer.
 */
function mixDown(channels: Float64Array | Float64Array[], bitDepth: string): Float32Array {
  const all = Array.isArray(channels) ? channels : [channels];
  const float = bitDepth === "32f" || bitDepth === "64";
  const bits = Number(bitDepth);
  const offset = bitDepth === "8" ? 128 : 0;
  const positive = float ? 1 : 2 ** (bits - 1) - 1;
  const negative = float ? 1 : 2 ** (bits - 1);
  const mono = new Float32Array(all[0]!.length);
  for (let i = 0; i < mono.length; i++) {
    let sum = 0;
    for (const channel of all) {
      const v = channel[i]! - offset;
      sum += v > 0 ? v / positive : v / negative;
    }
    mono[i] = sum / all.length;
  }
  return mono;
}

/**
 * The samples as a mono float32 WAV file, for wavefile to resample. wavefile's fromScratch packs
 * them one by one, which takes longer than the resampling itself; the file is only a 44-byte
 * header before the samples' bytes (little-endian, as every platform Tessera runs on).
 */
function floatWav(samples: Float32Array, rate: number): Uint8Array {
  const bytes = new Uint8Array(44 + samples.byteLength);
  const view = new DataView(bytes.buffer);
  const ascii = (at: number, text: string) => [...text].forEach((c, i) => view.setUint8(at + i, c.charCodeAt(0)));
  ascii(0, "RIFF");
  view.setUint32(4, 36 + samples.byteLength, true);
  ascii(8, "WAVE");
  ascii(12, "fmt ");
  view.setUint32(16, 16, true); // the fmt chunk's size
  view.setUint16(20, 3, true); // IEEE float
  view.setUint16(22, 1, true); // channels
  view.setUint32(24, rate, true);
  view.setUint32(28, rate * 4, true); // bytes per second
  view.setUint16(32, 4, true); // bytes per frame
  view.setUint16(34, 32, true); // bits per sample
  ascii(36, "data");
  view.setUint32(40, samples.byteLength, true);
  new Float32Array(bytes.buffer, 44).set(samples);
  return bytes;
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
