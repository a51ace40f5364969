/**
 * A bounded load test of `tessera serve` on loopback: a tiny model (one Add over [batch, 4]) and a
 * 1x3x224x224 FP32 conv model, at concurrency 1, 8 and 64, each phase a fixed request count under
 * a deadline, with JSON requests and binary ones (Triton's binary tensor data extension). Prints
 * requests per second, p50 and p99 latency, and for concurrency 1 the overhead over the same
 * model run in process (served p50 minus `await model.run()` p50, the two timed in alternating
 * blocks), both on the same input tensor again and on a fresh copy of it (see InProcess.run). Each model's answer is first checked against the in-process run: a fast wrong answer
 * is a failure.
 *
 * The server is a `tessera serve` child process, not serve() in this process: the load generator
 * (fetch, its JSON and timers) and the server would otherwise share one event loop, each request's
 * client work delaying the server's and the other way round, which no deployment has. As a child
 * it also gets its own heap and RSS, which the soak reads.
 *
 * Soak (`--soak N`): N requests to the tiny model at concurrency 64, JSON and binary in turn,
 * reading the server's RSS and the runtime's live bytes (its SIGUSR2 memory line, taken after a
 * full GC) after a warm-up, halfway and at the end; they must stay flat (see `flat` below).
 *
 * Usage: bun bench/serve.ts [--phases tiny,conv] [--concurrency 1,8,64] [--requests N]
 *          [--conv-requests N] [--deadline S] [--model file.onnx] [--max-batch-size N]
 *          [--max-queue-delay-us N] [--settle MS] [--soak N] [--soak-warmup N]
 * --model: the 1x3x224x224 model (default: a small conv built here; e.g.
 * .cache/bench-models/mobilenetv2.onnx from scripts/bench-models). --max-batch-size turns on the
 * server's dynamic batcher (the tiny model batches; a model with a fixed batch of 1 does not).
 */
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import * as rt from "../src/index.ts";
import { buildModel, GraphBuilder } from "../src/onnx/builder.ts";

const { values: args } = parseArgs({
  options: {
    phases: { type: "string", default: "tiny,conv" },
    concurrency: { type: "string", default: "1,8,64" },
    requests: { type: "string", default: "4000" },
    "conv-requests": { type: "string", default: "400" },
    deadline: { type: "string", default: "30" },
    model: { type: "string" },
    "max-batch-size": { type: "string", default: "0" },
    "max-queue-delay-us": { type: "string", default: "0" },
    // Milliseconds to pause before each block of the interleaved concurrency-1 timing: a thread
    // pool spins for a while after a run, and on two cores the other side's spinning pool (the
    // server's, or this process's) would take the core the next run needs.
    settle: { type: "string", default: "50" },
    soak: { type: "string", default: "0" },
    // Requests before the first reading: the JIT, the heap and the allocators settle first.
    "soak-warmup": { type: "string", default: "10000" },
  },
});

/** y = x + b over float32 [batch, 4]: a run costs almost nothing but the serving path. */
function tinyModel(): Uint8Array {
  const g = new GraphBuilder("tiny");
  g.input("x", "float32", ["batch", 4]);
  g.initializer("b", "float32", [4], new Float32Array([1, 2, 3, 4]));
  g.node("Add", ["x", "b"], { outputs: ["y"] });
  g.output("y", "float32", ["batch", 4]);
  return buildModel(g);
}

/**
 * A 1x3x224x224 image to 8 scores: a 3x3 conv at stride 4, ReLU, global average pool. Light on
 * purpose (well under a millisecond): the overhead goal is about moving a 600 KB image through the
 * server, and a heavy model's own run-to-run noise on a shared machine would swamp it.
 */
function convModel(): Uint8Array {
  const g = new GraphBuilder("conv224");
  g.input("image", "float32", [1, 3, 224, 224]);
  g.initializer("w", "float32", [8, 3, 3, 3], new Float32Array(8 * 27).map((_, k) => Math.sin(k) / 9));
  const conv = g.node("Conv", ["image", "w"], { attrs: { strides: [4, 4], pads: [1, 1, 1, 1] } });
  const relu = g.node("Relu", [conv]);
  const pooled = g.node("GlobalAveragePool", [relu]);
  g.node("Flatten", [pooled], { outputs: ["scores"] });
  g.output("scores", "float32", [1, 8]);
  return buildModel(g);
}

interface Feed {
  name: string;
  shape: number[];
  data: Float32Array;
}

const utf8 = new TextEncoder();

/** A request body and headers for one feed, as JSON data or as binary tensor data both ways. */
function request(feed: Feed, binary: boolean): { body: Uint8Array; headers: Record<string, string> } {
  const input = { name: feed.name, shape: feed.shape, datatype: "FP32" };
  if (!binary) return { body: utf8.encode(JSON.stringify({ inputs: [{ ...input, data: Array.from(feed.data) }] })), headers: { "content-type": "application/json" } };
  const head = utf8.encode(JSON.stringify({ inputs: [{ ...input, parameters: { binary_data_size: feed.data.byteLength } }], parameters: { binary_data_output: true } }));
  const body = new Uint8Array(head.length + feed.data.byteLength);
  body.set(head);
  body.set(new Uint8Array(feed.data.buffer, feed.data.byteOffset, feed.data.byteLength), head.length);
  return { body, headers: { "inference-header-content-length": String(head.length), "content-type": "application/octet-stream" } };
}

/** The first output's elements from a response, JSON or binary. */
async function firstOutput(response: Response): Promise<Float32Array> {
  const bytes = new Uint8Array(await response.arrayBuffer());
  const length = Number(response.headers.get("inference-header-content-length") ?? bytes.length);
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(0, length)));
  const output = header.outputs[0];
  if (output.data) return Float32Array.from(output.data);
  return new Float32Array(bytes.slice(length, length + output.parameters.binary_data_size).buffer);
}

/** A `tessera serve` child: its port, its printed lines as they come, and a way to stop it. */
class ServeChild {
  readonly #lines: string[] = [];
  #wake: (() => void) | null = null;
  port = 0;

  private constructor(readonly child: ReturnType<typeof Bun.spawn<"ignore", "pipe", "inherit">>) {}

  static async start(repository: string, extra: string[]): Promise<ServeChild> {
    const cli = new URL("../src/cli/tessera.ts", import.meta.url).pathname;
    const child = Bun.spawn([process.execPath, cli, "serve", repository, "--port", "0", ...extra], { stdin: "ignore", stdout: "pipe", stderr: "inherit" });
    const server = new ServeChild(child);
    void server.#read();
    const line = await server.next(/^tessera: serving/);
    server.port = Number(/:(\d+)\/v2/.exec(line)![1]);
    return server;
  }

  async #read(): Promise<void> {
    let pending = "";
    for await (const chunk of this.child.stdout) {
      pending += new TextDecoder().decode(chunk);
      const lines = pending.split("\n");
      pending = lines.pop()!;
      this.#lines.push(...lines);
      this.#wake?.();
    }
  }

  /** The next printed line that matches, waiting for it (up to 30 s). */
  async next(pattern: RegExp): Promise<string> {
    const deadline = Date.now() + 30_000;
    for (;;) {
      const index = this.#lines.findIndex((line) => pattern.test(line));
      if (index >= 0) return this.#lines.splice(0, index + 1).pop()!;
      if (Date.now() > deadline || this.child.exitCode !== null) throw new Error(`tessera serve printed no line matching ${pattern}`);
      await new Promise<void>((resolve) => {
        this.#wake = resolve;
        setTimeout(resolve, 100);
      });
    }
  }

  /** The server's memory line: RSS and the runtime's live bytes, after a full GC there. */
  async memory(): Promise<{ rssBytes: number; runtimeLiveBytes: number }> {
    this.child.kill("SIGUSR2");
    return JSON.parse((await this.next(/^tessera: memory /)).slice("tessera: memory ".length));
  }

  /** The model's runs so far and their time in all, from the server's statistics endpoint. */
  async computeMs(model: string): Promise<{ runs: number; ms: number }> {
    const stats = (await (await fetch(`http://127.0.0.1:${this.port}/v2/models/${model}/stats`)).json()) as { model_stats: { inference_stats: { compute_infer: { count: number; ns: number } } }[] };
    const compute = stats.model_stats[0]!.inference_stats.compute_infer;
    return { runs: compute.count, ms: compute.ns / 1e6 };
  }

  async stop(): Promise<void> {
    this.child.kill("SIGTERM");
    if ((await this.child.exited) !== 0) throw new Error("tessera serve did not stop cleanly");
  }
}

interface Phase {
  completed: number;
  seconds: number;
  latenciesMs: number[];
}

/** `count` requests (fewer if the deadline passes) from `concurrency` clients in a loop each. */
async function load(url: string, bodies: { body: Uint8Array; headers: Record<string, string> }[], count: number, concurrency: number, deadlineS: number): Promise<Phase> {
  const latenciesMs: number[] = [];
  const started = performance.now();
  const deadline = started + deadlineS * 1000;
  let issued = 0;
  const client = async () => {
    while (issued < count && performance.now() < deadline) {
      const { body, headers } = bodies[issued++ % bodies.length]!;
      const sent = performance.now();
      const response = await fetch(url, { method: "POST", body, headers });
      await response.arrayBuffer();
      if (response.status !== 200) throw new Error(`the server answered ${response.status}`);
      latenciesMs.push(performance.now() - sent);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, client));
  return { completed: latenciesMs.length, seconds: (performance.now() - started) / 1000, latenciesMs };
}

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))]!;

/** The same model in this process: `await model.run()` on the same input, for the overhead column. */
class InProcess implements Disposable {
  readonly #model: rt.Model;
  readonly #input: rt.Tensor;
  private constructor(model: rt.Model, readonly feed: Feed) {
    this.#model = model;
    this.#input = rt.tensor(feed.data, { shape: feed.shape });
  }

  static async load(file: string, feed: Feed): Promise<InProcess> {
    return new InProcess(await rt.loadModel(file), feed);
  }

  /**
   * One run: its time in ms, and the first output's elements. `fresh`: on a new copy of the input
   * (made before the clock starts), as an application meets each new image in a new buffer, and
   * as the server meets each request's; a run on memory it has not seen yet is measurably slower
   * than one on the same tensor again.
   */
  async run(fresh = false): Promise<{ ms: number; output: Float32Array }> {
    using copy = fresh ? rt.tensor(this.feed.data.slice(), { shape: this.feed.shape, copy: false }) : null;
    const start = performance.now();
    const results = await this.#model.run<rt.Tensor>({ [this.feed.name]: copy ?? this.#input });
    const ms = performance.now() - start;
    const output = (results[this.#model.outputNames[0]!]!.data as Float32Array).slice();
    for (const t of Object.values(results)) t.dispose();
    return { ms, output };
  }

  [Symbol.dispose](): void {
    this.#input.dispose();
    this.#model.dispose();
  }
}

/**
 * Concurrency 1, served and in process in alternating blocks of `block` runs, so that drift on
 * this shared machine (other processes come and go) hits both sides alike.
 */
async function interleaved(url: string, body: { body: Uint8Array; headers: Record<string, string> }, local: InProcess, count: number, deadlineS: number, block = 50) {
  const served: Phase = { completed: 0, seconds: 0, latenciesMs: [] };
  const inProcess: number[] = [];
  const inProcessFresh: number[] = [];
  const deadline = performance.now() + deadlineS * 1000;
  while (served.completed < count && performance.now() < deadline) {
    await Bun.sleep(Number(args.settle));
    const phase = await load(url, [body], Math.min(block, count - served.completed), 1, deadlineS);
    served.completed += phase.completed;
    served.seconds += phase.seconds;
    served.latenciesMs.push(...phase.latenciesMs);
    await Bun.sleep(Number(args.settle));
    for (let i = 0; i < phase.completed; i++) {
      inProcess.push((await local.run()).ms);
      inProcessFresh.push((await local.run(true)).ms);
    }
  }
  return { served, inProcess, inProcessFresh };
}

function sameValues(a: Float32Array, b: Float32Array): boolean {
  return a.length === b.length && a.every((v, i) => Object.is(v, b[i]));
}

const fixed = (n: number, digits = 3) => n.toFixed(digits);
const rows: string[][] = [];
const computeLines: string[] = [];
const goals: string[] = [];

async function benchModel(server: ServeChild, name: string, file: string, feed: Feed, requests: number) {
  const url = `http://127.0.0.1:${server.port}/v2/models/${name}/infer`;
  using local = await InProcess.load(file, feed);
  const expected = (await local.run()).output;
  for (let i = 0; i < 20; i++) await local.run(); // warm-up
  for (const encoding of ["json", "binary"] as const) {
    const body = request(feed, encoding === "binary");
    const answer = await firstOutput(await fetch(url, { method: "POST", body: body.body, headers: body.headers }));
    if (!sameValues(answer, expected)) throw new Error(`${name} (${encoding}): the served output differs from the in-process run`);
    await load(url, [body], Math.min(200, requests), 8, Number(args.deadline)); // warm-up: connections, JIT
    let localP50 = NaN;
    let freshP50 = NaN;
    for (const concurrency of args.concurrency.split(",").map(Number)) {
      let phase: Phase;
      if (concurrency === 1) {
        const before = await server.computeMs(name);
        const both = await interleaved(url, body, local, requests, Number(args.deadline));
        phase = both.served;
        localP50 = percentile(both.inProcess.sort((a, b) => a - b), 0.5);
        freshP50 = percentile(both.inProcessFresh.sort((a, b) => a - b), 0.5);
        const after = await server.computeMs(name);
        computeLines.push(`${name} ${encoding} at concurrency 1: the server's model runs took ${fixed((after.ms - before.ms) / (after.runs - before.runs))} ms on average (its /stats), the rest of each request is HTTP, codec and scheduling`);
      } else phase = await load(url, [body], requests, concurrency, Number(args.deadline));
      const sorted = phase.latenciesMs.sort((a, b) => a - b);
      const p50 = percentile(sorted, 0.5);
      const rps = phase.completed / phase.seconds;
      const overhead = concurrency === 1 ? p50 - localP50 : null;
      const one = (value: number) => (concurrency === 1 ? fixed(value) : "-");
      rows.push([name, encoding, String(concurrency), String(phase.completed), fixed(rps, 0), fixed(p50), fixed(percentile(sorted, 0.99)), one(localP50), one(p50 - localP50), one(freshP50), one(p50 - freshP50)]);
      if (name === "tiny" && concurrency === 64) goals.push(`tiny ${encoding} at concurrency 64: ${fixed(rps, 0)} requests/s (goal >= 2000: ${rps >= 2000 ? "met" : "NOT met"})`);
      if (name === "conv224" && encoding === "binary" && overhead !== null) {
        goals.push(`conv224 binary p50 overhead: ${fixed(overhead)} ms over the same tensor run again, ${fixed(p50 - freshP50)} ms over a fresh copy (goal <= 1 ms: ${overhead <= 1 ? "met" : "NOT met"}; over a fresh copy: ${p50 - freshP50 <= 1 ? "met" : "NOT met"})`);
      }
    }
  }
}

function printTable(): void {
  const header = ["model", "encoding", "conc", "requests", "req/s", "p50 ms", "p99 ms", "in-proc p50", "overhead p50", "fresh-input p50", "overhead (fresh)"];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  for (const row of [header, ...rows]) console.log(row.map((cell, i) => (i < 2 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join("  "));
  for (const line of computeLines) console.log(line);
  for (const goal of goals) console.log(goal);
}

const mib = (bytes: number) => `${(bytes / 1048576).toFixed(1)} MiB`;

/**
 * Flat means: RSS grew by less than 5% or 4 MiB (whichever is more; the heap settles in steps),
 * and the runtime's live bytes, which count every native allocation, by less than 64 KiB.
 */
function flat(start: { rssBytes: number; runtimeLiveBytes: number }, end: { rssBytes: number; runtimeLiveBytes: number }): boolean {
  return end.rssBytes - start.rssBytes < Math.max(0.05 * start.rssBytes, 4 * 1048576) && end.runtimeLiveBytes - start.runtimeLiveBytes < 65536;
}

async function soak(server: ServeChild, total: number, feed: Feed) {
  const url = `http://127.0.0.1:${server.port}/v2/models/tiny/infer`;
  const bodies = [request(feed, false), request(feed, true)];
  const deadline = Math.max(Number(args.deadline), total / 200); // at 200 requests/s or more
  await load(url, bodies, Number(args["soak-warmup"]), 64, deadline);
  const samples = [{ label: "after warm-up", ...(await server.memory()) }];
  for (const label of ["halfway", "end"]) {
    const phase = await load(url, bodies, total / 2, 64, deadline);
    if (phase.completed < total / 2) throw new Error(`the soak passed its deadline after ${phase.completed} requests`);
    samples.push({ label: `${label} (${label === "end" ? total : total / 2} requests)`, ...(await server.memory()) });
  }
  for (const s of samples) console.log(`soak ${s.label.padEnd(24)} RSS ${mib(s.rssBytes).padStart(10)}  runtime live ${String(s.runtimeLiveBytes).padStart(9)} B`);
  const ok = flat(samples[0]!, samples[2]!);
  console.log(`soak: ${ok ? "flat" : "NOT flat"} (RSS ${mib(samples[2]!.rssBytes - samples[0]!.rssBytes)}, live ${samples[2]!.runtimeLiveBytes - samples[0]!.runtimeLiveBytes} B over ${total} requests)`);
  if (!ok) process.exitCode = 1;
}

const repository = mkdtempSync(join(tmpdir(), "tessera-bench-serve-"));
const tinyFile = join(repository, "tiny.onnx");
const convFile = join(repository, "conv224.onnx");
writeFileSync(tinyFile, tinyModel());
if (args.model) copyFileSync(args.model, convFile);
else writeFileSync(convFile, convModel());
const server = await ServeChild.start(repository, ["--max-batch-size", args["max-batch-size"], "--max-queue-delay-us", args["max-queue-delay-us"]]);
try {
  const tinyFeed: Feed = { name: "x", shape: [1, 4], data: new Float32Array([0.5, -1, 2, 3.25]) };
  const soakCount = Number(args.soak);
  if (soakCount > 0) await soak(server, soakCount, tinyFeed);
  else {
    const phases = args.phases.split(",");
    if (phases.includes("tiny")) await benchModel(server, "tiny", tinyFile, tinyFeed, Number(args.requests));
    if (phases.includes("conv")) {
      const convName = (await rt.getModelInfo(convFile)).inputs[0]!.name;
      const image = new Float32Array(3 * 224 * 224).map((_, k) => Math.sin(k * 0.001));
      await benchModel(server, "conv224", convFile, { name: convName, shape: [1, 3, 224, 224], data: image }, Number(args["conv-requests"]));
    }
    printTable();
  }
} finally {
  await server.stop();
  rmSync(repository, { recursive: true, force: true });
}
