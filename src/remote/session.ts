/**
 * rt.remote.connect(host, options): a session with one OIP v2 server, checked at connect (it must
 * answer its server metadata). What the server lists in `extensions` decides how the session
 * talks: binary tensor data or JSON, and Tessera's own endpoints (host facts, load options,
 * model details, profiling) or only what plain OIP gives.
 */
import type { DeviceInfo, HostInfo } from "../device.ts";
import { InvalidArgumentError, InvalidStateError, RemoteError } from "../errors.ts";
import { checkLoadOptions, type LoadOptions } from "../model.ts";
import { modelAtPath } from "../oip/model-path.ts";
import { type Link, needsExtension, RemoteModel, type RemoteModelDescription } from "./model.ts";
import { type ConnectOptions, Transport } from "./transport.ts";
import { infoFromMetadata, type TensorMetadata } from "./wire.ts";

/** What the server says of itself: always its metadata; with Tessera's extension, its host and devices too. */
export interface RemoteHostInfo {
  /** The server's name and version from its metadata ("tessera", "0.1.0"; "mlserver", ...). */
  server: string;
  version: string;
  extensions: string[];
  /** Only from Tessera's extension. */
  host?: HostInfo;
  devices?: DeviceInfo[];
}

interface ServerMetadata {
  name: string;
  version: string;
  extensions: string[];
}

function checkMetadata(value: unknown): ServerMetadata {
  const meta = value as Partial<ServerMetadata> | null;
  if (meta === null || typeof meta !== "object" || typeof meta.name !== "string") throw new RemoteError("the server's metadata (GET /v2) is not OIP v2's");
  const extensions = Array.isArray(meta.extensions) ? meta.extensions.filter((e): e is string => typeof e === "string") : [];
  return { name: meta.name, version: String(meta.version ?? ""), extensions };
}

export class RemoteSession {
  /** The server's base URL ("http://127.0.0.1:8000"). */
  readonly url: string;
  readonly hostInfo: RemoteHostInfo;
  readonly #link: Link;
  #closed = false;

  /** @internal Use rt.remote.connect(). */
  constructor(link: Link, hostInfo: RemoteHostInfo) {
    this.#link = link;
    this.url = link.transport.url;
    this.hostInfo = hostInfo;
  }

  /** Whether the server lists Tessera's extension (load options, model details, profiling). */
  get hasExtension(): boolean {
    return this.#link.extension;
  }

  /** Whether inference goes as binary tensor data (the server lists it) rather than JSON. */
  get usesBinary(): boolean {
    return this.#link.binary;
  }

  /**
   * Loads a model of the server's repository: `path` is its name, `name.onnx`, `name/<version>`
   * or `name/<version>/model.onnx`. `options` are rt.loadModel's, checked here first the same
   * way; they need Tessera's extension (which loads the model with them). On a plain server the
   * model is loaded through the repository API if it is not ready, then described from its
   * metadata.
   */
  async loadModel(path: string, options: LoadOptions = {}): Promise<RemoteModel> {
    if (this.#closed) throw new InvalidStateError("this remote session is closed");
    checkLoadOptions(options);
    if (typeof path !== "string") throw new InvalidArgumentError("the model path must be a string");
    const { name, version } = modelAtPath(path);
    if (this.#link.extension) return await this.#loadExtended(path, options);
    if (Object.values(options).some((value) => value !== undefined)) throw needsExtension("load options");
    return await this.#loadPlain(name, version);
  }

  async #loadExtended(path: string, options: LoadOptions): Promise<RemoteModel> {
    const transport = this.#link.transport;
    const loaded = await transport.json("POST", "/v2/tessera/load", { path, options }) as { name?: unknown; version?: unknown };
    if (typeof loaded.name !== "string" || typeof loaded.version !== "string") throw new RemoteError("the server's load answer names no model");
    const description = await transport.json("GET", `/v2/tessera/models/${encodeURIComponent(loaded.name)}/versions/${encodeURIComponent(loaded.version)}`) as RemoteModelDescription;
    if (!Array.isArray(description.inputs) || !Array.isArray(description.outputs)) throw new RemoteError("the server's model description has no inputs or outputs");
    return new RemoteModel({ ...description, name: loaded.name, version: loaded.version }, this.#link);
  }

  async #loadPlain(name: string, version: string | undefined): Promise<RemoteModel> {
    const transport = this.#link.transport;
    const path = `/v2/models/${encodeURIComponent(name)}${version === undefined ? "" : `/versions/${version}`}`;
    try {
      await transport.call("GET", `${path}/ready`);
    } catch (error) {
      // Not ready (not loaded, or not known): ask the repository to load it, as Triton's clients do.
      if (!(error instanceof RemoteError)) throw error;
      await transport.call("POST", `/v2/repository/models/${encodeURIComponent(name)}/load`, { body: new TextEncoder().encode("{}"), headers: { "content-type": "application/json" } });
    }
    const meta = await transport.json("GET", path) as { name?: string; versions?: string[]; inputs?: TensorMetadata[]; outputs?: TensorMetadata[] };
    if (!Array.isArray(meta.inputs) || !Array.isArray(meta.outputs)) throw new RemoteError(`the server's metadata of model '${name}' has no inputs or outputs`);
    const inputs = meta.inputs.map(infoFromMetadata);
    return new RemoteModel({
      name,
      // MLServer lists no versions; its models answer without one in the path as "1" does on Tessera.
      version: version ?? meta.versions?.[0] ?? "",
      inputs,
      outputs: meta.outputs.map(infoFromMetadata),
      isDynamic: inputs.some((info) => info.shape?.some((d) => typeof d !== "number")),
    }, this.#link);
  }

  /** Ends the session (its models stay loaded on the server). Safe to call twice. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#link.transport.close();
  }

  [Symbol.dispose](): void {
    this.close();
  }
}

/**
 * Connects to an OIP v2 server: `host` is a name or address; `port` defaults to 8000 (OIP's and
 * Triton's HTTP port). Resolves once the server has answered its metadata; NetworkError when it
 * cannot be reached, RemoteError when it answers with an error (a wrong token on a closed
 * server, say).
 */
export async function connect(host: string, options: ConnectOptions = {}): Promise<RemoteSession> {
  const transport = new Transport(host, options);
  try {
    const meta = checkMetadata(await transport.json("GET", "/v2"));
    const extension = meta.extensions.includes("tessera");
    const link: Link = { transport, binary: meta.extensions.includes("binary_tensor_data"), extension };
    const info: RemoteHostInfo = { server: meta.name, version: meta.version, extensions: meta.extensions };
    if (extension) {
      const host = await transport.json("GET", "/v2/tessera/host") as { host?: HostInfo; devices?: DeviceInfo[] };
      info.host = host.host;
      info.devices = host.devices;
    }
    return new RemoteSession(link, info);
  } catch (error) {
    transport.close();
    throw error;
  }
}
