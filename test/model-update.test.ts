/**
 * Hot updates (model.update): the new model gives what a fresh load of the new file gives, shares
 * every packed weight whose bytes are unchanged (here all but the head's), and either model may
 * be disposed first without freeing what the other uses, or leaking anything once both are gone.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import * as rt from "../src/index.ts";
import { scratchDir } from "./support/paths.ts";
import { inputShape, packedInput, packedModel } from "./support/cache-models.ts";

const folder = scratchDir("tessera-update-");
afterAll(() => rmSync(folder, { recursive: true, force: true }));

const input = () => rt.tensor(packedInput(), { shape: inputShape });

/** The output's values; the tensors are disposed, so live bytes count only the models. */
function outputOf(model: rt.Model): Float32Array {
  using x = input();
  const { y } = model.runSync<rt.Tensor>({ x });
  try {
    return (y!.toTypedArray() as Float32Array).slice();
  } finally {
    y!.dispose();
  }
}

/** Packed bytes of the head alone: what a model of the head's MatMul packs. */
function headPackedBytes(): number {
  const whole = rt.loadModelSync(packedModel(7), { cacheDir: "" });
  const total = whole.weights.packedBytes;
  whole.dispose();
  return total;
}

describe("model.update", () => {
  test("gives a fresh load's outputs, and shares every packed weight but the changed head's", async () => {
    const old = rt.loadModelSync(packedModel(7), { cacheDir: "" });
    const fresh = rt.loadModelSync(packedModel(8), { cacheDir: "" });
    const updated = await old.update(packedModel(8));
    try {
      expect(outputOf(updated)).toEqual(outputOf(fresh));
      expect(outputOf(updated)).not.toEqual(outputOf(old));
      const { packedBytes, sharedBytes, cachedBytes } = updated.weights;
      expect(cachedBytes).toBe(0);
      expect(sharedBytes).toBeGreaterThan(0);
      expect(packedBytes).toBeGreaterThan(0); // the head
      expect(packedBytes + sharedBytes).toBe(old.weights.packedBytes);
      expect(packedBytes).toBeLessThan(headPackedBytes());
      expect(updated.getOption("threads")).toBe(old.getOption("threads"));
    } finally {
      fresh.dispose();
      old.dispose();
      updated.dispose();
    }
  });

  test("an unchanged model shares everything; a path works as bytes do", async () => {
    const path = join(folder, "same.onnx");
    writeFileSync(path, packedModel(7));
    const old = rt.loadModelSync(path, { cacheDir: "" });
    const same = await old.update(path);
    expect(same.weights).toEqual({ packedBytes: 0, cachedBytes: 0, sharedBytes: old.weights.packedBytes });
    expect(outputOf(same)).toEqual(outputOf(old));
    same.dispose();
    old.dispose();
  });

  for (const order of ["old first", "new first"] as const) {
    test(`disposing ${order} frees nothing the other uses, and both leak nothing`, async () => {
      // Earlier tests' dropped tensors are freed by a collection: not this test's to count.
      Bun.gc(true);
      const start = rt.nativeStats().liveBytes;
      const old = rt.loadModelSync(packedModel(7), { cacheDir: "" });
      const updated = await old.update(packedModel(8));
      const want = outputOf(updated);
      const oldWant = outputOf(old);
      const [first, second, secondWant] = order === "old first" ? [old, updated, want] : [updated, old, oldWant];
      first.dispose();
      Bun.gc(true);
      // The survivor still reads the shared weights: same bits as before.
      expect(outputOf(second)).toEqual(secondWant);
      second.dispose();
      Bun.gc(true);
      expect(rt.nativeStats().liveBytes).toBeLessThanOrEqual(start);
    });
  }

  test("a run in flight on the old model finishes on it", async () => {
    const old = rt.loadModelSync(packedModel(7), { cacheDir: "" });
    const want = outputOf(old);
    const running = old.run<rt.Tensor>({ x: input() });
    const updated = await old.update(packedModel(8));
    old.dispose();
    const { y } = await running;
    expect(Array.from(y!.toTypedArray() as Float32Array)).toEqual(Array.from(want));
    updated.dispose();
  });

  test("a disposed model cannot be updated, and a broken new model leaves the old one whole", async () => {
    const old = rt.loadModelSync(packedModel(7), { cacheDir: "" });
    const want = outputOf(old);
    await expect(old.update(new Uint8Array([1, 2, 3]))).rejects.toThrow(rt.ModelError);
    expect(outputOf(old)).toEqual(want);
    old.dispose();
    await expect(old.update(packedModel(8))).rejects.toThrow(rt.InvalidStateError);
  });
});
