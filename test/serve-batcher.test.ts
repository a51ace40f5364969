/**
 * The serve command's dynamic batcher, over a real server on 127.0.0.1 (REST and gRPC) with real
 * models: concurrent requests get exactly their own rows, bit-equal to lone in-process runs, in
 * fewer model runs (read from the statistics endpoint, so a batcher that never joins anything
 * fails here); max_batch_size and the queue delay hold; mixed shapes and bad requests in one
 * window; models that cannot batch; and the per-model config file.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import * as rt from "../src/index.ts";
import { parseBatchingConfig } from "../src/serve/batching-config.ts";
import { serviceDescriptor } from "../src/serve/grpc/descriptor.ts";
import { Repository } from "../src/serve/repository.ts";
import { serve, type Server } from "../src/serve/server.ts";
import { addPair, fixedBatch, lookup, scaleAndSum, transpose } from "./support/batch-models.ts";
import { bunBinary, repo, scratchDir } from "./support/paths.ts";
import { startServe } from "./support/serve-cli.ts";
import { addOne, negate } from "./support/serve-models.ts";

const utf8 = new TextEncoder();
const repository = join(scratchDir("tessera-batcher-"), "models");
let server: Server;
let base: string;

function put(name: string, model: Uint8Array, config?: unknown): void {
  writeFileSync(join(repository, `${name}.onnx`), model);
  if (config !== undefined) writeFileSync(join(repository, `${name}.json`), JSON.stringify(config));
}

beforeAll(async () => {
  mkdirSync(repository);
  put("scale", scaleAndSum("scale"));
  put("lookup", lookup("lookup"));
  put("pair", addPair("pair"));
  put("fixed", fixedBatch("fixed"));
  put("transpose", transpose("transpose"));
  put("add_fp16", addOne("add_fp16", "float16"));
  put("add_uint8", addOne("add_uint8", "uint8"));
  put("add_int64", addOne("add_int64", "int64"));
  put("not_bool", negate("not_bool"));
  // Their own settings over the server's: a long window, a full-batch trigger, batching off.
  put("window", scaleAndSum("window"), { max_batch_size: 4, dynamic_batching: { max_queue_delay_microseconds: 300_000 } });
  put("full", scaleAndSum("full"), { max_batch_size: 4, dynamic_batching: { max_queue_delay_microseconds: 5_000_000 } });
  put("alone", scaleAndSum("alone"), { max_batch_size: 0 });
  server = await serve(repository, { port: 0, grpcPort: 0, batching: { maxBatchSize: 8, maxQueueDelayUs: 100_000 } });
  base = `http://127.0.0.1:${server.port}`;
});
afterAll(() => server.stop());

interface Input {
  name: string;
  datatype: string;
  shape: number[];
  bytes: Uint8Array;
}

const bytesOf = (view: ArrayBufferView) => new Uint8Array(view.buffer, view.byteOffset, view.byteLength).slice();

function floats(rows: number, n: number, seed: number): Float32Array {
  return new Float32Array(rows * n).map((_, k) => Math.sin(seed * 12.9898 + k * 78.233) * 100);
}

const typed = { FP32: Float32Array, FP16: Float16Array, UINT8: Uint8Array, INT64: BigInt64Array, BOOL: Uint8Array } as const;
const dtypes = { FP32: "float32", FP16: "float16", UINT8: "uint8", INT64: "int64", BOOL: "bool" } as const;

/** The input's elements as JSON data. */
function jsonData(input: Input): (number | boolean)[] {
  const Storage = typed[input.datatype as keyof typeof typed];
  const values = [...new Storage(input.bytes.slice().buffer)] as (number | bigint)[];
  return values.map((v) => (input.datatype === "BOOL" ? v !== 0 : Number(v)));
}

/** One inference over REST, as JSON or with binary tensor data both ways; outputs' bytes by name. */
async function infer(model: string, inputs: Input[], options: { binary?: boolean; id?: string; outputs?: string[] } = {}) {
  const header: Record<string, unknown> = {
    ...(options.id === undefined ? {} : { id: options.id }),
    inputs: inputs.map((i) => ({
      name: i.name, datatype: i.datatype, shape: i.shape,
      ...(options.binary ? { parameters: { binary_data_size: i.bytes.length } } : { data: jsonData(i) }),
    })),
    ...(options.outputs ? { outputs: options.outputs.map((name) => ({ name })) } : {}),
    ...(options.binary ? { parameters: { binary_data_output: true } } : {}),
  };
  const head = utf8.encode(JSON.stringify(header));
  const body = options.binary ? new Uint8Array(Buffer.concat([head, ...inputs.map((i) => i.bytes)])) : head;
  const response = await fetch(`${base}/v2/models/${model}/infer`, {
    method: "POST", body, headers: options.binary ? { "inference-header-content-length": String(head.length) } : {},
  });
  const raw = new Uint8Array(await response.arrayBuffer());
  const length = Number(response.headers.get("inference-header-content-length") ?? raw.length);
  const answer = JSON.parse(new TextDecoder().decode(raw.subarray(0, length)));
  const outputs: Record<string, { shape: number[]; bytes: Uint8Array }> = {};
  let offset = length;
  for (const output of answer.outputs ?? []) {
    const size = output.parameters?.binary_data_size;
    let bytes: Uint8Array;
    if (size !== undefined) {
      bytes = raw.slice(offset, offset + size);
      offset += size;
    } else {
      bytes = bytesOf(rt.tensor(output.data, { dtype: dtypes[output.datatype as keyof typeof dtypes], shape: output.shape }).data);
    }
    outputs[output.name] = { shape: output.shape, bytes };
  }
  return { status: response.status, answer, outputs };
}

/** The same inputs run alone in process: the outputs' shapes and bytes. */
async function lone(model: string, inputs: Input[], names?: string[]) {
  using local = await rt.loadModel(join(repository, `${model}.onnx`));
  const tensors = Object.fromEntries(inputs.map((i) => [i.name, rt.tensor(new typed[i.datatype as keyof typeof typed](i.bytes.slice().buffer), { dtype: dtypes[i.datatype as keyof typeof dtypes], shape: i.shape })]));
  const results = await local.run<rt.Tensor>(tensors, names ?? local.outputNames);
  return Object.fromEntries(Object.entries(results).map(([name, t]) => [name, { shape: [...t.shape], bytes: bytesOf(t.data) }]));
}

interface Stats {
  inference_count: number;
  execution_count: number;
  batch_stats: { batch_size: number; compute_infer: { count: number } }[];
}

async function stats(model: string): Promise<Stats> {
  const response = await fetch(`${base}/v2/models/${model}/stats`);
  expect(response.status).toBe(200);
  return ((await response.json()) as { model_stats: Stats[] }).model_stats[0]!;
}

/** What ran between two readings: inferences, executions, and runs by batch size. */
function ranBetween(before: Stats, after: Stats) {
  const runs = new Map<number, number>();
  for (const b of after.batch_stats) {
    const earlier = before.batch_stats.find((x) => x.batch_size === b.batch_size)?.compute_infer.count ?? 0;
    if (b.compute_infer.count > earlier) runs.set(b.batch_size, b.compute_infer.count - earlier);
  }
  return { inferences: after.inference_count - before.inference_count, executions: after.execution_count - before.execution_count, runs };
}

const fp32 = (name: string, rows: number, n: number, seed: number): Input => ({ name, datatype: "FP32", shape: [rows, n], bytes: bytesOf(floats(rows, n, seed)) });

describe("batching", () => {
  test("concurrent requests each get their own rows, bit-equal to lone runs, in fewer runs", async () => {
    const before = await stats("scale");
    const requests = Array.from({ length: 24 }, (_, i) => ({ inputs: [fp32("x", 1 + (i % 3), 5, i)], binary: i % 2 === 0, id: `request-${i}` }));
    const answers = await Promise.all(requests.map((r) => infer("scale", r.inputs, r)));
    const after = await stats("scale");
    for (const [i, answer] of answers.entries()) {
      expect(answer.status).toBe(200);
      expect(answer.answer.id).toBe(`request-${i}`);
      expect(answer.outputs).toEqual(await lone("scale", requests[i]!.inputs));
    }
    const ran = ranBetween(before, after);
    expect(ran.inferences).toBe(requests.reduce((sum, r) => sum + r.inputs[0]!.shape[0]!, 0));
    expect(ran.executions).toBeLessThan(requests.length);
    expect([...ran.runs.keys()].some((size) => size > 3)).toBe(true); // some run joined requests
    expect(Math.max(...ran.runs.keys())).toBeLessThanOrEqual(8);
  });

  const datatypes = [
    { model: "add_fp16", datatype: "FP16", bytes: (i: number) => bytesOf(new Float16Array([i, -i / 3, 0.5, 100 + i])) },
    { model: "add_uint8", datatype: "UINT8", bytes: (i: number) => new Uint8Array([i, 255 - i, 7, 200]) },
    { model: "add_int64", datatype: "INT64", bytes: (i: number) => bytesOf(new BigInt64Array([BigInt(i), -(2n ** 40n), 3n, 2n ** 52n + BigInt(i)])) },
    { model: "not_bool", datatype: "BOOL", bytes: (i: number) => new Uint8Array([i % 2, 1, 0, (i >> 1) % 2]) },
  ];
  for (const c of datatypes) {
    test(`${c.datatype}: rows come back bit-equal, as JSON and as binary data`, async () => {
      const before = await stats(c.model);
      const requests = Array.from({ length: 8 }, (_, i) => [{ name: "x", datatype: c.datatype, shape: [1, 4], bytes: c.bytes(i) }]);
      const answers = await Promise.all(requests.map((inputs, i) => infer(c.model, inputs, { binary: i % 2 === 1 })));
      for (const [i, answer] of answers.entries()) expect(answer.outputs).toEqual(await lone(c.model, requests[i]!));
      expect(ranBetween(before, await stats(c.model)).executions).toBeLessThan(requests.length);
    });
  }

  test("a full batch runs at once, and no run passes max_batch_size", async () => {
    const before = await stats("full"); // max_batch_size 4, a 5 s window
    const started = performance.now();
    const requests = Array.from({ length: 12 }, (_, i) => [fp32("x", 1, 3, i)]);
    const answers = await Promise.all(requests.map((inputs) => infer("full", inputs, { binary: true })));
    expect(performance.now() - started).toBeLessThan(2500); // it did not wait out the window
    for (const [i, answer] of answers.entries()) expect(answer.outputs).toEqual(await lone("full", requests[i]!));
    expect(ranBetween(before, await stats("full")).runs).toEqual(new Map([[4, 3]]));
  });

  test("a request larger than max_batch_size runs alone", async () => {
    const before = await stats("full");
    const inputs = [fp32("x", 6, 3, 99)];
    const answer = await infer("full", inputs, { binary: true });
    expect(answer.outputs).toEqual(await lone("full", inputs));
    expect(ranBetween(before, await stats("full")).runs).toEqual(new Map([[6, 1]]));
  });

  test("a lone request waits the queue delay, and not much longer", async () => {
    const started = performance.now();
    const answer = await infer("window", [fp32("x", 1, 2, 1)]); // max_queue_delay_microseconds 300000
    const waited = performance.now() - started;
    expect(answer.status).toBe(200);
    expect(waited).toBeGreaterThanOrEqual(290);
    expect(waited).toBeLessThan(300 + 1500);
  });

  test("mixed shapes, chosen outputs and bad requests in one window: each gets its own answer", async () => {
    const before = await stats("scale");
    const good = [
      { inputs: [fp32("x", 1, 3, 1)] }, { inputs: [fp32("x", 2, 5, 2)] }, { inputs: [fp32("x", 2, 3, 3)] },
      { inputs: [fp32("x", 1, 5, 4)] }, { inputs: [fp32("x", 2, 3, 5)], outputs: ["sum"] }, { inputs: [fp32("x", 1, 3, 6)], outputs: ["sum"] },
    ];
    const bad = [
      { inputs: [{ name: "x", datatype: "FP64", shape: [1, 3], bytes: bytesOf(new Float64Array(3)) }], error: /FP64; the model takes FP32/ },
      { inputs: [{ name: "x", datatype: "FP32", shape: [3], bytes: bytesOf(new Float32Array(3)) }], error: /has shape \[3\]/ },
      { inputs: [{ name: "x", datatype: "FP32", shape: [2, 3], bytes: bytesOf(new Float32Array(5)) }], error: /shape \[2, 3\] needs/ },
      { inputs: [fp32("z", 1, 3, 7)], error: /no input 'z'/ },
    ];
    const answers = await Promise.all([...good, ...bad].map((r, i) => infer("scale", r.inputs, { binary: i % 2 === 0, outputs: "outputs" in r ? r.outputs : undefined })));
    for (const [i, r] of good.entries()) {
      expect(answers[i]!.status).toBe(200);
      expect(answers[i]!.outputs).toEqual(await lone("scale", r.inputs, r.outputs));
    }
    for (const [i, r] of bad.entries()) {
      expect(answers[good.length + i]!.status).toBe(400);
      expect(answers[good.length + i]!.answer.error).toMatch(r.error);
    }
    expect(ranBetween(before, await stats("scale")).executions).toBeLessThan(good.length);
  });

  test("a request whose inputs disagree on the batch runs alone and fails alone", async () => {
    const good = Array.from({ length: 4 }, (_, i) => [fp32("a", 1, 4, i), fp32("b", 1, 4, i + 10)]);
    const mismatched = [fp32("a", 2, 4, 1), fp32("b", 3, 4, 2)];
    const answers = await Promise.all([...good, mismatched].map((inputs) => infer("pair", inputs)));
    for (const [i, inputs] of good.entries()) expect(answers[i]!.outputs).toEqual(await lone("pair", inputs));
    // The runtime's broadcasting failure, as a lone run on an unbatched server answers it.
    expect(answers[good.length]!.status).toBe(500);
    expect(answers[good.length]!.answer.error).toBe("internal server error");
  });

  test("a run that fails fails every request joined in it; each answered, none left waiting", async () => {
    const index = (values: bigint[]): Input => ({ name: "i", datatype: "INT64", shape: [values.length], bytes: bytesOf(new BigInt64Array(values)) });
    const answers = await Promise.all([[1n], [2n, 3n], [99n]].map((values) => infer("lookup", [index(values)], { binary: true })));
    expect(answers.map((a) => a.status)).toEqual([500, 500, 500]);
    const after = await infer("lookup", [index([1n])], { binary: true });
    expect(after.outputs).toEqual(await lone("lookup", [index([1n])]));
  });
});

describe("models that do not batch", () => {
  test("a fixed batch dim: requests run alone, and the model config says why", async () => {
    const config = await (await fetch(`${base}/v2/models/fixed/config`)).json() as any;
    expect(config.max_batch_size).toBe(0);
    expect(config.parameters.batching.string_value).toMatch(/input 'x' has a fixed first dimension \(1\)/);
    const before = await stats("fixed");
    const requests = Array.from({ length: 6 }, (_, i) => [fp32("x", 1, 4, i)]);
    const answers = await Promise.all(requests.map((inputs) => infer("fixed", inputs)));
    for (const [i, answer] of answers.entries()) expect(answer.outputs).toEqual(await lone("fixed", requests[i]!));
    expect(ranBetween(before, await stats("fixed")).executions).toBe(requests.length);
  });

  test("an output whose first dim is not the batch: requests run alone", async () => {
    const config = await (await fetch(`${base}/v2/models/transpose/config`)).json() as any;
    expect(config.max_batch_size).toBe(0);
    expect(config.parameters.batching.string_value).toMatch(/output 'y': its first dimension is not the inputs' first dimension/);
    // Three rows of three: joined, the transposed output would have the right row count, wrong rows.
    const before = await stats("transpose");
    const requests = Array.from({ length: 3 }, (_, i) => [fp32("x", 1, 3, i)]);
    const answers = await Promise.all(requests.map((inputs) => infer("transpose", inputs)));
    for (const [i, answer] of answers.entries()) expect(answer.outputs).toEqual(await lone("transpose", requests[i]!));
    expect(ranBetween(before, await stats("transpose")).executions).toBe(requests.length);
  });

  test("a config file with max_batch_size 0 turns batching off for its model", async () => {
    expect(await (await fetch(`${base}/v2/models/alone/config`)).json()).toEqual({ name: "alone", platform: "onnx", max_batch_size: 0 });
    const before = await stats("alone");
    await Promise.all(Array.from({ length: 5 }, (_, i) => infer("alone", [fp32("x", 1, 2, i)])));
    expect(ranBetween(before, await stats("alone")).executions).toBe(5);
  });

  test("the model config shows each model's batching", async () => {
    expect(await (await fetch(`${base}/v2/models/scale/config`)).json()).toEqual({ name: "scale", platform: "onnx", max_batch_size: 8, dynamic_batching: { max_queue_delay_microseconds: 100_000 } });
    expect(await (await fetch(`${base}/v2/models/window/config`)).json()).toEqual({ name: "window", platform: "onnx", max_batch_size: 4, dynamic_batching: { max_queue_delay_microseconds: 300_000 } });
  });
});

test("gRPC ModelInfer goes through the batcher too", async () => {
  const grpc = await import("@grpc/grpc-js");
  const loader = await import("@grpc/proto-loader");
  const definition = loader.fromJSON(serviceDescriptor as Parameters<typeof loader.fromJSON>[0], { keepCase: true, longs: String, enums: String, defaults: true });
  const Client = grpc.makeClientConstructor(definition["inference.GRPCInferenceService"] as never, "GRPCInferenceService");
  const client = new Client(`127.0.0.1:${server.grpcPort}`, grpc.credentials.createInsecure()) as unknown as Record<string, (request: object, callback: (error: Error | null, response: any) => void) => void>;
  try {
    const before = await stats("scale");
    const requests = Array.from({ length: 8 }, (_, i) => [fp32("x", 1 + (i % 2), 4, 50 + i)]);
    const answers = await Promise.all(requests.map((inputs) => new Promise<any>((resolve, reject) => {
      client.ModelInfer!({
        model_name: "scale",
        inputs: inputs.map((i) => ({ name: i.name, datatype: i.datatype, shape: i.shape })),
        raw_input_contents: inputs.map((i) => Buffer.from(i.bytes)),
      }, (error, response) => (error ? reject(error) : resolve(response)));
    })));
    for (const [i, answer] of answers.entries()) {
      const expected = await lone("scale", requests[i]!);
      const got = Object.fromEntries(answer.outputs.map((o: any, k: number) => [o.name, { shape: o.shape.map(Number), bytes: new Uint8Array(answer.raw_output_contents[k]) }]));
      expect(got).toEqual(expected);
    }
    expect(ranBetween(before, await stats("scale")).executions).toBeLessThan(requests.length);
  } finally {
    (client as unknown as { close(): void }).close();
  }
});

describe("config files", () => {
  const defaults = { maxBatchSize: 8, maxQueueDelayUs: 100 };

  test("fields override the server's defaults, one by one", () => {
    expect(parseBatchingConfig(`{"max_batch_size": 16}`, "m.json", defaults)).toEqual({ maxBatchSize: 16, maxQueueDelayUs: 100 });
    expect(parseBatchingConfig(`{"dynamic_batching": {"max_queue_delay_microseconds": 0}}`, "m.json", defaults)).toEqual({ maxBatchSize: 8, maxQueueDelayUs: 0 });
    expect(parseBatchingConfig(`{}`, "m.json", defaults)).toEqual(defaults);
  });

  test("mistakes are refused with a message naming the file and the field", () => {
    const cases: [string, RegExp][] = [
      ["{", /^m\.json is not valid JSON/],
      ["[]", /^m\.json must hold a JSON object/],
      [`{"max_batch": 4}`, /unknown field 'max_batch' \(known: max_batch_size, dynamic_batching\)/],
      [`{"max_batch_size": -1}`, /max_batch_size must be a whole number from 0 to \d+, not -1/],
      [`{"max_batch_size": "8"}`, /max_batch_size must be a whole number/],
      [`{"dynamic_batching": 5}`, /dynamic_batching must be an object/],
      [`{"dynamic_batching": {"max_queue_delay_microseconds": 1.5}}`, /dynamic_batching\.max_queue_delay_microseconds must be a whole number/],
      [`{"dynamic_batching": {"delay": 1}}`, /m\.json: dynamic_batching: unknown field 'delay'/],
    ];
    for (const [text, message] of cases) expect(() => parseBatchingConfig(text, "m.json", defaults)).toThrow(message);
    expect(() => parseBatchingConfig("{", "m.json", defaults)).toThrow(rt.InvalidArgumentError);
  });

  test("a model with a bad config file is not loaded, and its state says why", async () => {
    const folder = scratchDir("tessera-batcher-config-");
    writeFileSync(join(folder, "broken.onnx"), scaleAndSum("broken"));
    writeFileSync(join(folder, "broken.json"), `{"max_batch_size": 4,}`);
    writeFileSync(join(folder, "fine.onnx"), scaleAndSum("fine"));
    const opened = await Repository.open(folder);
    try {
      const broken = opened.index().find((entry) => entry.name === "broken")!;
      expect(broken.state).toBe("UNAVAILABLE");
      expect(broken.reason).toMatch(/^broken\.json is not valid JSON/);
      expect(broken.reason).not.toContain(folder);
      expect(opened.index().find((entry) => entry.name === "fine")!.state).toBe("READY");
      await expect(opened.load("broken")).rejects.toThrow(/model 'broken' failed to load: broken\.json is not valid JSON/);
    } finally {
      opened.close();
    }
  });
});

describe("the CLI", () => {
  test("--max-batch-size and --max-queue-delay-us take whole numbers", () => {
    for (const [option, value] of [["--max-batch-size", "abc"], ["--max-batch-size", "-1"], ["--max-queue-delay-us", "1.5"], ["--max-queue-delay-us", "99999999999"]]) {
      const run = Bun.spawnSync([bunBinary, join(repo, "src/cli/tessera.ts"), "serve", repository, "--port", "0", option!, value!]);
      expect(run.exitCode).toBe(2);
      expect(run.stderr.toString()).toMatch(new RegExp(`^tessera: ${option} takes a whole number up to \\d+, not '${value!.replace(".", "\\.")}'`));
    }
  });

  test("it names the models that cannot batch, and prints its memory on SIGUSR2", async () => {
    const server = await startServe(["--max-batch-size", "4"], 3);
    try {
      expect(server.printed.slice(1)).toEqual([
        "tessera: model 'strings' is not batched: input 'x' is string, whose rows are not fixed-size bytes",
        "tessera: model 'two_outputs' is not batched: input 'a' has a fixed first dimension (2)",
      ]);
      server.child.kill("SIGUSR2");
      const reader = server.child.stdout.getReader();
      let text = "";
      while (!text.includes("\n")) {
        const { value, done } = await reader.read();
        if (done) throw new Error(`tessera serve ended instead of printing its memory: ${text}`);
        text += new TextDecoder().decode(value);
      }
      reader.releaseLock();
      const memory = JSON.parse(/^tessera: memory (.*)$/m.exec(text)![1]!);
      expect(memory.rssBytes).toBeGreaterThan(1024 * 1024);
      expect(memory.runtimeLiveBytes).toBeGreaterThan(0);
    } finally {
      server.child.kill("SIGTERM");
      expect(await server.child.exited).toBe(0);
    }
  });
});
