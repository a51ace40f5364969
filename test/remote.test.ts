/**
 * rt.remote against real servers on 127.0.0.1: Tessera's own (with its extension, and without,
 * as a plain OIP v2 server; with binary tensor data and without, as MLServer), over HTTP and
 * HTTPS, with compression and bearer tokens. Results are compared bit for bit with the same
 * models run in process; failures must be the right typed errors, and never hang.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import * as rt from "../src/index.ts";
import { createHandler, defaultMaxRequestBytes } from "../src/serve/handler.ts";
import { Repository } from "../src/serve/repository.ts";
import { serve, type Server } from "../src/serve/server.ts";
import { startServe } from "./support/serve-cli.ts";
import { makeRepository } from "./support/serve-repository.ts";
import { selfSignedCertificate } from "./support/tls.ts";

const repository = makeRepository();
const inferenceToken = "remote-inference-5d1e";
const adminToken = "remote-admin-93ab";
let full: Server;
let plain: Server;
let jsonOnly: Server;

beforeAll(async () => {
  full = await serve(repository, { port: 0 });
  plain = await serve(repository, { port: 0, extensions: false });
  jsonOnly = await serve(repository, { port: 0, extensions: false, binaryTensorData: false });
});
afterAll(async () => {
  await Promise.all([full.stop(), plain.stop(), jsonOnly.stop()]);
});

const connectTo = (server: Server, options: rt.remote.ConnectOptions = {}) => rt.remote.connect("127.0.0.1", { port: server.port, ...options });

/** The bytes of a tensor's elements (strings as their JSON), for bit-equal comparisons. */
function bitsOf(t: rt.Tensor): string {
  if (t.dtype === "string") return JSON.stringify(t.toArray());
  const data = t.toTypedArray();
  return Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString("hex");
}

/** A numeric tensor's elements as numbers. */
function values(t: rt.Tensor): number[] {
  return Array.from(t.toTypedArray() as ArrayLike<number>);
}

/** The inputs each test model takes, one per datatype the issue names. */
const cases: [string, () => rt.Tensor][] = [
  ["add_fp32", () => rt.tensor(new Float32Array([1.5, -2, 3e-8, 1e30, 0.1, 7, -0, 8]), { shape: [2, 4] })],
  ["add_fp16", () => rt.tensor(new Uint16Array([0x3c00, 0x4000, 0xc500, 0x0001]), { dtype: "float16", shape: [1, 4] })],
  ["add_int64", () => rt.tensor(new BigInt64Array([1n, -5n, 2n ** 60n, 0n]), { shape: [1, 4] })],
  ["add_uint8", () => rt.tensor(new Uint8Array([0, 7, 200, 254]), { shape: [1, 4] })],
  ["not_bool", () => rt.tensor([[true, false, false, true]], { dtype: "bool" })],
  ["strings", () => rt.tensor(["a", "", "ünïcode"], { dtype: "string" })],
];

async function expectSameAsLocal(session: rt.remote.RemoteSession, name: string, input: rt.Tensor): Promise<void> {
  const remote = await session.loadModel(name);
  const file = name === "add_fp16" ? `${repository}/add_fp16/3/model.onnx` : `${repository}/${name}.onnx`;
  using local = await rt.loadModel(file);
  const here = await local.run<rt.Tensor>({ x: input });
  const there = await remote.run({ x: input });
  expect(Object.keys(there)).toEqual(["y"]);
  expect(there.y!.dtype).toBe(here.y!.dtype);
  expect(there.y!.shape).toEqual(here.y!.shape);
  expect(bitsOf(there.y!)).toBe(bitsOf(here.y!));
}

describe("with Tessera's extension", () => {
  let session: rt.remote.RemoteSession;
  beforeAll(async () => {
    session = await connectTo(full);
  });
  afterAll(() => session.close());

  test("connect reads the server's metadata and its host's facts", () => {
    expect(session.url).toBe(`http://127.0.0.1:${full.port}`);
    expect(session.hasExtension).toBe(true);
    expect(session.usesBinary).toBe(true);
    const info = session.hostInfo;
    expect(info.server).toBe("tessera");
    expect(info.version).toBe(rt.version);
    expect(info.extensions).toContain("tessera");
    expect(info.host).toEqual(rt.hostInfo());
    expect(info.devices?.[0]?.id).toBe("cpu:0");
    expect(info.devices?.[0]?.cpu?.level).toBe(rt.devices()[0]!.cpu!.level);
  });

  test("loadModel takes load options; the model describes itself as the local one does", async () => {
    const remote = await session.loadModel("add_fp16/3/model.onnx", { threads: 1, scheduler: "simple" });
    using local = await rt.loadModel(`${repository}/add_fp16/3/model.onnx`);
    expect(remote.name).toBe("add_fp16");
    expect(remote.version).toBe("3");
    expect(remote.inputNames).toEqual(local.inputNames);
    expect(remote.outputNames).toEqual(local.outputNames);
    expect(remote.inputs).toEqual(local.inputs);
    expect(remote.outputs).toEqual(local.outputs);
    expect(remote.getTensor("y")).toEqual(local.getTensor("y"));
    expect(remote.operations).toEqual(local.operations);
    expect(remote.isDynamic).toBe(local.isDynamic);
    expect(await remote.inferShape("y", { x: [5, 4] })).toEqual(local.inferShape("y", { x: [5, 4] }));
    expect(await remote.inferShape("y", [["n", 4]])).toEqual(local.inferShape("y", [["n", 4]]));
    // The server loaded it with the options: its own model says so.
    expect(full.repository.model("add_fp16").model.getOption("threads")).toBe("1");
  });

  test("load options are refused as rt.loadModel refuses them, and paths stay in the repository", async () => {
    await expect(session.loadModel("add_fp32", { threadz: 1 } as rt.LoadOptions)).rejects.toThrow(rt.InvalidArgumentError);
    await expect(session.loadModel("add_fp32", "cpu" as unknown as rt.LoadOptions)).rejects.toThrow(rt.InvalidArgumentError);
    const badValue = await session.loadModel("add_fp32", { scheduler: "bogus" as "simple" }).catch((e) => e);
    expect(badValue).toBeInstanceOf(rt.RemoteError);
    expect(badValue.httpStatus).toBe(400);
    expect(badValue.message).toContain("scheduler");
    const writes = await session.loadModel("add_fp32", { intermediateSavePath: "/tmp/x" }).catch((e) => e);
    expect(writes.httpStatus).toBe(400);
    expect(writes.message).toContain("intermediateSavePath");
    const caches = await session.loadModel("add_fp32", { cacheDir: "/tmp/x" }).catch((e) => e);
    expect(caches.httpStatus).toBe(400);
    expect(caches.message).toContain("cacheDir");
    await expect(session.loadModel("../outside.onnx")).rejects.toThrow(rt.InvalidArgumentError);
    await expect(session.loadModel("/etc/passwd")).rejects.toThrow(rt.InvalidArgumentError);
    const escape = await session.loadModel("escape").catch((e) => e); // a symlink out of the repository
    expect(escape).toBeInstanceOf(rt.RemoteError);
    expect(escape.httpStatus).toBe(404);
    expect(escape.message).not.toContain(repository);
    const missing = await session.loadModel("add_fp16/2").catch((e) => e);
    expect(missing.httpStatus).toBe(404);
  });

  for (const [name, input] of cases) {
    test(`run is bit-equal to an in-process run: ${name}`, async () => {
      await expectSameAsLocal(session, name, input());
    });
  }

  test("run selects outputs, and takes inputs by position or as an array", async () => {
    const model = await session.loadModel("two_outputs");
    const a = rt.tensor(new Float32Array([1, 2, 3, 4, 5, 6]), { shape: [2, 3] });
    const b = rt.tensor(new Float32Array([2, 2, 2, 2, 2, 2]), { shape: [2, 3] });
    const product = await model.run({ 0: a, b }, ["product"]);
    expect(Object.keys(product)).toEqual(["product"]);
    expect(values(product.product!)).toEqual([2, 4, 6, 8, 10, 12]);
    const both = await model.run([a, new Float32Array([1, 1, 1, 1, 1, 1])]);
    expect(values(both.sum!)).toEqual([2, 3, 4, 5, 6, 7]);
    await expect(model.run({ a })).rejects.toThrow(rt.InvalidArgumentError);
    await expect(model.run({ a, b }, ["nope"])).rejects.toThrow(rt.InvalidArgumentError);
    await expect(model.run({ a, b }, { into: { sum: a } })).rejects.toThrow(rt.NotImplementedError);
    // A wrong shape is the server's refusal, with its message.
    const wrong = await model.run({ a: rt.tensor(new Float32Array(4), { shape: [2, 2] }), b }).catch((e) => e);
    expect(wrong).toBeInstanceOf(rt.RemoteError);
    expect(wrong.httpStatus).toBe(400);
    expect(wrong.message).toContain("the model takes [2, 3]");
  });

  test("createRequest: infer returns at once, wait, getOutputs and getTensor", async () => {
    const model = await session.loadModel("add_fp32");
    using request = model.createRequest();
    expect(() => request.getOutputs()).toThrow(rt.InvalidStateError);
    const x = rt.tensor(new Float32Array([1, 2, 3, 4]), { shape: [1, 4] });
    request.infer({ x });
    expect(request.status).toBe("RUNNING");
    expect(() => request.infer({ x })).toThrow(rt.InvalidStateError);
    await request.wait();
    expect(request.status).toBe("READY");
    expect(values(request.getTensor("y"))).toEqual([2, 3, 4, 5]);
    expect(request.getTensor("x")).toBe(x);
    expect(Object.keys(request.getOutputs())).toEqual(["y"]);
    expect(() => request.getTensor("hidden")).toThrow(rt.InvalidStateError);
    // The request runs again at once after a run.
    const again = await request.run({ x: rt.tensor(new Float32Array([0, 0, 0, 1]), { shape: [1, 4] }) });
    expect(values(again.y!)).toEqual([1, 1, 1, 2]);
  });

  test("cancel rejects the run in flight with RequestError, and the request runs on", async () => {
    const model = await session.loadModel("add_fp32");
    using request = model.createRequest();
    const x = rt.tensor(new Float32Array([1, 2, 3, 4]), { shape: [1, 4] });
    request.infer({ x });
    request.cancel();
    await expect(request.wait()).rejects.toThrow(rt.RequestError);
    expect(request.status).toBe("FAULT");
    expect(() => request.getOutputs()).toThrow(rt.InvalidStateError);
    // A long profile, cancelled while the server works on it.
    const long = request.profile({ x }, undefined, { repeat: 1_000_000 });
    await Bun.sleep(50);
    request.cancel();
    await expect(long).rejects.toThrow(rt.RequestError);
    expect(values((await request.run({ x })).y!)).toEqual([2, 3, 4, 5]);
  });

  test("profile brings the events and durations back; BasicProfiler works on a remote model", async () => {
    const model = await session.loadModel("add_fp32", { threads: 1 });
    using request = model.createRequest();
    const result = await request.profile({ x: rt.tensor(new Float32Array(8), { shape: [2, 4] }) }, undefined, { repeat: 4, warmup: 2 });
    expect(result.runs).toBe(4);
    expect(result.dropped).toBe(0);
    expect(result.durations.model).toHaveLength(4);
    expect(result.durations.layers.map((l) => l.opType)).toEqual(["Add"]);
    expect(result.events.some((e) => e.kind === "layer-execute")).toBe(true);
    expect(request.getProfileEvents()).toEqual(result.events);
    expect(request.getProfileDurations()).toEqual(result.durations);
    expect(values(request.getTensor("y"))).toEqual(new Array(8).fill(1));
    await expect(request.profile({ x: rt.tensor(new Float32Array(4), { shape: [1, 4] }) }, undefined, { repeat: 0 })).rejects.toThrow(rt.RemoteError);

    const profiler = new rt.BasicProfiler(model, { repeat: 3 });
    const run = await profiler.run(); // random inputs, made from the remote TensorInfo
    expect(run.runs).toBe(3);
    const statistics = profiler.statistics();
    expect(statistics.model.count).toBe(3);
    expect(statistics.layers.map((l) => l.opType)).toEqual(["Add"]);
    expect(rt.chromeTraceProblems(profiler.toChromeTrace())).toEqual([]);
    expect((await model.profile({ x: rt.tensor(new Float32Array(4), { shape: [1, 4] }) }, { repeat: 2 })).runs).toBe(2);
  });

  test("a disposed model or request refuses further use", async () => {
    const model = await session.loadModel("add_fp32");
    const request = model.createRequest();
    request.dispose();
    request.dispose();
    await expect(request.run({ x: rt.tensor(new Float32Array(4), { shape: [1, 4] }) })).rejects.toThrow(rt.InvalidStateError);
    model.dispose();
    expect(() => model.createRequest()).toThrow(rt.InvalidStateError);
  });
});

describe("compression", () => {
  // The real handler behind a server that notes what each request's headers said.
  const seen: { encoding: string | null; accept: string | null }[] = [];
  let server: ReturnType<typeof Bun.serve>;
  beforeAll(async () => {
    const handler = createHandler(await Repository.open(repository), { maxRequestBytes: defaultMaxRequestBytes });
    server = Bun.serve({
      port: 0,
      hostname: "127.0.0.1",
      fetch(request) {
        seen.push({ encoding: request.headers.get("content-encoding"), accept: request.headers.get("accept-encoding") });
        return handler(request);
      },
    });
  });
  afterAll(() => server.stop(true));

  for (const compression of ["gzip", "deflate", true] as const) {
    test(`compression ${compression}: bodies go compressed, answers come back compressed and right`, async () => {
      seen.length = 0;
      using session = await rt.remote.connect("127.0.0.1", { port: server.port!, compression });
      const model = await session.loadModel("add_fp32");
      const x = rt.tensor(new Float32Array(4096).fill(2), { shape: [1024, 4] });
      const { y } = await model.run({ x });
      expect(y!.toTypedArray()).toEqual(new Float32Array(4096).fill(3));
      const posts = seen.filter((s) => s.encoding !== null);
      expect(posts.length).toBeGreaterThan(0);
      expect(new Set(posts.map((s) => s.encoding))).toEqual(new Set([compression === true ? "gzip" : compression]));
      expect(seen.every((s) => s.accept === "gzip, deflate")).toBe(true);
    });
  }

  test("without compression nothing is compressed either way", async () => {
    seen.length = 0;
    using session = await rt.remote.connect("127.0.0.1", { port: server.port! });
    await (await session.loadModel("add_fp32")).run({ x: rt.tensor(new Float32Array(4), { shape: [1, 4] }) });
    expect(seen.every((s) => s.encoding === null && s.accept === "identity")).toBe(true);
  });
});

describe("a plain OIP v2 server (Tessera with its extension off)", () => {
  test("metadata, load through the repository API, run; extension-only calls say what they need", async () => {
    using session = await connectTo(plain);
    expect(session.hasExtension).toBe(false);
    expect(session.hostInfo.host).toBeUndefined();
    expect(session.hostInfo.extensions).not.toContain("tessera");
    // Not loaded: the client loads it through the repository API first.
    plain.repository.unload("add_int64");
    const model = await session.loadModel("add_int64.onnx");
    expect(model.inputs.map((i) => [i.name, i.dtype, i.shape])).toEqual([["x", "int64", ["?", 4]]]);
    expect(model.isDynamic).toBe(true);
    for (const [name, input] of cases) await expectSameAsLocal(session, name, input());
    expect(() => model.operations).toThrow(rt.NotImplementedError);
    await expect(model.inferShape("y", { x: [1, 4] })).rejects.toThrow(rt.NotImplementedError);
    await expect(model.profile({ x: rt.tensor(new BigInt64Array(4), { shape: [1, 4] }) })).rejects.toThrow(/Tessera's extension/);
    await expect(session.loadModel("add_fp32", { threads: 1 })).rejects.toThrow(rt.NotImplementedError);
    const missing = await session.loadModel("nothing_here").catch((e) => e);
    expect(missing).toBeInstanceOf(rt.RemoteError);
    expect(missing.httpStatus).toBe(404);
    expect((await fetch(`http://127.0.0.1:${plain.port}/v2/tessera/host`)).status).toBe(404);
  });

  test("a server without binary tensor data gets JSON; it refuses binary, so nothing else would pass", async () => {
    using session = await connectTo(jsonOnly, { compression: "gzip" });
    expect(session.usesBinary).toBe(false);
    for (const [name, input] of cases) if (name !== "add_int64") await expectSameAsLocal(session, name, input());
    // JSON numbers hold int64 exactly only up to 2**53; past that the server refuses what it cannot read exactly.
    await expectSameAsLocal(session, "add_int64", rt.tensor(new BigInt64Array([1n, -5n, 2n ** 52n, 0n]), { shape: [1, 4] }));
    const int64 = await session.loadModel("add_int64");
    const tooBig = await int64.run({ x: rt.tensor(new BigInt64Array([2n ** 60n, 0n, 0n, 0n]), { shape: [1, 4] }) }).catch((e) => e);
    expect(tooBig.httpStatus).toBe(400);
    const header = JSON.stringify({ inputs: [{ name: "x", datatype: "FP32", shape: [1, 4], parameters: { binary_data_size: 16 } }] });
    const refused = await fetch(`http://127.0.0.1:${jsonOnly.port}/v2/models/add_fp32/infer`, {
      method: "POST",
      headers: { "inference-header-content-length": String(header.length) },
      body: Buffer.concat([Buffer.from(header), Buffer.alloc(16)]),
    });
    expect(refused.status).toBe(400);
  });
});

describe("security", () => {
  const certificate = selfSignedCertificate();
  let guarded: Server;
  let secure: Server;
  beforeAll(async () => {
    guarded = await serve(repository, { port: 0, tokens: { inference: inferenceToken, admin: adminToken } });
    secure = await serve(repository, { port: 0, tokens: { admin: adminToken }, tls: { cert: certificate.cert, key: certificate.key } });
  });
  afterAll(async () => {
    await Promise.all([guarded.stop(), secure.stop()]);
  });

  test("bearer tokens: none or a wrong one is RemoteError 401; the inference token cannot load (403)", async () => {
    // Server metadata stays open, but connect reads the host's facts, which need the inference token.
    for (const token of [undefined, "wrong-token"]) {
      const refused = await connectTo(guarded, token === undefined ? {} : { token }).catch((e) => e);
      expect(refused).toBeInstanceOf(rt.RemoteError);
      expect(refused.httpStatus).toBe(401);
    }
    await expect(connectTo(guarded, { token: "two words" })).rejects.toThrow(rt.InvalidArgumentError);
    using inference = await connectTo(guarded, { token: inferenceToken });
    const forbidden = await inference.loadModel("add_fp32").catch((e) => e);
    expect(forbidden.httpStatus).toBe(403);
    expect(forbidden.message).not.toContain(inferenceToken);
    using admin = await connectTo(guarded, { token: adminToken });
    const model = await admin.loadModel("add_fp32", { threads: 1 });
    expect(values((await model.run({ x: rt.tensor(new Float32Array([1, 2, 3, 4]), { shape: [1, 4] }) })).y!)).toEqual([2, 3, 4, 5]);
  });

  test("HTTPS with a self-signed certificate given as the CA; without it, NetworkError", async () => {
    using session = await connectTo(secure, { secure: true, ca: certificate.cert, token: adminToken, compression: true });
    expect(session.url).toStartWith("https://");
    const model = await session.loadModel("add_fp32");
    const result = await model.profile({ x: rt.tensor(new Float32Array([1, 2, 3, 4]), { shape: [1, 4] }) }, { repeat: 2 });
    expect(result.runs).toBe(2);
    await expect(connectTo(secure, { secure: true })).rejects.toThrow(rt.NetworkError);
    await expect(connectTo(secure)).rejects.toThrow(rt.NetworkError); // plain HTTP to a TLS port
  });
});

describe("network failures", () => {
  test("a closed port is NetworkError", async () => {
    const gone = await serve(repository, { port: 0, extensions: false });
    const port = gone.port;
    await gone.stop();
    await expect(rt.remote.connect("127.0.0.1", { port })).rejects.toThrow(rt.NetworkError);
  });

  test("a server that never answers is NetworkError after timeoutMs", async () => {
    const silent = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: () => new Promise<Response>(() => {}) });
    try {
      const started = performance.now();
      await expect(rt.remote.connect("127.0.0.1", { port: silent.port!, timeoutMs: 300 })).rejects.toThrow(/no answer within 300 ms/);
      expect(performance.now() - started).toBeLessThan(5000);
    } finally {
      silent.stop(true);
    }
  });

  test("a server killed mid-request makes the pending promise reject with NetworkError", async () => {
    const { child, printed } = await startServe([]);
    try {
      const port = Number(/:(\d+)\/v2/.exec(printed[0]!)?.[1]);
      using session = await rt.remote.connect("127.0.0.1", { port });
      const model = await session.loadModel("add_fp32");
      // Long enough to be in flight when the server dies.
      const pending = model.profile({ x: rt.tensor(new Float32Array(4), { shape: [1, 4] }) }, { repeat: 10_000_000 });
      await Bun.sleep(300);
      child.kill("SIGKILL");
      const started = performance.now();
      await expect(pending).rejects.toThrow(rt.NetworkError);
      expect(performance.now() - started).toBeLessThan(10_000);
    } finally {
      child.kill("SIGKILL");
      await child.exited;
    }
  });

  test("bad connect arguments are refused before anything is sent", async () => {
    await expect(rt.remote.connect("http://127.0.0.1")).rejects.toThrow(rt.InvalidArgumentError);
    await expect(rt.remote.connect("127.0.0.1", { port: 70000 })).rejects.toThrow(rt.InvalidArgumentError);
    await expect(rt.remote.connect("127.0.0.1", { enable_compression: true } as rt.remote.ConnectOptions)).rejects.toThrow(/Tessera's is compression/);
    await expect(rt.remote.connect("127.0.0.1", { compression: "br" as "gzip" })).rejects.toThrow(rt.InvalidArgumentError);
  });
});
