/**
 * `tessera serve` against Python's stock Triton client, tritonclient[http] (installed into
 * .cache/triton-venv by scripts/install-triton-client; TESSERA_TRITON_VENV names another venv).
 * The CLI serves a repository on a free port and test/serve/triton_client_cases.py runs its cases
 * against it, one line each; every case must pass. A second server, with HTTPS and bearer tokens,
 * answers test/serve/triton_client_security.py. A missing venv fails here, loudly.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { bunBinary, repo, scratchDir } from "./support/paths.ts";
import { makeRepository } from "./support/serve-repository.ts";
import { selfSignedCertificate } from "./support/tls.ts";

const venv = process.env.TESSERA_TRITON_VENV ?? join(repo, ".cache/triton-venv");
const python = join(venv, "bin/python");
if (!existsSync(python)) throw new Error(`no tritonclient venv at ${venv}: run scripts/install-triton-client`);

type Process = ReturnType<typeof Bun.spawn<"ignore", "pipe", "pipe">>;
const servers: Process[] = [];

/** Starts `tessera serve` on a free port (0) and returns the host:port its first line prints. */
async function start(args: string[] = [], env: Record<string, string> = {}): Promise<string> {
  const server = Bun.spawn([bunBinary, join(repo, "src/cli/tessera.ts"), "serve", makeRepository(), "--port", "0", ...args], { env: { ...process.env, ...env }, stdin: "ignore", stdout: "pipe", stderr: "pipe" });
  servers.push(server);
  const reader = server.stdout.getReader();
  let printed = "";
  while (!printed.includes("\n")) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`tessera serve ended before listening: ${await new Response(server.stderr).text()}`);
    printed += new TextDecoder().decode(value);
  }
  reader.releaseLock();
  const address = /https?:\/\/([^/\s]+)/.exec(printed)?.[1] ?? "";
  expect(address).toMatch(/^127\.0\.0\.1:\d+$/);
  return address;
}

/** Runs a case script; every line it prints must be a PASS. */
async function runCases(script: string, args: string[], env: Record<string, string> = {}, atLeast: number): Promise<void> {
  const run = Bun.spawn([python, join(repo, "test/serve", script), ...args], { env: { ...process.env, ...env }, stdout: "pipe", stderr: "pipe" });
  const [out, err, code] = await Promise.all([new Response(run.stdout).text(), new Response(run.stderr).text(), run.exited]);
  console.log(out.trim());
  expect({ code, err }).toEqual({ code: 0, err: "" });
  const lines = out.trim().split("\n");
  expect(lines.length).toBeGreaterThanOrEqual(atLeast);
  expect(lines.filter((line) => !line.startsWith("PASS "))).toEqual([]);
}

const tokens = { TESSERA_SERVE_TOKEN: "inference-5d1e8a", TESSERA_SERVE_ADMIN_TOKEN: "admin-c40f92" };
const certificate = selfSignedCertificate();
let open = "";
let secured = "";

beforeAll(async () => {
  // The inference token from a file, the admin token from the environment: both ways are read.
  const tokenFile = join(scratchDir("tessera-tokens-"), "token");
  writeFileSync(tokenFile, `${tokens.TESSERA_SERVE_TOKEN}\n`);
  [open, secured] = await Promise.all([
    start(),
    start(["--token-file", tokenFile, "--tls-cert", certificate.certPath, "--tls-key", certificate.keyPath], { TESSERA_SERVE_ADMIN_TOKEN: tokens.TESSERA_SERVE_ADMIN_TOKEN }),
  ]);
});

afterAll(async () => {
  for (const server of servers) {
    server.kill("SIGTERM");
    expect(await server.exited).toBe(0); // a signal stops it cleanly
  }
});

test("tritonclient[http]: every case passes", async () => {
  await runCases("triton_client_cases.py", [open], {}, 24);
});

test("tritonclient[http] over HTTPS with bearer tokens: every case passes", async () => {
  await runCases("triton_client_security.py", [secured, certificate.certPath], tokens, 8);
});
