/** The `tessera` command: its usage, devices and info as tables and JSON, and their error paths (run and bench: cli-*.test.ts). */
import { describe, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { addRelu } from "./support/models.ts";
import { tessera } from "./support/cli.ts";
import { bunBinary, repo, scratchDir } from "./support/paths.ts";

const modelPath = join(scratchDir("tessera-cli-"), "add_relu.onnx");
writeFileSync(modelPath, addRelu());


describe("tessera info", () => {
  test("prints a table of the model", () => {
    const { code, out } = tessera("info", modelPath);
    expect(code).toBe(0);
    expect(out).toContain("model      add_relu");
    expect(out).toContain("producer   tessera-tests 1.0");
    expect(out).toContain("IR         8, opsets ai.onnx 17");
    expect(out).toContain("dynamic    yes");
    expect(out).toContain("operations 3 (Add 1, Relu 1, Mul 1)");
    expect(out).toContain("partition  cpu:0 ops 0-2");
    expect(out).toMatch(/x\s+float32\s+\[N, 4\]\s+dynamic/);
    expect(out).toMatch(/author\s+tests/);
  });

  test("--json gives the same facts as the API", () => {
    const { code, out } = tessera("info", modelPath, "--json");
    expect(code).toBe(0);
    const info = JSON.parse(out);
    expect(info.name).toBe("add_relu");
    expect(info.inputs[0]).toMatchObject({ name: "x", dtype: "float32", shape: ["N", 4] });
    expect(info.operations.map((o: { opType: string }) => o.opType)).toEqual(["Add", "Relu", "Mul"]);
    expect(info.parameterCount).toBe(5);
    expect(info.partition).toEqual([{ device: "cpu:0", first: 0, count: 3 }]);
    expect(info.copies).toEqual([]);
  });

  test("bad arguments and bad models get one line and a non-zero status", () => {
    for (const [args, pattern, status] of [
      [["info"], /^tessera: info needs exactly one model path\n$/, 2],
      [["info", "--bogus", modelPath], /^tessera: unknown option '--bogus' \(see tessera info --help\)\n$/, 2],
      [["info", "/nonexistent.onnx"], /^tessera: cannot open model '\/nonexistent.onnx': no such file\n$/, 1],
      [["frobnicate"], /^tessera: unknown command 'frobnicate'\n$/, 2],
    ] as const) {
      const { code, err } = tessera(...args);
      expect({ args, code }).toEqual({ args, code: status });
      expect(err).toMatch(pattern);
      expect(err).not.toContain("    at "); // no stack trace
    }
  });
});

describe("tessera devices", () => {
  test("lists the CPU first, as a table and as JSON", () => {
    const table = tessera("devices");
    expect(table.code).toBe(0);
    expect(table.out).toMatch(/^host /);
    expect(table.out).toMatch(/\ncpu:0\s+cpu\s+/);
    const json = JSON.parse(tessera("devices", "--json").out);
    expect(json.devices[0].id).toBe("cpu:0");
  });
});

describe("tessera", () => {
  test("--help lists every command; no command is a usage error", () => {
    const help = tessera("--help");
    expect(help.code).toBe(0);
    for (const command of ["devices", "info <model>", "run <model>", "bench <model>", "profile <model>"]) expect(help.out).toContain(`\n  ${command}`);
    const bare = tessera();
    expect(bare.code).toBe(2);
    expect(bare.out).toBe(help.out);
  });

  test("run --help and bench --help describe their options", () => {
    const run = tessera("run", "--help");
    expect(run.code).toBe(0);
    expect(run.out).toContain("--output dir");
    const bench = tessera("bench", "-h");
    expect(bench.code).toBe(0);
    for (const option of ["-niter N", "-t S", "-nireq N", "-hint latency|throughput", "-api sync|async", "-report json"]) expect(bench.out).toContain(option);
  });

  test("a library that cannot be opened is one line and status 1, from the command's entry", () => {
    const entry = join(repo, "src/cli/tessera.ts");
    const result = Bun.spawnSync([bunBinary, entry, "devices"], { env: { ...process.env, TESSERA_LIBRARY: "/nonexistent/libtessera.so" } });
    const err = result.stderr.toString();
    expect(result.exitCode).toBe(1);
    expect(err.trimEnd().split("\n")).toEqual([expect.stringMatching(/^tessera: cannot load the Tessera library at \/nonexistent\/libtessera\.so/)]);
    const ok = Bun.spawnSync([bunBinary, entry, "info", modelPath]);
    expect(ok.exitCode).toBe(0);
    expect(ok.stdout.toString()).toContain("add_relu");
  });
});
