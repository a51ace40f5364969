/**
 * Device names as code ported from OpenVINO writes them. Tessera names devices "cpu" and
 * "vulkan:N" (and "auto"); OpenVINO writes "CPU", "GPU", "GPU.1". "AUTO" means the same in both,
 * so it is taken in any case, and so is its priority list ("AUTO:GPU,CPU"), whose order is
 * exactly Tessera's device list. A plain OpenVINO name is refused with Tessera's spelling rather
 * than translated: "GPU" would have to be guessed as one particular Vulkan device.
 */
import { InvalidArgumentError, NotImplementedError } from "./errors.ts";

/** Tessera's name for one of OpenVINO's device names ("CPU" → "cpu", "GPU.1" → "vulkan:1"), or undefined. */
export function tesseraDeviceName(name: string): string | undefined {
  if (name === "CPU") return "cpu";
  const gpu = /^GPU(?:\.(\d+))?$/.exec(name);
  return gpu ? `vulkan:${gpu[1] ?? 0}` : undefined;
}

/**
 * The devices load option for a device argument: "AUTO" in any case, "AUTO:GPU,CPU", or
 * Tessera's own names ("cpu", "vulkan:0", "auto", "vulkan:0,cpu"). OpenVINO's other names are
 * InvalidArgumentError naming Tessera's spelling; devices Tessera has no backend for are
 * NotImplementedError. Names it does not recognise go on to the library, which lists its own.
 */
export function devicesFromArgument(device: string): string | string[] {
  const trimmed = device.trim();
  const upper = trimmed.toUpperCase();
  if (upper === "AUTO") return "auto";
  if (upper.startsWith("AUTO:")) return trimmed.slice(5).split(",").map((name) => translated(name.trim(), trimmed));
  const scheme = /^(MULTI|HETERO|BATCH):(.*)$/.exec(trimmed);
  if (scheme) {
    const list = scheme[2]!.split(",").map((name) => translated(name.trim(), trimmed));
    throw new InvalidArgumentError(`device "${trimmed}": Tessera places each operation on the first of its devices that runs it, falling back along the list: pass "${list.join(",")}"`);
  }
  for (const name of trimmed.split(",")) refuseForeign(name.trim());
  return trimmed;
}

/** One name of an AUTO priority list, in Tessera's spelling. */
function translated(name: string, whole: string): string {
  const tessera = tesseraDeviceName(name);
  if (tessera) return tessera;
  refuseForeign(name, whole);
  return name;
}

function refuseForeign(name: string, within?: string): void {
  const where = within ? ` in "${within}"` : "";
  const tessera = tesseraDeviceName(name);
  if (tessera) throw new InvalidArgumentError(`device "${name}"${where} is OpenVINO's spelling: Tessera names it "${tessera}"`);
  if (/^(NPU|GNA|VPU|MYRIAD|HDDL|FPGA)(\.\d+)?$/.test(name)) {
    throw new NotImplementedError(`device "${name}"${where}: Tessera has no backend for it (its devices are "cpu" and "vulkan:N")`);
  }
}
