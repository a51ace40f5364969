/**
 * Building responses: JSON bodies, OIP error bodies, inference results with binary tensor data
 * appended, each compressed with gzip or deflate when the client's Accept-Encoding asks for it.
 * Compression runs on zlib's thread pool (the promise form), not on the event loop.
 */
import { promisify } from "node:util";
import { deflate, gzip } from "node:zlib";
import { concat } from "../oip/framing.ts";
import { HttpError } from "./http-error.ts";

const gzipAsync = promisify(gzip);
const deflateAsync = promisify(deflate);
const utf8 = new TextEncoder();

/** Bodies smaller than this go uncompressed: the headers would cost more than they save. */
const compressFrom = 256;

/** The encoding to answer with: the first of gzip, deflate that the client accepts (q > 0). */
function chosenEncoding(accept: string | null): "gzip" | "deflate" | null {
  if (accept === null) return null;
  const accepted = new Set<string>();
  for (const part of accept.toLowerCase().split(",")) {
    const [coding, ...params] = part.trim().split(";").map((s) => s.trim());
    const q = params.find((p) => p.startsWith("q="));
    if (coding && (q === undefined || Number(q.slice(2)) > 0)) accepted.add(coding);
  }
  if (accepted.has("gzip")) return "gzip";
  if (accepted.has("deflate")) return "deflate";
  return null;
}

/** A response of `body`, compressed when the request accepts it and it is worth it. */
export async function respond(request: Request, status: number, body: Uint8Array, headers: Record<string, string>): Promise<Response> {
  const encoding = body.length >= compressFrom ? chosenEncoding(request.headers.get("accept-encoding")) : null;
  if (encoding === null) return new Response(body, { status, headers });
  // HTTP's deflate is the zlib format (RFC 1950), which zlib.deflate writes.
  const compressed = encoding === "gzip" ? await gzipAsync(body) : await deflateAsync(body);
  return new Response(compressed, { status, headers: { ...headers, "content-encoding": encoding, vary: "Accept-Encoding" } });
}

export function json(request: Request, value: unknown, status = 200, headers: Record<string, string> = {}): Promise<Response> {
  return respond(request, status, utf8.encode(JSON.stringify(value)), { ...headers, "content-type": "application/json" });
}

/**
 * An OIP error body for anything thrown: an HttpError's own message, else only that the server
 * failed, so no stack trace, internal message or filesystem path reaches the client.
 */
export function errorResponse(request: Request, error: unknown): Promise<Response> {
  if (error instanceof HttpError) return json(request, { error: error.message }, error.status, error.headers);
  return json(request, { error: "internal server error" }, 500);
}

/**
 * An inference response: the JSON header, then each binary output's bytes in output order, with
 * Inference-Header-Content-Length saying where the JSON ends (before any compression).
 */
export function inferenceResponse(request: Request, header: unknown, binary: readonly Uint8Array[]): Promise<Response> {
  const head = utf8.encode(JSON.stringify(header));
  if (binary.length === 0) return respond(request, 200, head, { "content-type": "application/json" });
  const body = concat([head, ...binary], head.length + binary.reduce((sum, b) => sum + b.length, 0));
  return respond(request, 200, body, { "content-type": "application/octet-stream", "inference-header-content-length": String(head.length) });
}
