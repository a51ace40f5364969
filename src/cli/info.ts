/** `tessera info <model>`: what a model is, as a table or as JSON. */
import type { Model, TensorInfo } from "../model.ts";
import { table } from "./table.ts";

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
