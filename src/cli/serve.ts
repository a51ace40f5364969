/** `tessera serve <repository>`: the repository's models over KServe's Open Inference Protocol v2 (REST). */
import { UsageError } from "./args.ts";
import { type Command, type CommandSpec, parseCommand } from "./command.ts";
import { memorySample } from "../memory-monitor.ts";
import { maxBatchSizeLimit, maxQueueDelayUsLimit } from "../serve/batching-config.ts";
import { defaultMaxRequestBytes } from "../serve/handler.ts";
import { serve, type Server } from "../serve/server.ts";
import { describeAccess, security, securityOptions } from "./serve-security.ts";

const spec = {
  name: "serve",
  operands: "<repository>",
  summary: "serve a model repository over the Open Inference Protocol v2 (HTTP/REST, gRPC)",
  description: "Loads every model in the repository folder (<name>.onnx files, or Triton's <name>/<version>/model.onnx " +
    "layout) and answers KServe's Open Inference Protocol v2 over HTTP, with Triton's binary tensor data and model " +
    "repository extensions, and with --grpc-port over gRPC too, until interrupted (SIGINT or SIGTERM). Bearer tokens " +
    "and TLS are optional; without tokens every endpoint is open. --max-batch-size turns on dynamic batching for " +
    "models with a dynamic first dimension (a model's <name>.json overrides it). SIGUSR2 prints a memory line. " +
    "See docs/serving.md.",
  options: {
    port: { type: "string", value: "N", help: "the TCP port to listen on; 0 picks a free one", default: "8000" },
    host: { type: "string", value: "address", help: "the address to listen on", default: "127.0.0.1" },
    "grpc-port": { type: "string", value: "N", help: "also serve OIP v2 over gRPC on this port (Triton's is 8001); 0 picks a free one" },
    "max-request-bytes": { type: "string", value: "N", help: "the largest request body, as sent and once decompressed", default: String(defaultMaxRequestBytes) },
    "no-extensions": { type: "boolean", help: "serve plain OIP v2: without Tessera's own endpoints under /v2/tessera (the remote client's load options, profiling, model details)" },
    "max-batch-size": { type: "string", value: "N", help: "batch concurrent requests of a model into runs of up to N rows (2 or more turns batching on)", default: "0" },
    "max-queue-delay-us": { type: "string", value: "N", help: "how long a request waits for others to join its batch, in microseconds", default: "0" },
    ...securityOptions,
  },
} as const satisfies CommandSpec;

function integer(text: string | undefined, fallback: number, option: string, max: number): number {
  if (text === undefined) return fallback;
  if (!/^\d+$/.test(text) || Number(text) > max) throw new UsageError(`--${option} takes a whole number up to ${max}, not '${text}'`);
  return Number(text);
}

/** A line for each loaded model that batching was asked for but that runs requests alone, and why. */
function unbatched(server: Server): string[] {
  return server.repository.index().flatMap((entry) => {
    if (entry.state !== "READY") return [];
    const reason = server.repository.model(entry.name).served.unbatchedReason;
    return reason === null ? [] : [`tessera: model '${entry.name}' is not batched: ${reason}`];
  });
}

/**
 * The process's RSS and the runtime's live bytes as one JSON line, after a full collection under
 * Bun (so dropped JS objects do not count), for watching a long-running server for leaks.
 */
function printMemory(): void {
  (globalThis as { Bun?: { gc(full: boolean): void } }).Bun?.gc(true);
  console.log(`tessera: memory ${JSON.stringify(memorySample())}`);
}

export const serveCommand: Command = {
  spec,
  async run(args) {
    const { values, positionals } = parseCommand(spec, args);
    if (positionals.length !== 1) throw new UsageError("serve takes one repository folder (see tessera serve --help)");
    const secure = security(values);
    const server = await serve(positionals[0]!, {
      ...secure,
      port: integer(values.port, 8000, "port", 65535),
      hostname: values.host ?? "127.0.0.1",
      extensions: values["no-extensions"] !== true,
      maxRequestBytes: integer(values["max-request-bytes"], defaultMaxRequestBytes, "max-request-bytes", 2 ** 32),
      ...(values["grpc-port"] === undefined ? {} : { grpcPort: integer(values["grpc-port"], 0, "grpc-port", 65535) }),
      batching: {
        maxBatchSize: integer(values["max-batch-size"], 0, "max-batch-size", maxBatchSizeLimit),
        maxQueueDelayUs: integer(values["max-queue-delay-us"], 0, "max-queue-delay-us", maxQueueDelayUsLimit),
      },
    });
    // Listening for SIGUSR2 before any start-up line: whoever reads one may signal at once.
    process.on("SIGUSR2", printMemory);
    console.log(`tessera: serving ${server.repository.index().length} models on ${secure.tls ? "https" : "http"}://${server.hostname}:${server.port}/v2 (${describeAccess(secure.tokens)})`);
    if (server.grpcPort !== undefined) console.log(`tessera: gRPC on ${server.hostname}:${server.grpcPort}`);
    for (const line of unbatched(server)) console.log(line);
    // Runs until a signal; the models are unloaded before the process ends.
    await new Promise<void>((resolve) => {
      for (const signal of ["SIGINT", "SIGTERM"] as const) process.once(signal, resolve);
    });
    process.off("SIGUSR2", printMemory);
    await server.stop();
    return "tessera: stopped";
  },
};
