/**
 * `tessera serve` against Python's stock Triton client, tritonclient[http] (installed into
 * .cache/triton-venv by scripts/install-triton-client; TESSERA_TRITON_VENV names another venv).
 * The CLI serves a repository on a free port and test/serve/triton_client_cases.py runs its cases
 * against it, one line each; every case must pass. A missing venv fails here, loudly.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { runCases, type ServeProcess, startServe, tritonPython } from "./support/serve-cli.ts";

const python = tritonPython();
let server: ServeProcess;
let address = "";

beforeAll(async () => {
  server = await startServe([]);
  address = /http:\/\/([^/\s]+)/.exec(server.printed[0]!)?.[1] ?? "";
  expect(address).toMatch(/^127\.0\.0\.1:\d+$/);
});

afterAll(async () => {
  server.child.kill("SIGTERM");
  expect(await server.child.exited).toBe(0); // a signal stops it cleanly
});

test("tritonclient[http]: every case passes", async () => {
  const { code, err, lines } = await runCases(python, "test/serve/triton_client_cases.py", address);
  console.log(lines.join("\n"));
  expect({ code, err }).toEqual({ code: 0, err: "" });
  expect(lines.length).toBeGreaterThanOrEqual(24);
  expect(lines.filter((line) => !line.startsWith("PASS "))).toEqual([]);
});
