/**
 * `tessera serve`'s bearer tokens and HTTPS: which endpoints each token opens, the 401 and 403
 * answers (with WWW-Authenticate, an OIP body, and never the token), HTTPS with a self-signed
 * certificate the client trusts, and the CLI's refusals of half-given or empty settings.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { serve, type Server } from "../src/serve/server.ts";
import { bunBinary, repo, scratchDir } from "./support/paths.ts";
import { makeRepository } from "./support/serve-repository.ts";
import { selfSignedCertificate } from "./support/tls.ts";

const inferenceToken = "inference-token-3f9a1c";
const adminToken = "admin-token-b7e20d";
const repository = makeRepository();
const certificate = selfSignedCertificate();
let plain: Server;
let secure: Server;

beforeAll(async () => {
  plain = await serve(repository, { port: 0, tokens: { inference: inferenceToken, admin: adminToken } });
  secure = await serve(repository, { port: 0, tokens: { inference: inferenceToken }, tls: { cert: certificate.cert, key: certificate.key } });
});
afterAll(async () => {
  await plain.stop();
  await secure.stop();
});

const infer = { inputs: [{ name: "x", shape: [1, 4], datatype: "FP32", data: [1, 2, 3, 4] }] };

function call(path: string, token?: string, options: { method?: string; body?: unknown; authorization?: string } = {}): Promise<Response> {
  const authorization = options.authorization ?? (token === undefined ? undefined : `Bearer ${token}`);
  return fetch(`http://127.0.0.1:${plain.port}${path}`, {
    method: options.method ?? (options.body === undefined ? "GET" : "POST"),
    headers: authorization === undefined ? {} : { authorization },
    body: options.body === undefined ? undefined : JSON.stringify(options.body),
  });
}

/** A refusal: the status, WWW-Authenticate naming Bearer, an OIP error body without the tokens. */
async function expectRefused(response: Response, status: 401 | 403): Promise<void> {
  expect(response.status).toBe(status);
  expect(response.headers.get("www-authenticate")).toStartWith("Bearer");
  const text = await response.text();
  expect(typeof JSON.parse(text).error).toBe("string");
  expect(text).not.toContain(inferenceToken);
  expect(text).not.toContain(adminToken);
}

describe("bearer tokens", () => {
  test("health and server metadata stay open", async () => {
    expect((await call("/v2/health/live")).status).toBe(200);
    expect((await call("/v2/health/ready")).status).toBe(200);
    expect((await call("/v2")).status).toBe(200);
  });

  test("no token or a wrong one: 401 on inference, metadata, readiness and the repository", async () => {
    for (const [path, body] of [["/v2/models/add_fp32/infer", infer], ["/v2/models/add_fp32", undefined], ["/v2/models/add_fp32/ready", undefined], ["/v2/repository/index", {}], ["/v2/repository/models/add_fp32/unload", {}]] as const) {
      await expectRefused(await call(path, undefined, { body }), 401);
      await expectRefused(await call(path, "not-the-token", { body }), 401);
      await expectRefused(await call(path, undefined, { body, authorization: `Basic ${btoa(`u:${inferenceToken}`)}` }), 401);
    }
    // Unknown endpoints say nothing without a token either.
    await expectRefused(await call("/v2/nowhere"), 401);
  });

  test("the inference token runs inference but not the repository endpoints", async () => {
    const answer = await call("/v2/models/add_fp32/infer", inferenceToken, { body: infer });
    expect(answer.status).toBe(200);
    expect(((await answer.json()) as any).outputs[0].data).toEqual([2, 3, 4, 5]);
    expect((await call("/v2/models/add_fp32/ready", inferenceToken)).status).toBe(200);
    for (const path of ["/v2/repository/index", "/v2/repository/models/add_fp32/unload", "/v2/repository/models/add_fp32/load"]) {
      await expectRefused(await call(path, inferenceToken, { body: {} }), 403);
    }
    expect((await call("/v2/models/add_fp32/ready", inferenceToken)).status).toBe(200); // not unloaded
  });

  test("the admin token runs inference and the repository endpoints", async () => {
    expect((await call("/v2/models/add_fp32/infer", adminToken, { body: infer })).status).toBe(200);
    expect((await call("/v2/repository/index", adminToken, { body: {} })).status).toBe(200);
    expect((await call("/v2/repository/models/add_uint8/unload", adminToken, { body: {} })).status).toBe(200);
    expect((await call("/v2/models/add_uint8/ready", adminToken)).status).toBe(503);
    expect((await call("/v2/repository/models/add_uint8/load", adminToken, { body: {} })).status).toBe(200);
    expect((await call("/v2/models/add_uint8/ready", inferenceToken)).status).toBe(200);
  });

  test("the scheme is case-insensitive; a token with extra words is not a token", async () => {
    expect((await call("/v2/models/add_fp32", undefined, { authorization: `bearer ${inferenceToken}` })).status).toBe(200);
    await expectRefused(await call("/v2/models/add_fp32", undefined, { authorization: `Bearer ${inferenceToken} x` }), 401);
    await expectRefused(await call("/v2/models/add_fp32", undefined, { authorization: `Bearer ${inferenceToken.slice(0, -1)}` }), 401);
  });
});

describe("HTTPS", () => {
  const url = (path: string) => `https://127.0.0.1:${secure.port}${path}`;
  const trusted = { tls: { ca: certificate.cert } } as RequestInit;

  test("a client trusting the certificate gets answers, with the token where needed", async () => {
    expect((await fetch(url("/v2/health/live"), trusted)).status).toBe(200);
    const answer = await fetch(url("/v2/models/add_fp32/infer"), { ...trusted, method: "POST", headers: { authorization: `Bearer ${inferenceToken}` }, body: JSON.stringify(infer) });
    expect(answer.status).toBe(200);
    expect(((await answer.json()) as any).outputs[0].data).toEqual([2, 3, 4, 5]);
    await expectRefused(await fetch(url("/v2/models/add_fp32"), trusted), 401);
  });

  test("with an inference token only, the repository endpoints are closed to everyone", async () => {
    const index = await fetch(url("/v2/repository/index"), { ...trusted, method: "POST", headers: { authorization: `Bearer ${inferenceToken}` } });
    expect(index.status).toBe(403);
  });

  test("a client not trusting it, and plain HTTP to the TLS port, fail", async () => {
    await expect(fetch(url("/v2/health/live"))).rejects.toThrow();
    const overPlain = await fetch(`http://127.0.0.1:${secure.port}/v2/health/live`, { signal: AbortSignal.timeout(5000) }).then((r) => r.status, () => "failed");
    expect(overPlain).toBe("failed");
    expect((await fetch(url("/v2/health/live"), trusted)).status).toBe(200); // still serving
  });
});

describe("the CLI's security options", () => {
  const folder = scratchDir("tessera-tokens-");
  async function cli(args: string[], env: Record<string, string> = {}): Promise<{ code: number; err: string }> {
    const run = Bun.spawn([bunBinary, join(repo, "src/cli/tessera.ts"), "serve", repository, "--port", "0", ...args], { env: { ...process.env, ...env }, stdout: "ignore", stderr: "pipe" });
    const [err, code] = await Promise.all([new Response(run.stderr).text(), run.exited]);
    return { code, err };
  }

  test("a TLS certificate without its key, or the reverse, is a usage error", async () => {
    for (const args of [["--tls-cert", certificate.certPath], ["--tls-key", certificate.keyPath]]) {
      const { code, err } = await cli(args);
      expect(code).toBe(2);
      expect(err).toContain("--tls-cert and --tls-key go together");
    }
  });

  test("an empty token, a token with spaces, or an unreadable file is refused without showing the token", async () => {
    writeFileSync(join(folder, "empty"), "\n");
    writeFileSync(join(folder, "spaced"), "two words\n");
    expect(await cli(["--token-file", join(folder, "empty")])).toEqual({ code: 2, err: "tessera: the token of --token-file is empty\n" });
    const spaced = await cli(["--admin-token-file", join(folder, "spaced")]);
    expect(spaced.code).toBe(2);
    expect(spaced.err).not.toContain("two words");
    const env = await cli([], { TESSERA_SERVE_TOKEN: "" });
    expect(env).toEqual({ code: 2, err: "tessera: the token of TESSERA_SERVE_TOKEN is empty\n" });
    const missing = await cli(["--token-file", join(folder, "absent")]);
    expect(missing.code).toBe(2);
    expect(missing.err).toContain("ENOENT");
  });
});
