/**
 * Every platform's library in the package, including those this machine cannot run: each has the
 * right file format and CPU, exports exactly the functions tessera.h declares, and (on glibc)
 * needs nothing newer than glibc 2.28. The arm64 library runs a model under qemu-aarch64 and the
 * x86-64 musl one natively (Debian's musl loader), each giving this machine's outputs.
 */
import { beforeAll, describe, expect, test } from "bun:test";
import { existsSync, symlinkSync } from "node:fs";
import { join } from "node:path";
import { libraryFileName, type PlatformKey, supportedPlatforms, version } from "../bindings/location.ts";
import { prototypes } from "./support/header.ts";
import { hostKey, unpackedPackage } from "./support/package.ts";
import { repo, scratchDir, zigScript } from "./support/paths.ts";

let root = "";
beforeAll(() => {
  root = unpackedPackage();
}, 900_000);

function sh(command: string[], env?: Record<string, string>) {
  const result = Bun.spawnSync(command, { stdout: "pipe", stderr: "pipe", env });
  return { code: result.exitCode, out: result.stdout.toString(), err: result.stderr.toString() };
}

const declared = prototypes().map((p) => p.name).sort();
const present = (key: PlatformKey) => process.env.TESSERA_PACKAGE !== undefined || key === hostKey;
const library = (key: PlatformKey) => join(root, "prebuilds", key, libraryFileName(key.split("-")[0]!));

/** What each platform's file must say it is (llvm-objdump -f), and how to list its exports. */
const formats: Record<PlatformKey, RegExp> = {
  "linux-x64": /file format elf64-x86-64/,
  "linux-arm64": /file format elf64-littleaarch64/,
  "linux-x64-musl": /file format elf64-x86-64/,
  "linux-arm64-musl": /file format elf64-littleaarch64/,
  "darwin-x64": /file format mach-o 64-bit x86-64/,
  "darwin-arm64": /file format mach-o arm64/,
  "win32-x64": /file format coff-x86-64/,
};

function exportedFunctions(key: PlatformKey): string[] {
  const path = library(key);
  if (key.startsWith("darwin")) {
    const trie = sh(["llvm-objdump", "--macho", "--exports-trie", path]).out;
    return [...trie.matchAll(/\b_(tsr_\w+)$/gm)].map((m) => m[1]!).sort();
  }
  if (key.startsWith("win32")) {
    const table = sh(["objdump", "-p", path]).out;
    return [...table.matchAll(/^\s*\[\s*\d+\]\s+(?:\+base\[\s*\d+\]\s+[0-9a-f]+\s+)?(tsr_\w+)$/gm)].map((m) => m[1]!).sort();
  }
  const dynamic = sh(["llvm-objdump", "-T", path]).out;
  return [...dynamic.matchAll(/^\S+\s+g\s+DF\s+\.text\s+\S+\s+(?:\S+\s+)?(tsr_\w+)$/gm)].map((m) => m[1]!).sort();
}

describe.each(supportedPlatforms.map((key) => [key]))("%s", (key) => {
  test.skipIf(!present(key))("is the right format and CPU, and exports exactly tessera.h's functions", () => {
    expect(existsSync(library(key))).toBe(true);
    const header = sh(["llvm-objdump", "-f", library(key)]).out;
    expect(header).toMatch(formats[key]);
    expect(exportedFunctions(key)).toEqual(declared);
  });

  if (key.startsWith("linux")) {
    test.skipIf(!present(key))("has a versioned soname and the C library it is built for", () => {
      const dynamic = sh(["llvm-objdump", "-p", library(key)]).out;
      expect(dynamic).toMatch(new RegExp(`SONAME\\s+libtessera\\.so\\.${version.split(".")[0]}\\n`));
      const needed = [...dynamic.matchAll(/NEEDED\s+(\S+)/g)].map((m) => m[1]!);
      if (key.endsWith("musl")) {
        expect(needed).toContain("libc.so");
      } else {
        expect(needed).toContain("libc.so.6");
        const versions = [...sh(["llvm-objdump", "-T", library(key)]).out.matchAll(/GLIBC_2\.(\d+)/g)].map((m) => Number(m[1]));
        expect(Math.max(...versions)).toBeLessThanOrEqual(28);
      }
    });
  }
});

/** run_model.c built for a target against the package's library for it; returns its folder. */
function buildRunModel(target: string, key: PlatformKey): string {
  const dir = scratchDir("tessera-cross-");
  // The program asks for the soname; the package's file carries the full version.
  symlinkSync(library(key), join(dir, `libtessera.so.${version.split(".")[0]}`));
  symlinkSync(library(key), join(dir, "libtessera.so"));
  const compile = sh([
    zigScript, "cc", "-target", target, "-std=c11", "-Wall", "-Werror", `-I${repo}libruntime/include`,
    `${repo}examples/c/run_model.c`, `-L${dir}`, "-ltessera", "-o", join(dir, "run_model"),
  ]);
  expect(compile.err).toBe("");
  expect(compile.code).toBe(0);
  return dir;
}

const squeezenet = join(process.env.TESSERA_ONNX_SUITE ?? join(repo, ".cache/onnx-backend"), "light/test_squeezenet/model.onnx");

function values(out: string): number[] {
  return out.trim().split("\n").slice(1).map(Number);
}

function expectSameOutputs(got: number[], want: number[]) {
  expect(got.length).toBe(want.length);
  // Another CPU may sum in another order: a relative 1e-4 against the output's scale.
  const scale = Math.max(...want.map(Math.abs));
  const worst = got.reduce((max, g, i) => Math.max(max, Math.abs(g - want[i]!)), 0);
  expect(worst).toBeLessThanOrEqual(1e-4 * scale);
}

describe.skipIf(process.arch !== "x64" || process.platform !== "linux")("libraries run on this machine beside its own", () => {
  let want: number[] = [];
  beforeAll(() => {
    const host = buildRunModel("x86_64-linux-gnu.2.28", "linux-x64");
    const run = sh([join(host, "run_model"), squeezenet], { LD_LIBRARY_PATH: host });
    expect(run.err).toBe("");
    want = values(run.out);
    expect(want.length).toBe(1000);
  }, 120_000);

  test.skipIf(!present("linux-arm64"))("linux-arm64 under qemu-aarch64 gives this machine's outputs", () => {
    const dir = buildRunModel("aarch64-linux-gnu.2.28", "linux-arm64");
    const run = sh(["qemu-aarch64", "-L", "/usr/aarch64-linux-gnu", join(dir, "run_model"), squeezenet], { LD_LIBRARY_PATH: dir });
    expect(run.err).toBe("");
    expect(run.out).toMatch(/^level baseline\n/);
    expectSameOutputs(values(run.out), want);
  }, 180_000);

  test.skipIf(!present("linux-x64-musl"))("linux-x64-musl through musl's loader gives this machine's outputs", () => {
    const dir = buildRunModel("x86_64-linux-musl", "linux-x64-musl");
    const run = sh([join(dir, "run_model"), squeezenet], { LD_LIBRARY_PATH: dir });
    expect(run.err).toBe("");
    expectSameOutputs(values(run.out), want);
  }, 120_000);
});
