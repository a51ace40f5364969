/**
 * Serves a repository over HTTP with the runtime's own server: Bun.serve under Bun, Deno.serve
 * under Deno. Both take the same web-standard handler.
 */
import type { Tokens } from "./auth.ts";
import type { BatchingOptions } from "./batching-config.ts";
import { serveGrpc } from "./grpc/server.ts";
import { createHandler, defaultMaxRequestBytes } from "./handler.ts";
import { Repository } from "./repository.ts";

export interface ServeOptions {
  /** 0 picks a free port. Default 8000, as Triton's HTTP port. */
  port?: number;
  hostname?: string;
  maxRequestBytes?: number;
  /** Bearer tokens for inference and for the repository endpoints (see auth.ts). */
  tokens?: Tokens;
  /** HTTPS: the certificate chain and its private key, as PEM text. */
  tls?: { cert: string; key: string };
  /** Tessera's own endpoints under /v2/tessera (default on); false serves plain OIP v2. */
  extensions?: boolean;
  /** Triton's binary tensor data extension (default on); false: JSON data only, as MLServer. */
  binaryTensorData?: boolean;
  /** Also serve gRPC (OIP v2's GRPCInferenceService) on this port; 0 picks a free one. Default: no gRPC. */
  grpcPort?: number;
  /** Dynamic batching for models without a `<name>.json` of their own (batching-config.ts). Default: off. */
  batching?: BatchingOptions;
}

export interface Server {
  readonly hostname: string;
  readonly port: number;
  /** The gRPC port, when serving gRPC. */
  readonly grpcPort?: number;
  readonly repository: Repository;
  /** Stops listening and unloads the models. */
  stop(): Promise<void>;
}

interface DenoServer {
  addr: { hostname: string; port: number };
  shutdown(): Promise<void>;
}
type DenoServe = (options: { port: number; hostname: string; cert?: string; key?: string; onListen?: () => void }, handler: (request: Request) => Promise<Response>) => DenoServer;

export async function serve(folder: string, options: ServeOptions = {}): Promise<Server> {
  const repository = await Repository.open(folder, { batching: options.batching });
  const maxRequestBytes = options.maxRequestBytes ?? defaultMaxRequestBytes;
  const handler = createHandler(repository, { maxRequestBytes, tokens: options.tokens, extensions: options.extensions, binaryTensorData: options.binaryTensorData });
  const port = options.port ?? 8000;
  const hostname = options.hostname ?? "127.0.0.1";
  const grpc = options.grpcPort === undefined ? undefined : await serveGrpc(repository, { port: options.grpcPort, hostname, maxRequestBytes, tokens: options.tokens, tls: options.tls }).catch((error: unknown) => {
    repository.close();
    throw error;
  });
  if (typeof Bun !== "undefined") {
    // Bun's own cap is set above ours, so that our limit is the one that answers, with an OIP body.
    const server = Bun.serve({ port, hostname, fetch: handler, maxRequestBodySize: maxRequestBytes + 1024 * 1024, tls: options.tls });
    return {
      hostname,
      port: server.port!,
      grpcPort: grpc?.port,
      repository,
      async stop() {
        await Promise.all([server.stop(true), grpc?.stop()]);
        repository.close();
      },
    };
  }
  const deno = (globalThis as unknown as { Deno: { serve: DenoServe } }).Deno;
  const server = deno.serve({ port, hostname, ...options.tls, onListen() {} }, handler);
  return {
    hostname,
    port: server.addr.port,
    grpcPort: grpc?.port,
    repository,
    async stop() {
      await Promise.all([server.shutdown(), grpc?.stop()]);
      repository.close();
    },
  };
}
