/**
 * Soak: native live bytes and RSS over many async runs, and over many models dropped without
 * dispose() (left to the garbage collector). Both should come back to where they started; a
 * leak shows as a line that keeps rising. Runs under Bun and Deno:
 *   bun bench/soak.ts [RUNS] [MODELS]
 *   deno run --allow-ffi --allow-read --allow-env --v8-flags=--expose-gc bench/soak.ts [RUNS] [MODELS]
 * Defaults: 100000 runs, 2000 dropped models.
 */
import * as rt from "../src/index.ts";
import { addRelu } from "../test/support/models.ts";

// deno-lint-ignore no-explicit-any
const g = globalThis as any;
const args: string[] = g.Deno ? g.Deno.args : process.argv.slice(2);
const runs = Number(args[0] ?? 100_000);
const models = Number(args[1] ?? 2_000);
const runtime = g.Bun ? `Bun ${g.Bun.version}` : `Deno ${g.Deno.version.deno}`;

const rss = (): number => (g.Deno ? g.Deno.memoryUsage().rss : process.memoryUsage().rss);
async function collect(): Promise<void> {
  for (let i = 0; i < 6; i++) {
    if (g.Bun) g.Bun.gc(true);
    else g.gc?.();
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
const mib = (bytes: number) => `${(bytes / 1048576).toFixed(1)} MiB`;
function report(label: string): void {
  const s = rt.nativeStats();
  console.log(`${runtime}  ${label.padEnd(28)} native live ${String(s.liveBytes).padStart(9)} B, ${s.liveModels} models, ${s.liveTensors} tensors; RSS ${mib(rss())}`);
}

const bytes = addRelu();
{
  using model = rt.loadModelSync(bytes);
  const x = rt.tensor([[1, -2, 3, -4]]);
  await model.run({ x }); // first run: makes the memory plan for this shape
  await collect();
  report("async runs: start");
  const inFlight = 16;
  let done = 0;
  const worker = async () => {
    while (done < runs) {
      const n = ++done;
      const { y } = await model.run<rt.Tensor>({ x });
      y!.dispose();
      if (n % (runs / 4) === 0) {
        await collect();
        report(`async runs: ${n}`);
      }
    }
  };
  await Promise.all(Array.from({ length: inFlight }, worker));
  x.dispose();
}
await collect();
report("async runs: disposed");

report("dropped models: start");
for (let i = 0; i < models; i++) {
  const model = rt.loadModelSync(bytes); // never disposed: the FinalizationRegistry frees it
  model.runSync({ x: rt.tensor([[i, 0, 0, 0]]) });
  if ((i + 1) % (models / 4) === 0) {
    await collect();
    report(`dropped models: ${i + 1}`);
  }
}
await collect();
await new Promise((resolve) => setTimeout(resolve, 500));
await collect();
report("dropped models: after GC");
