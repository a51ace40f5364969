/**
 * The gRPC endpoint of `tessera serve`, on @grpc/grpc-js (pure JavaScript over node:http2). Its
 * two packages are optional peer dependencies, imported only when a gRPC port is asked for, so
 * REST serving and `import "tessera"` never need them.
 */
import type { sendUnaryData, ServerUnaryCall, ServiceDefinition, UntypedServiceImplementation } from "@grpc/grpc-js";
import { optionalPackage } from "../../preprocess/optional-package.ts";
import { Buffer } from "node:buffer";
import { type Access, createGuard, type Tokens } from "../auth.ts";
import type { Repository } from "../repository.ts";
import { type RpcName, rpcNames, serviceDescriptor } from "./descriptor.ts";
import { createRpcs, rpcError } from "./service.ts";

export interface GrpcOptions {
  /** 0 picks a free port. */
  port: number;
  hostname: string;
  /** The largest request message, as for REST bodies. */
  maxRequestBytes: number;
  /** The same bearer tokens as REST, sent as `authorization` metadata. */
  tokens?: Tokens;
  /** TLS with the same certificate and key as HTTPS. */
  tls?: { cert: string; key: string };
}

export interface GrpcServer {
  readonly port: number;
  /** Stops listening once the calls in flight have answered. */
  stop(): Promise<void>;
}

const needs = "tessera serve's gRPC endpoint (--grpc-port)";

/** What each RPC needs, as REST's endpoints for the same calls (auth.ts accessFor). */
function accessForRpc(name: RpcName): Access {
  if (name === "ServerLive" || name === "ServerReady" || name === "ServerMetadata") return "open";
  return name.startsWith("Repository") ? "admin" : "inference";
}

/** How long stop() waits for calls in flight before it ends them. */
const drainMs = 10_000;

export async function serveGrpc(repository: Repository, options: GrpcOptions): Promise<GrpcServer> {
  const [grpc, loader] = await Promise.all([
    optionalPackage("@grpc/grpc-js", "^1.14.7", needs, () => import("@grpc/grpc-js")),
    optionalPackage("@grpc/proto-loader", "^0.8.1", needs, () => import("@grpc/proto-loader")),
  ]);
  // keepCase: the protocol's snake_case names; longs as strings: int64 elements stay exact.
  const definition = loader.fromJSON(serviceDescriptor as Parameters<typeof loader.fromJSON>[0], { keepCase: true, longs: String, enums: String, defaults: true, oneofs: true });
  const rpcs = createRpcs(repository);
  const guard = createGuard(options.tokens ?? {});
  const implementation: UntypedServiceImplementation = Object.fromEntries(rpcNames.map((name) => [
    name,
    (call: ServerUnaryCall<object, object>, callback: sendUnaryData<object>) => {
      const authorization = call.metadata.get("authorization")[0];
      try {
        guard(authorization === undefined ? null : String(authorization), accessForRpc(name));
      } catch (error) {
        return callback(rpcError(error));
      }
      rpcs[name](call.request as never).then((response) => callback(null, response), (error: unknown) => callback(rpcError(error)));
    },
  ]));
  const server = new grpc.Server({ "grpc.max_receive_message_length": Math.min(options.maxRequestBytes, 2 ** 31 - 1) }); // gRPC's limit is an int32
  server.addService(definition["inference.GRPCInferenceService"] as ServiceDefinition, implementation);
  const credentials = options.tls
    ? grpc.ServerCredentials.createSsl(null, [{ cert_chain: Buffer.from(options.tls.cert), private_key: Buffer.from(options.tls.key) }])
    : grpc.ServerCredentials.createInsecure();
  const host = options.hostname.includes(":") ? `[${options.hostname}]` : options.hostname;
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync(`${host}:${options.port}`, credentials, (error, bound) => (error ? reject(error) : resolve(bound)));
  });
  return {
    port,
    async stop() {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => server.forceShutdown(), drainMs);
        server.tryShutdown(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    },
  };
}
