/**
 * `tessera serve` against Python's stock Triton client, tritonclient[http] and [grpc] (installed
 * into .cache/triton-venv by scripts/install-triton-client; TESSERA_TRITON_VENV names another).
 * The CLI serves a repository on a free port and test/serve/triton_client_cases.py runs its cases
 * against it, one line each; every case must pass. A second server, with TLS and bearer tokens on
 * both endpoints, answers test/serve/triton_client_security.py (HTTPS) and
 * test/serve/triton_grpc_security.py (gRPC). A missing venv fails here, loudly.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { scratchDir } from "./support/paths.ts";
import { runCases, type ServeProcess, startServe, tritonPython } from "./support/serve-cli.ts";
import { selfSignedCertificate } from "./support/tls.ts";

const python = tritonPython();
const tokens = { TESSERA_SERVE_TOKEN: "inference-5d1e8a", TESSERA_SERVE_ADMIN_TOKEN: "admin-c40f92" };
const certificate = selfSignedCertificate();
let open: ServeProcess;
let secured: ServeProcess;

/** host:port from a line such as "... on https://127.0.0.1:1234/v2 ..." or "gRPC on 127.0.0.1:1235". */
function addressIn(line: string): string {
  const address = /(?:https?:\/\/|gRPC on )([^/\s]+)/.exec(line)?.[1] ?? "";
  expect(address).toMatch(/^127\.0\.0\.1:\d+$/);
  return address;
}

beforeAll(async () => {
  // The inference token from a file, the admin token from the environment: both ways are read.
  const tokenFile = join(scratchDir("tessera-tokens-"), "token");
  writeFileSync(tokenFile, `${tokens.TESSERA_SERVE_TOKEN}\n`);
  const secure = ["--token-file", tokenFile, "--tls-cert", certificate.certPath, "--tls-key", certificate.keyPath, "--grpc-port", "0"];
  [open, secured] = await Promise.all([
    startServe([]),
    startServe(secure, 2, { TESSERA_SERVE_ADMIN_TOKEN: tokens.TESSERA_SERVE_ADMIN_TOKEN }),
  ]);
});

afterAll(async () => {
  for (const server of [open, secured]) {
    server.child.kill("SIGTERM");
    expect(await server.child.exited).toBe(0); // a signal stops it cleanly
  }
});

async function expectAllPass(script: string, address: string, args: string[], env: Record<string, string>, atLeast: number) {
  const { code, err, lines } = await runCases(python, script, address, args, env);
  console.log(lines.join("\n"));
  expect({ code, err }).toEqual({ code: 0, err: "" });
  expect(lines.length).toBeGreaterThanOrEqual(atLeast);
  expect(lines.filter((line) => !line.startsWith("PASS "))).toEqual([]);
}

test("tritonclient[http]: every case passes", async () => {
  await expectAllPass("test/serve/triton_client_cases.py", addressIn(open.printed[0]!), [], {}, 24);
});

test("tritonclient[http] over HTTPS with bearer tokens: every case passes", async () => {
  await expectAllPass("test/serve/triton_client_security.py", addressIn(secured.printed[0]!), [certificate.certPath], tokens, 8);
});

test("tritonclient[grpc] over TLS with bearer tokens: every case passes", async () => {
  await expectAllPass("test/serve/triton_grpc_security.py", addressIn(secured.printed[1]!), [certificate.certPath], tokens, 6);
});
