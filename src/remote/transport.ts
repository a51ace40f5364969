/**
 * HTTP to one OIP v2 server with the runtime's own fetch (Bun and Deno): the base URL, the bearer
 * token, request compression and the encodings accepted, a CA to trust, and a time limit on
 * every call. Failures are sorted here once: no answer (refused, reset, a server that died
 * mid-request, the time limit) is NetworkError; an answer that is not 2xx is RemoteError with
 * the server's message and HTTP status.
 */
import { promisify } from "node:util";
import { deflate, gzip } from "node:zlib";
import { InvalidArgumentError, NetworkError, RemoteError } from "../errors.ts";
import { checkOptionKeys } from "../option-keys.ts";

const gzipAsync = promisify(gzip);
const deflateAsync = promisify(deflate);

export interface ConnectOptions {
  /** Default 8000, the OIP/Triton HTTP port. */
  port?: number;
  /** HTTPS (default false). */
  secure?: boolean;
  /** Compress request bodies and accept compressed answers: true is "gzip" (default false). */
  compression?: boolean | "gzip" | "deflate";
  /** A bearer token, sent as Authorization: Bearer <token>. */
  token?: string;
  /** A CA certificate (PEM) to trust for HTTPS, beside the system's: for a self-signed server. */
  ca?: string;
  /** The longest any one call may take before it fails with NetworkError, in ms (default 300000). */
  timeoutMs?: number;
}

const connectOptionNames = new Set<keyof ConnectOptions>(["port", "secure", "compression", "token", "ca", "timeoutMs"]);

/** What other clients call these options, for the message that refuses their names. */
const foreignConnectOptions: Record<string, string> = {
  enable_secure_connection: "Tessera's is secure",
  enable_compression: "Tessera's is compression",
  enableSecureConnection: "Tessera's is secure",
  enableCompression: "Tessera's is compression",
};

/** An answer: its status, headers and (decompressed) body. */
export interface Reply {
  status: number;
  headers: Headers;
  body: Uint8Array;
}

interface DenoHttp {
  createHttpClient(options: { caCerts: string[] }): { close(): void };
}

/** The fetch option that trusts `ca`, in the runtime's own spelling, and how to release it. */
function trusting(ca: string | undefined): { init: object; close: () => void } {
  if (ca === undefined) return { init: {}, close: () => {} };
  const deno = (globalThis as { Deno?: DenoHttp }).Deno;
  if (deno?.createHttpClient) {
    const client = deno.createHttpClient({ caCerts: [ca] });
    return { init: { client }, close: () => client.close() };
  }
  return { init: { tls: { ca } }, close: () => {} }; // Bun's fetch
}

function checkOptions(host: string, options: ConnectOptions): void {
  checkOptionKeys(options, connectOptionNames, "connect option", (key) => foreignConnectOptions[key]);
  if (typeof host !== "string" || host === "" || /[/\s?#@]/.test(host)) {
    throw new InvalidArgumentError(`the host must be a name or address (no scheme, port or path), not '${String(host)}'`);
  }
  const port = options.port ?? 8000;
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new InvalidArgumentError(`port must be an integer from 1 to 65535, not ${port}`);
  const compression = options.compression ?? false;
  if (![true, false, "gzip", "deflate"].includes(compression)) throw new InvalidArgumentError(`compression must be true, false, "gzip" or "deflate", not ${String(compression)}`);
  const timeout = options.timeoutMs ?? 300_000;
  if (!(timeout > 0) || !Number.isFinite(timeout)) throw new InvalidArgumentError(`timeoutMs must be a positive number of ms, not ${timeout}`);
  if (options.token !== undefined && !/^[\x21-\x7e]+$/.test(options.token)) throw new InvalidArgumentError("the token must be one word of printable ASCII");
}

export class Transport {
  readonly url: string;
  readonly #headers: Record<string, string>;
  readonly #compression: "gzip" | "deflate" | null;
  readonly #timeoutMs: number;
  readonly #trust: { init: object; close: () => void };

  constructor(host: string, options: ConnectOptions) {
    checkOptions(host, options);
    // An IPv6 address goes in brackets in a URL.
    const hostPart = host.includes(":") && !host.startsWith("[") ? `[${host}]` : host;
    this.url = `${options.secure ? "https" : "http"}://${hostPart}:${options.port ?? 8000}`;
    const compression = options.compression ?? false;
    this.#compression = compression === true ? "gzip" : compression === false ? null : compression;
    // The runtimes decompress answers in the encodings they were told to accept.
    this.#headers = {
      "accept-encoding": this.#compression ? "gzip, deflate" : "identity",
      ...(options.token === undefined ? {} : { authorization: `Bearer ${options.token}` }),
    };
    this.#timeoutMs = options.timeoutMs ?? 300_000;
    this.#trust = trusting(options.ca);
  }

  /**
   * One call. `signal` cancels it: the promise then rejects with the signal's reason. A non-2xx
   * answer is RemoteError; no answer in time, or none at all, NetworkError.
   */
  async call(method: "GET" | "POST", path: string, request: { body?: Uint8Array; headers?: Record<string, string>; signal?: AbortSignal } = {}): Promise<Reply> {
    const headers: Record<string, string> = { ...this.#headers, ...request.headers };
    let body = request.body;
    if (body !== undefined && this.#compression) {
      body = new Uint8Array(await (this.#compression === "gzip" ? gzipAsync(body) : deflateAsync(body)));
      headers["content-encoding"] = this.#compression;
    }
    const timeout = AbortSignal.timeout(this.#timeoutMs);
    const signal = request.signal ? AbortSignal.any([request.signal, timeout]) : timeout;
    let reply: Reply;
    try {
      const response = await fetch(this.url + path, { method, headers, body, signal, ...this.#trust.init } as RequestInit);
      // The body is read under the same signal: a server that dies after its headers fails here.
      reply = { status: response.status, headers: response.headers, body: new Uint8Array(await response.arrayBuffer()) };
    } catch (error) {
      if (request.signal?.aborted) throw request.signal.reason;
      if (timeout.aborted) throw new NetworkError(`${method} ${this.url}${path}: no answer within ${this.#timeoutMs} ms`, { cause: error });
      throw new NetworkError(`${method} ${this.url}${path} failed: ${(error as Error).message ?? error}`, { cause: error });
    }
    if (reply.status < 200 || reply.status > 299) throw remoteError(reply, `${method} ${path}`);
    return reply;
  }

  /** A call whose answer is JSON; `value` goes as a JSON body. */
  async json(method: "GET" | "POST", path: string, value?: unknown): Promise<unknown> {
    const body = value === undefined ? (method === "POST" ? new Uint8Array(0) : undefined) : new TextEncoder().encode(JSON.stringify(value));
    const reply = await this.call(method, path, { body, headers: value === undefined ? {} : { "content-type": "application/json" } });
    return parseJson(reply.body, `${method} ${path}`);
  }

  /** Releases what the transport holds (Deno's HTTP client for a CA). */
  close(): void {
    this.#trust.close();
  }
}

/** An answer's body as JSON; RemoteError when the server sent something else. */
export function parseJson(body: Uint8Array, what: string): unknown {
  try {
    return JSON.parse(new TextDecoder().decode(body));
  } catch {
    throw new RemoteError(`${what}: the server's answer is not JSON`);
  }
}

/** The server's OIP error body, `{"error": "..."}`, as a RemoteError with its HTTP status. */
function remoteError(reply: Reply, what: string): RemoteError {
  let message = `HTTP ${reply.status}`;
  try {
    const error = (JSON.parse(new TextDecoder().decode(reply.body)) as { error?: unknown }).error;
    if (typeof error === "string") message = error;
  } catch {
    // Not an OIP error body (a proxy's page, say): the status says what there is to say.
  }
  return new RemoteError(`${what}: ${message} (HTTP ${reply.status})`, { httpStatus: reply.status });
}
