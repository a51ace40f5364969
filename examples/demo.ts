/**
 * The main demo: what Tessera sees on this machine, and a tensor built, filled, saved and read back.
 * Run it with scripts/demo (which installs and builds first), or: bun examples/demo.ts [out.tsr]
 */
import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import * as rt from "../src/index.ts";

function bytes(n: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let value = n;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(unit === 0 ? 0 : 1)} ${units[unit]}`;
}

function describeDevice(device: rt.DeviceInfo): string[] {
  const lines = [`${device.id}  ${device.name}  (${device.kind}, ${device.vendor}, ${device.driver})`];
  if (device.cpu) {
    const c = device.cpu;
    lines.push(`  cores ${c.cores} (threads ${c.threads}), memory ${bytes(c.memoryBytes)}`);
    lines.push(`  caches L1d ${bytes(c.cacheL1dBytes)}, L2 ${bytes(c.cacheL2Bytes)}, L3 ${bytes(c.cacheL3Bytes)}`);
    lines.push(`  SIMD ${c.features.join(" ") || "(none detected)"}`);
  }
  if (device.gpu) {
    const g = device.gpu;
    lines.push(`  Vulkan ${g.apiVersion}, vendor 0x${g.vendorId.toString(16)}, subgroup ${g.subgroupSize}`);
    lines.push(`  fp16 ${g.fp16 ? "yes" : "no"}, int8 ${g.int8 ? "yes" : "no"}, device memory ${bytes(g.memoryBytes)}`);
    g.heaps.forEach((h, i) => lines.push(`  heap ${i}: ${bytes(h.sizeBytes)}${h.deviceLocal ? " (device-local)" : ""}`));
  }
  return lines;
}

const build = rt.buildInfo();
console.log(`Tessera ${rt.version} (ABI ${build.abiVersion}, ${build.optimize}, ${build.target}, Zig ${build.zigVersion}) on ${build.runtime}`);
const host = rt.hostInfo();
console.log(`host ${host.name} [${host.id.slice(0, 12)}], ${host.arch}, ${host.os}`);
console.log("devices:");
for (const device of rt.devices()) console.log(describeDevice(device).map((l) => "  " + l).join("\n"));

const path = process.argv[2] ?? "out/demo-tensor.tsr";
mkdirSync(dirname(path), { recursive: true });
{
  using t = rt.tensor({ shape: [2, 3, 4], dtype: "float32" });
  const values = t.toTypedArray() as Float32Array;
  values.forEach((_, i) => (values[i] = Math.sin(i / 4)));
  t.save(path);
  using back = rt.loadTensor(path);
  console.log(`\nbuilt, filled and saved a tensor to ${path}; read back:`);
  console.log(back.toString({ precision: 3 }));
  using half = rt.tensor(0.5, { shape: [2, 8], dtype: "float16" });
  console.log(half.toString());
}
