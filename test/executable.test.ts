/**
 * The single-file `tessera` executable (scripts/build-exe). Each case copies it alone into an
 * empty folder and runs it there with a bare environment: PATH without Bun, Zig or this checkout,
 * fresh HOME and XDG_CACHE_HOME, no TESSERA_LIBRARY. So it can only work from what it embeds.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { createHash } from "node:crypto";
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { libraryFileName } from "../bindings/location.ts";
import { buildInputs } from "../src/cli/inputs.ts";
import { decodeNpy as readNpy, encodeNpy as writeNpy } from "../src/npy.ts";
import * as rt from "../src/index.ts";
import { addRelu } from "./support/models.ts";
import { builtExecutable, buildExecutable } from "./support/executable.ts";
import { libraryPath, scratchDir } from "./support/paths.ts";

buildExecutable();
const libraryBytes = readFileSync(libraryPath);
const extractedName = libraryFileName(process.platform);
const hashFolder = createHash("sha256").update(libraryBytes).digest("hex").slice(0, 16);

const scratch: string[] = [];
afterAll(() => {
  for (const dir of scratch) rmSync(dir, { recursive: true, force: true });
});

/** A fresh empty folder holding only a copy of the executable, and fresh HOME and cache folders. */
function sandbox() {
  const root = scratchDir("tessera-exe-");
  scratch.push(root);
  const bin = join(root, "bin");
  const home = join(root, "home");
  const cache = join(root, "cache");
  for (const dir of [bin, home, cache]) mkdirSync(dir);
  copyFileSync(builtExecutable, join(bin, "tessera"));
  return { root, bin, home, cache, env: { PATH: "/usr/bin:/bin", HOME: home, XDG_CACHE_HOME: cache } as Record<string, string> };
}

type Sandbox = ReturnType<typeof sandbox>;

function run(box: Sandbox, args: string[], env = box.env) {
  const result = Bun.spawnSync(["./tessera", ...args], { cwd: box.bin, env, stdout: "pipe", stderr: "pipe" });
  return { code: result.exitCode, out: result.stdout.toString(), err: result.stderr.toString() };
}

/** The library's path inside a cache root, in the folder named by the hash of its bytes. */
const extracted = (cacheRoot: string) => join(cacheRoot, hashFolder, extractedName);

describe("the single-file executable, alone in an empty folder", () => {
  const box = sandbox();
  writeFileSync(join(box.bin, "add_relu.onnx"), addRelu());

  test("lists the devices, with the library extracted under XDG_CACHE_HOME in a folder named by its hash", () => {
    const { code, out, err } = run(box, ["devices"]);
    expect({ code, err }).toEqual({ code: 0, err: "" });
    expect(out).toMatch(/^host /);
    expect(out).toMatch(/\ncpu:0\s+cpu\s+/);
    expect(readdirSync(join(box.cache, "tessera"))).toEqual([hashFolder]);
    expect(readdirSync(join(box.cache, "tessera", hashFolder))).toEqual([extractedName]);
    expect(readFileSync(extracted(join(box.cache, "tessera"))).equals(libraryBytes)).toBe(true);
    expect(statSync(extracted(join(box.cache, "tessera"))).mode & 0o111).not.toBe(0);
    expect(existsSync(join(box.home, ".cache"))).toBe(false);
  });

  test("info names the model's inputs and outputs, as a table and as JSON", () => {
    const table = run(box, ["info", "add_relu.onnx"]);
    expect(table.code).toBe(0);
    expect(table.out).toContain("model      add_relu");
    expect(table.out).toContain("operations 3 (Add 1, Relu 1, Mul 1)");
    expect(table.out).toMatch(/\nx\s+float32\s+\[N, 4\]\s+dynamic/);
    expect(table.out).toMatch(/\ny\s+float32\s+\[N, 4\]\s+dynamic/);
    const json = JSON.parse(run(box, ["info", "add_relu.onnx", "--json"]).out);
    expect(json.inputs.map((t: { name: string }) => t.name)).toEqual(["x"]);
    expect(json.outputs.map((t: { name: string }) => t.name)).toEqual(["y"]);
    expect(json.parameterCount).toBe(5);
  });

  test("a second start reuses the extracted library as it is", () => {
    const path = extracted(join(box.cache, "tessera"));
    run(box, ["devices"]);
    const before = statSync(path);
    expect(run(box, ["devices"]).code).toBe(0);
    const after = statSync(path);
    expect({ ino: after.ino, mtime: after.mtimeMs }).toEqual({ ino: before.ino, mtime: before.mtimeMs });
  });

  test("a truncated or altered cached library is replaced", () => {
    const path = extracted(join(box.cache, "tessera"));
    run(box, ["devices"]);
    writeFileSync(path, libraryBytes.subarray(0, libraryBytes.length >> 1));
    expect(run(box, ["devices"]).code).toBe(0);
    expect(readFileSync(path).equals(libraryBytes)).toBe(true);

    const altered = Buffer.from(libraryBytes);
    const middle = altered.length >> 1;
    altered[middle] = altered[middle]! ^ 0xff;
    writeFileSync(path, altered);
    expect(run(box, ["info", "add_relu.onnx"]).code).toBe(0);
    expect(readFileSync(path).equals(libraryBytes)).toBe(true);
    expect(readdirSync(join(box.cache, "tessera", hashFolder))).toEqual([extractedName]);
  });

  test("bad arguments get one line and a non-zero status, without a stack trace", () => {
    for (const [args, pattern, status] of [
      [["frobnicate"], /^tessera: unknown command 'frobnicate'\n$/, 2],
      [["info"], /^tessera: info needs exactly one model path\n$/, 2],
      [["info", "--bogus", "add_relu.onnx"], /^tessera: unknown option '--bogus' \(see tessera info --help\)\n$/, 2],
      [["info", "missing.onnx"], /^tessera: cannot open model 'missing.onnx': no such file\n$/, 1],
    ] as const) {
      const { code, err } = run(box, [...args]);
      expect({ args, code }).toEqual({ args, code: status });
      expect(err).toMatch(pattern);
    }
  });
});

describe("where the library is extracted", () => {
  test("processes starting at once with an empty cache all succeed, leaving one whole file", async () => {
    const box = sandbox();
    const starts = Array.from({ length: 4 }, () =>
      Bun.spawn(["./tessera", "devices"], { cwd: box.bin, env: box.env, stdout: "pipe", stderr: "pipe" }),
    );
    const results = await Promise.all(starts.map(async (p) => ({ code: await p.exited, err: await new Response(p.stderr).text() })));
    expect(results).toEqual(Array(4).fill({ code: 0, err: "" }));
    expect(readdirSync(join(box.cache, "tessera", hashFolder))).toEqual([extractedName]);
    expect(readFileSync(extracted(join(box.cache, "tessera"))).equals(libraryBytes)).toBe(true);
  });

  test("an unusable XDG_CACHE_HOME falls back to HOME/.cache, and then to a folder beside the executable", () => {
    const box = sandbox();
    const notAFolder = join(box.root, "plain-file");
    writeFileSync(notAFolder, "");
    expect(run(box, ["devices"], { ...box.env, XDG_CACHE_HOME: notAFolder }).code).toBe(0);
    expect(readFileSync(extracted(join(box.home, ".cache", "tessera"))).equals(libraryBytes)).toBe(true);

    expect(run(box, ["devices"], { PATH: "/usr/bin:/bin", XDG_CACHE_HOME: notAFolder, HOME: notAFolder }).code).toBe(0);
    expect(readFileSync(extracted(join(box.bin, ".tessera-cache"))).equals(libraryBytes)).toBe(true);
  });

  test("when no folder can take the library: one line and status 1", () => {
    const box = sandbox();
    const notAFolder = join(box.root, "plain-file");
    writeFileSync(notAFolder, "");
    writeFileSync(join(box.bin, ".tessera-cache"), ""); // a file where the folder beside it would go
    const { code, out, err } = run(box, ["devices"], { PATH: "/usr/bin:/bin", XDG_CACHE_HOME: notAFolder, HOME: notAFolder });
    expect({ code, out }).toEqual({ code: 1, out: "" });
    expect(err).toMatch(/^tessera: cannot extract the Tessera library \([^\n]*\.tessera-cache[^\n]*\)\n$/);
  });

  // The reason the executable extracts the library itself: dlopen refuses a noexec mount. A private
  // mount namespace puts a noexec tmpfs over XDG_CACHE_HOME for this one run, where unshare can.
  const canUnshare = Bun.spawnSync(["unshare", "-rm", "true"], { stdout: "ignore", stderr: "ignore" }).exitCode === 0;
  test.skipIf(!canUnshare)("a noexec cache folder is passed over for the next one", () => {
    const box = sandbox();
    const mountAndRun = 'mount -t tmpfs -o noexec tmpfs "$XDG_CACHE_HOME" && exec ./tessera devices';
    const result = Bun.spawnSync(["unshare", "-rm", "sh", "-c", mountAndRun], { cwd: box.bin, env: box.env, stdout: "pipe", stderr: "pipe" });
    expect({ code: result.exitCode, err: result.stderr.toString() }).toEqual({ code: 0, err: "" });
    expect(readFileSync(extracted(join(box.home, ".cache", "tessera"))).equals(libraryBytes)).toBe(true);
  });
});

describe("run and bench from the executable", () => {
  const box = sandbox();
  const modelFile = join(box.bin, "add_relu.onnx");
  writeFileSync(modelFile, addRelu());
  const x = new Float32Array([-3, -1.5, 0, 0.25, 1, 2, -2.5, 7, 0.5, -0.75, 3, -4]);
  writeFileSync(join(box.bin, "x.npy"), writeNpy({ dtype: "float32", shape: [3, 4], data: x }));

  /** The model run in this process, through the checkout's library. */
  async function inProcess(inputs: Record<string, rt.Tensor>): Promise<number[]> {
    using model = rt.loadModelSync(modelFile);
    const { y } = await model.run<rt.Tensor>(inputs);
    using output = y!;
    return [...(output.toTypedArray() as Float32Array)];
  }

  test("run: the outputs it saves are the library's, in process", async () => {
    const { code, out, err } = run(box, ["run", "add_relu.onnx", "--input", "x=x.npy", "--output", "outputs"]);
    expect({ code, err }).toEqual({ code: 0, err: "" });
    expect(out).toMatch(/\ny\s+float32\s+\[3, 4\]\s+.*outputs\/y\.npy/);
    const saved = readNpy(readFileSync(join(box.bin, "outputs", "y.npy")));
    expect({ dtype: saved.dtype, shape: saved.shape }).toEqual({ dtype: "float32", shape: [3, 4] });
    using input = rt.tensor(x, { shape: [3, 4] });
    const expected = await inProcess({ x: input });
    expect(Array.from(saved.data as Float32Array)).toEqual(expected);
    expect(expected).toEqual([...x].map((v, i) => Math.fround(Math.max(0, v + [1, 2, 3, 4][i % 4]!) * 2)));
  });

  test("run on random inputs: the values match the same seeded inputs run in process", async () => {
    const { code, out } = run(box, ["run", "add_relu.onnx", "--shape", "x=2,4", "--seed", "7", "--json"]);
    expect(code).toBe(0);
    const result = JSON.parse(out);
    expect(result.inputs).toEqual([{ name: "x", dtype: "float32", shape: [2, 4], source: "random" }]);
    expect(result.outputs.map((o: { name: string; shape: number[] }) => [o.name, o.shape])).toEqual([["y", [2, 4]]]);
    using model = rt.loadModelSync(modelFile);
    using inputs = buildInputs(model, { shapes: ["x=2,4"], seed: 7 });
    expect(result.outputs[0].summary.first).toEqual(await inProcess(inputs.tensors));
  });

  test("bench -niter 5 times five runs", () => {
    const text = run(box, ["bench", "add_relu.onnx", "-niter", "5", "-shape", "x[1,4]"]);
    expect(text.code).toBe(0);
    expect(text.out).toMatch(/^model\s+add_relu\.onnx \(loaded in [\d.]+ ms\)/);
    expect(text.out).toMatch(/\niterations\s+5 \(/);
    expect(text.out).toMatch(/\nthroughput\s+[\d.]+ inferences\/s/);

    const { code, out } = run(box, ["bench", "add_relu.onnx", "-niter", "5", "-shape", "x[1,4]", "-report", "json"]);
    expect(code).toBe(0);
    const report = JSON.parse(out);
    expect(report.iterations).toBe(5);
    expect(report.inputs[0].shape).toEqual([1, 4]);
    expect(report.latencyMs.min).toBeGreaterThan(0);
    expect(report.latencyMs.min).toBeLessThanOrEqual(report.latencyMs.max);
    expect(report.throughput).toBeGreaterThan(0);
  });

  test("a bad bench argument gets one line and status 2", () => {
    const { code, err } = run(box, ["bench", "add_relu.onnx", "-niter", "zero"]);
    expect(code).toBe(2);
    expect(err).toMatch(/^tessera: [^\n]*-niter[^\n]*\n$/);
  });
});
