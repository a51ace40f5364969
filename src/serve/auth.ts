/**
 * Bearer tokens for `tessera serve`: one for inference, one for the repository (admin) calls.
 * Which endpoints need which is decided here, from the path alone, before any body is read, so
 * a client without a token cannot make the server read or inflate anything.
 */
import { createHash, timingSafeEqual } from "node:crypto";
import { HttpError } from "./http-error.ts";

export interface Tokens {
  /** Grants inference, model metadata and model readiness. */
  inference?: string;
  /** Grants everything the inference token does, and the repository's index, load and unload. */
  admin?: string;
}

/** What an endpoint needs: nothing (probes), the inference token, or the admin token. */
export type Access = "open" | "inference" | "admin";

/** Health probes and server metadata stay open: orchestrators call them without credentials. */
export function accessFor(path: string): Access {
  if (path === "/v2" || path === "/v2/health/live" || path === "/v2/health/ready") return "open";
  if (path === "/v2/repository" || path.startsWith("/v2/repository/")) return "admin";
  // Tessera's extension: loading is a repository call; its other endpoints are inference's.
  if (path === "/v2/tessera/load") return "admin";
  return "inference";
}

/** Why a token may be refused as a server setting: it must fit in a header as one word. */
export function tokenProblem(token: string): string | null {
  if (token.length === 0) return "is empty";
  if (!/^[\x21-\x7e]+$/.test(token)) return "holds spaces or characters outside printable ASCII";
  return null;
}

// Digests are compared rather than the tokens, so that timingSafeEqual always sees equal lengths
// and the time taken says nothing about the token's length or its matching prefix.
const digest = (text: string) => createHash("sha256").update(text).digest();
const matches = (given: Buffer, expected: Buffer | null) => expected !== null && timingSafeEqual(given, expected);

const unauthorized = (message: string, error?: string) =>
  new HttpError(401, message, { "www-authenticate": error ? `Bearer error="${error}"` : "Bearer" });

/**
 * A check to run on every request (REST or gRPC) with its Authorization value and the access its
 * endpoint needs: it returns when the request may go on and throws an HttpError (401, or 403
 * where no token could help) otherwise. Without tokens, all is open.
 * With only an admin token, inference stays open; with only an inference token, the repository
 * endpoints are closed to everyone, since no token was set that grants them.
 */
export function createGuard(tokens: Tokens): (authorization: string | null, access: Access) => void {
  const inference = tokens.inference === undefined ? null : digest(tokens.inference);
  const admin = tokens.admin === undefined ? null : digest(tokens.admin);
  return (header, access) => {
    if (access === "open" || (inference === null && admin === null)) return;
    if (access === "inference" && inference === null) return;
    if (access === "admin" && admin === null) throw new HttpError(403, "the repository endpoints need the admin token, and the server has none");
    if (header === null) throw unauthorized(`this endpoint needs a bearer token (Authorization: Bearer <token>)`);
    const token = /^bearer +(\S+) *$/i.exec(header)?.[1];
    if (token === undefined) throw unauthorized("the Authorization header must be 'Bearer <token>'", "invalid_request");
    const given = digest(token);
    // Both comparisons always run, so the time taken does not say which token matched.
    const isAdmin = matches(given, admin);
    const isInference = matches(given, inference);
    if (isAdmin || (access === "inference" && isInference)) return;
    if (isInference) throw new HttpError(403, "this endpoint needs the admin token", { "www-authenticate": 'Bearer error="insufficient_scope"' });
    throw unauthorized("the bearer token is not valid", "invalid_token");
  };
}
