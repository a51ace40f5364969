/**
 * The OIP v2 REST endpoints as one web-standard handler, `(Request) => Promise<Response>`, so the
 * same code serves under Bun.serve and Deno.serve. Every failure becomes an OIP error body; a
 * client that hangs up mid-body only ends its own request.
 */
import { accessFor, createGuard, type Tokens } from "./auth.ts";
import { readBody } from "./body.ts";
import { extensionPrefix, routeExtension } from "./extension.ts";
import { HttpError, notFound } from "./http-error.ts";
import { infer } from "./infer.ts";
import { modelMetadata, serverMetadata } from "./metadata.ts";
import { parseIndexRequest } from "./protocol.ts";
import type { Repository } from "./repository.ts";
import { errorResponse, inferenceResponse, json } from "./responses.ts";

export interface HandlerOptions {
  /** The most bytes a request body may hold, both as sent and once decompressed. */
  maxRequestBytes: number;
  /** Bearer tokens the endpoints need (see auth.ts); none: every endpoint is open. */
  tokens?: Tokens;
  /** Tessera's own endpoints under /v2/tessera (extension.ts); default on. Off: a plain OIP server. */
  extensions?: boolean;
  /** Triton's binary tensor data extension; default on. Off: inference takes and gives JSON data only. */
  binaryTensorData?: boolean;
}

export const defaultMaxRequestBytes = 64 * 1024 * 1024;

const modelPath = /^\/v2\/models\/([^/]+)(?:\/versions\/([^/]+))?(\/ready|\/infer|\/stats|\/config)?$/;
const repositoryPath = /^\/v2\/repository\/models\/([^/]+)\/(load|unload)$/;

/** A path component from the URL, decoded; malformed escapes are the client's mistake. */
function component(raw: string): string {
  try {
    return decodeURIComponent(raw);
  } catch {
    throw new HttpError(400, "the URL is malformed");
  }
}

function methodIs(request: Request, method: string): void {
  if (request.method !== method) throw new HttpError(405, `${request.method} is not allowed here; use ${method}`);
}

export function createHandler(repository: Repository, options: HandlerOptions = { maxRequestBytes: defaultMaxRequestBytes }): (request: Request) => Promise<Response> {
  const guard = createGuard(options.tokens ?? {});
  const binaryTensorData = options.binaryTensorData !== false;
  const extension = options.extensions === false ? null : { repository, maxRequestBytes: options.maxRequestBytes, binaryTensorData };
  const route = async (request: Request): Promise<Response> => {
    const path = new URL(request.url).pathname.replace(/\/+$/, "");
    guard(request.headers.get("authorization"), accessFor(path));
    if (path === "/v2/health/live" || path === "/v2/health/ready") {
      methodIs(request, "GET");
      return new Response(null, { status: 200 });
    }
    if (path === "/v2") {
      methodIs(request, "GET");
      return json(request, serverMetadata({ binaryTensorData, extensions: extension !== null }));
    }
    if (path === "/v2/repository/index") {
      methodIs(request, "POST");
      const filter = parseIndexRequest(await readBody(request, options.maxRequestBytes));
      await repository.scan();
      return json(request, repository.index(filter));
    }
    if (extension && path.startsWith(extensionPrefix)) return await routeExtension(request, path, extension);
    const repo = repositoryPath.exec(path);
    if (repo) {
      methodIs(request, "POST");
      await readBody(request, options.maxRequestBytes);
      const name = component(repo[1]!);
      if (repo[2] === "load") await repository.load(name);
      else repository.unload(name);
      return new Response(null, { status: 200 });
    }
    const match = modelPath.exec(path);
    if (!match) throw notFound(`no endpoint ${path}`);
    const name = component(match[1]!);
    const version = match[2] === undefined ? undefined : component(match[2]);
    if (match[3] === "/infer") {
      methodIs(request, "POST");
      const { served, version: loaded } = repository.model(name, version);
      const body = await readBody(request, options.maxRequestBytes);
      const result = await infer(body, request.headers.get("inference-header-content-length"), served, name, loaded, binaryTensorData);
      return inferenceResponse(request, result.header, result.binary);
    }
    methodIs(request, "GET");
    const { model, version: loaded, served } = repository.model(name, version);
    if (match[3] === "/ready") return new Response(null, { status: 200 });
    if (match[3] === "/stats") return json(request, { model_stats: [served.statistics.toJSON(name, loaded)] });
    if (match[3] === "/config") return json(request, served.config(name));
    return json(request, modelMetadata(name, loaded, model));
  };
  return async (request) => {
    try {
      return await route(request);
    } catch (error) {
      return await errorResponse(request, error);
    }
  };
}
