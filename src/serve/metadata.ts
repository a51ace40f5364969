/** Server and model metadata as OIP v2 describes them, the same over REST and gRPC. */
import type { Model, TensorInfo } from "../model.ts";
import { version as runtimeVersion } from "../runtime.ts";
import { datatypeForDtype } from "../oip/datatypes.ts";

export interface TensorMetadata {
  name: string;
  datatype: string;
  shape: number[];
}

/** Which optional parts a server offers; each is on unless turned off. */
export interface Offered {
  /** Triton's binary tensor data extension. */
  binaryTensorData?: boolean;
  /** Tessera's own endpoints under /v2/tessera (extension.ts). */
  extensions?: boolean;
}

export function serverMetadata(offered: Offered = {}): { name: string; version: string; extensions: string[] } {
  const extensions = [...(offered.binaryTensorData === false ? [] : ["binary_tensor_data"]), "model_repository", ...(offered.extensions === false ? [] : ["tessera"])];
  return { name: "tessera", version: runtimeVersion, extensions };
}

/** A tensor as model metadata describes it: symbolic or unknown dims are -1. */
function describe(info: TensorInfo): TensorMetadata {
  const shape = info.shape === null ? [-1] : info.shape.map((d) => (typeof d === "number" && d >= 0 ? d : -1));
  return { name: info.name, datatype: datatypeForDtype(info.dtype) ?? String(info.dtype).toUpperCase(), shape };
}

export function modelMetadata(name: string, version: string, model: Model) {
  return { name, versions: [version], platform: "onnx", inputs: model.inputs.map(describe), outputs: model.outputs.map(describe) };
}
