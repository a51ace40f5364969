/**
 * NumPy's .npy files (format versions 1.0, 2.0 and 3.0): little-endian numeric arrays in C order,
 * of the dtypes Tessera and numpy share. The header is a Python dict literal, read here by a small
 * parser of the literals numpy writes (no evaluation).
 *
 * readNpy and writeNpy go between files (or their bytes) and Tensors, for inputs and outputs kept
 * as numpy keeps them; decodeNpy and encodeNpy between bytes and plain arrays, for callers that
 * need no native tensor (the CLI checks a file against a model before it makes one).
 */
import { readFileSync, writeFileSync } from "node:fs";
import { type DType, dtypeInfo, type TypedArray } from "./dtype.ts";
import { InvalidArgumentError, IOError, NotImplementedError, TypeError as TesseraTypeError } from "./errors.ts";
import { normalizeBools } from "./packing.ts";
import { type Tensor, tensor } from "./tensor.ts";

export interface NpyArray {
  dtype: DType;
  shape: number[];
  /** The elements in C order, in the dtype's TypedArray (Uint8Array for bool, read as 0 or 1). */
  data: TypedArray;
}

const magic = [0x93, ..."NUMPY"].map((c) => (typeof c === "number" ? c : c.charCodeAt(0)));

/** numpy's type codes (kind and item size) for Tessera's dtypes. */
const codes: Partial<Record<DType, string>> = {
  float16: "f2", float32: "f4", float64: "f8",
  int8: "i1", int16: "i2", int32: "i4", int64: "i8",
  uint8: "u1", uint16: "u2", uint32: "u4", uint64: "u8",
  bool: "b1",
};
const dtypeByCode = new Map(Object.entries(codes).map(([dtype, code]) => [code, dtype as DType]));

/** Whether .npy files can hold this dtype (writeNpy and encodeNpy refuse the others). */
export function npyCanHold(dtype: DType): boolean {
  return codes[dtype] !== undefined;
}

/** A tensor holding the array of an .npy file: a path, or the file's bytes. */
export function readNpy(source: string | Uint8Array): Tensor {
  const array = decodeNpy(typeof source === "string" ? readFile(source) : source);
  // The decoded elements are a fresh copy: the tensor may wrap them.
  return tensor(array.data, { shape: array.shape, dtype: array.dtype, copy: false });
}

/** The bytes of an .npy file holding `t`; written to `path` as well when one is given. */
export function writeNpy(t: Tensor, path?: string): Uint8Array {
  const bytes = encodeNpy({ dtype: t.dtype, shape: [...t.shape], data: t.toTypedArray() });
  if (path !== undefined) writeFileSync(path, bytes);
  return bytes;
}

function readFile(path: string): Uint8Array {
  try {
    return readFileSync(path);
  } catch (error) {
    throw new IOError(`cannot read '${path}': ${(error as Error).message}`, { cause: error });
  }
}

/** The array in an .npy file's bytes. */
export function decodeNpy(bytes: Uint8Array): NpyArray {
  if (bytes.length < 10 || magic.some((byte, i) => bytes[i] !== byte)) {
    throw new InvalidArgumentError("not an NPY file (it does not start with \\x93NUMPY)");
  }
  const major = bytes[6]!;
  if (major < 1 || major > 3) throw new NotImplementedError(`NPY format version ${major}.${bytes[7]} is not supported (1.0, 2.0 and 3.0 are)`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const lengthBytes = major === 1 ? 2 : 4;
  if (bytes.length < 8 + lengthBytes) throw new InvalidArgumentError("truncated NPY header");
  const headerLength = major === 1 ? view.getUint16(8, true) : view.getUint32(8, true);
  const start = 8 + lengthBytes;
  const dataOffset = start + headerLength;
  if (dataOffset > bytes.length) throw new InvalidArgumentError(`truncated NPY header: it claims ${headerLength} bytes, the file has ${bytes.length - start}`);
  const headerText = new TextDecoder(major >= 3 ? "utf-8" : "latin1").decode(bytes.subarray(start, dataOffset));
  const { dtype, shape } = interpretHeader(headerText);
  const info = dtypeInfo(dtype);
  const count = shape.reduce((a, b) => a * b, 1);
  const byteLength = count * (info.bits / 8);
  const actual = bytes.length - dataOffset;
  if (actual !== byteLength) {
    throw new InvalidArgumentError(`NPY data of ${codes[dtype]} ${formatShape(shape)} needs ${byteLength} bytes, the file has ${actual}`);
  }
  // A copy, so that the elements are aligned whatever the file's header length was. (Not
  // bytes.slice: on a Node Buffer that is a view, which may sit in a shared pool.)
  const copy = new Uint8Array(byteLength);
  copy.set(bytes.subarray(dataOffset, dataOffset + byteLength));
  // numpy stores True as 1, but any nonzero byte (from a view or a raw write) reads as True there.
  if (dtype === "bool") normalizeBools(copy);
  return { dtype, shape, data: new info.storage!(copy.buffer, 0, count) };
}

/** An .npy file (version 1.0, or 2.0 when the header needs it) holding `array`. */
export function encodeNpy(array: NpyArray): Uint8Array {
  const code = codes[array.dtype];
  if (!code) throw new TesseraTypeError(`${array.dtype} has no NPY dtype (supported: ${Object.keys(codes).join(", ")})`);
  const count = array.shape.reduce((a, b) => a * b, 1);
  const byteLength = count * (dtypeInfo(array.dtype).bits / 8);
  if (array.data.byteLength !== byteLength) {
    throw new InvalidArgumentError(`${array.dtype} ${formatShape(array.shape)} needs ${byteLength} bytes of data, not ${array.data.byteLength}`);
  }
  const tuple = array.shape.length === 1 ? `(${array.shape[0]},)` : `(${array.shape.join(", ")})`;
  const dict = `{'descr': '${code.endsWith("1") ? "|" : "<"}${code}', 'fortran_order': False, 'shape': ${tuple}, }`;
  const major = dict.length + 1 + 10 > 0xffff ? 2 : 1;
  const prefix = major === 1 ? 10 : 12;
  // numpy pads the header with spaces so that the data starts on a multiple of 64 bytes.
  const padded = dict.padEnd(Math.ceil((prefix + dict.length + 1) / 64) * 64 - prefix - 1) + "\n";
  const out = new Uint8Array(prefix + padded.length + byteLength);
  out.set(magic);
  out[6] = major;
  const view = new DataView(out.buffer);
  if (major === 1) view.setUint16(8, padded.length, true);
  else view.setUint32(8, padded.length, true);
  for (let i = 0; i < padded.length; i++) out[prefix + i] = padded.charCodeAt(i);
  out.set(new Uint8Array(array.data.buffer, array.data.byteOffset, byteLength), prefix + padded.length);
  return out;
}

function formatShape(shape: readonly number[]): string {
  return `[${shape.join(", ")}]`;
}

/** The dtype and shape a header dict describes, refusing what Tessera cannot read. */
function interpretHeader(text: string): { dtype: DType; shape: number[] } {
  let header: unknown;
  try {
    header = new LiteralParser(text).document();
  } catch (error) {
    throw new InvalidArgumentError(`malformed NPY header: ${(error as Error).message}`);
  }
  if (header === null || typeof header !== "object" || Array.isArray(header)) throw new InvalidArgumentError("malformed NPY header: not a dict");
  const { descr, fortran_order: fortran, shape } = header as Record<string, unknown>;
  if (typeof descr !== "string") {
    throw new NotImplementedError("structured NPY dtypes are not supported (only plain numeric arrays)");
  }
  if (typeof fortran !== "boolean") throw new InvalidArgumentError("malformed NPY header: 'fortran_order' is not True or False");
  if (fortran) throw new NotImplementedError("Fortran-ordered NPY arrays are not supported: save a C-ordered copy (numpy.ascontiguousarray)");
  if (!Array.isArray(shape) || !shape.every((d) => typeof d === "number" && Number.isSafeInteger(d) && d >= 0)) {
    throw new InvalidArgumentError("malformed NPY header: 'shape' is not a tuple of sizes");
  }
  const order = descr[0];
  const code = descr.slice(1);
  const dtype = dtypeByCode.get(code);
  if (order === ">" && dtype && !code.endsWith("1")) {
    throw new NotImplementedError(`big-endian NPY data ('${descr}') is not supported: save it little-endian (array.astype('<${code}'))`);
  }
  if (!dtype || !["<", "|", "="].includes(order ?? "")) {
    throw new TesseraTypeError(`NPY dtype '${descr}' is not supported (supported: ${[...dtypeByCode.keys()].join(", ")}, little-endian)`);
  }
  return { dtype, shape: shape as number[] };
}

/** Python literals as numpy writes them in headers: dicts, tuples, lists, strings, ints, booleans, None. */
class LiteralParser {
  #at = 0;
  constructor(readonly text: string) {}

  document(): unknown {
    const value = this.#value();
    this.#space();
    if (this.#at !== this.text.length) throw new Error(`unexpected '${this.text[this.#at]}' at ${this.#at}`);
    return value;
  }

  #space(): void {
    while (/\s/.test(this.text[this.#at] ?? "")) this.#at++;
  }

  #value(): unknown {
    this.#space();
    const c = this.text[this.#at];
    if (c === "{") return Object.fromEntries(this.#items("{", "}", () => {
      const key = this.#value();
      if (typeof key !== "string") throw new Error("a dict key is not a string");
      this.#expect(":");
      return [key, this.#value()];
    }));
    if (c === "(") return this.#items("(", ")", () => this.#value());
    if (c === "[") return this.#items("[", "]", () => this.#value());
    if (c === "'" || c === '"') return this.#string(c);
    const word = /^(?:[-+]?\d+|True|False|None)/.exec(this.text.slice(this.#at))?.[0];
    if (!word) throw new Error(c === undefined ? "unexpected end" : `unexpected '${c}' at ${this.#at}`);
    this.#at += word.length;
    return word === "True" ? true : word === "False" ? false : word === "None" ? null : Number(word);
  }

  #items<T>(open: string, close: string, item: () => T): T[] {
    this.#expect(open);
    const items: T[] = [];
    for (;;) {
      this.#space();
      if (this.text[this.#at] === close) break;
      items.push(item());
      this.#space();
      if (this.text[this.#at] !== ",") break;
      this.#at++;
    }
    this.#expect(close);
    return items;
  }

  #string(quote: string): string {
    const end = this.text.indexOf(quote, this.#at + 1);
    if (end < 0) throw new Error("unterminated string");
    const value = this.text.slice(this.#at + 1, end);
    this.#at = end + 1;
    return value;
  }

  #expect(c: string): void {
    this.#space();
    if (this.text[this.#at] !== c) throw new Error(`expected '${c}' at ${this.#at}`);
    this.#at++;
  }
}
