/** C programs use the library through tessera.h alone: compile and run the example against it. */
import { expect, test } from "bun:test";
import { join } from "node:path";
import { writeFileSync } from "node:fs";
import { addRelu, denseModel } from "./support/models.ts";
import { dictVectorizerModel, zipMapClassifier } from "./support/value-models.ts";
import { repo, scratchDir, zigScript } from "./support/paths.ts";

function compileExample(name: string, dir: string): string {
  const binary = join(dir, name);
  const compile = Bun.spawnSync([
    zigScript, "cc", "-std=c11", "-Wall", "-Wextra", "-Werror", `-I${repo}libruntime/include`,
    `${repo}examples/c/${name}.c`, `-L${repo}libruntime/zig-out/lib`, "-ltessera",
    `-Wl,-rpath,${repo}libruntime/zig-out/lib`, "-o", binary,
  ]);
  expect(compile.stderr.toString()).toBe("");
  expect(compile.exitCode).toBe(0);
  return binary;
}

test("the C example compiles against tessera.h with -Wall -Werror and runs", () => {
  const dir = scratchDir();
  const binary = compileExample("devices_and_tensors", dir);
  const run = Bun.spawnSync([binary, join(dir, "t.tsr")]);
  const out = run.stdout.toString();
  expect(run.exitCode).toBe(0);
  expect(out).toMatch(/^tessera \d+\.\d+\.\d+\n/);
  expect(out).toContain("device cpu:0 kind=0");
  expect(out).toContain("loaded 24 bytes, last element 0.50");
  expect(out).toContain("negative dim: status -5 (dim 0 of the shape is negative (-4))");
}, 60_000);

test("a C program loads a model and reads its signature and shapes", () => {
  const dir = scratchDir();
  const binary = compileExample("model_info", dir);
  const model = join(dir, "add_relu.onnx");
  writeFileSync(model, addRelu());
  const run = Bun.spawnSync([binary, model]);
  expect(run.exitCode).toBe(0);
  expect(run.stdout.toString()).toBe(
    "model add_relu, dynamic 1\ninputs\n  x: dtype 1 shape [N,4] bytes -1\noutputs\n  y: dtype 1 shape [N,4] bytes -1\ny for x=[7,4]: 7,4\n",
  );
  const missing = Bun.spawnSync([binary, join(dir, "missing.onnx")]);
  expect(missing.exitCode).toBe(1);
  expect(missing.stdout.toString()).toMatch(/^load failed: status -14 \(cannot open model/);
}, 60_000);

test("a C program profiles a run and reads the engine's events", () => {
  const dir = scratchDir();
  const binary = compileExample("profile_run", dir);
  const model = join(dir, "add_relu.onnx");
  writeFileSync(model, addRelu());
  const run = Bun.spawnSync([binary, model]);
  const out = run.stdout.toString();
  expect(run.exitCode).toBe(0);
  // Three nodes, each a layer-execute pair; the run's model-execute and the input's transfer.
  expect(out).toMatch(/^10 events, 0 dropped\n/);
  expect(out).toMatch(/node 0 Add: \d+ ns\nnode 1 Relu: \d+ ns\nnode 2 Mul: \d+ ns\n/);
  expect(out).toContain(`NULL count: status ${-1}`);
}, 60_000);

test("a C program reads a ZipMap's sequence of maps and feeds a map to a DictVectorizer", () => {
  const dir = scratchDir();
  const binary = compileExample("map_values", dir);
  const classifier = join(dir, "classifier.onnx");
  const vectorizer = join(dir, "dict_vectorizer.onnx");
  writeFileSync(classifier, zipMapClassifier([0n, 1n, 2n]));
  writeFileSync(vectorizer, dictVectorizerModel("string", "float32", ["a", "b", "c"]));
  const run = Bun.spawnSync([binary, classifier, vectorizer]);
  expect(run.stdout.toString()).toBe([
    "row 0: 0=0.0900 1=0.2447 2=0.6652",
    "row 1: 0=0.3333 1=0.3333 2=0.3333",
    `int64 keys: status ${-4}`,
    "y: 1.0 0.0 3.0",
    "",
  ].join("\n"));
  expect(run.exitCode).toBe(0);
}, 60_000);

test("a C program encrypts a model and loads it with its passphrase", () => {
  const dir = scratchDir();
  const binary = compileExample("encrypted_model", dir);
  const model = join(dir, "add_relu.onnx");
  writeFileSync(model, addRelu());
  const run = Bun.spawnSync([binary, model, join(dir, "add_relu.tsrc")], { env: { ...process.env, TESSERA_PASSPHRASE: "a passphrase" } });
  expect(run.stdout.toString()).toBe([
    "loaded: 1 input(s)",
    `load: status ${-12} (cannot decrypt the model: wrong passphrase or damaged file)`,
    `load: status ${-12} (the model is encrypted: give its passphrase)`,
    "",
  ].join("\n"));
  expect(run.exitCode).toBe(0);
}, 60_000);

test("the header compiles as C++ too", async () => {
  const dir = scratchDir();
  const source = join(dir, "header.cpp");
  await Bun.write(source, '#include <tessera.h>\nint main() { return tsr_abi_version() == TSR_ABI_VERSION ? 0 : 1; }\n');
  const compile = Bun.spawnSync([zigScript, "c++", "-c", "-Wall", "-Werror", `-I${repo}libruntime/include`, source, "-o", join(dir, "header.o")]);
  expect(compile.stderr.toString()).toBe("");
  expect(compile.exitCode).toBe(0);
}, 60_000);

test("a C program loads a backend extension and runs a model's nodes on its device", () => {
  const dir = scratchDir();
  const binary = compileExample("extension_run", dir);
  const extension = join(dir, "libmyext.so");
  const build = Bun.spawnSync([
    zigScript, "cc", "-shared", "-fPIC", "-std=c99", "-O2", `-I${repo}libruntime/include`,
    `${repo}examples/extension/myext.c`, "-o", extension,
  ]);
  expect(build.exitCode).toBe(0);
  const model = join(dir, "dense.onnx");
  writeFileSync(model, denseModel());
  const run = Bun.spawnSync([binary, extension, model, "2", "3"]);
  const lines = run.stdout.toString().trimEnd().split("\n");
  expect(run.exitCode).toBe(0);
  expect(lines.slice(0, 4)).toEqual(["matmul MatMul on myext:0", "bias Add on myext:0", "relu Relu on myext:0", "sig Sigmoid on cpu:0"]);
  // The same model written out in numbers: x = [[1, -2, 3], [-4, 5, -6]].
  const w = [[0.5, -1, 2, 0.25], [1.5, 0.75, -0.5, 1], [-2, 0.5, 1, -0.75]];
  const b = [0.1, -0.2, 0.3, -0.4];
  const x = [[1, -2, 3], [-4, 5, -6]];
  const want = x.flatMap((row) => b.map((bias, j) => 1 / (1 + Math.exp(-Math.max(0, row.reduce((s, v, k) => s + v * w[k]![j]!, bias))))));
  expect(lines[4]).toBe(`y: ${want.map((v) => v.toFixed(4)).join(" ")}`);
  const missing = Bun.spawnSync([binary, join(dir, "libabsent.so"), model, "2", "3"]);
  expect(missing.exitCode).toBe(1);
  expect(missing.stdout.toString()).toBe(`extension load failed: no extension at '${join(dir, "libabsent.so")}': the file does not exist\n`);
}, 120_000);
