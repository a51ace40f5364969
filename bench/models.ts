/**
 * Inference latency on real model shapes: Tessera against onnxruntime-node, in this one Bun
 * process, on the same model and the same seeded inputs, at the same thread count (ORT with its
 * graph optimizations on, as its users run it). Each model is first checked for agreement (every
 * output, allclose with rtol 1e-3 and atol 1e-4: a fast wrong answer is a failure, not a win),
 * then both runtimes are timed interleaved, in alternating blocks of runs, so drift on a shared
 * machine hits both sides alike. Each table ends with the geometric mean of the Tessera/ORT
 * ratios per thread count; --repeat N runs the whole set N times in a row and adds a table of the
 * medians over the N runs.
 *
 * Usage: bun bench/models.ts [--models a,b] [--threads 1,2] [--repeat N] [--runs N] [--budget S]
 *                            [--block N] [--settle MS] [--async]
 * The ONNX files come from scripts/bench-models (.cache/bench-models, or $TESSERA_BENCH_MODELS);
 * one_node and small_ops are built in memory (bench/small_models.ts).
 */
import { existsSync } from "node:fs";
import { cpus, loadavg } from "node:os";
import { parseArgs } from "node:util";
import * as rt from "../src/index.ts";
import {
  type Agreement, agree, magnitudeTolerance, elementCount, type Feed, geometricMean, interleave, loadOrt, median, normal, ortInputs,
  ortOutputs, ortSession, random, tesseraInputs, tesseraOutputs, type Timing, timing, tolerance,
} from "./peer.ts";
import { oneNode, smallOps } from "./small_models.ts";

const modelDir = process.env.TESSERA_BENCH_MODELS ?? new URL("../.cache/bench-models/", import.meta.url).pathname;

interface BenchModel {
  /** What both runtimes load: a file's path, or a model built in memory. */
  source: () => string | Uint8Array;
  feed: (inputs: rt.TensorInfo[]) => Feed;
}

const fromFile = (name: string) => () => `${modelDir}/${name}.onnx`;

/** Every float32 input filled with standard normal values: images and embeddings. */
function normalFeed(inputs: rt.TensorInfo[]): Feed {
  return Object.fromEntries(inputs.map((info, i) => {
    const shape = info.shape!.map(Number);
    return [info.name, { dtype: "float32", shape, data: normal(elementCount(shape), 1234 + i) }];
  }));
}

/**
 * BERT's three inputs for a padded sentence pair as its tokenizer writes them: [CLS] A [SEP] B
 * [SEP], then [PAD] to the sequence length; words are ids from BERT's WordPiece range, the
 * attention mask is 0 over the padding and the token types are 1 over the second sentence.
 */
function sentencePairFeed(inputs: rt.TensorInfo[]): Feed {
  const [cls, sep, pad, firstWord, vocabulary] = [101n, 102n, 0n, 1996, 30522];
  const length = Number(inputs[0]!.shape![1]);
  const [first, second] = [Math.floor(length * 0.45), Math.floor(length * 0.4)];
  const next = random(4321);
  const ids = new BigInt64Array(length).fill(pad);
  const mask = new BigInt64Array(length);
  const types = new BigInt64Array(length);
  const word = () => BigInt(firstWord + Math.floor(next() * (vocabulary - firstWord)));
  let at = 0;
  ids[at++] = cls;
  for (let i = 0; i < first; i++) ids[at++] = word();
  ids[at++] = sep;
  const secondStart = at;
  for (let i = 0; i < second; i++) ids[at++] = word();
  ids[at++] = sep;
  mask.fill(1n, 0, at);
  types.fill(1n, secondStart, at);
  const shape = [1, length];
  const values = { input_ids: ids, attention_mask: mask, token_type_ids: types };
  return Object.fromEntries(inputs.map((info) => {
    const data = values[info.name as keyof typeof values];
    if (!data) throw new Error(`BERT input ${info.name} is not one of ${Object.keys(values).join(", ")}`);
    return [info.name, { dtype: "int64", shape, data }];
  }));
}

/**
 * 16 kHz audio with something for a voice-activity detector to find: quiet noise, and a voiced
 * stretch in the middle (a 140 Hz harmonic series under an envelope). The streaming model also
 * gets a state from the middle of a stream, not zeros.
 */
function audioFeed(inputs: rt.TensorInfo[]): Feed {
  const feed: Feed = {};
  for (const info of inputs) {
    const shape = info.shape!.map(Number);
    const size = elementCount(shape);
    if (info.name === "audio") {
      const noise = normal(size, 99, 0.01);
      const data = noise.map((n, i) => {
        const t = i / 16000;
        const envelope = size > 4000 ? Math.max(0, Math.sin(Math.PI * (t - 0.3) / 0.4)) * Number(t > 0.3 && t < 0.7) : 1;
        let voice = 0;
        for (let h = 1; h <= 8; h++) voice += Math.sin(2 * Math.PI * 140 * h * t) / h;
        return n + 0.2 * envelope * voice;
      });
      feed[info.name] = { dtype: "float32", shape, data };
    } else {
      feed[info.name] = { dtype: "float32", shape, data: normal(size, 77, 0.3) };
    }
  }
  return feed;
}

const catalogue: Record<string, BenchModel> = {
  resnet50: { source: fromFile("resnet50"), feed: normalFeed },
  mobilenetv2: { source: fromFile("mobilenetv2"), feed: normalFeed },
  squeezenet1_1: { source: fromFile("squeezenet1_1"), feed: normalFeed },
  efficientnet_b0: { source: fromFile("efficientnet_b0"), feed: normalFeed },
  bert_encoder: { source: fromFile("bert_encoder"), feed: normalFeed },
  bert_mini: { source: fromFile("bert_mini"), feed: sentencePairFeed },
  vad_lstm: { source: fromFile("vad_lstm"), feed: audioFeed },
  vad_stream: { source: fromFile("vad_stream"), feed: audioFeed },
  one_node: { source: oneNode, feed: normalFeed },
  small_ops: { source: smallOps, feed: normalFeed },
};

/**
 * int8 models (scripts/quantize_bench_models.py) agree with ORT within a share of the largest
 * output magnitude instead. Integer products are exact in both runtimes, but the requantization
 * is not: Tessera rounds c * multiplier in float64 as the ONNX reference does, ORT's MLAS in
 * float32, so a value on a rounding boundary lands one quantization step apart, and the step
 * carries through the following layers (and through DynamicQuantizeLinear's ranges in the encoder).
 * Measured: 5e-3 (ResNet-50) and 4e-3 (encoder); the bounds leave room for other inputs and CPUs.
 */
const quantizedModels: Record<string, number> = { resnet50_int8: 0.02, bert_encoder_int8: 0.01 };
for (const name of Object.keys(quantizedModels)) catalogue[name] = { source: fromFile(name), feed: normalFeed };

const { values: args } = parseArgs({
  options: {
    models: { type: "string", default: Object.keys(catalogue).join(",") },
    threads: { type: "string", default: "1,2" },
    // The whole set, this many times in a row; with more than one, a table of medians follows.
    repeat: { type: "string", default: "1" },
    // Timed samples per runtime, model and thread count.
    runs: { type: "string", default: "50" },
    warmup: { type: "string", default: "5" },
    // Seconds per model and thread count; a slow model stops early (after at least 5 samples each).
    budget: { type: "string", default: "30" },
    // Samples per side before switching. Both runtimes' thread pools spin for a while after a run;
    // on a 2-core machine one side's spinning thread takes the core the other side's next run
    // needs (ORT's spin outlasts a 5 ms pause), so strict run-by-run alternation measures each
    // side with half the machine. Blocks keep the interleaving and let the spin die out.
    block: { type: "string", default: "5" },
    // Milliseconds to pause before each block. ORT's pool keeps spinning for tens of ms after a
    // run (measured: the next Tessera run is ~2x slower right after one, and still slowed 20 ms
    // later), and a spinning thread takes half of a core that the other side's pool needs; the
    // one untimed run per block does not outlast it. The pause applies to both sides alike.
    settle: { type: "string", default: "100" },
    // A sample repeats a run until it lasts this many ms (one run for most models; hundreds for
    // the tiny ones, whose single runs are too short for the clock and the noise).
    sample: { type: "string", default: "1" },
    // Also time Tessera's async run (native worker + event loop wake-up) in the interleaving.
    async: { type: "boolean", default: false },
  },
});

const ort = loadOrt();

interface Row {
  model: string;
  threads: number;
  agreement: Agreement;
  tessera?: Timing;
  tesseraAsync?: Timing;
  peer?: Timing;
  samples?: number;
  /** Runs per sample. */
  inner?: number;
  error?: string;
}

async function benchModel(name: string, threads: number): Promise<Row> {
  const spec = catalogue[name]!;
  const source = spec.source();
  const model = await rt.loadModel(source, { threads });
  const session = await ortSession(ort, source, threads);
  const feed = spec.feed(model.inputs);
  const ours = tesseraInputs(feed);
  const theirs = ortInputs(ort, feed);
  const request = model.createRequest();
  try {
    const runTessera = () => {
      for (const tensor of Object.values(request.runSync<rt.Tensor>(ours))) tensor.dispose();
    };
    const runTesseraAsync = async () => {
      for (const tensor of Object.values(await request.run<rt.Tensor>(ours))) tensor.dispose();
    };
    const runPeer = () => session.run(theirs);

    const actual = tesseraOutputs(request.runSync<rt.Tensor>(ours));
    const expected = ortOutputs(await runPeer());
    const agreement = agree(actual, expected, name in quantizedModels ? magnitudeTolerance(expected, quantizedModels[name]!) : undefined);
    if (!agreement.ok) return { model: name, threads, agreement };

    const warmup = Math.max(1, Number(args.warmup));
    let fastest = Infinity;
    for (let i = 0; i < warmup; i++) {
      const start = performance.now();
      runTessera();
      fastest = Math.min(fastest, performance.now() - start);
      await runPeer();
    }
    const inner = Math.min(1000, Math.max(1, Math.ceil(Number(args.sample) / fastest)));
    const sides = args.async ? [runTessera, runPeer, runTesseraAsync] : [runTessera, runPeer];
    const [tessera, peer, tesseraAsync] = await interleave(sides, {
      runs: Number(args.runs),
      budgetMs: Number(args.budget) * 1000,
      block: Number(args.block),
      settleMs: Number(args.settle),
      inner,
    });
    return {
      model: name, threads, agreement, samples: tessera!.length, inner,
      tessera: timing(tessera!), peer: timing(peer!), tesseraAsync: tesseraAsync ? timing(tesseraAsync) : undefined,
    };
  } finally {
    request.dispose();
    for (const tensor of Object.values(ours)) tensor.dispose();
    model.dispose();
    await session.release();
  }
}

const ratioOf = (row: Row) => (row.tessera && row.peer ? row.tessera.median / row.peer.median : undefined);
const ms = (t: Timing) => `${t.median.toFixed(3)} / ${t.min.toFixed(3)}`;

function printTable(rows: Row[]) {
  const header = [
    "model".padEnd(16), "threads", "Tessera ms med/min".padStart(20), "ORT ms med/min".padStart(20),
    "ratio".padStart(6), "max abs err".padStart(11), "err/tol".padStart(7), "samples".padStart(10),
  ];
  if (args.async) header.push("Tessera async ms".padStart(20));
  console.log(header.join("  "));
  for (const threads of new Set(rows.map((r) => r.threads))) {
    const group = rows.filter((r) => r.threads === threads);
    for (const row of group) {
      const start = [row.model.padEnd(16), String(row.threads).padStart(7)];
      if (row.error) {
        console.log([...start, `FAIL: ${row.error}`].join("  "));
        continue;
      }
      const a = row.agreement;
      const errors = [a.maxAbs.toExponential(1).padStart(11), a.worstShare.toPrecision(2).padStart(7)];
      if (!a.ok) {
        console.log([...start, `FAIL: outputs disagree, ${a.reason}`.padEnd(48), ...errors].join("  "));
        continue;
      }
      const cells = [
        ...start, ms(row.tessera!).padStart(20), ms(row.peer!).padStart(20), ratioOf(row)!.toFixed(2).padStart(6),
        ...errors, `${row.samples}x${row.inner}`.padStart(10),
      ];
      if (row.tesseraAsync) cells.push(ms(row.tesseraAsync).padStart(20));
      console.log(cells.join("  "));
    }
    printGeometricMean(threads, group.map(ratioOf), group.length);
  }
}

function printGeometricMean(threads: number, ratios: (number | undefined)[], models: number) {
  const measured = ratios.filter((r): r is number => r !== undefined);
  const mean = measured.length ? geometricMean(measured).toFixed(2) : "-";
  const missing = models - measured.length;
  console.log(`  geometric mean of ratios at ${threads} thread${threads === 1 ? "" : "s"}: ${mean} over ` +
    `${measured.length} model${measured.length === 1 ? "" : "s"}${missing ? ` (${missing} failed)` : ""}`);
}

/** Per model and thread count, the median over the repeated runs of each run's median. */
function printMedians(runs: Row[][]) {
  console.log(`\nmedians over ${runs.length} runs (each run's median ms, and the median of the runs' ratios)`);
  console.log(["model".padEnd(16), "threads", "Tessera ms".padStart(11), "ORT ms".padStart(11), "ratio".padStart(6),
    "ratio per run".padStart(20)].join("  "));
  for (const threads of new Set(runs[0]!.map((r) => r.threads))) {
    const ratios: (number | undefined)[] = [];
    const group = runs[0]!.filter((r) => r.threads === threads);
    for (const { model } of group) {
      const rows = runs.map((run) => run.find((r) => r.model === model && r.threads === threads)!);
      const perRun = rows.map(ratioOf);
      if (perRun.some((r) => r === undefined)) {
        console.log([model.padEnd(16), String(threads).padStart(7), "FAIL in at least one run"].join("  "));
        ratios.push(undefined);
        continue;
      }
      const ratio = median(perRun as number[]);
      ratios.push(ratio);
      console.log([
        model.padEnd(16), String(threads).padStart(7),
        median(rows.map((r) => r.tessera!.median)).toFixed(3).padStart(11),
        median(rows.map((r) => r.peer!.median)).toFixed(3).padStart(11), ratio.toFixed(2).padStart(6),
        (perRun as number[]).map((r) => r.toFixed(2)).join(" ").padStart(20),
      ].join("  "));
    }
    printGeometricMean(threads, ratios, group.length);
  }
}

const models = args.models.split(",").filter(Boolean);
for (const name of models) {
  const spec = catalogue[name];
  if (!spec) throw new Error(`unknown model '${name}'; known: ${Object.keys(catalogue).join(", ")}`);
  const source = spec.source();
  if (typeof source === "string" && !existsSync(source)) throw new Error(`${source} is missing: run scripts/bench-models`);
}
const threadCounts = args.threads.split(",").map(Number);
const repeat = Math.max(1, Number(args.repeat));
console.log(`${cpus()[0]?.model ?? "unknown CPU"}, ${cpus().length} cores; Bun ${Bun.version}, onnxruntime-node ` +
  `${ort.env.versions.common}; agreement: allclose rtol ${tolerance.rtol} atol ${tolerance.atol} on every output`);
const runs: Row[][] = [];
for (let r = 0; r < repeat; r++) {
  const rows: Row[] = [];
  for (const threads of threadCounts) {
    for (const name of models) {
      try {
        rows.push(await benchModel(name, threads));
      } catch (error) {
        rows.push({ model: name, threads, agreement: { ok: false, maxAbs: NaN, worstShare: NaN }, error: (error as Error).message });
      }
    }
  }
  console.log(`\nrun ${r + 1} of ${repeat} (load average ${loadavg().map((l) => l.toFixed(2)).join(" ")})`);
  printTable(rows);
  runs.push(rows);
}
if (repeat > 1) printMedians(runs);
console.log("\nratio: Tessera median / ORT median (below 1: Tessera is faster); err/tol: the largest " +
  "|difference| / (atol + rtol |ORT's value|), above 1 fails; samples: samples x runs per sample");
process.exitCode = runs.some((rows) => rows.some((r) => !r.agreement.ok)) ? 1 : 0;
