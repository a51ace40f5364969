/**
 * C and C++ users: scripts/install PREFIX gives the header, a shared library with a versioned
 * soname, a static library, a pkg-config file and a CMake package. The examples build against an
 * installed (and then moved) prefix with the system's C compiler, through pkg-config (shared and
 * static) and through CMake, and run.
 */
import { beforeAll, describe, expect, test } from "bun:test";
import { existsSync, lstatSync, readdirSync, readFileSync, readlinkSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { version } from "../bindings/location.ts";
import * as rt from "../src/index.ts";
import { addRelu, denseModel } from "./support/models.ts";
import { dictVectorizerModel, zipMapClassifier } from "./support/value-models.ts";
import { repo, scratchDir } from "./support/paths.ts";

const major = version.split(".")[0]!;
const examples = readdirSync(join(repo, "examples/c")).filter((f) => f.endsWith(".c")).map((f) => f.slice(0, -2)).sort();
let prefix = "";
let work = "";
let model = "";

function sh(command: string[], options: { cwd?: string; env?: Record<string, string> } = {}) {
  const result = Bun.spawnSync(command, { cwd: options.cwd ?? work, env: { ...process.env, ...options.env }, stdout: "pipe", stderr: "pipe" });
  return { code: result.exitCode, out: result.stdout.toString(), err: result.stderr.toString() };
}

beforeAll(() => {
  work = scratchDir("tessera-install-");
  const install = sh([join(repo, "scripts/install"), join(work, "installed")]);
  expect(install.code).toBe(0);
  // Moved after installing: the .pc file and the CMake package find the prefix from where they lie.
  prefix = join(work, "moved");
  renameSync(join(work, "installed"), prefix);
  model = join(work, "add_relu.onnx");
  writeFileSync(model, addRelu());
  writeFileSync(join(work, "classifier.onnx"), zipMapClassifier([0n, 1n, 2n]));
  writeFileSync(join(work, "dict_vectorizer.onnx"), dictVectorizerModel("string", "float32", ["a", "b", "c"]));
  writeFileSync(join(work, "dense.onnx"), denseModel());
  // The backend extension extension_run loads, built as its README says.
  const extension = sh(["cc", "-shared", "-fPIC", "-std=c99", "-O2", `-I${join(prefix, "include")}`, join(repo, "examples/extension/myext.c"), "-o", join(work, "libmyext.so")]);
  expect(extension.code).toBe(0);
}, 900_000);

/** The arguments each example takes (as test/c-api.test.ts runs them). */
function exampleArguments(name: string): string[] {
  if (name === "devices_and_tensors") return [join(work, `${name}.tsr`)];
  if (name === "map_values") return [join(work, "classifier.onnx"), join(work, "dict_vectorizer.onnx")];
  if (name === "encrypted_model") return [model, join(work, "encrypted.tsrc")];
  if (name === "extension_run") return [join(work, "libmyext.so"), join(work, "dense.onnx"), "2", "3"];
  return [model];
}

/** Runs an example the way test/c-api.test.ts does, and checks what it prints. */
function runExample(binary: string, name: string, env: Record<string, string> = {}) {
  // encrypted_model reads its passphrase from the environment, never from its arguments.
  const run = sh([binary, ...exampleArguments(name)], { env: { TESSERA_PASSPHRASE: "install test", ...env } });
  expect({ name, err: run.err, code: run.code }).toEqual({ name, err: "", code: 0 });
  expect(run.out.length).toBeGreaterThan(0);
  if (name === "model_info") expect(run.out).toStartWith("model add_relu, dynamic 1\n");
  if (name === "devices_and_tensors") expect(run.out).toStartWith(`tessera ${version}\n`);
}

describe("the installed prefix", () => {
  test("holds the header, a versioned shared library, the static library, tessera.pc and the CMake package", () => {
    expect(existsSync(join(prefix, "include/tessera.h"))).toBe(true);
    expect(existsSync(join(prefix, `lib/libtessera.so.${version}`))).toBe(true);
    expect(readlinkSync(join(prefix, `lib/libtessera.so.${major}`))).toBe(`libtessera.so.${version}`);
    expect(lstatSync(join(prefix, "lib/libtessera.so")).isSymbolicLink()).toBe(true);
    expect(existsSync(join(prefix, "lib/libtessera.a"))).toBe(true);
    const soname = sh(["llvm-objdump", "-p", join(prefix, `lib/libtessera.so.${version}`)]).out;
    expect(soname).toMatch(new RegExp(`SONAME\\s+libtessera\\.so\\.${major}\\n`));
    for (const file of ["pkgconfig/tessera.pc", "cmake/Tessera/TesseraConfig.cmake", "cmake/Tessera/TesseraConfigVersion.cmake"]) {
      expect(existsSync(join(prefix, "lib", file))).toBe(true);
    }
  });

  test("one version everywhere: package.json, the library's tsr_version, tessera.pc and the CMake package", () => {
    const developer = JSON.parse(readFileSync(join(repo, "package.json"), "utf8"));
    expect(rt.version).toBe(developer.version);
    expect(version).toBe(developer.version);
    const pc = sh(["pkg-config", "--modversion", "tessera"], { env: { PKG_CONFIG_PATH: join(prefix, "lib/pkgconfig") } });
    expect(pc.out.trim()).toBe(developer.version);
    expect(readFileSync(join(prefix, "lib/cmake/Tessera/TesseraConfigVersion.cmake"), "utf8")).toContain(`set(PACKAGE_VERSION "${developer.version}")`);
  });
});

describe("C programs built against it", () => {
  const pkgConfig = (args: string[]) => {
    const result = sh(["pkg-config", ...args, "tessera"], { env: { PKG_CONFIG_PATH: join(prefix, "lib/pkgconfig") } });
    expect(result.code).toBe(0);
    return result.out.trim().split(/\s+/).filter(Boolean);
  };

  test("with pkg-config, linking the shared library", () => {
    for (const name of examples) {
      const binary = join(work, `${name}-shared`);
      const compile = sh(["cc", "-std=c11", "-Wall", "-Wextra", "-Werror", ...pkgConfig(["--cflags"]), join(repo, `examples/c/${name}.c`), ...pkgConfig(["--libs"]), "-o", binary]);
      expect({ name, err: compile.err, code: compile.code }).toEqual({ name, err: "", code: 0 });
      runExample(binary, name, { LD_LIBRARY_PATH: join(prefix, "lib") });
    }
  }, 120_000);

  test("with pkg-config --static, linking libtessera.a: the programs need no library at run time", () => {
    for (const name of examples) {
      const binary = join(work, `${name}-static`);
      const libs = pkgConfig(["--libs", "--static"]).map((flag) => (flag === "-ltessera" ? join(prefix, "lib/libtessera.a") : flag));
      const compile = sh(["cc", "-std=c11", "-Wall", "-Wextra", "-Werror", ...pkgConfig(["--cflags"]), join(repo, `examples/c/${name}.c`), ...libs, "-o", binary]);
      expect({ name, err: compile.err, code: compile.code }).toEqual({ name, err: "", code: 0 });
      expect(sh(["llvm-objdump", "-p", binary]).out).not.toContain("libtessera");
      runExample(binary, name);
    }
  }, 180_000);

  test("with CMake's find_package(Tessera): Tessera::tessera and Tessera::tessera_static", () => {
    const project = join(work, "cmake-project");
    sh(["mkdir", "-p", project]);
    const targets = examples.flatMap((name) => [
      `add_executable(${name} ${join(repo, `examples/c/${name}.c`)})`,
      `target_link_libraries(${name} PRIVATE Tessera::tessera)`,
      `add_executable(${name}_static ${join(repo, `examples/c/${name}.c`)})`,
      `target_link_libraries(${name}_static PRIVATE Tessera::tessera_static)`,
    ]);
    writeFileSync(join(project, "CMakeLists.txt"), [
      "cmake_minimum_required(VERSION 3.16)",
      "project(tessera_user C)",
      "set(CMAKE_C_STANDARD 11)",
      `find_package(Tessera ${version.split(".").slice(0, 2).join(".")} REQUIRED)`,
      ...targets,
      "",
    ].join("\n"));
    const configure = sh(["cmake", "-S", project, "-B", join(project, "build"), `-DCMAKE_PREFIX_PATH=${prefix}`]);
    expect(configure.err).toBe("");
    expect(configure.code).toBe(0);
    const build = sh(["cmake", "--build", join(project, "build")]);
    expect(build.code).toBe(0);
    for (const name of examples) {
      // CMake gives the shared build an rpath to the prefix: no LD_LIBRARY_PATH needed.
      runExample(join(project, "build", name), name);
      runExample(join(project, "build", `${name}_static`), name);
    }
    // A newer minor version than installed is refused before 1.0.
    writeFileSync(join(project, "CMakeLists.txt"), "cmake_minimum_required(VERSION 3.16)\nproject(too_new C)\nfind_package(Tessera 0.99 REQUIRED)\n");
    const tooNew = sh(["cmake", "-S", project, "-B", join(project, "build-too-new"), `-DCMAKE_PREFIX_PATH=${prefix}`]);
    expect(tooNew.code).not.toBe(0);
    expect(tooNew.err).toContain("Tessera");
  }, 300_000);
});
