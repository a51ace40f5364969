/**
 * The body of an OIP v2 inference request or response with Triton's binary tensor data: the JSON
 * header, then each binary tensor's bytes in order, with Inference-Header-Content-Length saying
 * where the JSON ends (before any compression). Without that header the whole body is JSON.
 */
import { InvalidArgumentError } from "../errors.ts";

const utf8 = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: true });

/** Chunks joined into one buffer (the chunk itself when there is one). */
export function concat(chunks: readonly Uint8Array[], size = chunks.reduce((sum, c) => sum + c.length, 0)): Uint8Array {
  if (chunks.length === 1) return chunks[0]!;
  const joined = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    joined.set(chunk, offset);
    offset += chunk.length;
  }
  return joined;
}

/** A header and binary parts as one body; `headerLength` is null when there are no parts (plain JSON). */
export function joinBody(header: unknown, binary: readonly Uint8Array[]): { body: Uint8Array; headerLength: number | null } {
  const head = utf8.encode(JSON.stringify(header));
  if (binary.length === 0) return { body: head, headerLength: null };
  return { body: concat([head, ...binary]), headerLength: head.length };
}

/**
 * Splits a body into its JSON header and the binary section after it. `headerLength` is the
 * Inference-Header-Content-Length header: absent, the whole body is JSON. InvalidArgumentError
 * for a length that is no byte count or runs past the body, or a header that is not JSON.
 */
export function splitBody(body: Uint8Array, headerLength: string | null): { header: unknown; binary: Uint8Array } {
  let length = body.length;
  if (headerLength !== null) {
    if (!/^\d+$/.test(headerLength.trim())) throw new InvalidArgumentError("Inference-Header-Content-Length is not a byte count");
    length = Number(headerLength.trim());
    if (length > body.length) throw new InvalidArgumentError(`Inference-Header-Content-Length ${length} is past the end of the ${body.length}-byte body`);
  }
  try {
    return { header: JSON.parse(decoder.decode(body.subarray(0, length))), binary: body.subarray(length) };
  } catch {
    throw new InvalidArgumentError("the header is not valid JSON");
  }
}

/**
 * Each tensor's binary slice, in order, as their parameters.binary_data_size lay them out; null
 * for a tensor whose elements are in its JSON. Every byte must belong to a tensor.
 */
export function binarySlices(tensors: readonly { name: string; parameters?: Record<string, unknown> }[], binary: Uint8Array, role: "input" | "output"): (Uint8Array | null)[] {
  let offset = 0;
  const slices = tensors.map((t) => {
    const size = t.parameters?.binary_data_size;
    if (size === undefined) return null;
    if (!Number.isSafeInteger(size) || (size as number) < 0) throw new InvalidArgumentError(`${role} '${t.name}': binary_data_size must be a byte count`);
    if (offset + (size as number) > binary.length) throw new InvalidArgumentError(`${role} '${t.name}': binary_data_size ${size} runs past the end of the body`);
    const slice = binary.subarray(offset, offset + (size as number));
    offset += size as number;
    return slice;
  });
  if (offset !== binary.length) throw new InvalidArgumentError(`${binary.length - offset} bytes after the ${role}s' binary data belong to no ${role}`);
  return slices;
}
