/**
 * The shipped library runs on every x86-64 CPU from x86-64-v2 up (and every ARMv8 CPU): it is
 * built for that baseline, with its code compiled once more per wider level and one level chosen
 * at run time (src/dispatch.zig, device/cpu_level.zig). Proved three ways:
 * - a C program runs a real model under an emulated Nehalem (x86-64-v2) and Haswell (AVX2), with
 *   Debian's qemu-user, and gets this machine's outputs within 1e-5 relative;
 * - the `tessera` executable runs under the emulated Haswell (Bun itself needs AVX2);
 * - the disassembled library holds no instruction above the baseline outside the level copies
 *   (and the small VNNI object of the int8 kernel, which only the avx512 copy calls).
 */
import { describe, expect, test } from "bun:test";
import { existsSync, readFileSync } from "node:fs";
import { arch } from "node:os";
import { join } from "node:path";
import { buildExecutable, builtExecutable } from "./support/executable.ts";
import { libraryPath, repo, scratchDir, zigScript } from "./support/paths.ts";

const x86 = arch() === "x64";
const suite = process.env.TESSERA_ONNX_SUITE ?? join(repo, ".cache/onnx-backend");
const squeezenet = join(suite, "light/test_squeezenet/model.onnx");

function spawn(command: string[], cwd = repo) {
  const result = Bun.spawnSync(command, { cwd, stdout: "pipe", stderr: "pipe" });
  // qemu names the emulated model's features it cannot emulate (TSX, INVPCID): none that we use.
  const err = result.stderr.toString().split("\n").filter((line) => !line.startsWith("qemu-x86_64: warning: TCG doesn't support")).join("\n");
  return { code: result.exitCode, out: result.stdout.toString(), err };
}

/** examples/c/run_model.c, built for the baseline like the library (never for this CPU). */
function compileRunModel(): string {
  const binary = join(scratchDir(), "run_model");
  const compile = spawn([
    zigScript, "cc", "-std=c11", "-Wall", "-Wextra", "-Werror", ...(x86 ? ["-mcpu=x86_64_v2"] : []),
    `-I${repo}libruntime/include`, `${repo}examples/c/run_model.c`, `-L${repo}libruntime/zig-out/lib`, "-ltessera",
    `-Wl,-rpath,${repo}libruntime/zig-out/lib`, "-o", binary,
  ]);
  expect(compile.err).toBe("");
  expect(compile.code).toBe(0);
  return binary;
}

function parseRun(out: string): { level: string; values: number[] } {
  const [first, ...rest] = out.trim().split("\n");
  expect(first).toMatch(/^level /);
  return { level: first!.slice("level ".length).split(" ")[0]!, values: rest.map(Number) };
}

function expectClose(got: number[], want: number[]) {
  expect(got.length).toBe(want.length);
  const worst = got.reduce((max, g, i) => Math.max(max, Math.abs(g - want[i]!) / Math.max(Math.abs(want[i]!), 1e-30)), 0);
  expect(worst).toBeLessThanOrEqual(1e-5);
}

describe.skipIf(!x86)("under emulated older CPUs (qemu-user)", () => {
  test("a C program runs SqueezeNet on Nehalem and Haswell with this machine's outputs", () => {
    if (!existsSync(squeezenet)) throw new Error(`no ${squeezenet}: run scripts/onnx-suite`);
    const binary = compileRunModel();
    const native = spawn([binary, squeezenet]);
    expect(native.err).toBe("");
    expect(native.code).toBe(0);
    const want = parseRun(native.out);
    expect(want.values.length).toBe(1000);
    for (const [cpu, level] of [["Nehalem", "baseline"], ["Haswell", "avx2"]] as const) {
      const emulated = spawn(["qemu-x86_64", "-cpu", cpu, binary, squeezenet]);
      // A SIGILL would show as status 132 (or a qemu message) here.
      expect(emulated.err).toBe("");
      expect(emulated.code).toBe(0);
      const got = parseRun(emulated.out);
      expect(got.level).toBe(level);
      expectClose(got.values, want.values);
    }
  }, 300_000);

  test("the tessera executable runs under an emulated Haswell", () => {
    buildExecutable();
    const run = spawn(["qemu-x86_64", "-cpu", "Haswell", builtExecutable, "devices"]);
    expect(run.err).toBe("");
    expect(run.code).toBe(0);
    expect(run.out).toContain("cpu:0");
    expect(run.out).toContain("CPU kernels: level avx2;");
  }, 300_000);
});

/**
 * Mnemonics above x86-64-v2: VEX/EVEX (AVX, AVX2, FMA, F16C, AVX-512), mask registers, BMI1/2,
 * LZCNT, MOVBE. Not TZCNT: its encoding is REP BSF, which CPUs without BMI1 run as BSF, and LLVM
 * emits it for x86-64-v2 only where the two agree (a zero operand is handled apart).
 */
const aboveBaseline = /^(v\w+|k\w+|andn|bextr|blsi|blsmsk|blsr|bzhi|mulx|pdep|pext|rorx|sarx|shlx|shrx|lzcnt|movbe)$/;
const avx512 = /%zmm|%k[0-7]|\{%k/;

/** Counts of above-baseline instructions in an object or library, by mnemonic, and of AVX-512 ones. */
function disassemble(path: string): { byMnemonic: Map<string, number>; above: number; avx512: number; xgetbv: number } {
  const dump = spawn(["objdump", "-d", "--no-show-raw-insn", "--no-addresses", path]);
  expect(dump.code).toBe(0);
  const byMnemonic = new Map<string, number>();
  let above = 0;
  let wide = 0;
  let xgetbv = 0;
  for (const line of dump.out.split("\n")) {
    if (!line.startsWith("\t")) continue;
    const text = line.trim();
    const mnemonic = text.split(/\s+/)[0]!;
    if (mnemonic === "xgetbv") xgetbv++;
    if (avx512.test(text)) wide++;
    if (!aboveBaseline.test(mnemonic)) continue;
    above++;
    byMnemonic.set(mnemonic, (byMnemonic.get(mnemonic) ?? 0) + 1);
  }
  return { byMnemonic, above, avx512: wide, xgetbv };
}

describe.skipIf(!x86)("the disassembled library", () => {
  test("has instructions above x86-64-v2 only in the avx2 and avx512 copies and the VNNI object, and AVX-512 only in the last two", () => {
    // The objects the library was linked from (scripts/build made them; this only installs them).
    const build = spawn([zigScript, "build", "objects", `-Doptimize=${process.env.TESSERA_OPTIMIZE ?? "ReleaseFast"}`], join(repo, "libruntime"));
    expect(build.err).toBe("");
    expect(build.code).toBe(0);
    const objects = join(repo, "libruntime/zig-out/obj");
    const [library, baseline, avx2, wide, vnni] = [
      libraryPath,
      join(objects, "tessera-baseline.o"),
      join(objects, "tessera-avx2.o"),
      join(objects, "tessera-avx512.o"),
      join(objects, "tessera-vnni.o"),
    ].map(disassemble);
    // The baseline copy: nothing above the baseline. Its one xgetbv is the CPU probe itself,
    // run only once CPUID says the OS manages the AVX state (device/cpu.zig).
    expect(baseline!.above).toBe(0);
    expect(baseline!.avx512).toBe(0);
    expect(avx2!.above).toBeGreaterThan(1000);
    expect(avx2!.avx512).toBe(0);
    expect(wide!.avx512).toBeGreaterThan(1000);
    // The VNNI object (the int8 kernel, called by the avx512 copy only when CPUID reports VNNI):
    // the only place of vpdpbusd, and no xgetbv of its own.
    expect(vnni!.byMnemonic.get("vpdpbusd") ?? 0).toBeGreaterThan(10);
    expect(vnni!.xgetbv).toBe(0);
    for (const copy of [baseline!, avx2!, wide!]) expect(copy.byMnemonic.get("vpdpbusd") ?? 0).toBe(0);
    // The library is the dispatcher, the three copies, the VNNI object and the C runtime: every
    // above-baseline instruction in it is one of theirs, mnemonic by mnemonic, so outside them
    // there are 0.
    const outside = new Map<string, number>();
    for (const [mnemonic, count] of library!.byMnemonic) {
      const inCopies = [avx2!, wide!, vnni!].reduce((sum, copy) => sum + (copy.byMnemonic.get(mnemonic) ?? 0), 0);
      if (count !== inCopies) outside.set(mnemonic, count - inCopies);
    }
    expect(Object.fromEntries(outside)).toEqual({});
    expect(library!.above).toBe(avx2!.above + wide!.above + vnni!.above);
    expect(library!.avx512).toBe(wide!.avx512 + vnni!.avx512);
    // The probe: in each copy (each reads its features for tessera devices) and in the
    // dispatcher, whose detection is the baseline copy's code for the same target; nowhere else.
    expect(library!.xgetbv).toBe(2 * baseline!.xgetbv + avx2!.xgetbv + wide!.xgetbv);
    // One library for every level; its size, for the record.
    console.log(`libtessera.so: ${(readFileSync(libraryPath).length / 1048576).toFixed(1)} MiB, ${library!.above} instructions above x86-64-v2 (${library!.avx512} AVX-512), all in the level copies`);
  }, 600_000);
});
