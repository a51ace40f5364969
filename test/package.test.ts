/**
 * The npm package as a user gets it: what the tarball holds, and a fresh project on a machine
 * with no Zig and no checkout, where Bun, bunx, Deno and a compiled executable each run a model.
 * (test/prebuilt-libraries.test.ts checks the other platforms' libraries.)
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { copyFileSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { libraryFileName, supportedPlatforms, version } from "../bindings/location.ts";
import { addRelu } from "./support/models.ts";
import { bareEnvironment, hostKey, packageTarball } from "./support/package.ts";
import { repo, scratchDir } from "./support/paths.ts";

let builtTarball = "";
const tarball = () => builtTarball;
const env = bareEnvironment();
const project = scratchDir("tessera-app-");
const timings: string[] = [];

function run(command: string[], options: { cwd?: string; env?: Record<string, string> } = {}) {
  const started = performance.now();
  const result = Bun.spawnSync(command, { cwd: options.cwd ?? project, env: options.env ?? env, stdout: "pipe", stderr: "pipe" });
  return {
    code: result.exitCode,
    out: result.stdout.toString(),
    err: result.stderr.toString(),
    ms: performance.now() - started,
  };
}

/** The README's first program, as a user copies it: load a model, run it, print the output. */
const firstProgram = readFileSync(join(repo, "README.md"), "utf8").match(/## A first program\n\n```ts\n([^`]*)```/)![1]!;
// add_relu: relu(x + [1, 2, 3, 4]) * 2, as printed by console.log (Bun and Deno space it apart
// differently, so outputs are compared without whitespace).
const expected = "[[4,0,12,0]]";
const printed = (out: string) => out.replace(/\s+/g, "");

beforeAll(() => {
  builtTarball = packageTarball();
}, 900_000);

describe("the tarball", () => {
  const entries = () => run(["tar", "-tzf", tarball()], { cwd: repo }).out.trim().split("\n");

  test("holds the compiled API, the command, and one library per platform, and nothing of the developer set-up", () => {
    const files = entries();
    expect(files.every((f) => f.startsWith("package/"))).toBe(true);
    for (const wanted of ["package/package.json", "package/README.md", "package/src/index.js", "package/src/index.d.ts", "package/bindings/index.js", "package/src/cli/tessera.js"]) {
      expect(files).toContain(wanted);
    }
    const libraries = files.filter((f) => f.startsWith("package/prebuilds/"));
    const platforms = process.env.TESSERA_PACKAGE ? supportedPlatforms : [hostKey];
    expect(libraries.sort()).toEqual(platforms.map((key) => `package/prebuilds/${key}/${libraryFileName(key.split("-")[0]!)}`).sort());
    expect(files).toContain(`package/embedded/${hostKey}.js`);
    const forbidden = /\/(test|tests|\.cache|node_modules|libruntime|scripts|bench|examples|docs|\.git)\/|\.ts$(?<!\.d\.ts)|\.(a|lib|o|zig|map)$/;
    expect(files.filter((f) => forbidden.test(f))).toEqual([]);
  });

  test("declares exports with types, the tessera command, engines, and the project's version", () => {
    const manifest = JSON.parse(run(["tar", "-xzOf", tarball(), "package/package.json"], { cwd: repo }).out);
    const developer = JSON.parse(readFileSync(join(repo, "package.json"), "utf8"));
    expect(manifest.version).toBe(developer.version);
    expect(manifest.version).toBe(version);
    expect(manifest.exports["."]).toEqual({ types: "./src/index.d.ts", default: "./src/index.js" });
    expect(manifest.exports["./ort"]).toEqual({ types: "./src/ort/index.d.ts", default: "./src/ort/index.js" });
    expect(manifest.exports["./preprocess/image"]).toEqual({ types: "./src/preprocess/image.d.ts", default: "./src/preprocess/image.js" });
    expect(manifest.dependencies).toEqual(developer.dependencies);
    for (const entry of ["text", "audio"]) {
      expect(manifest.exports[`./preprocess/${entry}`]).toEqual({ types: `./src/preprocess/${entry}.d.ts`, default: `./src/preprocess/${entry}.js` });
    }
    expect(manifest.peerDependencies).toEqual(developer.peerDependencies);
    expect(Object.values(manifest.peerDependenciesMeta).every((meta) => (meta as { optional?: boolean }).optional)).toBe(true);
    expect(manifest.exports["./embedded/*"]).toEqual({ types: "./embedded/*.d.ts", default: "./embedded/*.js" });
    expect(manifest.bin).toEqual({ tessera: "src/cli/tessera.js" });
    expect(Object.keys(manifest.engines).sort()).toEqual(["bun", "deno"]);
    expect(manifest.devDependencies).toBeUndefined();
    expect(manifest.scripts).toBeUndefined();
  });
});

describe("a fresh project with no Zig and no checkout", () => {
  beforeAll(() => {
    writeFileSync(join(project, "package.json"), JSON.stringify({ name: "first-app", private: true, type: "module" }));
    writeFileSync(join(project, "model.onnx"), addRelu());
    writeFileSync(join(project, "main.ts"), firstProgram);
  });
  afterAll(() => {
    console.log(`[package] ${timings.join("; ")}`);
  });

  test("has no Zig on its PATH", () => {
    const which = run(["sh", "-c", "command -v zig"]);
    expect(which.out).toBe("");
    expect(which.code).not.toBe(0);
  });

  test("bun add installs the tarball, and the first program runs a model", () => {
    const add = run(["bun", "add", tarball()]);
    expect(add.err).not.toContain("error");
    expect(add.code).toBe(0);
    timings.push(`bun add ${add.ms.toFixed(0)} ms`);
    const first = run(["bun", "main.ts"]);
    expect(first.err).toBe("");
    expect(printed(first.out)).toBe(expected);
    timings.push(`first run ${first.ms.toFixed(0)} ms`);
  }, 120_000);

  test("bunx tessera devices lists the CPU", () => {
    const devices = run(["bunx", "tessera", "devices"]);
    expect(devices.err).toBe("");
    expect(devices.code).toBe(0);
    expect(devices.out).toMatch(/cpu/i);
    expect(devices.out).toMatch(/CPU kernels: level/);
  }, 60_000);

  test("Deno runs the same program from the installed package, with the documented permissions", () => {
    const deno = run(["deno", "run", "--allow-ffi", "--allow-read", "--allow-env", "main.ts"]);
    expect(deno.err).toBe("");
    expect(printed(deno.out)).toBe(expected);
    // And through an npm: specifier, which Deno resolves to the same installed package.
    writeFileSync(join(project, "npm-main.ts"), firstProgram.replace('from "tessera"', 'from "npm:tessera"'));
    const npm = run(["deno", "run", "--allow-ffi", "--allow-read", "--allow-env", "npm-main.ts"]);
    expect(npm.err).toBe("");
    expect(printed(npm.out)).toBe(expected);
  }, 60_000);

  test("in Deno, --allow-env may name the one variable read; --allow-ffi cannot be narrowed, and says so", () => {
    const narrowEnv = run(["deno", "run", "--allow-ffi", "--allow-read", "--allow-env=TESSERA_LIBRARY", "main.ts"]);
    expect(narrowEnv.err).toBe("");
    expect(printed(narrowEnv.out)).toBe(expected);
    const library = join(project, "node_modules/tessera/prebuilds", hostKey, libraryFileName(process.platform));
    const narrowFfi = run(["deno", "run", `--allow-ffi=${library}`, "--allow-read", "--allow-env", "main.ts"]);
    expect(narrowFfi.code).not.toBe(0);
    expect(narrowFfi.err).toContain("Tessera needs Deno's --allow-ffi without a path");
  }, 60_000);

  test("in Deno, a denied permission is an error that names it", () => {
    const noEnv = run(["deno", "run", "--allow-ffi", "--allow-read", "main.ts"]);
    expect(noEnv.code).not.toBe(0);
    expect(noEnv.err).toContain("Tessera needs to read the environment variable TESSERA_LIBRARY");
    expect(noEnv.err).toContain("--allow-env");
    const noFfi = run(["deno", "run", "--allow-read", "--allow-env", "main.ts"]);
    expect(noFfi.code).not.toBe(0);
    expect(noFfi.err).toContain("cannot load the Tessera library");
    expect(noFfi.err).toContain("--allow-ffi");
    const noRead = run(["deno", "run", "--allow-ffi", "--allow-env", "main.ts"]);
    expect(noRead.code).not.toBe(0);
    expect(noRead.err).toContain("--allow-read");
  }, 60_000);

  test("bun build --compile gives one executable that runs from an empty folder with a bare environment", () => {
    writeFileSync(join(project, "app.ts"), `import "tessera/embedded/${hostKey}";\n${firstProgram}`);
    const build = run(["bun", "build", "--compile", "app.ts", "--outfile", "app"]);
    expect(build.code).toBe(0);
    const alone = scratchDir("tessera-alone-");
    copyFileSync(join(project, "app"), join(alone, "app"));
    Bun.spawnSync(["chmod", "+x", join(alone, "app")]);
    copyFileSync(join(project, "model.onnx"), join(alone, "model.onnx"));
    const home = join(alone, "home");
    mkdirSync(home);
    const started = run(["./app"], { cwd: alone, env: { HOME: home, PATH: "/usr/bin:/bin" } });
    expect(started.err).toBe("");
    expect(printed(started.out)).toBe(expected);
    rmSync(alone, { recursive: true, force: true });
  }, 120_000);

  test("a compiled executable that embeds no library says which import it needs", () => {
    const build = run(["bun", "build", "--compile", "main.ts", "--outfile", "bare-app"]);
    expect(build.code).toBe(0);
    const started = run(["./bare-app"], { env: { HOME: env.HOME, PATH: "/usr/bin:/bin" } });
    expect(started.code).not.toBe(0);
    expect(started.err).toContain(`import "tessera/embedded/${hostKey}";`);
  }, 120_000);
});
