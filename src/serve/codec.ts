/**
 * The server's side of the tensor codec: a request's input checked against the model's
 * TensorInfo (datatype, rank, fixed dims) and decoded, and an output encoded for the response.
 * The wire forms themselves are src/oip/elements.ts, shared with the remote client.
 */
import { InvalidArgumentError } from "../errors.ts";
import type { TensorInfo } from "../model.ts";
import { datatypeForDtype } from "../oip/datatypes.ts";
import { dtypeOfWire, tensorFromWire, tensorToWire, type WireTensor } from "../oip/elements.ts";
import type { Tensor } from "../tensor.ts";
import { asBadRequest, badRequest, HttpError } from "./http-error.ts";
import type { RequestInput } from "./protocol.ts";

export type EncodedOutput = WireTensor;

/** The model's shape for an input, checked against what the request says: rank and fixed dims. */
function checkShape(info: TensorInfo, shape: readonly number[]): void {
  const expected = info.shape;
  if (expected === null) return;
  const fits = expected.length === shape.length && expected.every((d, i) => typeof d !== "number" || d < 0 || d === shape[i]);
  if (!fits) {
    const wanted = expected.map((d) => (typeof d === "number" && d >= 0 ? d : -1));
    throw badRequest(`input '${info.name}' has shape [${shape.join(", ")}]; the model takes [${wanted.join(", ")}]`);
  }
}

/**
 * One input as a tensor. `binary` is this input's slice of the binary section when it came that
 * way (parameters.binary_data_size), else the elements are in `input.data`.
 */
export function decodeInput(input: RequestInput, info: TensorInfo, binary: Uint8Array | null): Tensor {
  const dtype = asBadRequest(() => dtypeOfWire(input.datatype, input.name), "input ");
  if (info.kind !== "tensor" || dtype !== info.dtype) {
    throw badRequest(`input '${input.name}' is ${input.datatype}; the model takes ${datatypeForDtype(info.dtype) ?? info.dtype ?? "a non-tensor value"}`);
  }
  checkShape(info, input.shape);
  return asBadRequest(() => tensorFromWire(input, binary), "input ");
}

/** One output for the response; its bytes are returned apart when it goes as binary data. */
export function encodeOutput(name: string, output: Tensor, binary: boolean): { output: EncodedOutput; bytes: Uint8Array | null } {
  try {
    const { wire, bytes } = tensorToWire(name, output, binary);
    return { output: wire, bytes };
  } catch (error) {
    // The model made a value OIP cannot carry: the server's limit, not the client's mistake.
    if (error instanceof InvalidArgumentError) throw new HttpError(500, `output ${error.message}`);
    throw error;
  }
}
