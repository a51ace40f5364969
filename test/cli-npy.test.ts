/** The .npy codec of the command line, against numpy itself (the project's venv). */
import { describe, expect, test } from "bun:test";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { decodeNpy as readNpy, encodeNpy as writeNpy } from "../src/npy.ts";
import type { DType, TypedArray } from "../src/dtype.ts";
import { NotImplementedError, type RuntimeException, TypeError as TesseraTypeError } from "../src/errors.ts";
import { repo, scratchDir } from "./support/paths.ts";

const python = join(repo, ".cache/venv/bin/python");
const dir = scratchDir("tessera-npy-");

/** Runs a numpy snippet with `path` bound; returns its stdout. */
function numpy(code: string, path: string): string {
  const result = Bun.spawnSync([python, "-c", `import json, sys, numpy as np\npath = sys.argv[1]\n${code}`, path]);
  if (result.exitCode !== 0) throw new Error(result.stderr.toString());
  return result.stdout.toString();
}

describe("readNpy", () => {
  test("reads what numpy saves, in format versions 1.0, 2.0 and 3.0", () => {
    for (const version of ["(1, 0)", "(2, 0)", "(3, 0)"]) {
      const path = join(dir, `v${version[1]}.npy`);
      numpy(`a = np.arange(6, dtype='<f4').reshape(2, 3) / 4\nwith open(path, 'wb') as f: np.lib.format.write_array(f, a, version=${version})`, path);
      const bytes = readFileSync(path);
      expect(bytes[6]).toBe(Number(version[1]));
      const array = readNpy(bytes);
      expect(array.dtype).toBe("float32");
      expect(array.shape).toEqual([2, 3]);
      expect(Array.from(array.data as Float32Array)).toEqual([0, 0.25, 0.5, 0.75, 1, 1.25]);
    }
  });

  test("every numeric dtype, scalars, empty and 1-d arrays", () => {
    const cases: [string, DType, number[], (number | bigint | boolean)[]][] = [
      ["np.array([1.5, -2], dtype='<f8')", "float64", [2], [1.5, -2]],
      ["np.array([[0.5], [-3]], dtype='<f2')", "float16", [2, 1], [0.5, -3]],
      ["np.array([-128, 127], dtype='i1')", "int8", [2], [-128, 127]],
      ["np.array([-2, 3], dtype='<i2')", "int16", [2], [-2, 3]],
      ["np.array([-2**31, 7], dtype='<i4')", "int32", [2], [-(2 ** 31), 7]],
      ["np.array([-2**63, 2**40], dtype='<i8')", "int64", [2], [-(2n ** 63n), 2n ** 40n]],
      ["np.array([255, 0], dtype='u1')", "uint8", [2], [255, 0]],
      ["np.array([65535], dtype='<u2')", "uint16", [1], [65535]],
      ["np.array([2**32 - 1], dtype='<u4')", "uint32", [1], [2 ** 32 - 1]],
      ["np.array([2**64 - 1], dtype='<u8')", "uint64", [1], [2n ** 64n - 1n]],
      ["np.array([True, False, True])", "bool", [3], [1, 0, 1]],
      ["np.array(3.25, dtype='<f4')", "float32", [], [3.25]],
      ["np.zeros((0, 4), dtype='<f4')", "float32", [0, 4], []],
    ];
    for (const [expression, dtype, shape, values] of cases) {
      const path = join(dir, `${dtype}-${shape.join("x")}.npy`);
      numpy(`np.save(path, ${expression})`, path);
      const array = readNpy(readFileSync(path));
      expect({ expression, dtype: array.dtype, shape: array.shape }).toEqual({ expression, dtype, shape });
      expect(Array.from(array.data as ArrayLike<number | bigint>)).toEqual(values as (number | bigint)[]);
    }
  });

  test("Fortran order, big-endian data, other dtypes and broken files are refused with a reason", () => {
    const refused: [string, RegExp, typeof RuntimeException][] = [
      ["np.asfortranarray(np.ones((2, 3), dtype='<f4'))", /Fortran-ordered NPY arrays are not supported/, NotImplementedError],
      ["np.ones(3, dtype='>f4')", /big-endian NPY data \('>f4'\) is not supported/, NotImplementedError],
      ["np.array(['ab'])", /NPY dtype '<U2' is not supported/, TesseraTypeError],
      ["np.ones(2, dtype='<c8')", /NPY dtype '<c8' is not supported/, TesseraTypeError],
      ["np.zeros(2, dtype=[('a', '<f4'), ('b', '<i4')])", /structured NPY dtypes are not supported/, NotImplementedError],
    ];
    for (const [expression, message, ErrorClass] of refused) {
      const path = join(dir, "refused.npy");
      numpy(`np.save(path, ${expression})`, path);
      const bytes = readFileSync(path);
      expect(() => readNpy(bytes)).toThrow(ErrorClass);
      expect(() => readNpy(bytes)).toThrow(message);
    }
    const good = writeNpy({ dtype: "float32", shape: [4], data: new Float32Array(4) });
    expect(() => readNpy(new TextEncoder().encode("hello, world"))).toThrow(/not an NPY file/);
    expect(() => readNpy(good.subarray(0, 9))).toThrow(/not an NPY file|truncated/);
    expect(() => readNpy(good.subarray(0, 40))).toThrow(/truncated NPY header/);
    expect(() => readNpy(good.subarray(0, good.length - 1))).toThrow(/needs 16 bytes, the file has 15/);
    const broken = good.slice();
    broken.set(new TextEncoder().encode("{'descr': '<f4', 'fortran_order': False, 'shape': (4,  "), 10);
    expect(() => readNpy(broken)).toThrow(/malformed NPY header/);
    const version9 = good.slice();
    version9[6] = 9;
    expect(() => readNpy(version9)).toThrow(/NPY format version 9.0 is not supported/);
  });
});

describe("writeNpy", () => {
  test("numpy reads back the dtype, shape and values", () => {
    const cases: [DType, number[], ArrayLike<number | bigint>, string][] = [
      ["float32", [2, 3], new Float32Array([1, 2.5, -3, 4, 5, 6]), "float32"],
      ["float16", [2], new Float16Array([0.5, -2]), "float16"],
      ["float64", [], new Float64Array([Math.PI]), "float64"],
      ["int64", [3], new BigInt64Array([-1n, 0n, 2n ** 50n]), "int64"],
      ["uint16", [1, 1, 2], new Uint16Array([1, 65535]), "uint16"],
      ["int8", [2], new Int8Array([-5, 5]), "int8"],
      ["bool", [2, 2], new Uint8Array([1, 0, 0, 1]), "bool"],
    ];
    for (const [dtype, shape, data, numpyName] of cases) {
      const path = join(dir, `written-${dtype}.npy`);
      const bytes = writeNpy({ dtype, shape, data: data as TypedArray });
      writeFileSync(path, bytes);
      const read = JSON.parse(numpy("a = np.load(path)\nprint(json.dumps({'dtype': str(a.dtype), 'shape': list(a.shape), 'c': bool(a.flags.c_contiguous), 'values': a.ravel().tolist()}))", path));
      expect(read).toEqual({
        dtype: numpyName,
        shape,
        c: true,
        values: Array.from(data, (v) => (dtype === "bool" ? v === 1 : Number(v))),
      });
      // And back: the bytes of the data start on a multiple of 64, as numpy lays them out.
      expect((bytes.length - (data as TypedArray).byteLength) % 64).toBe(0);
      expect(readNpy(bytes)).toEqual({ dtype, shape, data: expect.anything() });
      expect(Array.from(readNpy(bytes).data as ArrayLike<number | bigint>)).toEqual(Array.from(data));
    }
  });

  test("refuses dtypes .npy cannot hold and data of the wrong size", () => {
    expect(() => writeNpy({ dtype: "bfloat16", shape: [1], data: new Uint16Array(1) })).toThrow(/bfloat16 has no NPY dtype/);
    expect(() => writeNpy({ dtype: "float32", shape: [3], data: new Float32Array(2) })).toThrow(/float32 \[3\] needs 12 bytes of data, not 8/);
  });
});
