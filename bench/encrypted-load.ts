/**
 * Load time of an encrypted model against the plain one, in the same run, interleaved. The
 * container is loaded twice over: sealed with the default Argon2id costs (64 MiB, 3 passes) and
 * with the cheapest a container may ask for (64 KiB, 1 pass), whose key takes well under a
 * millisecond: the second minus the plain load is the decryption (AES-256-GCM, copying the
 * archive into memory), the first minus the second is the key derivation.
 * Usage: bun bench/encrypted-load.ts MODEL... (TESSERA_BENCH_RUNS, default 7)
 */
import { rmSync } from "node:fs";
import { join } from "node:path";
import { tmpdir } from "node:os";
import * as rt from "../src/index.ts";

const passphrase = "bench passphrase";
const runs = Number(process.env.TESSERA_BENCH_RUNS ?? 7);

async function loadMs(path: string, options: rt.LoadOptions = {}): Promise<number> {
  const start = performance.now();
  (await rt.loadModel(path, { threads: 1, ...options })).dispose();
  return performance.now() - start;
}

function stats(samples: number[]) {
  const sorted = [...samples].sort((a, b) => a - b);
  return { min: sorted[0]!, median: sorted[Math.floor(sorted.length / 2)]! };
}

const show = (s: { min: number; median: number }) => `${s.min.toFixed(1)} / ${s.median.toFixed(1)}`;

console.log("model\tplain ms (min / median)\tencrypted, default KDF\tencrypted, cheapest KDF\tKDF ms (median)\tdecryption ms (median)");
for (const path of process.argv.slice(2)) {
  const sealed = join(tmpdir(), `tessera-bench-${process.pid}.tsrc`);
  const cheap = join(tmpdir(), `tessera-bench-${process.pid}-cheap.tsrc`);
  await rt.encryptModel(path, sealed, passphrase);
  await rt.encryptModel(path, cheap, passphrase, { kdfMemoryKiB: 64, kdfIterations: 1 });
  const samples = { plain: [] as number[], sealed: [] as number[], cheap: [] as number[] };
  for (let i = 0; i < runs + 1; i++) {
    const plain = await loadMs(path);
    const full = await loadMs(sealed, { passphrase });
    const light = await loadMs(cheap, { passphrase });
    if (i === 0) continue; // warm-up: page cache, allocator
    samples.plain.push(plain);
    samples.sealed.push(full);
    samples.cheap.push(light);
  }
  rmSync(sealed);
  rmSync(cheap);
  const [plain, full, light] = [stats(samples.plain), stats(samples.sealed), stats(samples.cheap)];
  console.log([path.split("/").pop(), show(plain), show(full), show(light), (full.median - light.median).toFixed(1), (light.median - plain.median).toFixed(1)].join("\t"));
}
