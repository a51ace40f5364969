/**
 * Request bodies, read under a byte limit that holds twice: on the bytes as sent, and on what
 * they inflate to under Content-Encoding gzip or deflate. Inflation streams through node:zlib with
 * backpressure and stops at the limit, so a small compressed body that would inflate to
 * gigabytes (a "zip bomb") costs at most the limit in memory.
 */
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { createGunzip, createInflate } from "node:zlib";
import { concat } from "../oip/framing.ts";
import { badRequest, HttpError, tooLarge } from "./http-error.ts";

/** Chunks of a body stream, refusing once they pass `limit` bytes in all. */
async function* limited(chunks: AsyncIterable<Uint8Array>, limit: number): AsyncGenerator<Uint8Array> {
  let size = 0;
  for await (const chunk of chunks) {
    size += chunk.length;
    if (size > limit) throw tooLarge(limit);
    yield chunk;
  }
}

async function collect(chunks: AsyncIterable<Uint8Array>): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of chunks) {
    parts.push(chunk);
    size += chunk.length;
  }
  return concat(parts, size);
}

/** The body's chunks; none for a request without a body (a POST with Content-Length: 0). */
async function* streamOf(request: Request): AsyncGenerator<Uint8Array> {
  if (request.body !== null) yield* request.body as unknown as AsyncIterable<Uint8Array>;
}

/** The decoded body of `request`, at most `limit` bytes before and after decompression. */
export async function readBody(request: Request, limit: number): Promise<Uint8Array> {
  const declared = request.headers.get("content-length");
  if (declared !== null && Number(declared) > limit) throw tooLarge(limit);
  const encoding = (request.headers.get("content-encoding") ?? "identity").trim().toLowerCase();
  const plain = encoding === "identity" || encoding === "";
  // A declared length within the limit bounds what HTTP/1.1 framing lets the client send, so the
  // runtime may read it whole: one native buffer, without a promise per chunk and a copy to join
  // them (a third of a millisecond on a 600 KB image).
  if (plain && declared !== null && /^\d+$/.test(declared)) return new Uint8Array(await request.arrayBuffer());
  const sent = limited(streamOf(request), limit);
  if (plain) return await collect(sent);
  if (encoding !== "gzip" && encoding !== "deflate") throw new HttpError(415, `Content-Encoding '${encoding}' is not supported; use gzip or deflate`);
  // HTTP's "deflate" is the zlib format (RFC 1950), as tritonclient sends it.
  const inflater = encoding === "gzip" ? createGunzip() : createInflate();
  let body: Uint8Array = new Uint8Array(0);
  try {
    await pipeline(Readable.from(sent), inflater, async (inflated: AsyncIterable<Uint8Array>) => {
      body = await collect(limited(inflated, limit));
    });
  } catch (error) {
    if (error instanceof HttpError) throw error;
    throw badRequest(`the ${encoding} body could not be decompressed`);
  }
  return body;
}
