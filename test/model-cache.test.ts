/**
 * The compiled-model cache (docs/model-cache.md): a warm load maps the weights the cold one
 * packed and gives the same bits; a changed option or CPU level misses; a damaged entry is
 * refused and rewritten; processes loading at once all succeed; clearCache removes only the
 * cache's own files; encrypted models are never cached.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { readdirSync, readFileSync, rmSync, truncateSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import * as rt from "../src/index.ts";
import { bunBinary, repo, scratchDir } from "./support/paths.ts";
import { inputShape, packedInput, packedModel } from "./support/cache-models.ts";

const folders: string[] = [];
afterAll(() => {
  for (const folder of folders) rmSync(folder, { recursive: true, force: true });
});

function freshFolder(): string {
  const folder = scratchDir("tessera-cache-");
  folders.push(folder);
  return folder;
}

const entries = (folder: string) => readdirSync(folder).filter((name) => /^compiled-[0-9a-f]{64}\.tsm$/.test(name));

function outputBytes(model: rt.Model): Uint8Array {
  const { y } = model.runSync<rt.Tensor>({ x: rt.tensor(packedInput(), { shape: inputShape }) });
  return new Uint8Array((y!.toTypedArray() as Float32Array).slice().buffer);
}

/** Loads, runs and disposes: where the weights came from, and the output's bytes. */
function loadOnce(source: string | Uint8Array, options: rt.LoadOptions) {
  const model = rt.loadModelSync(source, options);
  try {
    return { weights: model.weights, output: outputBytes(model) };
  } finally {
    model.dispose();
  }
}

const child = join(repo, "test/support/cache-child.ts");
interface ChildReport { weights: rt.WeightOrigins; level: string; output: string }

function spawnChild(path: string, folder: string, env: Record<string, string> = {}) {
  return Bun.spawn([bunBinary, child, path, folder], { env: { ...process.env, ...env }, stdout: "pipe", stderr: "pipe" });
}

async function reportOf(process: ReturnType<typeof spawnChild>): Promise<ChildReport> {
  const [out, err, code] = await Promise.all([new Response(process.stdout).text(), new Response(process.stderr).text(), process.exited]);
  if (code !== 0) throw new Error(`cache-child exited ${code}: ${err}`);
  return JSON.parse(out.trim().split("\n").at(-1)!) as ChildReport;
}

describe("a warm load", () => {
  test("maps what the cold load packed, packs nothing, and gives the same bits", () => {
    const folder = freshFolder();
    const bytes = packedModel();
    const plain = loadOnce(bytes, { cacheDir: "" });
    const cold = loadOnce(bytes, { cacheDir: folder });
    expect(cold.weights.packedBytes).toBeGreaterThan(0);
    expect(cold.weights.cachedBytes).toBe(0);
    expect(entries(folder)).toHaveLength(1);
    const warm = loadOnce(bytes, { cacheDir: folder });
    expect(warm.weights).toEqual({ packedBytes: 0, cachedBytes: cold.weights.packedBytes, sharedBytes: 0 });
    expect(warm.output).toEqual(cold.output);
    expect(cold.output).toEqual(plain.output);
    expect(plain.weights.cachedBytes).toBe(0);
  });

  test("a model loaded from a path and TESSERA_CACHE_DIR as the default folder", async () => {
    const folder = freshFolder();
    const path = join(folder, "model.onnx");
    writeFileSync(path, packedModel());
    const first = await reportOf(spawnChild(path, "", {}));
    expect(first.weights.cachedBytes).toBe(0); // cacheDir "" turns it off, whatever the variable says
    const cold = await reportOf(spawnChildDefault(path, folder));
    const warm = await reportOf(spawnChildDefault(path, folder));
    expect(cold.weights.packedBytes).toBeGreaterThan(0);
    expect(warm.weights.cachedBytes).toBe(cold.weights.packedBytes);
    expect(warm.output).toBe(cold.output);
  });
});

/** The child with no cacheDir option: TESSERA_CACHE_DIR decides. */
function spawnChildDefault(path: string, folder: string) {
  return Bun.spawn([bunBinary, "-e", `
    import * as rt from ${JSON.stringify(join(repo, "src/index.ts"))};
    const model = rt.loadModelSync(${JSON.stringify(path)});
    console.log(JSON.stringify({ weights: model.weights, level: "", output: "" }));
  `], { env: { ...process.env, TESSERA_CACHE_DIR: folder }, stdout: "pipe", stderr: "pipe" });
}

describe("the key", () => {
  test("a changed option that changes the compile is a miss", () => {
    const folder = freshFolder();
    const bytes = packedModel();
    loadOnce(bytes, { cacheDir: folder });
    const other = loadOnce(bytes, { cacheDir: folder, disableDenormals: true });
    expect(other.weights.cachedBytes).toBe(0);
    expect(other.weights.packedBytes).toBeGreaterThan(0);
    expect(entries(folder)).toHaveLength(2);
    // Threads change no packing: the same entry serves.
    expect(loadOnce(bytes, { cacheDir: folder, threads: 1 }).weights.packedBytes).toBe(0);
  });

  test("another model, even one weight apart, is a miss", () => {
    const folder = freshFolder();
    loadOnce(packedModel(7), { cacheDir: folder });
    const other = loadOnce(packedModel(8), { cacheDir: folder });
    expect(other.weights.cachedBytes).toBe(0);
  });

  const cpu = rt.getLocalInfo().devices.find((d) => d.cpu)!.cpu!;
  const lower = cpu.level === "avx512" ? "avx2" : cpu.level === "avx2" ? "baseline" : null;
  test.skipIf(lower === null || process.env.TESSERA_CPU_LEVEL !== undefined)("another CPU level is a miss", async () => {
    const folder = freshFolder();
    const path = join(folder, "model.onnx");
    writeFileSync(path, packedModel());
    const wide = await reportOf(spawnChild(path, folder));
    const narrow = await reportOf(spawnChild(path, folder, { TESSERA_CPU_LEVEL: lower! }));
    expect(narrow.level.split(" ")[0]).toBe(lower!);
    expect(narrow.weights.cachedBytes).toBe(0);
    expect(entries(folder)).toHaveLength(2);
    // Each level then finds its own entry.
    expect((await reportOf(spawnChild(path, folder, { TESSERA_CPU_LEVEL: lower! }))).weights.packedBytes).toBe(0);
    expect((await reportOf(spawnChild(path, folder))).weights.cachedBytes).toBe(wide.weights.packedBytes);
  });
});

describe("a damaged entry", () => {
  for (const damage of ["a flipped byte", "a truncated file"] as const) {
    test(`${damage} is detected, ignored and rewritten`, () => {
      const folder = freshFolder();
      const bytes = packedModel();
      const cold = loadOnce(bytes, { cacheDir: folder });
      const file = join(folder, entries(folder)[0]!);
      if (damage === "a flipped byte") {
        const contents = readFileSync(file);
        contents[contents.length - 100]! ^= 0x01;
        writeFileSync(file, contents);
      } else {
        truncateSync(file, readFileSync(file).length - 1000);
      }
      const messages: string[] = [];
      rt.logging.setCallback((_, message) => void messages.push(message));
      let again;
      try {
        again = loadOnce(bytes, { cacheDir: folder });
      } finally {
        rt.logging.setCallback(null);
      }
      expect(messages.some((m) => /ignoring .*compiled-.*(checksum|truncated)/.test(m))).toBe(true);
      expect(again.weights.cachedBytes).toBe(0);
      expect(again.output).toEqual(cold.output);
      // Rewritten whole: the next load maps it.
      expect(loadOnce(bytes, { cacheDir: folder }).weights.cachedBytes).toBe(cold.weights.packedBytes);
    });
  }
});

test("processes loading at once all succeed, and leave one whole entry", async () => {
  const folder = freshFolder();
  const path = join(folder, "model.onnx");
  writeFileSync(path, packedModel());
  const reports = await Promise.all([0, 1, 2].map(() => reportOf(spawnChild(path, folder))));
  for (const report of reports) expect(report.output).toBe(reports[0]!.output);
  expect(entries(folder)).toHaveLength(1);
  expect(readdirSync(folder).filter((name) => name.endsWith(".tmp"))).toEqual([]);
  expect(loadOnce(path, { cacheDir: folder }).weights.packedBytes).toBe(0);
});

test("clearCache removes the cache's entries and nothing else", () => {
  const folder = freshFolder();
  loadOnce(packedModel(7), { cacheDir: folder });
  loadOnce(packedModel(8), { cacheDir: folder });
  writeFileSync(join(folder, "vulkan-pipelines-10005-0000-000000000000feed.bin"), "the Vulkan cache's");
  writeFileSync(join(folder, "notes.txt"), "the user's");
  expect(rt.clearCache(folder)).toBe(2);
  expect(readdirSync(folder).sort()).toEqual(["notes.txt", "vulkan-pipelines-10005-0000-000000000000feed.bin"]);
  expect(rt.clearCache(folder)).toBe(0);
  expect(rt.clearCache(join(folder, "absent"))).toBe(0);
});

test("an encrypted model is never cached", async () => {
  const folder = freshFolder();
  const sealed = join(folder, "sealed.tsm");
  await rt.encryptModel(packedModel(), sealed, "open sesame", { kdfMemoryKiB: 64, kdfIterations: 1 });
  const first = loadOnce(sealed, { cacheDir: folder, passphrase: "open sesame" });
  const second = loadOnce(sealed, { cacheDir: folder, passphrase: "open sesame" });
  expect(second.weights.cachedBytes).toBe(0);
  expect(second.weights.packedBytes).toBe(first.weights.packedBytes);
  expect(entries(folder)).toEqual([]);
});
