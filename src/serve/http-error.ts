/**
 * A failure the server answers with an OIP v2 error body, `{"error": "..."}`, and an HTTP status.
 * Only these errors' messages reach clients as written; anything else becomes a plain 500 so that
 * no stack trace or filesystem path leaves the process.
 */
import { InvalidArgumentError, ShapeError, TypeError as TesseraTypeError } from "../errors.ts";

export class HttpError extends Error {
  /** `headers` go on the error response too, such as WWW-Authenticate on a 401. */
  constructor(readonly status: number, message: string, readonly headers: Record<string, string> = {}) {
    super(message);
    this.name = "HttpError";
  }
}

export const badRequest = (message: string) => new HttpError(400, message);
export const notFound = (message: string) => new HttpError(404, message);
export const tooLarge = (limit: number) => new HttpError(413, `the request is larger than the server's limit of ${limit} bytes`);

/**
 * Runs `body`, an InvalidArgumentError from the shared OIP code (src/oip/) made a 400 whose
 * message starts with `prefix` ("input "): there it means the request was malformed.
 */
export function asBadRequest<T>(body: () => T, prefix = ""): T {
  try {
    return body();
  } catch (error) {
    if (error instanceof InvalidArgumentError) throw badRequest(`${prefix}${error.message}`);
    throw error;
  }
}

/** Errors of the runtime that say the inputs were wrong rather than that the server failed. */
export function isClientMistake(error: unknown): error is Error {
  return error instanceof ShapeError || error instanceof TesseraTypeError || error instanceof InvalidArgumentError;
}
