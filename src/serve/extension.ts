/**
 * Tessera's own endpoints under /v2/tessera, listed as "tessera" in the server metadata's
 * extensions: what plain OIP v2 cannot say, for the remote client (src/remote). Host and device
 * facts; loading a repository model with load options; a model's full description (TensorInfo
 * with symbolic dims, operations); shape inference; and profiled inference, which answers as
 * an inference does (JSON or binary tensor data) with the profile's events and durations in
 * its header. Tokens, size limits and error bodies are the same as for every other endpoint.
 */
import { hostInfo, devices } from "../device.ts";
import { InvalidArgumentError, NotImplementedError, RuntimeException } from "../errors.ts";
import { checkLoadOptionValues, type InputShapes, type LoadOptions, type Model } from "../model.ts";
import { checkOptionKeys } from "../option-keys.ts";
import type { ProfileOptions, ProfileResult } from "../profile/events.ts";
import { profileSettings } from "../profile/profile-loop.ts";
import { version as runtimeVersion } from "../runtime.ts";
import type { Tensor } from "../tensor.ts";
import { readBody } from "./body.ts";
import { asBadRequest, badRequest, HttpError, notFound } from "./http-error.ts";
import { infer } from "./infer.ts";
import type { Repository } from "./repository.ts";
import { modelAtPath } from "../oip/model-path.ts";
import { inferenceResponse, json } from "./responses.ts";
import type { ServedModel } from "./served-model.ts";

export const extensionPrefix = "/v2/tessera/";

/** Load options a client may not set: they would write files on the server's host. */
const refusedOverNetwork: ReadonlySet<string> = new Set<keyof LoadOptions>(["intermediateSavePath", "cacheDir"]);

const profileOptionNames = new Set<keyof ProfileOptions>(["repeat", "warmup", "warmupTimeUs", "stopThresholdUs", "checkPeriod", "eventBufferSize"]);

const modelPath = /^\/v2\/tessera\/models\/([^/]+)(?:\/versions\/([^/]+))?(\/infer_shape|\/profile)?$/;

export interface ExtensionContext {
  repository: Repository;
  maxRequestBytes: number;
  /** Whether the binary tensor data extension is offered (profiled inference obeys it too). */
  binaryTensorData: boolean;
}

/** A library error caused by what the client sent, as a 400 (501 for what Tessera cannot do yet). */
function refusal(error: unknown): unknown {
  if (error instanceof NotImplementedError) return new HttpError(501, error.message.split("\n")[0]!);
  if (error instanceof RuntimeException) return badRequest(error.message.split("\n")[0]!);
  return error;
}

function decoded(raw: string): string {
  try {
    return decodeURIComponent(raw);
  } catch {
    throw badRequest("the URL is malformed");
  }
}

async function jsonBody(request: Request, limit: number): Promise<Record<string, unknown>> {
  const body = await readBody(request, limit);
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder().decode(body));
  } catch {
    throw badRequest("the request body is not valid JSON");
  }
  if (value === null || typeof value !== "object" || Array.isArray(value)) throw badRequest("the request body must be a JSON object");
  return value as Record<string, unknown>;
}

function expectMethod(request: Request, method: string): void {
  if (request.method !== method) throw new HttpError(405, `${request.method} is not allowed here; use ${method}`);
}

/** The host's facts and devices: what `tessera devices` prints, plus the runtime's version. */
function describeHost() {
  return { runtime: "tessera", version: runtimeVersion, host: hostInfo(), devices: devices() };
}

/** Load options from a request, checked as rt.loadModel checks them, values included. */
function loadOptionsFrom(value: unknown): LoadOptions {
  if (value === undefined) return {};
  try {
    const refused = value !== null && typeof value === "object" ? Object.keys(value).find((key) => refusedOverNetwork.has(key)) : undefined;
    if (refused) throw new InvalidArgumentError(`load option ${refused} is not taken over the network: it would write files on the server`);
    checkLoadOptionValues(value);
    return value;
  } catch (error) {
    throw refusal(error);
  }
}

/** POST /v2/tessera/load: {"path": "<name>[.onnx]" or "<name>/<version>[/model.onnx]", "options": {...}}. */
async function load(request: Request, context: ExtensionContext): Promise<Response> {
  const body = await jsonBody(request, context.maxRequestBytes);
  if (typeof body.path !== "string") throw badRequest("load needs a path: the model's name or path in the repository");
  const { name, version } = asBadRequest(() => modelAtPath(body.path as string));
  const options = loadOptionsFrom(body.options);
  const loaded = await context.repository.load(name, { version, options });
  return json(request, { name, version: loaded });
}

/** The model's full description; TensorInfo and Operation are plain data, as the local Model has them. */
function describeModel(name: string, version: string, model: Model) {
  return {
    name,
    version,
    graphName: model.name,
    inputs: model.inputs,
    outputs: model.outputs,
    operations: model.operations,
    isDynamic: model.isDynamic,
  };
}

async function inferShape(request: Request, model: Model, context: ExtensionContext): Promise<Response> {
  const body = await jsonBody(request, context.maxRequestBytes);
  if (typeof body.output !== "string") throw badRequest("infer_shape needs the output's name");
  if (body.input_shapes === null || typeof body.input_shapes !== "object") throw badRequest("infer_shape needs input_shapes: shapes by input name, or an array in input order");
  try {
    return json(request, { shape: model.inferShape(body.output, body.input_shapes as InputShapes) });
  } catch (error) {
    throw refusal(error);
  }
}

/** The profile options a request carries in parameters.profile, checked with their defaults. */
function profileOptionsOf(body: Uint8Array, headerLength: string | null): ProfileOptions {
  // The header is parsed here only for its options; infer() parses and checks the rest.
  let options: unknown;
  try {
    const length = headerLength === null ? body.length : Number(headerLength);
    options = (JSON.parse(new TextDecoder().decode(body.subarray(0, length))) as { parameters?: { profile?: unknown } }).parameters?.profile;
  } catch {
    return {}; // not JSON: infer() answers with the reason
  }
  if (options === undefined) return {};
  try {
    checkOptionKeys(options, profileOptionNames, "profile option");
    return profileSettings(options as ProfileOptions);
  } catch (error) {
    throw refusal(error);
  }
}

/** An inference whose run is profiled: the response header gains `profile` (runs, dropped, events, durations). */
async function profile(request: Request, served: ServedModel, name: string, version: string, context: ExtensionContext): Promise<Response> {
  const model = served.model;
  const body = await readBody(request, context.maxRequestBytes);
  const headerLength = request.headers.get("inference-header-content-length");
  const options = profileOptionsOf(body, headerLength);
  let profiled: ProfileResult | null = null;
  const result = await infer(body, headerLength, served, name, version, context.binaryTensorData, async (inputs, outputNames) => {
    using run = model.createRequest();
    run.selectOutputs(outputNames);
    // A client that hangs up (or cancels) stops the profile: its run in flight is cancelled,
    // which ends the schedule, rather than the server running out a long profile for no one.
    const stop = () => run.cancel();
    request.signal.addEventListener("abort", stop);
    try {
      profiled = await run.profileAsync(inputs, undefined, options);
    } finally {
      request.signal.removeEventListener("abort", stop);
    }
    return run.getOutputs<Tensor>() as Record<string, Tensor>;
  });
  return inferenceResponse(request, { ...result.header, profile: profiled }, result.binary);
}

/** Answers a request under /v2/tessera/ (the handler has checked its token). */
export async function routeExtension(request: Request, path: string, context: ExtensionContext): Promise<Response> {
  if (path === "/v2/tessera/host") {
    expectMethod(request, "GET");
    return json(request, describeHost());
  }
  if (path === "/v2/tessera/load") {
    expectMethod(request, "POST");
    return await load(request, context);
  }
  const match = modelPath.exec(path);
  if (!match) throw notFound(`no endpoint ${path}`);
  const name = decoded(match[1]!);
  const { model, version, served } = context.repository.model(name, match[2] === undefined ? undefined : decoded(match[2]));
  if (match[3] === undefined) {
    expectMethod(request, "GET");
    return json(request, describeModel(name, version, model));
  }
  expectMethod(request, "POST");
  if (match[3] === "/infer_shape") return await inferShape(request, model, context);
  return await profile(request, served, name, version, context);
}
