/**
 * onnxruntime's JavaScript API, run by Tessera: code written for onnxruntime-node runs with only
 * its import changed.
 *
 *   import * as ort from "tessera/ort";   // was: from "onnxruntime-node"
 *   const session = await ort.InferenceSession.create("model.onnx", { executionProviders: ["cpu"] });
 *   const { y } = await session.run({ x: new ort.Tensor("float32", data, [1, 4]) });
 *
 * Everything exported is onnxruntime-common's own (InferenceSession, Tensor, env, ...); Tessera
 * is registered as its backend. docs/porting.md maps onnxruntime's options to Tessera's.
 */
import { registerBackend } from "onnxruntime-common";
import { tesseraBackend } from "./backend.ts";
import { executionProviderNames } from "./options.ts";

/** onnxruntime-node registers its backends at this priority; an equal one makes a clash loud. */
const priority = 100;

for (const name of executionProviderNames) registerBackend(name, tesseraBackend, priority);

export * from "onnxruntime-common";
