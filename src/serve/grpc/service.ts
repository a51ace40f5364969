/**
 * The RPCs of `inference.GRPCInferenceService` against a repository, sharing the REST server's
 * repository, metadata and inference path. Failures become gRPC statuses: an HttpError's message
 * with the status its HTTP code stands for, anything else only INTERNAL "internal server error",
 * so that no stack trace or filesystem path reaches a client (as over REST).
 */
import { HttpError } from "../http-error.ts";
import { runInference } from "../infer.ts";
import { modelMetadata, serverMetadata } from "../metadata.ts";
import type { Repository } from "../repository.ts";
import type { RpcName } from "./descriptor.ts";
import { fromInferRequest, type ModelInferRequest, toInferResponse } from "./tensors.ts";

/** gRPC's status codes (fixed by the protocol) for the HTTP statuses the server answers with. */
const statusForHttp: Record<number, number> = { 400: 3, 401: 16, 403: 7, 404: 5, 405: 12, 413: 8, 415: 3, 503: 14 };
const INTERNAL = 13;

export interface RpcError {
  code: number;
  details: string;
}

export function rpcError(error: unknown): RpcError {
  if (error instanceof HttpError) return { code: statusForHttp[error.status] ?? INTERNAL, details: error.message };
  return { code: INTERNAL, details: "internal server error" };
}

/** An empty version string means the model's loaded version. */
const versionOf = (version: string) => (version === "" ? undefined : version);

interface ModelRequest {
  name: string;
  version: string;
}

/** Each RPC: its request message (as proto-loader decodes it) to its response message. */
export function createRpcs(repository: Repository): Record<RpcName, (request: never) => Promise<object>> {
  return {
    ServerLive: async () => ({ live: true }),
    ServerReady: async () => ({ ready: true }),
    // A question, not a failure: unknown or unloaded models are not ready.
    ModelReady: async ({ name, version }: ModelRequest) => {
      try {
        repository.model(name, versionOf(version));
        return { ready: true };
      } catch {
        return { ready: false };
      }
    },
    // Tessera's own endpoints are REST only (extension.ts), so gRPC does not list them.
    ServerMetadata: async () => serverMetadata({ extensions: false }),
    ModelMetadata: async ({ name, version }: ModelRequest) => {
      const loaded = repository.model(name, versionOf(version));
      return modelMetadata(name, loaded.version, loaded.model);
    },
    ModelInfer: async (message: ModelInferRequest) => {
      const { served, version } = repository.model(message.model_name, versionOf(message.model_version));
      const { request, slices } = fromInferRequest(message);
      return toInferResponse(await runInference(request, slices, served, message.model_name, version));
    },
    // proto3 leaves an unset bool false: every model, as over REST without a body.
    RepositoryIndex: async ({ ready }: { ready?: boolean }) => {
      await repository.scan();
      return { models: repository.index({ ready: ready === true }) };
    },
    RepositoryModelLoad: async ({ model_name }: { model_name: string }) => {
      await repository.load(model_name);
      return {};
    },
    RepositoryModelUnload: async ({ model_name }: { model_name: string }) => {
      repository.unload(model_name);
      return {};
    },
  };
}
