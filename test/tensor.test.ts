/** Tensors through the real library: every constructor, dtype, conversion, printing and error path. */
import { describe, expect, test } from "bun:test";
import { join } from "node:path";
import * as rt from "../src/index.ts";
import { lib, native } from "../src/native.ts";
import { scratchDir } from "./support/paths.ts";

describe("constructors", () => {
  test("uninitialized, from {shape, dtype}", () => {
    using t = rt.tensor({ shape: [2, 3], dtype: "int16" });
    expect([t.dtype, t.shape, t.size, t.byteLength]).toEqual(["int16", [2, 3], 6, 12]);
    expect(t.toTypedArray()).toBeInstanceOf(Int16Array);
    using f = rt.tensor({ shape: [4] });
    expect(f.dtype).toBe("float32");
  });

  test("filled with a scalar", () => {
    using t = rt.tensor(2.5, { shape: [2, 2], dtype: "float64" });
    expect(Array.from(t.toTypedArray() as Float64Array)).toEqual([2.5, 2.5, 2.5, 2.5]);
    using b = rt.tensor(true, { shape: [3], dtype: "bool" });
    expect(b.toArray()).toEqual([true, true, true]);
    using big = rt.tensor(-5n, { shape: [2], dtype: "int64" });
    expect(big.toArray()).toEqual([-5n, -5n]);
    using s = rt.tensor("hi", { shape: [2] });
    expect([s.dtype, s.toArray()]).toEqual(["string", ["hi", "hi"]]);
    using scalar = rt.tensor(3);
    expect([scalar.shape, scalar.toArray()]).toEqual([[], 3]);
  });

  test("from nested arrays, float32 by default", () => {
    using t = rt.tensor([[1, 2, 3], [4, 5, 6]]);
    expect([t.dtype, t.shape]).toEqual(["float32", [2, 3]]);
    expect(t.toArray()).toEqual([[1, 2, 3], [4, 5, 6]]);
    using i = rt.tensor([[1, 2], [3, 4]], { dtype: "int32" });
    expect(i.toTypedArray()).toEqual(new Int32Array([1, 2, 3, 4]));
    using reshaped = rt.tensor([1, 2, 3, 4], { shape: [2, 2] });
    expect(reshaped.shape).toEqual([2, 2]);
    using empty = rt.tensor([]);
    expect([empty.shape, empty.size, empty.byteLength]).toEqual([[0], 0, 0]);
  });

  test("from a TypedArray: copied by default", () => {
    const source = new Float32Array([1, 2, 3, 4]);
    using t = rt.tensor(source, { shape: [2, 2] });
    source[0] = 99;
    expect(t.toTypedArray()[0]).toBe(1);
    expect(t.toTypedArray().buffer).not.toBe(source.buffer);
  });

  test("from a TypedArray with copy: false is zero-copy both ways", () => {
    const source = new Int32Array([1, 2, 3, 4, 5, 6]);
    using t = rt.tensor(source, { shape: [3, 2], copy: false });
    expect(t.toTypedArray()).toBe(source);
    source[5] = 42;
    expect(t.toArray()).toEqual([[1, 2], [3, 4], [5, 42]]);
    t.fill(7); // native writes land in the caller's array
    expect(Array.from(source)).toEqual([7, 7, 7, 7, 7, 7]);
  });

  test("zero-copy memory stays valid when the engine would move a small array", () => {
    const arrays = Array.from({ length: 200 }, (_, i) => new Float32Array([i, i, i]));
    const tensors = arrays.map((a) => rt.tensor(a, { copy: false }));
    for (const a of arrays) void a.buffer; // would move an unpinned small array's storage
    Bun.gc(true);
    tensors.forEach((t, i) => t.fill(i + 0.5)); // native writes through the pointer it kept
    arrays.forEach((a, i) => expect(Array.from(a)).toEqual([i + 0.5, i + 0.5, i + 0.5]));
    tensors.forEach((t) => t.dispose());
  });

  test("toTypedArray is a zero-copy view of the tensor's own memory", () => {
    using t = rt.tensor({ shape: [3], dtype: "uint8" });
    const view = t.toTypedArray();
    t.fill(9);
    expect(Array.from(view)).toEqual([9, 9, 9]);
    expect(t.toTypedArray()).toBe(view);
  });
});

describe("dtypes", () => {
  test("every ONNX element type has a name and a code that the library accepts", () => {
    for (const [name, info] of Object.entries(rt.dtypes)) {
      expect({ name, bits: info.bits }).toEqual({ name, bits: nativeBits(info.code) });
      if (name === "string") continue;
      using t = rt.tensor({ shape: [3, 5], dtype: name });
      expect({ name, bytes: t.byteLength }).toEqual({ name, bytes: Math.ceil((15 * info.bits) / 8) });
    }
    expect(lib.tsr_dtype_bits(0, new Uint32Array(1))).toBe(rt.TypeError.code);
  });

  test("aliases resolve case-insensitively, unknown names are TypeErrors", () => {
    expect(rt.resolveDType("FLOAT")).toBe("float32");
    expect(rt.resolveDType("half")).toBe("float16");
    expect(rt.resolveDType("Double")).toBe("float64");
    expect(rt.resolveDType("bf16")).toBe("bfloat16");
    expect(() => rt.resolveDType("float99")).toThrow(rt.TypeError);
    expect(() => rt.tensor({ shape: [1], dtype: "complex256" })).toThrow(rt.TypeError);
  });

  test("dtypes convert to and from TypedArray constructors", () => {
    expect(rt.typedArrayFor("float32")).toBe(Float32Array);
    expect(rt.typedArrayFor("int64")).toBe(BigInt64Array);
    expect(rt.typedArrayFor("bool")).toBe(Uint8Array);
    expect(rt.typedArrayFor("int4")).toBe(Uint8Array);
    expect(rt.dtypeOf(Float64Array)).toBe("float64");
    expect(rt.dtypeOf(new BigUint64Array(1))).toBe("uint64");
    const Float16 = (globalThis as { Float16Array?: unknown }).Float16Array ?? Uint16Array;
    expect(rt.typedArrayFor("float16")).toBe(Float16);
    expect(() => rt.typedArrayFor("string")).toThrow(rt.TypeError);
  });

  test("float16, bfloat16 and tfloat32 hold their values", () => {
    using h = rt.tensor([1.5, -2, 65504], { dtype: "float16" });
    expect(h.toArray()).toEqual([1.5, -2, 65504]);
    using b = rt.tensor([1.5, -3.25, 256], { dtype: "bfloat16" });
    expect(b.toArray()).toEqual([1.5, -3.25, 256]);
    expect(Array.from(b.toTypedArray() as Uint16Array)).toEqual([0x3fc0, 0xc050, 0x4380]);
    using tf = rt.tensor([0.5], { dtype: "tfloat32" });
    expect(tf.toTypedArray()).toBeInstanceOf(Float32Array);
  });

  test("a TypedArray must match the dtype it claims", () => {
    expect(() => rt.tensor(new Float32Array(4), { dtype: "int32" })).toThrow(rt.TypeError);
    using raw = rt.tensor(new Uint16Array([0x3c00]), { dtype: "float16" });
    expect(raw.toArray()).toEqual([1]);
  });

  test("quantized types carry scale and zero point", () => {
    using q = rt.tensor([1, 2, 3], { dtype: "qint8", scale: 0.5, zeroPoint: -2 });
    expect(q.quantization).toEqual({ scale: 0.5, zeroPoint: -2 });
    using plain = rt.tensor([1], { dtype: "int8" });
    expect(plain.quantization).toBeUndefined();
    expect(() => plain.setQuantization(0.5, 0)).toThrow(rt.InvalidOperationError);
    expect(() => rt.tensor([1], { dtype: "quint8", scale: -1 })).toThrow(rt.InvalidArgumentError);
  });
});

function nativeBits(code: number): number {
  const bits = new Uint32Array(1);
  expect(lib.tsr_dtype_bits(code, bits)).toBe(0);
  return bits[0]!;
}

describe("packed types", () => {
  test("pack and unpack 1-, 2- and 4-bit values", () => {
    expect(Array.from(rt.pack([1, -2, 7, -8, 3], "int4"))).toEqual([0xe1, 0x87, 0x03]);
    expect(Array.from(rt.unpack(new Uint8Array([0xe1, 0x87, 0x03]), "int4", 5))).toEqual([1, -2, 7, -8, 3]);
    expect(Array.from(rt.pack([1, 0, 1, 1, 0, 0, 0, 1, 1], "uint1"))).toEqual([0b10001101, 0b1]);
    expect(Array.from(rt.unpack(rt.pack([3, 0, 2, 1, 3], "uint2"), "uint2", 5))).toEqual([3, 0, 2, 1, 3]);
    expect(Array.from(rt.unpack(rt.pack([-2, 1, -1], "int2"), "int2", 3))).toEqual([-2, 1, -1]);
    expect(() => rt.pack([8], "int4")).toThrow(rt.InvalidArgumentError);
    expect(() => rt.pack([1], "int8")).toThrow(rt.TypeError);
  });

  test("packed tensors store bytes and read back elements", () => {
    using t = rt.tensor([[1, 2, 3], [4, 5, 6]], { dtype: "uint4" });
    expect(t.byteLength).toBe(3);
    expect(Array.from(t.toTypedArray() as Uint8Array)).toEqual([0x21, 0x43, 0x65]);
    expect(t.toArray()).toEqual([[1, 2, 3], [4, 5, 6]]);
    t.fill(-1 & 0xf);
    expect(t.toArray()).toEqual([[15, 15, 15], [15, 15, 15]]);
    using bits = rt.tensor(1, { shape: [10], dtype: "uint1" });
    expect(Array.from(bits.toTypedArray() as Uint8Array)).toEqual([0xff, 0x03]);
  });
});

describe("fill, save and load", () => {
  const dir = scratchDir();

  test("every storable dtype round-trips through a file", () => {
    for (const name of Object.keys(rt.dtypes)) {
      const path = join(dir, `${name}.tsr`);
      using t = name === "string" ? rt.tensor([["a", "éé"], ["", "long string"]]) : rt.tensor({ shape: [2, 3], dtype: name });
      if (name !== "string") {
        const bytes = new Uint8Array(t.toTypedArray().buffer);
        bytes.forEach((_, i) => (bytes[i] = (i * 37 + 11) & 0xff));
      }
      t.save(path);
      using back = rt.Tensor.load(path);
      expect({ name, dtype: back.dtype, shape: back.shape }).toEqual({ name, dtype: t.dtype, shape: t.shape });
      if (name === "string") expect(back.toArray()).toEqual(t.toArray());
      else expect(new Uint8Array(back.toTypedArray().buffer)).toEqual(new Uint8Array(t.toTypedArray().buffer));
    }
  });

  test("quantization parameters survive a round trip", () => {
    using q = rt.tensor([1, 2], { dtype: "quint8", scale: 0.25, zeroPoint: 128 });
    q.save(join(dir, "q.tsr"));
    using back = rt.loadTensor(join(dir, "q.tsr"));
    expect(back.quantization).toEqual({ scale: 0.25, zeroPoint: 128 });
  });

  test("fill checks the value's type", () => {
    using t = rt.tensor({ shape: [2], dtype: "int32" });
    expect(() => t.fill("x")).toThrow(rt.TypeError);
    using s = rt.tensor({ shape: [2], dtype: "string" });
    expect(() => s.fill(1)).toThrow(rt.TypeError);
    expect(s.toArray()).toEqual(["", ""]);
  });
});

describe("printing", () => {
  test("floats use the precision, and big tensors are summarized", () => {
    using t = rt.tensor([[1, 2.5], [3, 4]]);
    expect(t.toString()).toBe("tensor([[1.0000, 2.5000],\n [3.0000, 4.0000]], dtype=float32, shape=[2, 2])");
    expect(t.toString({ precision: 1 })).toContain("[[1.0, 2.5]");
    using big = rt.tensor(new Int32Array(2000).map((_, i) => i));
    expect(big.toString()).toBe("tensor([0, 1, 2, ..., 1997, 1998, 1999], dtype=int32, shape=[2000])");
    expect(big.toString({ threshold: 5000 })).toContain("1000, 1001");
    rt.setPrintOptions({ edgeItems: 1 });
    try {
      expect(big.toString()).toBe("tensor([0, ..., 1999], dtype=int32, shape=[2000])");
    } finally {
      rt.setPrintOptions({ edgeItems: 3 });
    }
  });

  test("strings, booleans and int64 print as themselves", () => {
    using s = rt.tensor(["a", "b"]);
    expect(s.toString()).toBe('tensor(["a", "b"], dtype=string, shape=[2])');
    using b = rt.tensor([true, false]);
    expect(b.toString()).toBe("tensor([true, false], dtype=bool, shape=[2])");
    using i = rt.tensor([1n, -2n]);
    expect(i.toString()).toBe("tensor([1, -2], dtype=int64, shape=[2])");
  });
});

describe("bad input", () => {
  test("negative, fractional and overflowing shapes are ShapeErrors", () => {
    expect(() => rt.tensor({ shape: [2, -1] })).toThrow(rt.ShapeError);
    expect(() => rt.tensor({ shape: [2, -1] })).toThrow(/dim 1 of the shape is negative/);
    expect(() => rt.tensor({ shape: [1.5] })).toThrow(rt.ShapeError);
    expect(() => rt.tensor({ shape: [NaN] })).toThrow(rt.ShapeError);
    expect(() => rt.tensor({ shape: [2 ** 40, 2 ** 40] })).toThrow(rt.ShapeError);
    expect(() => rt.tensor({ shape: [2 ** 31, 2 ** 31, 4] })).toThrow(/overflows/);
    expect(() => rt.tensor({ shape: new Array(33).fill(1) })).toThrow(/rank 33 exceeds/);
  });

  test("a buffer too small for its shape is an InvalidArgumentError", () => {
    expect(() => rt.tensor(new Float32Array(3), { shape: [2, 2] })).toThrow(rt.InvalidArgumentError);
    expect(() => rt.tensor(new Float32Array(3), { shape: [2, 2], copy: false })).toThrow(/buffer too small/);
  });

  test("misaligned memory is refused by the library", () => {
    // JS TypedArrays are always aligned; C callers can get this wrong, so the library checks.
    const odd = new Uint8Array(new ArrayBuffer(20), 1, 16);
    const shape = new BigInt64Array([4n]);
    const slot = new BigUint64Array(1);
    expect(lib.tsr_tensor_wrap(rt.dtypes.float32.code, shape, 1, odd, 16, slot)).toBe(rt.InvalidArgumentError.code);
    expect(native.cstring(lib.tsr_last_error())).toMatch(/not aligned to 4 bytes/);
    expect(slot[0]).toBe(0n);
  });

  test("ragged arrays and mismatched element counts are ShapeErrors", () => {
    expect(() => rt.tensor([[1, 2], [3]])).toThrow(rt.ShapeError);
    expect(() => rt.tensor([1, [2]] as never)).toThrow(rt.ShapeError);
    expect(() => rt.tensor([1, 2, 3], { shape: [2, 2] })).toThrow(rt.ShapeError);
  });

  test("values a dtype cannot take are errors", () => {
    expect(() => rt.tensor([1, "a"] as never)).toThrow(rt.TypeError);
    expect(() => rt.tensor([0.5], { dtype: "float8e4m3fn" })).toThrow(rt.NotImplementedError);
    expect(() => rt.tensor(null as never)).toThrow(rt.InvalidArgumentError);
  });
});
