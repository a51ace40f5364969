/**
 * Two builds of libtessera against each other on the benchmark models, in one process: both
 * libraries are opened side by side (each dlopen has its own symbols), and runs alternate between
 * them one by one, so drift on a shared machine hits both alike. For a change to the build (the
 * portable, dispatched library against a native one) or to a kernel, where the difference sought
 * is a few percent and separate processes differ by more than that.
 *
 * Usage: bun bench/libraries.ts LIB_A LIB_B [--models a,b] [--threads 1,2] [--runs N] [--warmup N]
 * The models come from scripts/bench-models (.cache/bench-models, or $TESSERA_BENCH_MODELS); every
 * input is float32 with fixed dims. Prints per model and thread count the median and minimum of
 * each, and B's median over A's.
 */
import { existsSync } from "node:fs";
import { parseArgs } from "node:util";
import { adapter, type NativeLibrary, type Pointer } from "../bindings/index.ts";

const { values: args, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    models: { type: "string", default: "resnet50,mobilenetv2,squeezenet1_1,efficientnet_b0,bert_encoder" },
    threads: { type: "string", default: "1,2" },
    runs: { type: "string", default: "40" },
    warmup: { type: "string", default: "3" },
  },
});
if (positionals.length !== 2) throw new Error("usage: bench/libraries.ts LIB_A LIB_B [options]");
const modelDir = process.env.TESSERA_BENCH_MODELS ?? new URL("../.cache/bench-models/", import.meta.url).pathname;
const encoder = new TextEncoder();
const cString = (text: string) => encoder.encode(`${text}\0`);

/** One opened build, driven through the C API alone. */
class Build {
  readonly lib: NativeLibrary;
  readonly #slot = new BigUint64Array(1);
  constructor(readonly path: string) {
    this.lib = adapter.open(path);
    this.#check(this.lib.call.tsr_initialize());
  }

  #check(status: number) {
    if (status !== 0) throw new Error(`${this.path}: status ${status}: ${this.lib.cstring(this.lib.call.tsr_last_error())}`);
  }

  #out(call: (slot: BigUint64Array) => number): Pointer {
    this.#check(call(this.#slot));
    return this.lib.pointerAt(this.#slot);
  }

  /** A request on the model at `path` with `threads`, its inputs bound to seeded values. */
  prepare(path: string, threads: number): { run: () => void; output: () => Float32Array } {
    const c = this.lib.call;
    const options = this.#out((s) => c.tsr_options_create(s));
    this.#check(c.tsr_options_set(options, cString("threads"), cString(String(threads))));
    const model = this.#out((s) => c.tsr_model_load(cString(path), options, s));
    c.tsr_options_destroy(options);
    const request = this.#out((s) => c.tsr_request_create(model, s));
    const count = new BigInt64Array(1);
    this.#check(c.tsr_model_get_i64(model, 4 /* TSR_MODEL_INPUT_COUNT */, count));
    const keep: unknown[] = [];
    for (let i = 0; i < Number(count[0]); i++) {
      const name = this.lib.cstring(this.#out((s) => c.tsr_model_input_name(model, i, s)));
      const info = this.#out((s) => c.tsr_model_tensor_info(model, cString(name), s));
      const rank = new BigInt64Array(1);
      this.#check(c.tsr_tensor_info_get_i64(info, 2 /* TSR_INFO_RANK */, rank));
      const shape = new BigInt64Array(Number(rank[0]));
      for (let d = 0; d < shape.length; d++) {
        const dim = new BigInt64Array(1);
        this.#check(c.tsr_tensor_info_dim(info, d, dim, new BigUint64Array(1)));
        shape[d] = dim[0]!;
      }
      const data = seeded(shape.reduce((a, b) => a * Number(b), 1), 1 + i);
      const tensor = this.#out((s) => c.tsr_tensor_wrap(1 /* float32 */, shape, shape.length, data, BigInt(data.byteLength), s));
      this.#check(c.tsr_request_set_input(request, cString(name), tensor));
      keep.push(data, shape);
    }
    return {
      run: () => {
        this.#check(c.tsr_request_run(request));
        void keep;
      },
      output: () => {
        const tensor = this.#out((s) => c.tsr_request_get_output(request, 0, s));
        const bytes = new BigUint64Array(1);
        this.#check(c.tsr_tensor_byte_size(tensor, bytes));
        const data = this.#out((s) => c.tsr_tensor_data(tensor, s));
        const copy = new Float32Array(this.lib.copyBytes(data, Number(bytes[0])).buffer);
        c.tsr_tensor_destroy(tensor);
        return copy;
      },
    };
  }
}

/** Standard normal values from a small seeded generator (the same for both builds). */
function seeded(count: number, seed: number): Float32Array {
  let state = seed >>> 0;
  const next = () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return (state + 1) / 4294967297;
  };
  const out = new Float32Array(count);
  for (let i = 0; i < count; i++) out[i] = Math.sqrt(-2 * Math.log(next())) * Math.cos(2 * Math.PI * next());
  return out;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
const builds = positionals.map((path) => new Build(path));
console.log(`A ${builds[0]!.path}\nB ${builds[1]!.path}`);
console.log("model             threads     A ms med/min        B ms med/min    B/A   max rel diff");
for (const threads of args.threads.split(",").map(Number)) {
  for (const name of args.models.split(",")) {
    const path = `${modelDir}/${name}.onnx`;
    if (!existsSync(path)) throw new Error(`no ${path}: run scripts/bench-models first`);
    const sides = builds.map((b) => b.prepare(path, threads));
    for (const side of sides) for (let i = 0; i < Number(args.warmup); i++) side.run();
    const [a, b] = sides.map((side) => side.output());
    let worst = 0;
    const scale = a!.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
    for (let i = 0; i < a!.length; i++) worst = Math.max(worst, Math.abs(a![i]! - b![i]!) / scale);
    const times: number[][] = [[], []];
    for (let run = 0; run < Number(args.runs); run++) {
      // Alternate which side goes first, so neither always follows the other's run.
      for (const s of run % 2 ? [1, 0] : [0, 1]) {
        const start = performance.now();
        sides[s]!.run();
        times[s]!.push(performance.now() - start);
      }
    }
    const [ma, mb] = times.map(median);
    const fmt = (xs: number[]) => `${median(xs).toFixed(2).padStart(8)} / ${Math.min(...xs).toFixed(2).padStart(7)}`;
    console.log(`${name.padEnd(16)} ${String(threads).padStart(7)}  ${fmt(times[0]!)}  ${fmt(times[1]!)}  ${(mb! / ma!).toFixed(3)}   ${worst.toExponential(1)}`);
  }
}
