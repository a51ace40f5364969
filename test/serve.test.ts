/**
 * `tessera serve`'s handler over HTTP, in process on an ephemeral port: every OIP v2 endpoint,
 * JSON and binary tensor data for each datatype (bit-equal to an in-process run), compression
 * both ways, the repository extension, and the requests it must refuse without falling over.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { connect } from "node:net";
import { gunzipSync, gzipSync, deflateSync, inflateSync } from "node:zlib";
import * as rt from "../src/index.ts";
import { serve, type Server } from "../src/serve/server.ts";
import { makeRepository } from "./support/serve-repository.ts";

const limit = 4 * 1024 * 1024;
let server: Server;
let base: string;
const repository = makeRepository();

beforeAll(async () => {
  server = await serve(repository, { port: 0, maxRequestBytes: limit });
  base = `http://127.0.0.1:${server.port}`;
});
afterAll(() => server.stop());

const utf8 = new TextEncoder();

async function post(path: string, body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  const bytes = body instanceof Uint8Array ? body : utf8.encode(JSON.stringify(body));
  return await fetch(base + path, { method: "POST", body: bytes, headers, decompress: false } as RequestInit);
}

/** A binary request: the JSON header, then each input's bytes, as tritonclient sends them. */
function binaryBody(header: unknown, ...parts: Uint8Array[]): { body: Uint8Array; headers: Record<string, string> } {
  const head = utf8.encode(JSON.stringify(header));
  const body = new Uint8Array(head.length + parts.reduce((n, p) => n + p.length, 0));
  body.set(head);
  let offset = head.length;
  for (const part of parts) {
    body.set(part, offset);
    offset += part.length;
  }
  return { body, headers: { "inference-header-content-length": String(head.length) } };
}

/** A binary response split into its JSON header and each binary output's bytes by name. */
async function readBinary(response: Response): Promise<{ header: any; outputs: Record<string, Uint8Array> }> {
  const body = new Uint8Array(await response.arrayBuffer());
  const length = Number(response.headers.get("inference-header-content-length"));
  const header = JSON.parse(new TextDecoder().decode(body.subarray(0, length)));
  const outputs: Record<string, Uint8Array> = {};
  let offset = length;
  for (const output of header.outputs) {
    const size = output.parameters?.binary_data_size;
    if (size === undefined) continue;
    outputs[output.name] = body.slice(offset, offset + size);
    offset += size;
  }
  expect(offset).toBe(body.length);
  return { header, outputs };
}

function bytesOf(view: ArrayBufferView): Uint8Array {
  return new Uint8Array(view.buffer, view.byteOffset, view.byteLength);
}

/** The same model run in process, for bit-equal comparisons. */
async function runHere(file: string, inputs: Record<string, rt.Tensor>): Promise<Record<string, rt.Tensor>> {
  using model = await rt.loadModel(`${repository}/${file}`);
  return await model.run<rt.Tensor>(inputs);
}

async function expectError(response: Response, status: number): Promise<string> {
  expect(response.status).toBe(status);
  const body = await response.json() as { error: string };
  expect(typeof body.error).toBe("string");
  expect(body.error).not.toContain(repository); // no filesystem path
  expect(body.error).not.toMatch(/\n\s+at /); // no stack trace
  return body.error;
}

async function expectLive(): Promise<void> {
  expect((await fetch(`${base}/v2/health/live`)).status).toBe(200);
}

const numeric = [
  { model: "add_fp32", datatype: "FP32", dtype: "float32", data: [1.5, -2, 3.25, 1e30, 0, -0.5, 7, 8] },
  { model: "add_fp16", datatype: "FP16", dtype: "float16", data: [1.5, -2, 3.25, 100, 0, -0.5, 7, 8] },
  { model: "add_int64", datatype: "INT64", dtype: "int64", data: [1, -2, 3, 2 ** 40, 0, -5, 7, 8] },
  { model: "add_uint8", datatype: "UINT8", dtype: "uint8", data: [1, 2, 3, 255, 0, 5, 7, 254] },
  { model: "not_bool", datatype: "BOOL", dtype: "bool", data: [true, false, true, true, false, false, true, false] },
] as const;

describe("health and metadata", () => {
  test("live, ready, server metadata", async () => {
    expect((await fetch(`${base}/v2/health/live`)).status).toBe(200);
    expect((await fetch(`${base}/v2/health/ready`)).status).toBe(200);
    const metadata = await (await fetch(`${base}/v2`)).json() as any;
    expect(metadata.name).toBe("tessera");
    expect(metadata.version).toBe(rt.version);
    expect(metadata.extensions).toEqual(expect.arrayContaining(["binary_tensor_data", "model_repository"]));
  });

  test("model metadata: datatypes, -1 for dynamic dims, the latest version", async () => {
    const metadata = await (await fetch(`${base}/v2/models/add_fp16`)).json() as any;
    expect(metadata).toEqual({
      name: "add_fp16", versions: ["3"], platform: "onnx",
      inputs: [{ name: "x", datatype: "FP16", shape: [-1, 4] }],
      outputs: [{ name: "y", datatype: "FP16", shape: [-1, 4] }],
    });
    const two = await (await fetch(`${base}/v2/models/two_outputs/versions/1`)).json() as any;
    expect(two.outputs.map((o: any) => o.name)).toEqual(["sum", "product"]);
  });

  test("model readiness, by name and by version", async () => {
    expect((await fetch(`${base}/v2/models/add_fp32/ready`)).status).toBe(200);
    expect((await fetch(`${base}/v2/models/add_fp16/versions/3/ready`)).status).toBe(200);
    expect((await fetch(`${base}/v2/models/add_fp16/versions/1/ready`)).status).toBe(503); // on disk, not loaded
    await expectError(await fetch(`${base}/v2/models/add_fp16/versions/7/ready`), 404);
    await expectError(await fetch(`${base}/v2/models/nothing/ready`), 404);
    await expectError(await fetch(`${base}/v2/nowhere`), 404);
  });
});

describe("inference", () => {
  for (const c of numeric) {
    test(`${c.datatype} as JSON and as binary data, bit-equal to an in-process run`, async () => {
      const version = c.model === "add_fp16" ? "3" : "1";
      const file = c.model === "add_fp16" ? "add_fp16/3/model.onnx" : `${c.model}.onnx`;
      using x = rt.tensor(c.data.map((v) => (c.dtype === "int64" ? BigInt(v) : v)) as number[], { dtype: c.dtype, shape: [2, 4] });
      const expected = (await runHere(file, { x })).y!;
      // JSON, with nested data as some clients send it.
      const nested = [c.data.slice(0, 4), c.data.slice(4)];
      const answer = await post(`/v2/models/${c.model}/infer`, { id: "r1", inputs: [{ name: "x", shape: [2, 4], datatype: c.datatype, data: nested }] });
      expect(answer.status).toBe(200);
      const body = await answer.json() as any;
      expect(body.id).toBe("r1");
      expect(body.model_name).toBe(c.model);
      expect(body.model_version).toBe(version);
      const out = body.outputs[0];
      expect([out.name, out.datatype, out.shape]).toEqual(["y", c.datatype, [2, 4]]);
      using fromJson = rt.tensor(out.data.map((v: number | boolean) => (c.dtype === "int64" ? BigInt(v as number) : v)), { dtype: c.dtype, shape: [2, 4] });
      expect(bytesOf(fromJson.data)).toEqual(bytesOf(expected.data));
      // Binary both ways.
      const { body: request, headers } = binaryBody({
        inputs: [{ name: "x", shape: [2, 4], datatype: c.datatype, parameters: { binary_data_size: x.byteLength } }],
        outputs: [{ name: "y", parameters: { binary_data: true } }],
      }, bytesOf(x.data));
      const binary = await readBinary(await post(`/v2/models/${c.model}/versions/${version}/infer`, request, headers));
      expect(binary.header.outputs[0].parameters.binary_data_size).toBe(expected.byteLength);
      expect(binary.outputs.y).toEqual(bytesOf(expected.data).slice());
      expected.dispose();
    });
  }

  test("BYTES as JSON and as length-prefixed binary data", async () => {
    const strings = ["hello", "", "ünïcode"];
    const json = await (await post("/v2/models/strings/infer", { inputs: [{ name: "x", shape: [3], datatype: "BYTES", data: strings }] })).json() as any;
    expect(json.outputs[0].data).toEqual(strings);
    const encoded = strings.map((s) => utf8.encode(s));
    const prefixed = new Uint8Array(encoded.reduce((n, s) => n + 4 + s.length, 0));
    let offset = 0;
    for (const s of encoded) {
      new DataView(prefixed.buffer).setUint32(offset, s.length, true);
      prefixed.set(s, offset + 4);
      offset += 4 + s.length;
    }
    const { body, headers } = binaryBody({ inputs: [{ name: "x", shape: [3], datatype: "BYTES", parameters: { binary_data_size: prefixed.length } }], parameters: { binary_data_output: true } }, prefixed);
    const binary = await readBinary(await post("/v2/models/strings/infer", body, headers));
    expect(binary.outputs.y).toEqual(prefixed);
  });

  test("requested outputs only, in the order asked, mixing JSON and binary", async () => {
    const a = [1, 2, 3, 4, 5, 6], b = [6, 5, 4, 3, 2, 1];
    const inputs = [{ name: "a", shape: [2, 3], datatype: "FP32", data: a }, { name: "b", shape: [2, 3], datatype: "FP32", data: b }];
    const one = await (await post("/v2/models/two_outputs/infer", { inputs, outputs: [{ name: "product" }] })).json() as any;
    expect(one.outputs.map((o: any) => [o.name, o.data])).toEqual([["product", a.map((v, i) => v * b[i]!)]]);
    const mixed = binaryBody({ inputs, outputs: [{ name: "product", parameters: { binary_data: true } }, { name: "sum" }] });
    const both = await readBinary(await post("/v2/models/two_outputs/infer", mixed.body, mixed.headers));
    expect(both.header.outputs[1].data).toEqual(a.map((v, i) => v + b[i]!));
    expect([...new Float32Array(both.outputs.product!.buffer)]).toEqual(a.map((v, i) => v * b[i]!));
  });

  test("binary inputs wherever the JSON header ends (wrapped when aligned, else copied)", async () => {
    using x = rt.tensor([1, -2, 2 ** 40, 0, -5, 7, 8, 9].map(BigInt), { dtype: "int64", shape: [2, 4] });
    const expected = (await runHere("add_int64.onnx", { x })).y!;
    for (let pad = 0; pad < 8; pad++) { // the id's length moves the binary section through every offset mod 8
      const { body, headers } = binaryBody({
        id: "p".repeat(pad),
        inputs: [{ name: "x", shape: [2, 4], datatype: "INT64", parameters: { binary_data_size: x.byteLength } }],
        outputs: [{ name: "y", parameters: { binary_data: true } }],
      }, bytesOf(x.data));
      const binary = await readBinary(await post("/v2/models/add_int64/infer", body, headers));
      expect(binary.outputs.y).toEqual(bytesOf(expected.data).slice());
    }
    expected.dispose();
  });

  test("many requests in flight at once", async () => {
    const answers = await Promise.all(Array.from({ length: 32 }, (_, i) =>
      post("/v2/models/add_fp32/infer", { inputs: [{ name: "x", shape: [1, 4], datatype: "FP32", data: [i, i, i, i] }] }).then((r) => r.json() as Promise<any>)));
    answers.forEach((answer, i) => expect(answer.outputs[0].data).toEqual([i + 1, i + 1, i + 1, i + 1]));
  });
});

describe("compression", () => {
  const request = { inputs: [{ name: "x", shape: [64, 4], datatype: "FP32", data: Array.from({ length: 256 }, (_, i) => i) }] };
  const expected = Array.from({ length: 256 }, (_, i) => i + 1);
  for (const [encoding, compress, decompress] of [["gzip", gzipSync, gunzipSync], ["deflate", deflateSync, inflateSync]] as const) {
    test(`${encoding} request and response bodies`, async () => {
      const answer = await post("/v2/models/add_fp32/infer", compress(utf8.encode(JSON.stringify(request))), { "content-encoding": encoding, "accept-encoding": encoding });
      expect(answer.status).toBe(200);
      expect(answer.headers.get("content-encoding")).toBe(encoding);
      const body = JSON.parse(new TextDecoder().decode(decompress(new Uint8Array(await answer.arrayBuffer()))));
      expect(body.outputs[0].data).toEqual(expected);
    });

    test(`${encoding} request with binary tensor data`, async () => {
      const x = new Float32Array(expected.length).map((_, i) => i);
      const { body, headers } = binaryBody({ inputs: [{ name: "x", shape: [64, 4], datatype: "FP32", parameters: { binary_data_size: x.byteLength } }] }, bytesOf(x));
      const answer = await post("/v2/models/add_fp32/infer", compress(body), { ...headers, "content-encoding": encoding });
      expect(answer.status).toBe(200);
      expect(((await answer.json()) as any).outputs[0].data).toEqual(expected);
    });
  }
});

describe("the model repository extension", () => {
  test("index, unload, load", async () => {
    // No body at all, as tritonclient sends it (Content-Length: 0).
    const index = async () => await (await fetch(`${base}/v2/repository/index`, { method: "POST" })).json() as any[];
    const names = (await index()).map((m) => m.name);
    expect(names).toEqual(["add_fp16", "add_fp32", "add_int64", "add_uint8", "not_bool", "strings", "two_outputs"]); // no escape.onnx
    expect((await index()).find((m) => m.name === "add_fp16")).toEqual({ name: "add_fp16", version: "3", state: "READY", reason: "" });
    expect((await post("/v2/repository/models/add_int64/unload", {})).status).toBe(200);
    expect((await index()).find((m) => m.name === "add_int64").state).toBe("UNAVAILABLE");
    expect((await fetch(`${base}/v2/models/add_int64/ready`)).status).toBe(503);
    await expectError(await post("/v2/models/add_int64/infer", { inputs: [] }), 503);
    expect((await post("/v2/repository/models/add_int64/load", {})).status).toBe(200);
    expect((await fetch(`${base}/v2/models/add_int64/ready`)).status).toBe(200);
    await expectError(await post("/v2/repository/models/nothing/load", {}), 404);
  });

  test("the index's ready filter lists only the models ready for inference", async () => {
    const names = async (body: unknown) => {
      const response = await post("/v2/repository/index", body);
      expect(response.status).toBe(200);
      return ((await response.json()) as { name: string; state: string }[]).map((m) => `${m.name} ${m.state}`);
    };
    expect((await post("/v2/repository/models/not_bool/unload", {})).status).toBe(200);
    try {
      const ready = await names({ ready: true });
      expect(ready).toContain("add_fp32 READY");
      expect(ready.filter((m) => m.startsWith("not_bool"))).toEqual([]);
      for (const everything of [{ ready: false }, {}, { repository_name: "" }]) expect(await names(everything)).toContain("not_bool UNAVAILABLE");
      expect(await names({ ready: true })).toEqual((await names({})).filter((m) => m.endsWith(" READY")));
    } finally {
      expect((await post("/v2/repository/models/not_bool/load", {})).status).toBe(200);
    }
    expect(await names({ ready: true })).toContain("not_bool READY");
  });

  test("an index request with a malformed body or filter is refused", async () => {
    const bodies = [utf8.encode('{"ready": '), { ready: "true" }, { ready: 1 }, { ready: null }, [true], "ready"];
    for (const body of bodies) expect(await expectError(await post("/v2/repository/index", body), 400)).toMatch(/JSON|ready/);
    await expectLive();
  });

  test("names that would leave the repository are refused", async () => {
    for (const name of ["..%2Fx", "%2Fetc%2Fpasswd", "..", ".hidden"]) {
      const response = await post(`/v2/repository/models/${name}/load`, {});
      expect(response.status).toBeGreaterThanOrEqual(400);
      expect(response.status).toBeLessThan(500);
      await expectError(response, response.status);
    }
    // A symlink inside that resolves outside is not a model at all.
    await expectError(await post("/v2/repository/models/escape/load", {}), 404);
    await expectError(await fetch(`${base}/v2/models/escape`), 404);
    await expectLive();
  });
});

describe("bad requests are refused with an error body, and the server lives on", () => {
  const x = (fields: Record<string, unknown>) => ({ inputs: [{ name: "x", shape: [1, 4], datatype: "FP32", data: [1, 2, 3, 4], ...fields }] });
  const cases: [string, () => Promise<Response>, number][] = [
    ["wrong datatype", () => post("/v2/models/add_fp32/infer", x({ datatype: "INT64" })), 400],
    ["unknown datatype", () => post("/v2/models/add_fp32/infer", x({ datatype: "FP8" })), 400],
    ["wrong shape", () => post("/v2/models/add_fp32/infer", x({ shape: [1, 5], data: [1, 2, 3, 4, 5] })), 400],
    ["data not filling the shape", () => post("/v2/models/add_fp32/infer", x({ shape: [2, 4] })), 400],
    ["elements of the wrong kind", () => post("/v2/models/add_uint8/infer", x({ datatype: "UINT8", data: [1, 2, 3, 300] })), 400],
    ["unknown input", () => post("/v2/models/add_fp32/infer", x({ name: "z" })), 400],
    ["unknown output", () => post("/v2/models/add_fp32/infer", { ...x({}), outputs: [{ name: "nope" }] }), 400],
    ["unknown model", () => post("/v2/models/nothing/infer", x({})), 404],
    ["malformed JSON", () => post("/v2/models/add_fp32/infer", utf8.encode('{"inputs": [')), 400],
    ["binary_data_size past the body", () => {
      const { body, headers } = binaryBody(x({ data: undefined, parameters: { binary_data_size: 64 } }), new Uint8Array(16));
      return post("/v2/models/add_fp32/infer", body, headers);
    }, 400],
    ["header length past the body", () => post("/v2/models/add_fp32/infer", utf8.encode(JSON.stringify(x({}))), { "inference-header-content-length": "100000" }), 400],
    ["over the size limit", () => post("/v2/models/add_fp32/infer", new Uint8Array(limit + 1)), 413],
    ["a body that is not gzip", () => post("/v2/models/add_fp32/infer", utf8.encode("plain"), { "content-encoding": "gzip" }), 400],
  ];
  for (const [name, send, status] of cases) {
    test(name, async () => {
      await expectError(await send(), status);
      await expectLive();
    });
  }

  test("a gzip bomb is refused without being inflated", async () => {
    // 1 GiB of zeros, compressed to about 1 MiB.
    const zeros = new Uint8Array(64 * 1024 * 1024);
    const member = gzipSync(zeros, { level: 9 });
    const bomb = new Uint8Array(member.length * 16);
    for (let i = 0; i < 16; i++) bomb.set(member, i * member.length); // concatenated gzip members inflate to 16 x 64 MiB
    expect(bomb.length).toBeLessThan(limit);
    const rssBefore = process.memoryUsage.rss();
    await expectError(await post("/v2/models/add_fp32/infer", bomb, { "content-encoding": "gzip" }), 413);
    expect(process.memoryUsage.rss() - rssBefore).toBeLessThan(256 * 1024 * 1024);
    await expectLive();
  });

  test("a client hanging up mid-body", async () => {
    await new Promise<void>((resolve, reject) => {
      const socket = connect(server.port, "127.0.0.1", () => {
        socket.write("POST /v2/models/add_fp32/infer HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{\"inputs\": [");
        setTimeout(() => socket.destroy(), 50);
      });
      socket.on("close", () => resolve());
      socket.on("error", reject);
    });
    await expectLive();
    const answer = await post("/v2/models/add_fp32/infer", x({}));
    expect(answer.status).toBe(200);
  });
});
