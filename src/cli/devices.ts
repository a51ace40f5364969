/** `tessera devices`: the host and the devices the library found, as a table or as JSON. */
import { getLocalInfo } from "../device.ts";
import { type Command, type CommandSpec, parseCommand } from "./command.ts";
import { toJson } from "./json.ts";
import { table } from "./table.ts";

const spec = {
  name: "devices",
  summary: "the host and its devices, with capabilities",
  description: "Prints the host (name, architecture, operating system) and every device the library found, the CPU " +
    "first: its cores and instruction set features, or a GPU's Vulkan version and fp16 and int8 support; then the " +
    "CPU kernels in use (their level, which TESSERA_CPU_LEVEL caps).",
  options: {
    json: { type: "boolean", help: "print the host and devices as JSON, with every field the library reports" },
  },
} as const satisfies CommandSpec;

function formatDevices(local: ReturnType<typeof getLocalInfo>): string {
  const rows = local.devices.map((d) => [
    d.id,
    d.kind,
    d.name,
    d.cpu ? `${d.cpu.cores} cores, ${d.cpu.features.join(" ")}` : `Vulkan ${d.gpu!.apiVersion}, fp16 ${d.gpu!.fp16}, int8 ${d.gpu!.int8}`,
  ]);
  const cpu = local.devices.find((d) => d.cpu)?.cpu;
  const kernels = cpu ? `\n\nCPU kernels: level ${cpu.level}; ${cpu.kernels}` : "";
  return `host ${local.name} (${local.arch}, ${local.os})\n\n${table(["device", "kind", "name", "capabilities"], rows)}${kernels}`;
}

export const devicesCommand: Command = {
  spec,
  run(args) {
    const { values } = parseCommand(spec, args);
    const local = getLocalInfo();
    return values.json ? toJson(local) : formatDevices(local);
  },
};
