/** The command line's parts, in process: option spellings, specs, percentiles, progress, random inputs. */
import { describe, expect, test } from "bun:test";
import { longOptions, UsageError } from "../src/cli/args.ts";
import { parseInputSpec, parseShapeSpec } from "../src/cli/inputs.ts";
import { Progress } from "../src/cli/progress.ts";
import { randomStream, seededTensor as randomTensor } from "../src/random.ts";

describe("longOptions", () => {
  const names = { niter: "niter", t: "time", shape: "shape" };

  test("single-dash names become --long ones, values and later arguments untouched", () => {
    expect(longOptions(["m.onnx", "-niter", "5", "-t=2", "-shape", "x[1,3]", "--", "-niter"], names))
      .toEqual(["m.onnx", "--niter", "5", "--time=2", "--shape", "x[1,3]", "--", "-niter"]);
    expect(longOptions(["--niter", "5", "-x"], names)).toEqual(["--niter", "5", "-x"]);
  });

  test("an unknown multi-letter single-dash option is refused by its whole name", () => {
    expect(() => longOptions(["-bogus"], names)).toThrow(UsageError);
    expect(() => longOptions(["-bogus"], names)).toThrow("unknown option '-bogus'");
  });
});

describe("specs", () => {
  test("--shape: name=dims, name[dims], several in brackets, or one unnamed", () => {
    expect(parseShapeSpec("x=1,3,224,224")).toEqual([["x", [1, 3, 224, 224]]]);
    expect(parseShapeSpec("input:0[8,4]")).toEqual([["input:0", [8, 4]]]);
    expect(parseShapeSpec("a[1,3], b[2]")).toEqual([["a", [1, 3]], ["b", [2]]]);
    expect(parseShapeSpec("[2,4]")).toEqual([["", [2, 4]]]);
    expect(parseShapeSpec("2,4")).toEqual([["", [2, 4]]]);
    expect(parseShapeSpec("s=")).toEqual([["s", []]]);
    for (const bad of ["x=1,-3", "x=a,b", "x[1,3", "x[1]y[2]"]) expect(() => parseShapeSpec(bad)).toThrow(UsageError);
  });

  test("--input: by extension, random, or unnamed", () => {
    expect(parseInputSpec("x=data/x.npy")).toEqual(["x", { kind: "npy", path: "data/x.npy" }]);
    expect(parseInputSpec("x=x.BIN")).toEqual(["x", { kind: "bin", path: "x.BIN" }]);
    expect(parseInputSpec("ids=random")).toEqual(["ids", { kind: "random" }]);
    expect(parseInputSpec("x.npy")).toEqual(["", { kind: "npy", path: "x.npy" }]);
    expect(() => parseInputSpec("x=x.txt")).toThrow("give name=file.npy, name=file.bin or name=random");
  });
});

describe("progress", () => {
  const capture = (isTTY: boolean) => {
    const chunks: string[] = [];
    return { chunks, stream: { isTTY, write: (text: string) => chunks.push(text) } };
  };

  test("piped: one plain line per tenth of the iterations", () => {
    const { chunks, stream } = capture(false);
    const progress = new Progress({ iterations: 20 }, stream);
    for (let i = 1; i <= 20; i++) progress.update(i, i * 10);
    progress.finish(20, 200);
    expect(chunks.length).toBe(10);
    expect(chunks[0]).toBe("progress  10%  2 iterations, 0.0 s\n");
    expect(chunks[9]).toBe("progress 100%  20 iterations, 0.2 s\n");
  });

  test("piped, by time: lines as the seconds pass, and a last line however the run ends", () => {
    const { chunks, stream } = capture(false);
    const progress = new Progress({ seconds: 2 }, stream);
    progress.update(1, 400);
    progress.update(2, 1000);
    progress.finish(3, 1500);
    expect(chunks).toEqual(["progress  20%  1 iterations, 0.4 s\n", "progress  50%  2 iterations, 1.0 s\n", "progress  75%  3 iterations, 1.5 s\n"]);
  });

  test("terminal: a bar redrawn in place at most every 100 ms, then a newline", () => {
    const { chunks, stream } = capture(true);
    const progress = new Progress({ iterations: 4 }, stream);
    progress.update(1, 10);
    progress.update(2, 50); // too soon: not drawn
    progress.update(3, 120);
    progress.finish(4, 130);
    expect(chunks.length).toBe(4);
    expect(chunks[0]).toStartWith("\r\x1b[K[#######");
    expect(chunks[0]).toContain("25%  1 iterations");
    expect(chunks[2]).toContain(`[${"#".repeat(30)}] 100%  4 iterations, 0.1 s`);
    expect(chunks[3]).toBe("\n");
  });
});

describe("random inputs", () => {
  test("the same seed gives the same values; each dtype in its range", () => {
    const a = randomTensor("float32", [1000], randomStream(7));
    const b = randomTensor("float32", [1000], randomStream(7));
    const c = randomTensor("float32", [1000], randomStream(8));
    expect(Array.from(a.toTypedArray() as Float32Array)).toEqual(Array.from(b.toTypedArray() as Float32Array));
    expect(Array.from(a.toTypedArray() as Float32Array)).not.toEqual(Array.from(c.toTypedArray() as Float32Array));
    const range = (dtype: "float32" | "bool" | "uint8" | "int8" | "int64" | "float16") => {
      const values = Array.from(randomTensor(dtype, [4000], randomStream(1)).toTypedArray() as ArrayLike<number | bigint>, Number);
      return [Math.min(...values), Math.max(...values)];
    };
    const [low, high] = range("float32");
    expect(low).toBeGreaterThanOrEqual(0);
    expect(high).toBeLessThan(1);
    expect(high).toBeGreaterThan(0.99);
    expect(range("bool")).toEqual([0, 1]);
    expect(range("uint8")).toEqual([0, 255]);
    expect(range("int8")).toEqual([-128, 127]);
    expect(range("int64")).toEqual([0, 9]);
    expect(range("float16")[1]).toBeLessThanOrEqual(1);
    expect(() => randomTensor("complex64", [2], randomStream(1))).toThrow("random complex64 inputs are not supported");
  });
});
