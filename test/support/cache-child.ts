/**
 * Loads a model in a process of its own and prints, as one JSON line, where its packed weights
 * came from, the library's CPU level, and its output's bytes (hex): for the cache tests that need
 * another CPU level (TESSERA_CPU_LEVEL) or processes loading at once.
 * Usage: bun cache-child.ts <model.onnx> <cache folder>
 */
import * as rt from "../../src/index.ts";
import { inputShape, packedInput } from "./cache-models.ts";

const [path, cacheDir] = process.argv.slice(2);
const model = rt.loadModelSync(path!, { cacheDir: cacheDir! });
const { y } = model.runSync<rt.Tensor>({ x: rt.tensor(packedInput(), { shape: inputShape }) });
const level = rt.getLocalInfo().devices.find((d) => d.cpu)!.cpu!.level;
const output = Buffer.from(new Uint8Array((y!.toTypedArray() as Float32Array).slice().buffer)).toString("hex");
console.log(JSON.stringify({ weights: model.weights, level, output }));
model.dispose();
