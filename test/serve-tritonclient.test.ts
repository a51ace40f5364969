/**
 * `tessera serve` against Python's stock Triton client, tritonclient[http] (installed into
 * .cache/triton-venv by scripts/install-triton-client; TESSERA_TRITON_VENV names another venv).
 * The CLI serves a repository on a free port and test/serve/triton_client_cases.py runs its cases
 * against it, one line each; every case must pass. A missing venv fails here, loudly.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { bunBinary, repo } from "./support/paths.ts";
import { makeRepository } from "./support/serve-repository.ts";

const venv = process.env.TESSERA_TRITON_VENV ?? join(repo, ".cache/triton-venv");
const python = join(venv, "bin/python");
if (!existsSync(python)) throw new Error(`no tritonclient venv at ${venv}: run scripts/install-triton-client`);

let server: ReturnType<typeof Bun.spawn<"ignore", "pipe", "pipe">>;
let address = "";

beforeAll(async () => {
  // Port 0: the server picks a free port and prints the address it listens on.
  server = Bun.spawn([bunBinary, join(repo, "src/cli/tessera.ts"), "serve", makeRepository(), "--port", "0"], { stdin: "ignore", stdout: "pipe", stderr: "pipe" });
  const reader = server.stdout.getReader();
  let printed = "";
  while (!printed.includes("\n")) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`tessera serve ended before listening: ${await new Response(server.stderr).text()}`);
    printed += new TextDecoder().decode(value);
  }
  reader.releaseLock();
  address = /http:\/\/([^/\s]+)/.exec(printed)?.[1] ?? "";
  expect(address).toMatch(/^127\.0\.0\.1:\d+$/);
});

afterAll(async () => {
  server.kill("SIGTERM");
  expect(await server.exited).toBe(0); // a signal stops it cleanly
});

test("tritonclient[http]: every case passes", async () => {
  const run = Bun.spawn([python, join(repo, "test/serve/triton_client_cases.py"), address], { stdout: "pipe", stderr: "pipe" });
  const [out, err, code] = await Promise.all([new Response(run.stdout).text(), new Response(run.stderr).text(), run.exited]);
  console.log(out.trim());
  expect({ code, err }).toEqual({ code: 0, err: "" });
  const lines = out.trim().split("\n");
  expect(lines.length).toBeGreaterThanOrEqual(24);
  expect(lines.filter((line) => !line.startsWith("PASS "))).toEqual([]);
});
