/**
 * rt.remote under Deno: Deno's fetch against Tessera's server (served by Deno.serve), over HTTPS
 * with a self-signed certificate given as the CA (Deno.createHttpClient), gzip compression and
 * a bearer token; a run bit-equal to an in-process one, a profile, and a closed port as
 * NetworkError. test/remote.test.ts covers the client in depth under Bun. Run with: deno test
 * --no-check --allow-ffi --allow-read --allow-write --allow-env --allow-net=127.0.0.1 --allow-run=openssl
 */
import assert from "node:assert/strict";
import * as rt from "../../src/index.ts";
import { serve } from "../../src/serve/server.ts";
import { makeRepository } from "../support/serve-repository.ts";
import { selfSignedCertificate } from "../support/tls.ts";

// deno-lint-ignore no-explicit-any
const Deno = (globalThis as any).Deno;

// The certificate is made by openssl, so this case needs --allow-run=openssl (scripts/test gives it).
const canMakeCertificate = Deno.permissions.querySync({ name: "run", command: "openssl" }).state === "granted";

Deno.test({ name: "remote: connect over HTTPS with gzip and a token, run, profile", ignore: !canMakeCertificate }, async () => {
  const certificate = selfSignedCertificate();
  const repository = makeRepository();
  const token = "deno-remote-admin-4c7e";
  const server = await serve(repository, { port: 0, tokens: { admin: token }, tls: { cert: certificate.cert, key: certificate.key } });
  try {
    const session = await rt.remote.connect("127.0.0.1", { port: server.port, secure: true, ca: certificate.cert, compression: "gzip", token });
    try {
      assert.equal(session.hostInfo.server, "tessera");
      assert.deepEqual(session.hostInfo.host, rt.hostInfo());
      const model = await session.loadModel("add_fp32", { threads: 1 });
      const local = await rt.loadModel(`${repository}/add_fp32.onnx`);
      assert.deepEqual(model.inputs, local.inputs);
      assert.deepEqual(model.operations, local.operations);
      const x = rt.tensor(new Float32Array(4096).map((_, i) => i / 7), { shape: [1024, 4] });
      const there = (await model.run({ x })).y!;
      const here = (await local.run<rt.Tensor>({ x })).y!;
      assert.deepEqual(there.shape, here.shape);
      assert.deepEqual(new Uint8Array(there.toTypedArray().buffer), new Uint8Array(here.toTypedArray().buffer));
      local.dispose();

      const profiler = new rt.BasicProfiler(model, { repeat: 3 });
      const result = await profiler.run();
      assert.equal(result.runs, 3);
      assert.deepEqual(profiler.statistics().layers.map((l) => l.opType), ["Add"]);
    } finally {
      session.close();
    }
    // Without the CA the certificate is not trusted.
    await assert.rejects(rt.remote.connect("127.0.0.1", { port: server.port, secure: true }), rt.NetworkError);
  } finally {
    await server.stop();
  }
});

Deno.test("remote: a closed port is NetworkError; a plain server still runs", async () => {
  const server = await serve(makeRepository(), { port: 0, extensions: false });
  const port = server.port;
  try {
    const session = await rt.remote.connect("127.0.0.1", { port });
    const model = await session.loadModel("not_bool");
    const { y } = await model.run({ x: rt.tensor([[true, false, true, false]], { dtype: "bool" }) });
    assert.deepEqual(y!.toArray(), [[false, true, false, true]]);
    await assert.rejects(model.inferShape("y", { x: [1, 4] }), rt.NotImplementedError);
    session.close();
  } finally {
    await server.stop();
  }
  await assert.rejects(rt.remote.connect("127.0.0.1", { port }), rt.NetworkError);
});
