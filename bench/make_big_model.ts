/** Writes a model folder whose 256 MiB of weights sit in an external file, for load benchmarks. */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { buildModel, ExternalDataFile, GraphBuilder } from "../src/onnx/builder.ts";

const folder = process.argv[2] ?? "out/big-model";
mkdirSync(folder, { recursive: true });
const file = new ExternalDataFile("weights.bin");
const g = new GraphBuilder("big");
g.input("x", "float32", [1, 4096]);
let value = "x";
for (let i = 0; i < 4; i++) {
  const weights = new Float32Array(4096 * 4096).fill(0.001 * (i + 1));
  g.initializer(`w${i}`, "float32", [4096, 4096], weights, { external: file });
  value = g.node("MatMul", [value, `w${i}`]);
}
g.node("Identity", [value], { outputs: ["y"] });
g.output("y", "float32", [1, 4096]);
writeFileSync(join(folder, "model.onnx"), buildModel(g));
writeFileSync(join(folder, "weights.bin"), file.bytes());
console.log(join(folder, "model.onnx"));
