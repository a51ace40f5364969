/**
 * `tessera serve`'s security options: bearer tokens and TLS. Tokens come from files or the
 * environment, never from the command line, where `ps` would show them to every user.
 */
import { readFileSync } from "node:fs";
import { UsageError } from "./args.ts";
import { type Tokens, tokenProblem } from "../serve/auth.ts";

export const securityOptions = {
  "token-file": { type: "string", value: "path", help: "a file holding the bearer token for inference, model metadata and readiness (or set TESSERA_SERVE_TOKEN)" },
  "admin-token-file": { type: "string", value: "path", help: "a file holding the bearer token for the repository endpoints, which also grants inference (or set TESSERA_SERVE_ADMIN_TOKEN)" },
  "tls-cert": { type: "string", value: "pem", help: "serve HTTPS with this certificate chain (PEM); needs --tls-key" },
  "tls-key": { type: "string", value: "pem", help: "the private key of --tls-cert (PEM)" },
} as const;

type Values = { [K in keyof typeof securityOptions]?: string };

/** A file's text; the error names the option and the reason, never the contents. */
function read(path: string, option: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch (error) {
    throw new UsageError(`--${option}: cannot read '${path}' (${(error as NodeJS.ErrnoException).code ?? "error"})`);
  }
}

/** A token from its file (a trailing newline is dropped) or else its environment variable. */
function token(path: string | undefined, option: string, variable: string, env: Record<string, string | undefined>): string | undefined {
  const text = path !== undefined ? read(path, option).replace(/\r?\n$/, "") : env[variable];
  if (text === undefined) return undefined;
  const problem = tokenProblem(text);
  if (problem) throw new UsageError(`the token of ${path !== undefined ? `--${option}` : variable} ${problem}`);
  return text;
}

export interface Security {
  tokens: Tokens;
  tls?: { cert: string; key: string };
}

export function security(values: Values, env: Record<string, string | undefined> = process.env): Security {
  const tokens: Tokens = {
    inference: token(values["token-file"], "token-file", "TESSERA_SERVE_TOKEN", env),
    admin: token(values["admin-token-file"], "admin-token-file", "TESSERA_SERVE_ADMIN_TOKEN", env),
  };
  const { "tls-cert": cert, "tls-key": key } = values;
  if ((cert === undefined) !== (key === undefined)) throw new UsageError("--tls-cert and --tls-key go together: give both or neither");
  return { tokens, ...(cert !== undefined && key !== undefined ? { tls: { cert: read(cert, "tls-cert"), key: read(key, "tls-key") } } : {}) };
}

/** For the startup line: which endpoints need a token. It names no token. */
export function describeAccess({ inference, admin }: Tokens): string {
  if (inference === undefined && admin === undefined) return "no tokens: every endpoint is open";
  if (admin === undefined) return "inference needs its token; the repository endpoints are closed (no admin token)";
  if (inference === undefined) return "inference is open; the repository endpoints need the admin token";
  return "inference needs its token or the admin token; the repository endpoints need the admin token";
}
