/** `tessera run`: outputs shown and saved (read back by numpy), inputs from .npy, .bin and random, and its errors. */
import { describe, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { buildInputs } from "../src/cli/inputs.ts";
import { encodeNpy as writeNpy } from "../src/npy.ts";
import * as rt from "../src/index.ts";
import { attr, buildModel, GraphBuilder } from "../src/onnx/builder.ts";
import { addRelu } from "./support/models.ts";
import { mixedOutputs, zipMapClassifier } from "./support/value-models.ts";
import { tessera } from "./support/cli.ts";
import { repo, scratchDir } from "./support/paths.ts";

const python = join(repo, ".cache/venv/bin/python");
const dir = scratchDir("tessera-cli-run-");
const dynamicPath = join(dir, "add_relu.onnx");
writeFileSync(dynamicPath, addRelu());

/** int64 ids and a bool mask in, float16 too: masked = where(mask, float(ids), 0), twice = ids + ids, square = h * h. */
function mixedModel(): Uint8Array {
  const g = new GraphBuilder("mixed");
  g.input("ids", "int64", [2, 3]);
  g.input("mask", "bool", [2, 3]);
  g.input("h", "float16", [3]);
  g.initializer("zero", "float32", [], new Float32Array([0]));
  const asFloat = g.node("Cast", ["ids"], { attrs: { to: attr.int(1) } });
  g.node("Where", ["mask", asFloat, "zero"], { outputs: ["masked"] });
  g.node("Add", ["ids", "ids"], { outputs: ["twice"] });
  g.node("Mul", ["h", "h"], { outputs: ["square"] });
  g.output("masked", "float32", [2, 3]);
  g.output("twice", "int64", [2, 3]);
  g.output("square", "float16", [3]);
  return buildModel(g);
}
const mixedPath = join(dir, "mixed.onnx");
writeFileSync(mixedPath, mixedModel());


/** An .npy file read by numpy: dtype, shape and the values in C order. */
function numpyLoad(path: string): { dtype: string; shape: number[]; values: (number | boolean)[] } {
  const code = "import json, sys, numpy as np\na = np.load(sys.argv[1])\nprint(json.dumps({'dtype': str(a.dtype), 'shape': list(a.shape), 'values': a.ravel().tolist()}))";
  const result = Bun.spawnSync([python, "-c", code, path]);
  if (result.exitCode !== 0) throw new Error(result.stderr.toString());
  return JSON.parse(result.stdout.toString());
}

function numpySave(path: string, expression: string): void {
  const result = Bun.spawnSync([python, "-c", `import sys, numpy as np\nnp.save(sys.argv[1], ${expression})`, path]);
  if (result.exitCode !== 0) throw new Error(result.stderr.toString());
}

const flat = (t: rt.Tensor) => Array.from(t.toTypedArray() as ArrayLike<number | bigint>, Number);

describe("tessera run", () => {
  test("prints each input's source and each output's dtype, shape, statistics and first values", () => {
    const { code, out, err } = tessera("run", dynamicPath, "--shape", "x=2,4");
    expect({ code, err }).toEqual({ code: 0, err: "" });
    expect(out).toMatch(/^model .*add_relu\.onnx \(ran in \d+\.\d\d ms\)\n/);
    expect(out).toMatch(/\nx\s+float32\s+\[2, 4\]\s+random\n/);
    expect(out).toMatch(/\ny\s+float32\s+\[2, 4\]\s+min [\d.]+\s+max [\d.]+\s+mean [\d.]+\s+std [\d.]+\s+\[[\d., ]+\]\n?$/);
    // x is in [0, 1), so y = 2 * (x + w) with w = 1..4 lies in [2, 10).
    const min = Number(/min ([\d.]+)/.exec(out)![1]);
    const max = Number(/max ([\d.]+)/.exec(out)![1]);
    expect(min).toBeGreaterThanOrEqual(2);
    expect(max).toBeLessThan(10);
  });

  test("random inputs are the same for the same seed, and differ for another", () => {
    const values = (...extra: string[]) => JSON.parse(tessera("run", dynamicPath, "--shape", "x=3,4", "--json", ...extra).out).outputs[0];
    expect(values()).toEqual(values("--seed", "0"));
    expect(values("--seed", "5")).not.toEqual(values());
  });

  test("--output saves every output as .npy: numpy reads what model.runSync gives for the same random inputs", () => {
    const out = join(dir, "random-out");
    const result = tessera("run", mixedPath, "--output", out, "--seed", "3", "--json");
    expect(result.code).toBe(0);
    const json = JSON.parse(result.out);
    expect(json.outputs.map((o: { name: string; file: string }) => [o.name, o.file])).toEqual(
      ["masked", "twice", "square"].map((name) => [name, join(out, `${name}.npy`)]),
    );
    expect(json.inputs).toEqual([
      { name: "ids", dtype: "int64", shape: [2, 3], source: "random" },
      { name: "mask", dtype: "bool", shape: [2, 3], source: "random" },
      { name: "h", dtype: "float16", shape: [3], source: "random" },
    ]);
    using model = rt.loadModelSync(mixedPath);
    using inputs = buildInputs(model, { seed: 3 });
    const expected = model.runSync<rt.Tensor>(inputs.tensors);
    for (const [name, dtype] of [["masked", "float32"], ["twice", "int64"], ["square", "float16"]] as const) {
      const saved = numpyLoad(join(out, `${name}.npy`));
      expect({ name, ...saved }).toEqual({ name, dtype, shape: [...expected[name]!.shape], values: flat(expected[name]!) });
    }
    // The random ints are small and non-negative, and twice is their double.
    const twice = flat(expected.twice!);
    expect(twice.every((v) => v % 2 === 0 && v >= 0 && v <= 18)).toBe(true);
    expect(json.outputs[1]).toMatchObject({ dtype: "int64", shape: [2, 3], summary: { min: Math.min(...twice), max: Math.max(...twice) } });
  });

  test(".npy inputs written by numpy, in any of the dtypes; outputs compared with model.runSync", () => {
    const paths = { ids: join(dir, "ids.npy"), mask: join(dir, "mask.npy"), h: join(dir, "h.npy") };
    numpySave(paths.ids, "np.array([[1, 2, 3], [40, 50, 60]], dtype=np.int64)");
    numpySave(paths.mask, "np.array([[True, False, True], [False, True, True]])");
    numpySave(paths.h, "np.array([0.5, -1.5, 3], dtype=np.float16)");
    const out = join(dir, "npy-out");
    const result = tessera("run", mixedPath, ...Object.entries(paths).flatMap(([name, path]) => ["--input", `${name}=${path}`]), "--output", out);
    expect(result.code).toBe(0);
    expect(result.out).toMatch(new RegExp(`\\nids\\s+int64\\s+\\[2, 3\\]\\s+${paths.ids}\\n`));
    expect(result.out).toContain(join(out, "masked.npy"));
    expect(numpyLoad(join(out, "masked.npy")).values).toEqual([1, 0, 3, 0, 50, 60]);
    expect(numpyLoad(join(out, "twice.npy")).values).toEqual([2, 4, 6, 80, 100, 120]);
    expect(numpyLoad(join(out, "square.npy"))).toEqual({ dtype: "float16", shape: [3], values: [0.25, 2.25, 9] });
    using model = rt.loadModelSync(mixedPath);
    const expected = model.runSync<rt.Tensor>({
      ids: rt.tensor([[1n, 2n, 3n], [40n, 50n, 60n]], { dtype: "int64" }),
      mask: rt.tensor([[true, false, true], [false, true, true]]),
      h: rt.tensor([0.5, -1.5, 3], { dtype: "float16" }),
    });
    expect(numpyLoad(join(out, "masked.npy")).values).toEqual(flat(expected.masked!));
  });

  test("a dynamic input from .npy takes the file's shape; from .bin, the --shape given", () => {
    const x = new Float32Array([1, -2, 3, -4, 0.5, -0.5, 10, -10, 7, 8, 9, -9]);
    using model = rt.loadModelSync(dynamicPath);
    const expected = flat(model.runSync<rt.Tensor>({ x: rt.tensor(x, { shape: [3, 4] }) }).y!);
    writeFileSync(join(dir, "x.npy"), writeNpy({ dtype: "float32", shape: [3, 4], data: x }));
    writeFileSync(join(dir, "x.bin"), new Uint8Array(x.buffer));
    const fromNpy = tessera("run", dynamicPath, "--input", `x=${join(dir, "x.npy")}`, "--output", join(dir, "from-npy"));
    const fromBin = tessera("run", dynamicPath, "--input", `x=${join(dir, "x.bin")}`, "--shape", "x=3,4", "--output", join(dir, "from-bin"));
    expect([fromNpy.code, fromBin.code]).toEqual([0, 0]);
    expect(fromBin.out).toMatch(/\nx\s+float32\s+\[3, 4\]\s+\S+x\.bin\n/);
    for (const saved of ["from-npy", "from-bin"]) {
      expect(numpyLoad(join(dir, saved, "y.npy"))).toEqual({ dtype: "float32", shape: [3, 4], values: expected });
    }
    // Our writer's file, read by numpy, holds the values it was given.
    expect(numpyLoad(join(dir, "x.npy")).values).toEqual(Array.from(x));
  });

  test("sequence outputs show one row per element; an empty optional shows that it has no value", () => {
    const path = join(dir, "values.onnx");
    writeFileSync(path, mixedOutputs());
    const { code, out, err } = tessera("run", path, "--json");
    expect({ code, err }).toEqual({ code: 0, err: "" });
    const rows = (JSON.parse(out).outputs as { name: string; shape: number[]; note?: string }[]).map((o) => [o.name, o.shape, o.note ?? null]);
    expect(rows).toEqual([
      ["doubled", [3], null],
      ["empty", [], "(optional: no value)"],
      ["full", [3], null],
      ["seq[0]", [3], null],
      ["seq[1]", [3], null],
      ["maybeSeq[0]", [3], null],
      ["maybeSeq[1]", [3], null],
    ]);
    expect(tessera("run", path).out).toMatch(/\nempty\s+-\s+\(optional: no value\)\n/);
  });

  test("a sequence of maps (a ZipMap classifier's probabilities) shows one row per map with its entries", () => {
    const path = join(dir, "classifier.onnx");
    writeFileSync(path, zipMapClassifier(["no", "yes"]));
    const { code, out, err } = tessera("run", path, "--shape", "x=2,2", "--json");
    expect({ code, err }).toEqual({ code: 0, err: "" });
    const rows = JSON.parse(out).outputs as { name: string; dtype: string; shape: number[]; note?: string }[];
    expect(rows.map((o) => [o.name, o.dtype, o.shape])).toEqual([
      ["label", "int64", [2]],
      ["output_probability[0]", "map", [2]],
      ["output_probability[1]", "map", [2]],
    ]);
    expect(rows[1]!.note).toMatch(/^\{"no": 0\.\d+, "yes": 0\.\d+\}$/);
    expect(tessera("run", path, "--shape", "x=1,2").out).toMatch(/\noutput_probability\[0\]\s+map\s+\[2\]\s+\{"no": 0\.\d+, "yes": 0\.\d+\}\n?$/);
  });

  test("--threads sets the model's kernel threads", () => {
    const { code, out } = tessera("run", dynamicPath, "--shape", "x=1,4", "--threads", "1", "--json");
    expect(code).toBe(0);
    expect(JSON.parse(out).outputs[0].shape).toEqual([1, 4]);
  });
});

describe("tessera run: errors", () => {
  const bad = join(dir, "bad.npy");
  writeFileSync(bad, "this is not numpy");
  const fortran = join(dir, "fortran.npy");
  const wide = join(dir, "wide.npy");
  const doubles = join(dir, "doubles.npy");
  const short = join(dir, "short.bin");
  writeFileSync(short, new Uint8Array(12));

  test("each gets one line on stderr, no stack trace, and status 2 (the command line) or 1 (files, models)", () => {
    numpySave(fortran, "np.asfortranarray(np.ones((2, 4), dtype=np.float32))");
    numpySave(wide, "np.ones((2, 5), dtype=np.float32)");
    numpySave(doubles, "np.ones((2, 4))");
    const cases: [string[], RegExp, number][] = [
      [["run"], /^tessera: run needs exactly one model path$/, 2],
      [["run", dynamicPath, "--bogus"], /^tessera: unknown option '--bogus' \(see tessera run --help\)$/, 2],
      [["run", dynamicPath, "--threads", "two"], /^tessera: --threads takes an integer >= 1, not 'two'$/, 2],
      [["run", "/nonexistent.onnx"], /^tessera: cannot open model '\/nonexistent.onnx': no such file$/, 1],
      [["run", dynamicPath], /^tessera: input 'x' has shape \[N, 4\]: give its dims with --shape x=\.\.\.$/, 2],
      [["run", dynamicPath, "--input", "nope=random"], /^tessera: --input: the model has no input named 'nope' \(inputs: x\)$/, 2],
      [["run", dynamicPath, "--shape", "nope=1,4"], /^tessera: --shape: the model has no input named 'nope' \(inputs: x\)$/, 2],
      [["run", dynamicPath, "--shape", "x=1,4", "--shape", "x=2,4"], /^tessera: --shape is given twice for input 'x'$/, 2],
      [["run", dynamicPath, "--shape", "x=2,3"], /^tessera: --shape: shape \[2, 3\] does not fit input 'x' \[N, 4\]$/, 1],
      [["run", dynamicPath, "--input", "x=x.txt"], /^tessera: --input 'x=x.txt': give name=file.npy, name=file.bin or name=random$/, 2],
      [["run", dynamicPath, "--input", "x=/nonexistent.npy"], /^tessera: cannot read '\/nonexistent.npy': no such file$/, 1],
      [["run", dynamicPath, "--input", `x=${bad}`], /^tessera: \S+bad.npy: not an NPY file/, 1],
      [["run", dynamicPath, "--input", `x=${fortran}`], /^tessera: \S+fortran.npy: Fortran-ordered NPY arrays are not supported/, 1],
      [["run", dynamicPath, "--input", `x=${wide}`], /^tessera: \S+wide.npy: shape \[2, 5\] does not fit input 'x' \[N, 4\]$/, 1],
      [["run", dynamicPath, "--input", `x=${wide}`, "--shape", "x=2,4"], /^tessera: \S+wide.npy: shape \[2, 5\] does not fit/, 1],
      [["run", dynamicPath, "--input", `x=${doubles}`], /^tessera: \S+doubles.npy holds float64; input 'x' is float32$/, 1],
      [["run", dynamicPath, "--input", `x=${short}`, "--shape", "x=2,4"], /^tessera: \S+short.bin has 12 bytes; input 'x' \(float32 \[2, 4\]\) needs 32$/, 1],
    ];
    for (const [args, pattern, status] of cases) {
      const { code, out, err } = tessera(...args);
      expect({ args, code, out }).toEqual({ args, code: status, out: "" });
      expect({ args, lines: err.trimEnd().split("\n").length }).toEqual({ args, lines: 1 });
      expect(err.trimEnd()).toMatch(pattern);
      expect(err).not.toContain("    at ");
    }
  });

  test("an output .npy cannot hold is shown without statistics, and refused by name for --output", () => {
    const g = new GraphBuilder("to_bf16");
    g.input("x", "float32", [2]);
    g.node("Cast", ["x"], { attrs: { to: attr.int(16) }, outputs: ["b"] });
    g.output("b", "bfloat16", [2]);
    const path = join(dir, "bf16.onnx");
    writeFileSync(path, buildModel(g));
    const shown = tessera("run", path);
    expect(shown.code).toBe(0);
    expect(shown.out).toMatch(/\nb\s+bfloat16\s+\[2\]\n?$/);
    const saved = tessera("run", path, "--output", join(dir, "bf16-out"));
    expect(saved.code).toBe(1);
    expect(saved.err).toBe("tessera: output 'b' is bfloat16, which .npy cannot hold\n");
  });
});
