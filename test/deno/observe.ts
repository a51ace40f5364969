/**
 * Load progress and node observers under Deno, whose threadsafe callbacks block the calling
 * worker until JS has run them (Bun's queue the call): the same guarantees must hold.
 * Run with: deno test --no-check --allow-ffi --allow-read --allow-env test/deno/observe.ts
 */
import assert from "node:assert/strict";
import * as rt from "../../src/index.ts";
import { longChain } from "./models.ts";

// deno-lint-ignore no-explicit-any
const Deno = (globalThis as any).Deno;

Deno.test("observe: load progress covers every stage, in order, before loadModel resolves", async () => {
  const events: rt.LoadProgress[] = [];
  let settled = false;
  using model = await rt.loadModel(longChain(400), { onProgress: (p) => {
    assert.equal(settled, false);
    events.push(p);
  } });
  settled = true;
  assert.deepEqual([...new Set(events.map((e) => e.stage))], [...rt.loadStages]);
  assert.deepEqual(events.at(-1), { stage: "compile", fraction: 1 });
  assert.equal(model.operations.length, 401);
  const boom = new Error("no");
  await assert.rejects(rt.loadModel(longChain(50), { onProgress: () => { throw boom; } }), (e: Error) => e instanceof rt.InvalidOperationError && e.cause === boom);
});

Deno.test("observe: node events in order before run() resolves; a throwing observer fails only that run", async () => {
  using model = await rt.loadModel(longChain(20));
  const x = rt.tensor(new Float32Array(16), { shape: [1, 16] });
  const seen: number[] = [];
  await model.run({ x }, { observer: { onNodeStart: (i) => void seen.push(i), onNodeEnd: (i) => void seen.push(-1 - i) } });
  assert.deepEqual(seen, Array.from({ length: 21 }, (_, i) => [i, -1 - i]).flat());
  await assert.rejects(model.run({ x }, { observer: { onNodeEnd: (i) => { if (i === 3) throw new Error("x"); } } }), rt.RequestError);
  assert.equal(((await model.run({ x })).y as rt.Tensor).toTypedArray()[0], 20);
});
