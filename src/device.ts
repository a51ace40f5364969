/**
 * The host and its devices, as plain objects. Device 0 is the CPU; Vulkan devices follow.
 * Device handles are borrowed from the native library, so nothing here needs disposing.
 */
import { lib, outPointer, outString, outU32, outU64, type Pointer } from "./native.ts";

export type Platform = "cpu" | "vulkan";
export type DeviceKind = "cpu" | "integrated-gpu" | "discrete-gpu" | "virtual-gpu" | "software" | "other";

/** Names of the TSR_CPU_* feature bits, by bit position. */
export const cpuFeatureBits: Record<string, number> = {
  sse41: 0,
  avx: 1,
  avx2: 2,
  fma: 3,
  f16c: 4,
  avx512f: 5,
  avx512bw: 6,
  avx512vl: 7,
  avx512dq: 8,
  avx512vnni: 9,
  avx_vnni: 10,
  avx512bf16: 11,
  avx512cd: 12,
  bmi1: 13,
  bmi2: 14,
  lzcnt: 15,
  neon: 16,
  arm_dotprod: 17,
  arm_fp16: 18,
  arm_i8mm: 19,
  movbe: 20,
};

export interface CpuCapabilities {
  features: string[];
  cores: number;
  threads: number;
  cacheL1dBytes: number;
  cacheL2Bytes: number;
  cacheL3Bytes: number;
  memoryBytes: number;
  /** What the library held in host memory when this was read (all models): nativeStats().liveBytes. */
  memoryUsedBytes: number;
  /**
   * The instruction-set level whose code runs ("baseline", "avx2", "avx512"), chosen once per
   * process; with the reason when TESSERA_CPU_LEVEL capped it, e.g. "avx2 (TESSERA_CPU_LEVEL=avx2;
   * this CPU allows avx512)".
   */
  level: string;
  /** The kernels that level chose: the GEMM variant and its cache blocking. */
  kernels: string;
}

export interface MemoryHeap {
  sizeBytes: number;
  deviceLocal: boolean;
}

export interface GpuCapabilities {
  vendorId: number;
  deviceId: number;
  apiVersion: string;
  driverVersion: number;
  subgroupSize: number;
  fp16: boolean;
  int8: boolean;
  memoryBytes: number;
  /** What the library held in the device's memory when this was read. */
  memoryUsedBytes: number;
  heaps: MemoryHeap[];
}

export interface DeviceInfo {
  /** "cpu:0", "vulkan:0", ... */
  id: string;
  platform: Platform;
  kind: DeviceKind;
  index: number;
  name: string;
  vendor: string;
  driver: string;
  cpu?: CpuCapabilities;
  gpu?: GpuCapabilities;
}

export interface HostInfo {
  id: string;
  name: string;
  arch: string;
  os: string;
}

/** Every device platform Tessera knows, as device ids begin ("cpu:0", "vulkan:0"). */
export const platforms: readonly Platform[] = ["cpu", "vulkan"];
const kinds: DeviceKind[] = ["cpu", "integrated-gpu", "discrete-gpu", "virtual-gpu", "software", "other"];
const numberKeys = {
  platform: 0, kind: 1, index: 2, features: 3, cores: 4, threads: 5, cacheL1d: 6, cacheL2: 7,
  cacheL3: 8, memory: 9, vendorId: 10, deviceId: 11, apiVersion: 12, driverVersion: 13,
  subgroupSize: 14, fp16: 15, int8: 16, heapCount: 17, memoryUsed: 18,
} as const;
const stringKeys = { id: 0, name: 1, vendor: 2, driver: 3, cpuLevel: 4, kernels: 5 } as const;
const hostKeys = { id: 0, name: 1, arch: 2, os: 3 } as const;
const VK_MEMORY_HEAP_DEVICE_LOCAL_BIT = 1;

export function hostInfo(): HostInfo {
  const get = (key: number) => outString((slot) => lib.tsr_host_get_string(key, slot));
  return { id: get(hostKeys.id), name: get(hostKeys.name), arch: get(hostKeys.arch), os: get(hostKeys.os) };
}

export function devices(): DeviceInfo[] {
  const count = outU32((slot) => lib.tsr_device_count(slot));
  return Array.from({ length: count }, (_, index) => describe(outPointer((slot) => lib.tsr_device_get(index, slot))));
}

/** devices() under the name other runtimes' users look for. */
export const listDevices: () => DeviceInfo[] = devices;

/**
 * The devices' names, as OpenVINO's Core.available_devices lists them, in Tessera's spelling:
 * ["cpu", "vulkan:0", ...]. Vulkan devices are listed as found; a model runs on them with `devices: "vulkan:N,cpu"`.
 */
export function getAvailableDevices(): string[] {
  return devices().map((device) => (device.platform === "cpu" ? "cpu" : device.id));
}

/** Host facts and every device: what `tessera devices` prints. */
export function getLocalInfo(): HostInfo & { devices: DeviceInfo[] } {
  return { ...hostInfo(), devices: devices() };
}

function describe(device: Pointer): DeviceInfo {
  const number = (key: number) => Number(outU64((slot) => lib.tsr_device_get_u64(device, key, slot)));
  const text = (key: number) => outString((slot) => lib.tsr_device_get_string(device, key, slot));
  const platform = platforms[number(numberKeys.platform)] ?? "cpu";
  const info: DeviceInfo = {
    id: text(stringKeys.id),
    platform,
    kind: kinds[number(numberKeys.kind)] ?? "other",
    index: number(numberKeys.index),
    name: text(stringKeys.name),
    vendor: text(stringKeys.vendor),
    driver: text(stringKeys.driver),
  };
  if (platform === "cpu") info.cpu = cpuCapabilities(number, text);
  else info.gpu = gpuCapabilities(device, number);
  return info;
}

function cpuCapabilities(number: (key: number) => number, text: (key: number) => string): CpuCapabilities {
  const bits = BigInt(number(numberKeys.features));
  return {
    features: Object.entries(cpuFeatureBits).filter(([, bit]) => (bits >> BigInt(bit)) & 1n).map(([name]) => name),
    cores: number(numberKeys.cores),
    threads: number(numberKeys.threads),
    cacheL1dBytes: number(numberKeys.cacheL1d),
    cacheL2Bytes: number(numberKeys.cacheL2),
    cacheL3Bytes: number(numberKeys.cacheL3),
    memoryBytes: number(numberKeys.memory),
    memoryUsedBytes: number(numberKeys.memoryUsed),
    level: text(stringKeys.cpuLevel),
    kernels: text(stringKeys.kernels),
  };
}

function gpuCapabilities(device: Pointer, number: (key: number) => number): GpuCapabilities {
  const api = number(numberKeys.apiVersion);
  const heaps: MemoryHeap[] = [];
  for (let i = 0; i < number(numberKeys.heapCount); i++) {
    const size = new BigUint64Array(1);
    const flags = new Uint32Array(1);
    const status = lib.tsr_device_get_heap(device, i, size, flags);
    if (status !== 0) break;
    heaps.push({ sizeBytes: Number(size[0]), deviceLocal: (flags[0]! & VK_MEMORY_HEAP_DEVICE_LOCAL_BIT) !== 0 });
  }
  return {
    vendorId: number(numberKeys.vendorId),
    deviceId: number(numberKeys.deviceId),
    apiVersion: `${api >>> 22}.${(api >>> 12) & 0x3ff}.${api & 0xfff}`,
    driverVersion: number(numberKeys.driverVersion),
    subgroupSize: number(numberKeys.subgroupSize),
    fp16: number(numberKeys.fp16) !== 0,
    int8: number(numberKeys.int8) !== 0,
    memoryBytes: number(numberKeys.memory),
    memoryUsedBytes: number(numberKeys.memoryUsed),
    heaps,
  };
}

