/**
 * Serves a repository over HTTP with the runtime's own server: Bun.serve under Bun, Deno.serve
 * under Deno. Both take the same web-standard handler.
 */
import type { Tokens } from "./auth.ts";
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
}

export interface Server {
  readonly hostname: string;
  readonly port: number;
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
  const repository = await Repository.open(folder);
  const maxRequestBytes = options.maxRequestBytes ?? defaultMaxRequestBytes;
  const handler = createHandler(repository, { maxRequestBytes, tokens: options.tokens });
  const port = options.port ?? 8000;
  const hostname = options.hostname ?? "127.0.0.1";
  if (typeof Bun !== "undefined") {
    // Bun's own cap is set above ours, so that our limit is the one that answers, with an OIP body.
    const server = Bun.serve({ port, hostname, fetch: handler, maxRequestBodySize: maxRequestBytes + 1024 * 1024, tls: options.tls });
    return {
      hostname,
      port: server.port!,
      repository,
      async stop() {
        await server.stop(true);
        repository.close();
      },
    };
  }
  const deno = (globalThis as unknown as { Deno: { serve: DenoServe } }).Deno;
  const server = deno.serve({ port, hostname, ...options.tls, onListen() {} }, handler);
  return {
    hostname,
    port: server.addr.port,
    repository,
    async stop() {
      await server.shutdown();
      repository.close();
    },
  };
}
