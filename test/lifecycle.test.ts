/** Lifetimes: dispose, `using`, use after dispose, finalize with live objects, and leak measurement. */
import { describe, expect, test } from "bun:test";
import * as rt from "../src/index.ts";
import { lib, native } from "../src/native.ts";

async function collectGarbage(until: () => boolean): Promise<void> {
  for (let round = 0; round < 50 && !until(); round++) {
    Bun.gc(true);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe("dispose", () => {
  test("is safe twice, and `using` disposes at scope end", () => {
    const before = rt.nativeStats().liveTensors;
    const t = rt.tensor([1, 2]);
    t.dispose();
    t.dispose();
    expect(t.disposed).toBe(true);
    let escaped: rt.Tensor;
    {
      using u = rt.tensor([3]);
      escaped = u;
      expect(rt.nativeStats().liveTensors).toBe(before + 1);
    }
    expect(escaped.disposed).toBe(true);
    expect(rt.nativeStats().liveTensors).toBe(before);
  });

  test("a disposed tensor throws InvalidStateError and never reaches native code", () => {
    const t = rt.tensor([1, 2, 3]);
    t.dispose();
    // Had these reached the library, it would answer InvalidArgumentError ("not a live handle").
    for (const use of [() => t.fill(1), () => t.toTypedArray(), () => t.toArray(), () => t.save("/tmp/x.tsr"), () => t.toString(), () => t.quantization, () => t.nativeHandle]) {
      expect(use).toThrow(rt.InvalidStateError);
    }
  });

  test("the library rejects a destroyed handle instead of crashing", () => {
    const shape = new BigInt64Array([2n]);
    const slot = new BigUint64Array(1);
    expect(lib.tsr_tensor_create(rt.dtypes.float32.code, shape, 1, slot)).toBe(0);
    const pointer = native.pointerAt(slot);
    lib.tsr_tensor_destroy(pointer);
    lib.tsr_tensor_destroy(pointer); // twice is a no-op
    lib.tsr_tensor_destroy(null);
    expect(lib.tsr_tensor_fill(pointer, new Float32Array([1]), 4)).toBe(rt.InvalidArgumentError.code);
    expect(native.cstring(lib.tsr_last_error())).toMatch(/not a live tensor handle/);
  });
});

describe("finalize", () => {
  test("releases every tensor the runtime owns, and initialize() brings it back", () => {
    const a = rt.tensor([1, 2]);
    const b = rt.tensor({ shape: [3], dtype: "string" });
    rt.finalize();
    try {
      expect([a.disposed, b.disposed, rt.isInitialized()]).toEqual([true, true, false]);
      expect(() => a.toArray()).toThrow(rt.InvalidStateError);
      expect(() => rt.tensor([1])).toThrow(/not initialized/);
      rt.finalize(); // idempotent
    } finally {
      rt.initialize();
    }
    rt.initialize(); // idempotent: still one reference
    using c = rt.tensor([5]);
    expect(c.toArray()).toEqual([5]);
  });

  test("with a native tensor alive, the library refuses and stays usable", () => {
    const slot = new BigUint64Array(1);
    expect(lib.tsr_tensor_create(rt.dtypes.float32.code, new BigInt64Array([1n]), 1, slot)).toBe(0);
    const orphan = native.pointerAt(slot);
    try {
      const owned = rt.tensor([1]);
      expect(() => rt.finalize()).toThrow(rt.InvalidStateError);
      expect(() => rt.finalize()).toThrow(/1 tensor\(s\), 0 model\(s\)/);
      expect(rt.isInitialized()).toBe(true);
      // A native tensor made through the C API is only found by the library, once the runtime
      // released its own (requests hold native tensors too, so counts cannot tell beforehand).
      expect(owned.disposed).toBe(true);
      using still = rt.tensor([2, 3]);
      expect(still.toArray()).toEqual([2, 3]);
    } finally {
      lib.tsr_tensor_destroy(orphan);
    }
  });

  test("initialize and finalize are reference-counted natively", () => {
    expect(lib.tsr_initialize()).toBe(0);
    expect(lib.tsr_finalize()).toBe(0);
    expect(rt.isInitialized()).toBe(true); // the runtime's own reference remains
  });
});

describe("memory", () => {
  test("thousands of dropped tensors return native and JS memory to where it started", async () => {
    const round = () => {
      for (let i = 0; i < 2000; i++) rt.tensor({ shape: [64, 16], dtype: "float32" }).fill(i);
      for (let i = 0; i < 500; i++) rt.tensor(["x", "y", String(i)]);
    };
    round(); // warm up: JIT, registry table growth
    await collectGarbage(() => rt.nativeStats().liveTensors === 0);
    const start = { native: rt.nativeStats(), rss: process.memoryUsage().rss };
    for (let r = 0; r < 5; r++) round();
    await collectGarbage(() => rt.nativeStats().liveTensors === start.native.liveTensors);
    const end = { native: rt.nativeStats(), rss: process.memoryUsage().rss };
    // 12 500 tensors of 4 KiB went through; all of them must be gone, natively and in JS.
    expect(end.native.liveTensors).toBe(start.native.liveTensors);
    expect(end.native.liveBytes).toBe(start.native.liveBytes);
    expect(end.native.allocations).toBeGreaterThan(start.native.allocations + 12_000);
    expect(end.rss - start.rss).toBeLessThan(32 * 1024 * 1024); // 12 500 × 4 KiB = 49 MiB if kept
  });

  test("explicitly disposed tensors free their native memory at once", () => {
    const start = rt.nativeStats();
    const tensors = Array.from({ length: 1000 }, () => rt.tensor(["some", "strings"]));
    expect(rt.nativeStats().liveTensors).toBe(start.liveTensors + 1000);
    expect(rt.nativeStats().liveBytes).toBeGreaterThan(start.liveBytes);
    for (const t of tensors) t.dispose();
    expect(rt.nativeStats().liveTensors).toBe(start.liveTensors);
    expect(rt.nativeStats().liveBytes).toBe(start.liveBytes);
  });
});
