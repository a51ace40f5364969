/** `tessera info <model>`: what a model is, as a table or as JSON. */
import { loadModelSync, type Model, type TensorInfo } from "../model.ts";
import { modelPath } from "./args.ts";
import { type Command, type CommandSpec, parseCommand } from "./command.ts";
import { toJson } from "./json.ts";
import { passphraseFileOption, passphraseFromFile } from "./passphrase.ts";
import { table } from "./table.ts";

const spec = {
  name: "info",
  operands: "<model>",
  summary: "a model's signature, shapes, metadata and operations",
  description: "Loads a model and prints what it is: name, producer, IR version and opsets, whether any shape is " +
    "dynamic, the parameter count, the operations by type, how they are split between devices, the copies between " +
    "devices, the metadata, and each input and output with its type, shape, size and quantization.",
  options: {
    json: { type: "boolean", help: "print the same facts as JSON, as Model.toJSON() gives them" },
    "passphrase-file": passphraseFileOption,
  },
} as const satisfies CommandSpec;

export const infoCommand: Command = {
  spec,
  run(args) {
    const { values, positionals } = parseCommand(spec, args);
    using model = loadModelSync(modelPath("info", positionals), { passphrase: passphraseFromFile(values["passphrase-file"]) });
    return values.json ? toJson(model) : formatInfo(model);
  },
};

function shapeText(info: TensorInfo): string {
  return info.shape === null ? "?" : `[${info.shape.join(", ")}]`;
}

function tensorRows(infos: readonly TensorInfo[]): string[][] {
  return infos.map((t) => [
    t.name,
    t.kind === "tensor" ? (t.dtype ?? "?") : `${t.kind}<${t.dtype ?? "?"}>`,
    shapeText(t),
    t.byteSize === null ? "dynamic" : String(t.byteSize),
    t.quantization ? `${t.quantization.scheme} (${t.quantization.scales.length})` : "",
  ]);
}

export function formatInfo(model: Model): string {
  const opsetText = model.opsets.map((o) => `${o.domain} ${o.version}`).join(", ");
  const counts = new Map<string, number>();
  for (const op of model.operations) counts.set(op.opType, (counts.get(op.opType) ?? 0) + 1);
  const lines = [
    `model      ${model.name || "(unnamed)"}`,
    `producer   ${[model.producerName, model.producerVersion].filter(Boolean).join(" ") || "(unknown)"}`,
    `IR         ${model.irVersion}, opsets ${opsetText}`,
    `dynamic    ${model.isDynamic ? "yes" : "no"}`,
    `parameters ${model.parameterCount.toLocaleString("en-US")}`,
    `operations ${model.operations.length} (${[...counts].sort((a, b) => b[1] - a[1]).map(([op, n]) => `${op} ${n}`).join(", ")})`,
    `partition  ${model.partition.map((island) => `${island.device} ${island.count === 1 ? `op ${island.first}` : `ops ${island.first}-${island.first + island.count - 1}`}`).join(", ")}`,
  ];
  if (model.copies.length) {
    lines.push(`copies     ${model.copies.map((c) => `${c.value} ${c.from}->${c.to}${c.atLoad ? " (at load)" : ""}`).join(", ")}`);
  }
  const metadata = Object.entries(model.metadata);
  if (metadata.length) lines.push("", table(["metadata", "value"], metadata));
  const headers = ["name", "type", "shape", "bytes", "quantization"];
  lines.push("", "inputs", table(headers, tensorRows(model.inputs)));
  lines.push("", "outputs", table(headers, tensorRows(model.outputs)));
  return lines.join("\n");
}
