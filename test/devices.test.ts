/** Host facts and devices: the CPU with its run-time features, and Vulkan devices found via dlopen. */
import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import * as rt from "../src/index.ts";
import { lib, native } from "../src/native.ts";
import { addRelu } from "./support/models.ts";

const vulkanExpected = process.env.TESSERA_EXPECT_VULKAN !== "0";

describe("host", () => {
  test("id, name, architecture and OS", () => {
    const host = rt.hostInfo();
    expect(host.id.length).toBeGreaterThan(0);
    expect(host.name).toBe(readFileSync("/proc/sys/kernel/hostname", "utf8").trim());
    expect(host.arch).toBe(process.arch === "x64" ? "x86_64" : "aarch64");
    expect(host.os).toMatch(/^Linux \d/);
  });
});

describe("devices", () => {
  const devices = rt.devices();

  test("device 0 is the CPU, with cores, caches and SIMD features from cpuinfo", () => {
    const cpu = devices[0]!;
    expect([cpu.id, cpu.platform, cpu.kind, cpu.index]).toEqual(["cpu:0", "cpu", "cpu", 0]);
    const caps = cpu.cpu!;
    expect(caps.threads).toBe(navigator.hardwareConcurrency);
    expect(caps.cores).toBeGreaterThanOrEqual(1);
    expect(caps.cores).toBeLessThanOrEqual(caps.threads);
    expect(caps.cacheL1dBytes).toBeGreaterThan(0);
    expect(caps.memoryBytes).toBeGreaterThan(1 << 30);
    // The kernel's own flags are the reference for run-time detection.
    const flags = new Set(readFileSync("/proc/cpuinfo", "utf8").match(/^flags\s*:(.*)$/m)?.[1]!.trim().split(/\s+/));
    const kernelName: Record<string, string> = {
      sse41: "sse4_1", avx: "avx", avx2: "avx2", fma: "fma", f16c: "f16c", avx512f: "avx512f",
      avx512bw: "avx512bw", avx512vl: "avx512vl", avx512dq: "avx512dq", avx512vnni: "avx512_vnni",
      avx_vnni: "avx_vnni", avx512bf16: "avx512_bf16",
    };
    if (process.arch === "x64") {
      for (const [name, flag] of Object.entries(kernelName)) {
        expect({ name, detected: caps.features.includes(name) }).toEqual({ name, detected: flags.has(flag) });
      }
    }
    expect(cpu.name).toBe(readFileSync("/proc/cpuinfo", "utf8").match(/^model name\s*:\s*(.*)$/m)![1]!.trim());
  });

  test.if(vulkanExpected)("lavapipe appears as a software Vulkan device with its capabilities", () => {
    const vulkan = devices.filter((d) => d.platform === "vulkan");
    expect(vulkan.length).toBeGreaterThanOrEqual(1);
    const lavapipe = vulkan.find((d) => d.name.startsWith("llvmpipe"))!;
    expect(lavapipe).toBeDefined();
    expect(lavapipe.kind).toBe("software");
    expect(lavapipe.id).toBe(`vulkan:${lavapipe.index}`);
    expect(lavapipe.driver).toMatch(/Mesa/);
    const gpu = lavapipe.gpu!;
    expect(gpu.apiVersion).toMatch(/^1\.\d+\.\d+$/);
    expect(gpu.subgroupSize).toBeGreaterThan(0);
    expect(gpu.heaps.length).toBeGreaterThan(0);
    expect(gpu.heaps.some((h) => h.sizeBytes > 0)).toBe(true);
    expect(typeof gpu.fp16).toBe("boolean");
    expect(typeof gpu.int8).toBe("boolean");
  });

  test("the CPU's memory used is what the library holds in host memory, and grows with a model", () => {
    const used = () => rt.devices()[0]!.cpu!.memoryUsedBytes;
    expect(used()).toBe(rt.nativeStats().liveBytes);
    const before = used();
    const model = rt.loadModelSync(addRelu());
    const loaded = used();
    expect(loaded).toBeGreaterThan(before);
    model.dispose();
    expect(used()).toBeLessThan(loaded);
    expect(loaded).toBeLessThan(devices[0]!.cpu!.memoryBytes);
  });

  test("getLocalInfo combines the host and its devices", () => {
    const local = rt.getLocalInfo();
    expect(local.devices.map((d) => d.id)).toEqual(devices.map((d) => d.id));
    expect(local.name).toBe(rt.hostInfo().name);
  });

  test("bad keys and indices are InvalidArgument, not crashes", () => {
    const slot = new BigUint64Array(1);
    expect(lib.tsr_device_get(999, slot)).toBe(rt.InvalidArgumentError.code);
    expect(native.cstring(lib.tsr_last_error())).toMatch(/device index 999 out of range/);
    expect(lib.tsr_device_get(0, slot)).toBe(0);
    const cpu = native.pointerAt(slot);
    expect(lib.tsr_device_get_u64(cpu, 12345, new BigUint64Array(1))).toBe(rt.InvalidArgumentError.code);
    expect(lib.tsr_device_get_u64(cpu, 0, null)).toBe(rt.InvalidArgumentError.code);
    expect(lib.tsr_device_get_heap(cpu, 0, new BigUint64Array(1), new Uint32Array(1))).toBe(rt.InvalidArgumentError.code);
    expect(lib.tsr_host_get_string(77, slot)).toBe(rt.InvalidArgumentError.code);
    expect(lib.tsr_device_get_string(null, 0, slot)).toBe(rt.InvalidArgumentError.code);
  });
});

describe("a machine without Vulkan", () => {
  const script = `import * as rt from "${new URL("../src/index.ts", import.meta.url).pathname}";
    console.log(JSON.stringify(rt.devices().map((d) => d.platform)));`;
  const platformsWith = (env: Record<string, string>) => {
    const result = Bun.spawnSync([process.execPath, "-e", script], { env: { ...process.env, ...env } });
    expect(result.exitCode).toBe(0);
    return JSON.parse(result.stdout.toString());
  };

  test("without libvulkan, the library still loads and lists the CPU", () => {
    expect(platformsWith({ TESSERA_VULKAN_LOADER: "/nonexistent/libvulkan.so.1" })).toEqual(["cpu"]);
  });

  test("with a loader but no driver, the library still loads and lists the CPU", () => {
    expect(platformsWith({ VK_ICD_FILENAMES: "/nonexistent.json", VK_DRIVER_FILES: "/nonexistent.json" })).toEqual(["cpu"]);
  });
});
