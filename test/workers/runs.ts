/**
 * What each thread of the Worker tests (test/workers.test.ts, test/deno/workers.ts) does, the
 * main thread as well as each Worker: load models asynchronously and run many async inferences
 * at once, check every result, and count how many promises settled and how often each did.
 */
import * as rt from "../../src/index.ts";

export interface Start {
  model: Uint8Array;
  runs: number;
  loads: number;
  /** Tell the parent once every run is in flight (it may then terminate this Worker). */
  reportInFlight?: boolean;
}

export async function runMany(start: Start, onInFlight?: () => void) {
  const settled = new Map<number, number>();
  const mark = (i: number) => settled.set(i, (settled.get(i) ?? 0) + 1);
  const loads = Array.from({ length: start.loads }, (_, i) => rt.loadModel(start.model).then((m) => {
    mark(-1 - i);
    return m;
  }));
  const model = await rt.loadModel(start.model);
  let wrong = 0;
  const runs = Array.from({ length: start.runs }, async (_, i) => {
    const x = rt.tensor([[i, -i, 1, 2]]);
    const { y } = await model.run<rt.Tensor>({ x });
    const values = Array.from(y!.toTypedArray() as Float32Array);
    // add_relu: relu(x + [1, 2, 3, 4]) * 2
    const want = [Math.max(i + 1, 0) * 2, Math.max(-i + 2, 0) * 2, 8, 12];
    if (values.some((v, k) => v !== want[k])) wrong++;
    mark(i);
  });
  onInFlight?.();
  await Promise.all(runs);
  for (const loaded of await Promise.all(loads)) loaded.dispose();
  model.dispose();
  const counts = [...settled.values()];
  return { settled: settled.size, twice: counts.filter((c) => c !== 1).length, wrong };
}
