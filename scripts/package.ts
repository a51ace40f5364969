/**
 * Builds the npm package (run through scripts/package).
 *
 * One package holds every platform's library, rather than one optional package per platform
 * (esbuild's scheme): a single tarball then installs with no registry at all (`bun add
 * ./tessera-X.tgz`), Deno's npm support and `bun build --compile` need no platform-specific
 * resolution, and the libraries are small enough (docs/packaging.md has the sizes).
 *
 * The package has the layout of a checkout, less what only developers need: `bindings/` and
 * `src/` (compiled to JavaScript, with .d.ts files), `prebuilds/<platform>/` with one versioned,
 * stripped shared library each, and `embedded/<platform>.js`, the one-line way to embed a
 * platform's library in a compiled executable.
 */
import { execFileSync } from "node:child_process";
import { copyFileSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { libraryFileName, type PlatformKey, supportedPlatforms, version } from "../bindings/location.ts";

const root = new URL("../", import.meta.url).pathname;

/** Zig's target for each platform; glibc's version is set by build.zig (2.28). */
const zigTargets: Record<PlatformKey, string> = {
  "linux-x64": "x86_64-linux-gnu",
  "linux-arm64": "aarch64-linux-gnu",
  "linux-x64-musl": "x86_64-linux-musl",
  "linux-arm64-musl": "aarch64-linux-musl",
  "darwin-x64": "x86_64-macos",
  "darwin-arm64": "aarch64-macos",
  "win32-x64": "x86_64-windows-gnu",
};

/** Where `zig build --prefix` puts the shared library, relative to the prefix. */
function builtLibrary(key: PlatformKey): string {
  if (key.startsWith("win32")) return "bin/tessera.dll";
  if (key.startsWith("darwin")) return `lib/libtessera.${version}.dylib`;
  return `lib/libtessera.so.${version}`;
}

const { values } = parseArgs({
  options: {
    platforms: { type: "string", default: supportedPlatforms.join(",") },
    out: { type: "string", default: join(root, "out") },
  },
});
const platforms = values.platforms!.split(",").filter(Boolean) as PlatformKey[];
for (const key of platforms) {
  if (!supportedPlatforms.includes(key)) throw new Error(`unknown platform ${key}; known: ${supportedPlatforms.join(", ")}`);
}

const work = join(root, ".cache/package");
const stage = join(work, "stage");
rmSync(stage, { recursive: true, force: true });
mkdirSync(stage, { recursive: true });

function run(command: string, args: string[], cwd = root): string {
  return execFileSync(command, args, { cwd, stdio: ["ignore", "pipe", "inherit"], encoding: "utf8" });
}

// 1. The libraries. Each platform has its own prefix; Zig's cache (.cache/zig-*) is shared, so
// the host's platform costs nothing after scripts/build, and a rebuild only what changed.
for (const key of platforms) {
  const started = performance.now();
  const prefix = join(work, "lib", key);
  run(join(root, "scripts/zig"), ["build", `-Dtarget=${zigTargets[key]}`, "-Doptimize=ReleaseFast", "--prefix", prefix], join(root, "libruntime"));
  const os = key.split("-")[0]!;
  mkdirSync(join(stage, "prebuilds", key), { recursive: true });
  copyFileSync(join(prefix, builtLibrary(key)), join(stage, "prebuilds", key, libraryFileName(os)));
  console.error(`[package] ${key}: ${((performance.now() - started) / 1000).toFixed(1)} s`);
}

// 2. JavaScript and types, in the checkout's layout (tsconfig.package.json).
run(join(root, "node_modules/.bin/tsc"), ["-p", join(root, "tsconfig.package.json"), "--outDir", stage]);

// 3. One module per platform that embeds its library in a `bun build --compile` executable.
mkdirSync(join(stage, "embedded"));
for (const key of platforms) {
  const library = `../prebuilds/${key}/${libraryFileName(key.split("-")[0]!)}`;
  writeFileSync(
    join(stage, "embedded", `${key}.js`),
    `// Embeds the ${key} library in an executable built by \`bun build --compile\`: import it first.\n` +
      `import library from "${library}" with { type: "file" };\n` +
      `import { useEmbeddedLibrary } from "../src/embedded-library.js";\n` +
      `useEmbeddedLibrary(library);\n`,
  );
  writeFileSync(join(stage, "embedded", `${key}.d.ts`), "export {};\n");
}

// 4. package.json: what users need and nothing of the developer set-up.
const developer = JSON.parse(readFileSync(join(root, "package.json"), "utf8"));
const manifest = {
  name: developer.name,
  version,
  description: developer.description,
  license: developer.license,
  type: "module",
  exports: {
    ".": { types: "./src/index.d.ts", default: "./src/index.js" },
    "./ort": { types: "./src/ort/index.d.ts", default: "./src/ort/index.js" },
    "./preprocess/image": { types: "./src/preprocess/image.d.ts", default: "./src/preprocess/image.js" },
    "./preprocess/text": { types: "./src/preprocess/text.d.ts", default: "./src/preprocess/text.js" },
    "./preprocess/audio": { types: "./src/preprocess/audio.d.ts", default: "./src/preprocess/audio.js" },
    "./embedded/*": { types: "./embedded/*.d.ts", default: "./embedded/*.js" },
    "./package.json": "./package.json",
  },
  types: "./src/index.d.ts",
  // tessera/ort registers Tessera with onnxruntime's JavaScript API, which this package provides.
  dependencies: developer.dependencies,
  // tessera/preprocess/* and `tessera serve --grpc-port` import these on first use; "import tessera"
  // never needs them.
  peerDependencies: developer.peerDependencies,
  peerDependenciesMeta: developer.peerDependenciesMeta,
  bin: { tessera: "src/cli/tessera.js" },
  files: ["bindings", "src", "embedded", "prebuilds", "README.md"],
  engines: { bun: ">=1.4.0", deno: ">=2.9.0" },
  os: ["linux", "darwin", "win32"],
  cpu: ["x64", "arm64"],
  keywords: ["onnx", "inference", "bun", "deno", "ffi", "machine-learning"],
};
writeFileSync(join(stage, "package.json"), JSON.stringify(manifest, null, 2) + "\n");
copyFileSync(join(root, "README.md"), join(stage, "README.md"));

// 5. The tarball.
mkdirSync(values.out!, { recursive: true });
const [packed] = JSON.parse(run("npm", ["pack", "--json", "--pack-destination", values.out!, stage]));
const tarball = join(values.out!, packed.filename);
const mib = (bytes: number) => (bytes / 2 ** 20).toFixed(1);
console.error(`[package] ${tarball}: ${mib(packed.size)} MiB packed, ${mib(packed.unpackedSize)} MiB unpacked, ${packed.entryCount} files`);
for (const file of packed.files as { path: string; size: number }[]) {
  if (file.path.startsWith("prebuilds/")) console.error(`[package]   ${file.path}: ${mib(file.size)} MiB`);
}
console.log(tarball);
