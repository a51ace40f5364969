/**
 * One inference: an OIP v2 request decoded into tensors for a loaded model, run asynchronously
 * (on Tessera's native workers, so many requests are in flight at once), and the outputs encoded
 * as the request asked: JSON data, or binary tensor data appended after the JSON.
 */
import type { TensorInfo } from "../model.ts";
import type { Tensor } from "../tensor.ts";
import { decodeInput, encodeOutput, type EncodedOutput } from "./codec.ts";
import { binarySlices as sliceBinary } from "../oip/framing.ts";
import { asBadRequest, badRequest, HttpError, isClientMistake } from "./http-error.ts";
import { type InferenceRequest, parseInferenceRequest, splitBody } from "./protocol.ts";
import type { ServedModel } from "./served-model.ts";

export interface InferenceResult {
  header: { model_name: string; model_version: string; id?: string; outputs: EncodedOutput[] };
  binary: Uint8Array[];
}

/** Each input's binary slice, in input order, as parameters.binary_data_size lays them out. */
function binarySlices(request: InferenceRequest, binary: Uint8Array): (Uint8Array | null)[] {
  return asBadRequest(() => sliceBinary(request.inputs, binary, "input"));
}

/** The model's inputs as tensors; every input the model needs must be given, and nothing else. */
function decodeInputs(request: InferenceRequest, slices: (Uint8Array | null)[], infos: ReadonlyMap<string, TensorInfo>): Record<string, Tensor> {
  const tensors: Record<string, Tensor> = {};
  try {
    request.inputs.forEach((input, i) => {
      const info = infos.get(input.name);
      if (!info) throw badRequest(`the model has no input '${input.name}'`);
      if (tensors[input.name]) throw badRequest(`input '${input.name}' is given twice`);
      tensors[input.name] = decodeInput(input, info, slices[i]!);
    });
    const missing = [...infos.values()].find((info) => !info.optOut && !tensors[info.name]);
    if (missing) throw badRequest(`input '${missing.name}' is missing`);
    return tensors;
  } catch (error) {
    for (const t of Object.values(tensors)) t.dispose();
    throw error;
  }
}

/** Which outputs to compute, and which of them go as binary data. */
function chosenOutputs(request: InferenceRequest, names: readonly string[]): { name: string; binary: boolean }[] {
  const binaryByDefault = request.parameters.binary_data_output === true;
  if (request.outputs === undefined) return names.map((name) => ({ name, binary: binaryByDefault }));
  return request.outputs.map((output) => {
    if (!names.includes(output.name)) throw badRequest(`the model has no output '${output.name}'`);
    const binary = output.parameters.binary_data;
    return { name: output.name, binary: typeof binary === "boolean" ? binary : binaryByDefault };
  });
}

/** Whether a request uses Triton's binary tensor data anywhere: its body, an input, or an output. */
function usesBinary(request: InferenceRequest, headerLength: string | null): boolean {
  return headerLength !== null || request.parameters.binary_data_output === true ||
    request.inputs.some((input) => input.parameters.binary_data_size !== undefined) ||
    (request.outputs ?? []).some((output) => output.parameters.binary_data === true);
}

/** Computes the named outputs from the inputs: model.run, or a profiled run (extension.ts). */
export type Execute = (inputs: Record<string, Tensor>, outputNames: string[]) => Promise<Record<string, Tensor>>;

/**
 * Runs one inference request's body against a loaded model. Without `binaryAllowed` (a server
 * that does not list the binary tensor data extension), a request that uses it is refused.
 */
export function infer(body: Uint8Array, headerLength: string | null, served: ServedModel, name: string, version: string, binaryAllowed = true, execute?: Execute): Promise<InferenceResult> {
  const { header, binary } = splitBody(body, headerLength);
  const request = parseInferenceRequest(header);
  if (!binaryAllowed && usesBinary(request, headerLength)) throw badRequest("this server does not take binary tensor data: send the elements as JSON data");
  return runInference(request, binarySlices(request, binary), served, name, version, execute);
}

/**
 * Runs a checked request against a loaded model, through its dynamic batcher when it has one
 * (unless `execute` runs it its own way). `slices` holds each input's binary data, in input
 * order, or null for an input whose elements are in its `data`.
 */
export async function runInference(request: InferenceRequest, slices: (Uint8Array | null)[], served: ServedModel, name: string, version: string, execute?: Execute): Promise<InferenceResult> {
  const outputs = chosenOutputs(request, served.model.outputNames);
  let inputs: Record<string, Tensor> = {};
  let results: Record<string, Tensor> = {};
  try {
    inputs = decodeInputs(request, slices, served.inputs);
    const names = outputs.map((o) => o.name);
    results = await (execute ? execute(inputs, names) : served.run(inputs, names));
    const encoded = outputs.map((o) => encodeOutput(o.name, results[o.name]!, o.binary));
    return {
      header: { model_name: name, model_version: version, ...(request.id === undefined ? {} : { id: request.id }), outputs: encoded.map((e) => e.output) },
      binary: encoded.flatMap((e) => (e.bytes === null ? [] : [e.bytes])),
    };
  } catch (error) {
    if (isClientMistake(error)) throw new HttpError(400, error.message.split("\n")[0]!);
    throw error;
  } finally {
    for (const t of Object.values(inputs)) t.dispose();
    for (const t of Object.values(results)) t?.dispose?.();
  }
}
