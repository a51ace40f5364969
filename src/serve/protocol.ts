/**
 * The shape of OIP v2 inference requests: the JSON header (and, with Triton's binary tensor data
 * extension, the bytes after it) checked field by field, so the codec only meets well-formed input.
 */
import { splitBody as splitFramed } from "../oip/framing.ts";
import { asBadRequest, badRequest } from "./http-error.ts";

export type Parameters = Record<string, unknown>;

export interface RequestInput {
  name: string;
  shape: number[];
  datatype: string;
  parameters: Parameters;
  data?: unknown;
}

export interface RequestOutput {
  name: string;
  parameters: Parameters;
}

export interface InferenceRequest {
  id?: string;
  parameters: Parameters;
  inputs: RequestInput[];
  /** Absent: every output of the model. */
  outputs?: RequestOutput[];
}

/** Splits a request body into its JSON header and binary section (see src/oip/framing.ts). */
export function splitBody(body: Uint8Array, headerLength: string | null): { header: unknown; binary: Uint8Array } {
  return asBadRequest(() => splitFramed(body, headerLength), "request: ");
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

function parametersOf(value: unknown, where: string): Parameters {
  if (value === undefined) return {};
  if (!isObject(value)) throw badRequest(`${where}: parameters must be an object`);
  return value;
}

function nameOf(value: unknown, where: string): string {
  if (typeof value !== "string" || value === "") throw badRequest(`${where} needs a name`);
  return value;
}

function shapeOf(value: unknown, where: string): number[] {
  if (!Array.isArray(value) || !value.every((d) => Number.isSafeInteger(d) && d >= 0)) {
    throw badRequest(`${where}: shape must be an array of non-negative integers`);
  }
  return value as number[];
}

/** The request's fields, checked; what they mean for a given model is the codec's to check. */
export function parseInferenceRequest(header: unknown): InferenceRequest {
  if (!isObject(header)) throw badRequest("the request must be a JSON object");
  if (header.id !== undefined && typeof header.id !== "string") throw badRequest("id must be a string");
  if (!Array.isArray(header.inputs)) throw badRequest("the request needs an inputs array");
  const inputs = header.inputs.map((input: unknown, i): RequestInput => {
    if (!isObject(input)) throw badRequest(`inputs[${i}] must be an object`);
    const name = nameOf(input.name, `inputs[${i}]`);
    if (typeof input.datatype !== "string") throw badRequest(`input '${name}' needs a datatype`);
    return { name, shape: shapeOf(input.shape, `input '${name}'`), datatype: input.datatype, parameters: parametersOf(input.parameters, `input '${name}'`), data: input.data };
  });
  let outputs: RequestOutput[] | undefined;
  if (header.outputs !== undefined) {
    if (!Array.isArray(header.outputs)) throw badRequest("outputs must be an array");
    outputs = header.outputs.map((output: unknown, i): RequestOutput => {
      if (!isObject(output)) throw badRequest(`outputs[${i}] must be an object`);
      const name = nameOf(output.name, `outputs[${i}]`);
      return { name, parameters: parametersOf(output.parameters, `output '${name}'`) };
    });
  }
  return { ...(header.id === undefined ? {} : { id: header.id }), parameters: parametersOf(header.parameters, "the request"), inputs, outputs };
}

/**
 * The repository index request's body: none (tritonclient sends none) lists every model; a JSON
 * object whose `ready` is true lists only the models ready for inference.
 */
export function parseIndexRequest(body: Uint8Array): { ready: boolean } {
  if (body.length === 0) return { ready: false };
  const { header } = splitBody(body, null);
  if (!isObject(header)) throw badRequest("the repository index request must be a JSON object");
  const { ready = false } = header;
  if (typeof ready !== "boolean") throw badRequest("the repository index request's 'ready' must be true or false");
  return { ready };
}
