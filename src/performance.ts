/**
 * Tuning a model to its machine, in OpenVINO's terms: what a performance hint chose for a model
 * (model.config), the kernel threads it uses (optimizeThreading), which device suits a kind of
 * model (detectBestDevice), and a device's memory now (getDeviceMemory). The choices themselves
 * are made by the library (exec/performance.zig) and read through the C ABI, except
 * detectBestDevice, which weighs a guess at the model's kind that only TypeScript makes.
 */
import { type DeviceInfo, devices } from "./device.ts";
import { InvalidArgumentError } from "./errors.ts";
import type { Model } from "./model.ts";
import { guessModelKind, type ModelKind } from "./model-kind.ts";
import { check, lib, outPointer, outU32, type Pointer } from "./native.ts";

export interface ModelConfig {
  performanceHint: "latency" | "throughput" | null;
  /** The load option numRequests; null when not given. */
  numRequests: number | null;
  /** The threads the model's CPU kernels use now. */
  threads: number;
  /** How many of the model's runs go on at once; null: not limited. */
  streams: number | null;
  /** The requests a queue over the model holds to keep its streams busy (AsyncInferQueue(model, 0)). */
  queueSize: number;
}

const configKey = { performanceHint: 0, numRequests: 1, threads: 2, streams: 3, queueSize: 4 } as const;
const hints = [null, "latency", "throughput"] as const;

/** @internal model.config, read from the native model. */
export function modelConfig(model: Pointer): ModelConfig {
  const read = (key: number) => {
    const slot = new BigInt64Array(1);
    check(lib.tsr_model_get_config(model, key, slot));
    return Number(slot[0]);
  };
  const numRequests = read(configKey.numRequests);
  const streams = read(configKey.streams);
  return {
    performanceHint: hints[read(configKey.performanceHint)] ?? null,
    numRequests: numRequests === 0 ? null : numRequests,
    threads: read(configKey.threads),
    streams: streams === 0 ? null : streams,
    queueSize: read(configKey.queueSize),
  };
}

/** Below this many bytes of weights, a kernel's work is too small to share between threads. */
const smallModelBytes = 256 * 1024;
/** Below this, two threads; above, every core. */
const mediumModelBytes = 4 * 1024 * 1024;

/**
 * Sets the threads `model`'s CPU kernels use from the machine's cores and the model's size, and
 * returns the count it applied: one thread for a model with under 256 KiB of weights (its
 * kernels are too small to share), two under 4 MiB, else a thread per core; under a throughput
 * hint, at most each stream's share of the cores. Never more than the model's pool started with
 * (its `threads` load option). Runs in flight keep their threads.
 */
export function optimizeThreading(model: Model): number {
  const cores = devices()[0]?.cpu?.cores ?? 1;
  const streams = model.config.streams ?? 1;
  const share = Math.max(1, Math.floor(cores / streams));
  const bySize = model.parameterBytes < smallModelBytes ? 1 : model.parameterBytes < mediumModelBytes ? 2 : cores;
  const threads = Math.max(1, Math.min(share, bySize));
  return model.setThreads(threads);
}

/** @internal model.setThreads. */
export function setModelThreads(model: Pointer, threads: number): number {
  if (!Number.isInteger(threads) || threads < 1) throw new InvalidArgumentError(`threads must be an integer >= 1, not ${threads}`);
  return outU32((slot) => lib.tsr_model_set_threads(model, Math.min(threads, 0xffffffff), slot));
}

export type DevicePreference = "performance" | "efficiency" | "compatibility";
const preferences: readonly DevicePreference[] = ["performance", "efficiency", "compatibility"];
/** Kinds whose operators (convolutions, matrix products) the Vulkan backend is written for. */
const gpuKinds: ReadonlySet<ModelKind> = new Set(["image-classification", "object-detection", "image-segmentation"]);
const knownKinds: ReadonlySet<string> = new Set([
  ...gpuKinds, "language-model", "text-encoder", "audio", "recurrent", "tabular/classical-ml", "unknown",
]);

/**
 * The `devices` load option that suits a model: "vulkan:N,cpu" (operations the GPU lacks fall
 * back to the CPU) or "cpu". `modelType` is a ModelKind (as guessModelKind names them) or a
 * loaded model, whose kind is guessed. "performance" prefers a discrete GPU, then an integrated
 * one; "efficiency" an integrated one only (it shares the host's memory, and no copies cross a
 * bus); "compatibility" is always the CPU, the reference backend. Only image models go to a GPU,
 * and never to a software one (lavapipe is slower than the CPU backend on the same CPU).
 */
export function detectBestDevice(preference: DevicePreference = "performance", modelType: ModelKind | Model = "unknown"): string {
  if (!preferences.includes(preference)) {
    throw new InvalidArgumentError(`unknown device preference '${preference}' (${preferences.join(", ")})`);
  }
  const kind = kindOf(modelType);
  if (preference === "compatibility" || !gpuKinds.has(kind)) return "cpu";
  const ranked = preference === "performance" ? ["discrete-gpu", "integrated-gpu", "virtual-gpu"] : ["integrated-gpu"];
  const gpus = devices().filter((d) => d.platform === "vulkan");
  for (const wanted of ranked) {
    const found = gpus.find((d) => d.kind === wanted);
    if (found) return `${found.id},cpu`;
  }
  return "cpu";
}

function kindOf(modelType: ModelKind | Model): ModelKind {
  if (typeof modelType !== "string") {
    return guessModelKind({ inputs: modelType.inputs, outputs: modelType.outputs, operations: modelType.operations }).kind;
  }
  if (!knownKinds.has(modelType)) {
    throw new InvalidArgumentError(`unknown model type '${modelType}' (${[...knownKinds].join(", ")}, or a loaded model)`);
  }
  return modelType as ModelKind;
}

export interface DeviceMemory {
  totalBytes: number;
  /** In use by every process (for a GPU without VK_EXT_memory_budget: by this library only). */
  usedBytes: number;
  /** What can still be allocated: the OS's available memory, or the GPU budget left to this process. */
  freeBytes: number;
  /** This process's share: its resident set (CPU), its use of the device's heaps (GPU). */
  processBytes: number;
  /** Where the figures come from: the OS, VK_EXT_memory_budget, or the heap sizes alone. */
  source: "os" | "memory-budget" | "heaps";
}

const sources = ["os", "memory-budget", "heaps"] as const;
const memoryStructBytes = 40;

/**
 * A device's memory now: "cpu" (or "cpu:0") from the OS, "vulkan:N" from its device-local heaps.
 * An id that names no device is InvalidArgumentError listing the devices.
 */
export function getDeviceMemory(id = "cpu"): DeviceMemory {
  const list = devices();
  const wanted = id === "cpu" ? "cpu:0" : id;
  const index = list.findIndex((d: DeviceInfo) => d.id === wanted);
  if (index < 0) {
    throw new InvalidArgumentError(`no device '${id}' (devices: ${list.map((d) => d.id).join(", ")})`);
  }
  const device = outPointer((slot) => lib.tsr_device_get(index, slot));
  const buffer = new ArrayBuffer(memoryStructBytes);
  const header = new Uint32Array(buffer, 0, 2);
  header[0] = memoryStructBytes;
  check(lib.tsr_device_get_memory(device, new Uint8Array(buffer)));
  const [total, used, free, processBytes] = Array.from(new BigUint64Array(buffer, 8, 4), Number);
  return { totalBytes: total!, usedBytes: used!, freeBytes: free!, processBytes: processBytes!, source: sources[header[1]!] ?? "os" };
}
