/** The tensor file format rejects every damaged or foreign file with a typed error, and loses nothing. */
import { describe, expect, test } from "bun:test";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import * as rt from "../src/index.ts";
import { scratchDir } from "./support/paths.ts";

const dir = scratchDir();
const goodPath = join(dir, "good.tsr");
{
  using t = rt.tensor([[1, 2, 3], [4, 5, 6]], { dtype: "float32" });
  t.save(goodPath);
}
const good = readFileSync(goodPath);

function damaged(name: string, bytes: Uint8Array): string {
  const path = join(dir, name);
  writeFileSync(path, bytes);
  return path;
}

describe("tensor files", () => {
  test("the header is documented: magic, version, dtype, rank, dims, aligned data", () => {
    const view = new DataView(good.buffer, good.byteOffset);
    expect(good.subarray(0, 8).toString("latin1")).toBe("TSRTENS\0");
    expect(view.getUint16(8, true)).toBe(1);
    expect(view.getInt32(12, true)).toBe(rt.dtypes.float32.code);
    expect(view.getUint32(16, true)).toBe(2);
    expect([view.getBigInt64(64, true), view.getBigInt64(72, true)]).toEqual([2n, 3n]);
    expect(Number(view.getBigUint64(40, true)) % 64).toBe(0);
    expect(good.length).toBe(128 + 24);
  });

  test("every truncation is a ContainerError", () => {
    for (const length of [0, 7, 8, 40, 63, 64, 70, 127, 128, good.length - 1]) {
      expect(() => rt.loadTensor(damaged(`cut-${length}.tsr`, good.subarray(0, length)))).toThrow(rt.ContainerError);
    }
  });

  test("a foreign file is a ContainerError naming the bad magic", () => {
    const foreign = damaged("foreign.tsr", new TextEncoder().encode("this is not a tensor file at all, it is just text"));
    expect(() => rt.loadTensor(foreign)).toThrow(/not a Tessera tensor file \(bad magic\)/);
    const onnxLike = new Uint8Array(256).map((_, i) => (i * 7) & 0xff);
    expect(() => rt.loadTensor(damaged("noise.tsr", onnxLike))).toThrow(rt.ContainerError);
  });

  test("flipped bits in the header or the data are caught by the checksums", () => {
    for (const offset of [12, 16, 24, 64, 72, 130, good.length - 1]) {
      const bytes = new Uint8Array(good);
      bytes[offset]! ^= 0x10;
      expect(() => rt.loadTensor(damaged(`flip-${offset}.tsr`, bytes))).toThrow(rt.ContainerError);
    }
  });

  test("trailing bytes, a newer version and an unknown dtype are refused", () => {
    expect(() => rt.loadTensor(damaged("long.tsr", new Uint8Array([...good, 0])))).toThrow(/truncated or padded/);
    const newer = new Uint8Array(good);
    newer[8] = 2;
    expect(() => rt.loadTensor(damaged("v2.tsr", newer))).toThrow(/format version 2/);
  });

  test("a missing file is an IOError, and nothing leaks on any failure", () => {
    const before = rt.nativeStats();
    expect(() => rt.loadTensor(join(dir, "missing.tsr"))).toThrow(rt.IOError);
    for (let i = 0; i < 50; i++) expect(() => rt.loadTensor(damaged("flip.tsr", good.subarray(0, 100)))).toThrow();
    const after = rt.nativeStats();
    expect(after.liveTensors).toBe(before.liveTensors);
    expect(after.liveBytes).toBe(before.liveBytes);
    using back = rt.loadTensor(goodPath);
    expect(back.toArray()).toEqual([[1, 2, 3], [4, 5, 6]]);
  });
});
