/**
 * `tessera serve`'s handler under Deno.serve: the same repository and protocol as under Bun
 * (test/serve.test.ts covers them in depth); here, that the Deno path listens, answers health and
 * metadata, runs an inference with JSON and with binary data, and refuses a bad request with an
 * OIP error body; the dynamic batcher; HTTPS with bearer tokens; and the gRPC endpoint. Run with: deno test --no-check
 * --allow-ffi --allow-read --allow-write --allow-env --allow-net=127.0.0.1 --allow-run=openssl
 */
import assert from "node:assert/strict";
import { serve } from "../../src/serve/server.ts";
import { makeRepository } from "../support/serve-repository.ts";
import { selfSignedCertificate } from "../support/tls.ts";

// deno-lint-ignore no-explicit-any
const Deno = (globalThis as any).Deno;
// deno-lint-ignore no-explicit-any
const bodyOf = async (response: Response): Promise<any> => await response.json();

Deno.test("serve: Deno.serve answers OIP v2 health, metadata and infer, JSON and binary", async () => {
  const server = await serve(makeRepository(), { port: 0 });
  const base = `http://127.0.0.1:${server.port}/v2`;
  try {
    assert.equal((await fetch(`${base}/health/live`)).status, 200);
    const metadata = await bodyOf(await fetch(base));
    assert.ok(metadata.extensions.includes("binary_tensor_data"));
    const model = await bodyOf(await fetch(`${base}/models/add_fp32`));
    assert.deepEqual(model.inputs, [{ name: "x", datatype: "FP32", shape: [-1, 4] }]);

    const json = await fetch(`${base}/models/add_fp32/infer`, {
      method: "POST",
      body: JSON.stringify({ inputs: [{ name: "x", datatype: "FP32", shape: [1, 4], data: [1, 2, 3, 4.5] }] }),
    });
    assert.equal(json.status, 200);
    assert.deepEqual((await bodyOf(json)).outputs[0].data, [2, 3, 4, 5.5]);

    // Triton's binary extension: the JSON header, then the raw elements; the output comes back raw too.
    const header = new TextEncoder().encode(JSON.stringify({
      inputs: [{ name: "x", datatype: "FP32", shape: [1, 4], parameters: { binary_data_size: 16 } }],
      outputs: [{ name: "y", parameters: { binary_data: true } }],
    }));
    const body = new Uint8Array(header.length + 16);
    body.set(header);
    body.set(new Uint8Array(new Float32Array([0.5, -1, 8, 100]).buffer), header.length);
    const binary = await fetch(`${base}/models/add_fp32/infer`, {
      method: "POST",
      headers: { "Inference-Header-Content-Length": String(header.length), "Content-Type": "application/octet-stream" },
      body,
    });
    assert.equal(binary.status, 200);
    const jsonLength = Number(binary.headers.get("Inference-Header-Content-Length"));
    const bytes = new Uint8Array(await binary.arrayBuffer());
    assert.deepEqual([...new Float32Array(bytes.slice(jsonLength).buffer)], [1.5, 0, 9, 101]);

    const wrong = await fetch(`${base}/models/add_fp32/infer`, {
      method: "POST",
      body: JSON.stringify({ inputs: [{ name: "x", datatype: "INT64", shape: [1, 4], data: [1, 2, 3, 4] }] }),
    });
    assert.equal(wrong.status, 400);
    assert.equal(typeof (await bodyOf(wrong)).error, "string");
    assert.equal((await fetch(`${base}/health/live`)).status, 200);
  } finally {
    await server.stop();
  }
});

// The certificate is made by openssl, so this case needs --allow-run=openssl (scripts/test gives it).
const canMakeCertificate = Deno.permissions.querySync({ name: "run", command: "openssl" }).state === "granted";

Deno.test("serve: the dynamic batcher joins concurrent requests under Deno too", async () => {
  const server = await serve(makeRepository(), { port: 0, batching: { maxBatchSize: 8, maxQueueDelayUs: 50_000 } });
  const base = `http://127.0.0.1:${server.port}/v2/models/add_fp32`;
  try {
    const answers = await Promise.all(Array.from({ length: 8 }, (_, i) => fetch(`${base}/infer`, {
      method: "POST",
      body: JSON.stringify({ id: `r${i}`, inputs: [{ name: "x", datatype: "FP32", shape: [1, 4], data: [i, i, i, i] }] }),
    }).then(bodyOf)));
    answers.forEach((answer, i) => {
      assert.equal(answer.id, `r${i}`);
      assert.deepEqual(answer.outputs[0].data, [i + 1, i + 1, i + 1, i + 1]);
    });
    const stats = (await bodyOf(await fetch(`${base}/stats`))).model_stats[0];
    assert.equal(stats.inference_count, 8);
    assert.ok(stats.execution_count < 8, `${stats.execution_count} runs for 8 requests: nothing was batched`);
  } finally {
    await server.stop();
  }
});

Deno.test({ name: "serve: Deno.serve over HTTPS with bearer tokens", ignore: !canMakeCertificate }, async () => {
  const certificate = selfSignedCertificate();
  const server = await serve(makeRepository(), { port: 0, tokens: { inference: "deno-inference-71c2" }, tls: { cert: certificate.cert, key: certificate.key } });
  const client = Deno.createHttpClient({ caCerts: [certificate.cert] });
  // Deno's own RequestInit field, which the Bun types this file is also checked with do not know.
  const trusting = { client } as RequestInit;
  const base = `https://127.0.0.1:${server.port}/v2`;
  const infer = (headers: Record<string, string>) => fetch(`${base}/models/add_fp32/infer`, {
    ...trusting,
    method: "POST",
    headers,
    body: JSON.stringify({ inputs: [{ name: "x", datatype: "FP32", shape: [1, 4], data: [1, 2, 3, 4] }] }),
  });
  try {
    const live = await fetch(`${base}/health/live`, trusting);
    assert.equal(live.status, 200);
    await live.body?.cancel();
    const refused = await infer({});
    assert.equal(refused.status, 401);
    assert.match(refused.headers.get("www-authenticate") ?? "", /^Bearer/);
    assert.equal(typeof (await bodyOf(refused)).error, "string");
    const answer = await infer({ Authorization: "Bearer deno-inference-71c2" });
    assert.equal(answer.status, 200);
    assert.deepEqual((await bodyOf(answer)).outputs[0].data, [2, 3, 4, 5]);
  } finally {
    client.close();
    await server.stop();
  }
});

// The gRPC endpoint under Deno's node:http2, with @grpc/grpc-js's own client on the service
// definition the server uses (tritonclient[grpc] covers the protocol in test/serve-grpc.test.ts).
Deno.test("serve: gRPC answers ServerLive and ModelInfer with raw contents", async () => {
  const grpc = await import("@grpc/grpc-js");
  const loader = await import("@grpc/proto-loader");
  const { serviceDescriptor } = await import("../../src/serve/grpc/descriptor.ts");
  const server = await serve(makeRepository(), { port: 0, grpcPort: 0 });
  // deno-lint-ignore no-explicit-any
  const definition = loader.fromJSON(serviceDescriptor as any, { keepCase: true, longs: String, defaults: true });
  // deno-lint-ignore no-explicit-any
  const Service = (grpc.loadPackageDefinition(definition).inference as any).GRPCInferenceService;
  const client = new Service(`127.0.0.1:${server.grpcPort}`, grpc.credentials.createInsecure());
  // deno-lint-ignore no-explicit-any
  const call = (rpc: string, request: object) => new Promise<any>((resolve, reject) => client[rpc](request, (e: Error | null, r: unknown) => (e ? reject(e) : resolve(r))));
  try {
    assert.equal((await call("ServerLive", {})).live, true);
    const response = await call("ModelInfer", {
      model_name: "add_fp32",
      inputs: [{ name: "x", datatype: "FP32", shape: [1, 4] }],
      raw_input_contents: [new Uint8Array(new Float32Array([0.5, -1, 8, 100]).buffer)],
    });
    assert.deepEqual(response.outputs.map((o: { name: string; shape: string[] }) => [o.name, o.shape]), [["y", ["1", "4"]]]);
    assert.deepEqual([...new Float32Array(new Uint8Array(response.raw_output_contents[0]).buffer)], [1.5, 0, 9, 101]);
  } finally {
    client.close();
    await server.stop();
  }
});
