/**
 * A model loaded on a remote server, with the local Model's surface where it can travel: names,
 * TensorInfo, operations, isDynamic, inferShape, run, createRequest and profile. Against a server
 * with Tessera's extension these say all the local Model says; against a plain OIP v2 server,
 * what its model metadata says, and the rest (operations, inferShape, profiling) is
 * NotImplementedError naming the extension.
 */
import { InvalidArgumentError, InvalidStateError, NotImplementedError, RemoteError } from "../errors.ts";
import type { DimValue, InputShapes, Operation, TensorInfo } from "../model.ts";
import type { ProfileOptions, ProfileResult } from "../profile/events.ts";
import type { Inputs, RunOptions } from "../request.ts";
import type { Tensor } from "../tensor.ts";
import { type Exchange, type Inferring, RemoteRequest } from "./request.ts";
import type { Transport } from "./transport.ts";
import { decodeInference, encodeInference, inputsByName } from "./wire.ts";

/** What the server told of the model when it was loaded. */
export interface RemoteModelDescription {
  name: string;
  version: string;
  inputs: TensorInfo[];
  outputs: TensorInfo[];
  /** Only from Tessera's extension. */
  operations?: Operation[];
  isDynamic: boolean;
}

/** How this session talks to the server: the transport and what the server offers. */
export interface Link {
  transport: Transport;
  binary: boolean;
  extension: boolean;
}

export function needsExtension(what: string): NotImplementedError {
  return new NotImplementedError(`${what} needs Tessera's extension, which this server does not list (a plain OIP v2 server, or tessera serve --no-extensions)`);
}

export class RemoteModel implements Inferring {
  /** The model's name on the server. */
  readonly name: string;
  readonly version: string;
  readonly inputs: TensorInfo[];
  readonly outputs: TensorInfo[];
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
  /** Whether any input has a dim the model does not fix. */
  readonly isDynamic: boolean;
  readonly #operations: Operation[] | undefined;
  readonly #link: Link;
  readonly #path: string;
  #disposed = false;

  /** @internal Use session.loadModel(). */
  constructor(description: RemoteModelDescription, link: Link) {
    this.name = description.name;
    this.version = description.version;
    this.inputs = description.inputs;
    this.outputs = description.outputs;
    this.inputNames = this.inputs.map((info) => info.name);
    this.outputNames = this.outputs.map((info) => info.name);
    this.isDynamic = description.isDynamic;
    this.#operations = description.operations;
    this.#link = link;
    // A server that numbers no versions (MLServer) is asked without one.
    this.#path = encodeURIComponent(this.name) + (this.version === "" ? "" : `/versions/${encodeURIComponent(this.version)}`);
  }

  get disposed(): boolean {
    return this.#disposed;
  }

  #guard(): void {
    if (this.#disposed) throw new InvalidStateError(`remote model '${this.name}' is disposed`);
  }

  /** Every node of the main graph, in execution order, as the server's model has them. */
  get operations(): readonly Operation[] {
    this.#guard();
    if (this.#operations === undefined) throw needsExtension("a remote model's operations");
    return this.#operations;
  }

  /** TensorInfo of an input or output by name. */
  getTensor(name: string): TensorInfo {
    this.#guard();
    const info = this.inputs.find((i) => i.name === name) ?? this.outputs.find((i) => i.name === name);
    if (info === undefined) throw new InvalidArgumentError(`remote model '${this.name}' has no input or output named '${name}' (a remote model describes only those)`);
    return info;
  }

  /** The shape `output` takes for these input shapes, computed by the server. */
  async inferShape(output: string, inputShapes: InputShapes): Promise<DimValue[]> {
    this.#guard();
    if (!this.#link.extension) throw needsExtension("inferShape");
    const answer = await this.#link.transport.json("POST", `/v2/tessera/models/${this.#path}/infer_shape`, { output, input_shapes: inputShapes }) as { shape?: unknown };
    if (!Array.isArray(answer.shape)) throw new RemoteError("the server's infer_shape answer has no shape");
    return answer.shape as DimValue[];
  }

  /** A request of its own, for infer/wait/cancel/getTensor and profile. */
  createRequest(): RemoteRequest {
    this.#guard();
    return new RemoteRequest(this, this);
  }

  /** Runs once on the server and resolves with the outputs by name (all, or those selected). */
  async run(inputs: Inputs, options: RunOptions | readonly string[] = {}): Promise<Record<string, Tensor>> {
    using request = this.createRequest();
    return await request.run(inputs, options);
  }

  /** Profiles once on a request of its own (see RemoteRequest.profile). */
  async profile(inputs: Inputs, options: ProfileOptions = {}): Promise<ProfileResult> {
    using request = this.createRequest();
    return await request.profile(inputs, undefined, options);
  }

  /** @internal One inference, or a profiled one, over the wire (RemoteRequest calls it). */
  async exchange(given: Inputs, outputs: readonly string[] | undefined, signal: AbortSignal, profile?: ProfileOptions): Promise<Exchange> {
    this.#guard();
    if (profile !== undefined && !this.#link.extension) throw needsExtension("profiling");
    const inputs = inputsByName(given, this.inputs);
    const unknown = outputs?.find((name) => !this.outputNames.includes(name));
    if (unknown !== undefined) throw new InvalidArgumentError(`remote model '${this.name}' has no output named '${unknown}' (outputs: ${this.outputNames.join(", ")})`);
    const { body, headers } = encodeInference(inputs, outputs, this.#link.binary, profile === undefined ? undefined : { profile });
    const endpoint = profile === undefined ? `/v2/models/${this.#path}/infer` : `/v2/tessera/models/${this.#path}/profile`;
    const reply = await this.#link.transport.call("POST", endpoint, { body, headers, signal });
    const decoded = decodeInference(reply.body, reply.headers.get("inference-header-content-length"));
    if (profile === undefined) return { inputs, outputs: decoded.outputs };
    const result = decoded.header.profile as ProfileResult | undefined;
    if (result === undefined || !Array.isArray(result.events)) throw new RemoteError("the server's profile answer has no profile");
    return { inputs, outputs: decoded.outputs, profile: result };
  }

  /** Forgets the model here; the server keeps it loaded for its other clients. Safe to call twice. */
  dispose(): void {
    this.#disposed = true;
  }

  [Symbol.dispose](): void {
    this.dispose();
  }
}
