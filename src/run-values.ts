/**
 * Values that are not plain tensors, crossing the request boundary: sequence and optional inputs
 * bound as lists of tensors, map inputs from JS Maps or plain objects, and every kind of output
 * read back as what it is (a tensor, a sequence's tensors, a map, a sequence of maps, or null for
 * an optional with no value).
 */
import { InvalidArgumentError, TypeError as TesseraTypeError } from "./errors.ts";
import { check, cString, lib, native, outPointer, type Pointer } from "./native.ts";
import { adoptNative, Tensor, tensor } from "./tensor.ts";
import type { Port } from "./request.ts";

/** A map key: a string, or an int64 key as a number (a bigint beyond ±(2**53 - 1)). */
export type MapKey = string | number | bigint;
/** A map value: a number (float32, float64), a bigint (int64) or a string. */
export type MapValue = number | bigint | string;
/**
 * ONNX's map(K, V) as a JS Map, such as one row of a scikit-learn classifier's ZipMap output
 * (class label → probability). Keys come back as onnxruntime's Python API gives them: strings,
 * or plain numbers for int64 keys, so that `probabilities.get(1)` finds class 1; only a key
 * beyond ±(2**53 - 1), which a number cannot hold exactly, comes back as a bigint. Values are
 * numbers for float32 and float64, bigints for int64 (as int64 tensors read), and strings.
 * A map input takes a JS Map or a plain object (whose keys, being strings, are parsed as integers
 * for an int64-keyed map).
 */
export type ValueMap = Map<MapKey, MapValue>;

/**
 * A value of a run: a tensor, a sequence's tensors (copies, in order), a map, a sequence of maps
 * (one per row of a ZipMap), or null for an optional with no value. An optional holding a value
 * is that value.
 */
export type Value = Tensor | Tensor[] | ValueMap | ValueMap[] | null;

/** Outputs by name. `T` narrows the values for a model whose outputs are all tensors: run<Tensor>(…). */
export type Outputs<T extends Value = Value> = Record<string, T>;

/** Ports bound by something other than one tensor: a sequence's or optional's elements, a map. */
export const isComposite = (port: Port) => port.kind === "sequence" || port.kind === "optional" || port.kind === "map";

const kindNames = ["tensor", "sequence", "optional", "map", "sparse-tensor", "unknown"];

/** What output `index` of the last run is, the kind inside it (a sequence's elements, an optional's value), and its count (-1: no value). */
function outputKind(request: Pointer, index: number): [string, string, number] {
  const [kind, inner, count] = [new Int32Array(1), new Int32Array(1), new Int32Array(1)];
  check(lib.tsr_request_output_kind(request, index, kind, inner, count));
  return [kindNames[kind[0]!] ?? "unknown", kindNames[inner[0]!] ?? "unknown", count[0]!];
}

/** A copy of output `index` of the last run; `port` is its declared signature. */
export function readOutput(request: Pointer, index: number, port: Port): Value {
  const tensorOut = () => adoptNative(outPointer((slot) => lib.tsr_request_get_output(request, index, slot)));
  // Declared tensors skip the kind query: one native call per output on the common path.
  if (port.kind === "tensor") return tensorOut();
  const [kind, inner, count] = outputKind(request, index);
  if (kind === "tensor") return tensorOut();
  if (count < 0) return null;
  if (kind === "map" || (kind === "optional" && inner === "map")) return readMap(request, index, 0);
  if (inner === "map") return Array.from({ length: count }, (_, e) => readMap(request, index, e));
  const elements = Array.from({ length: count }, (_, e) => adoptNative(outPointer((slot) => lib.tsr_request_get_output_element(request, index, e, slot))));
  // An optional tensor is its one tensor; sequences (also inside an optional) are arrays.
  return kind === "optional" && inner === "tensor" ? elements[0]! : elements;
}

/** Map `element` of output `index` (0 for a map output) as a JS Map; see ValueMap. */
function readMap(request: Pointer, index: number, element: number): ValueMap {
  const [keySlot, valueSlot] = [new BigUint64Array(1), new BigUint64Array(1)];
  check(lib.tsr_request_get_output_map(request, index, element, keySlot, valueSlot));
  const valuesPointer = native.pointerAt(valueSlot);
  let keys: Tensor;
  try {
    keys = adoptNative(native.pointerAt(keySlot)); // releases the native keys, whatever happens
  } catch (error) {
    lib.tsr_tensor_destroy(valuesPointer);
    throw error;
  }
  using keyTensor = keys;
  using valueTensor = adoptNative(valuesPointer);
  const keyList = keyTensor.toArray() as (string | bigint)[];
  const valueList = valueTensor.toArray() as MapValue[];
  const asKey = (k: string | bigint): MapKey => typeof k === "bigint" && k >= -maxSafe && k <= maxSafe ? Number(k) : k;
  return new Map(keyList.map((k, i) => [asKey(k), valueList[i]!]));
}

const maxSafe = BigInt(Number.MAX_SAFE_INTEGER);

/**
 * Binds map input `port` to `value` (a Map or a plain object) through new keys and values
 * tensors, which it returns: the caller owns them, and keeps them alive while runs read them.
 */
export function bindMap(request: Pointer, port: Port, value: unknown): [Tensor, Tensor] {
  const entries = mapEntries(port, value);
  const keys = mapKeys(port, entries.map(([k]) => k));
  try {
    const values = mapValues(port, entries.map(([, v]) => v));
    try {
      check(lib.tsr_request_set_input_map(request, cString(port.name), keys.nativeHandle, values.nativeHandle));
      return [keys, values];
    } catch (error) {
      values.dispose();
      throw error;
    }
  } catch (error) {
    keys.dispose();
    throw error;
  }
}

function mapEntries(port: Port, value: unknown): [unknown, unknown][] {
  if (value instanceof Map) return [...value.entries()];
  if (value === undefined) throw new InvalidArgumentError(`input '${port.name}' is missing (a map: pass a Map or a plain object)`);
  const plain = value !== null && typeof value === "object" && !Array.isArray(value) && !ArrayBuffer.isView(value) && !(value instanceof Tensor);
  if (!plain) {
    const what = value === null ? "null" : Array.isArray(value) ? "an array" : value instanceof Tensor ? "a Tensor" : typeof value;
    throw new InvalidArgumentError(`input '${port.name}' is a map: pass a Map or a plain object, not ${what}`);
  }
  return Object.entries(value as object);
}

/** The keys as an int64 or string tensor, as the port declares (TypeError for a key that is not one). */
function mapKeys(port: Port, keys: unknown[]): Tensor {
  const dtype = port.dtype ?? (keys.every((k) => typeof k === "string") ? "string" : "int64");
  const wrong = (k: unknown) => new TesseraTypeError(`the keys of map input '${port.name}' are ${dtype}: ${typeof k} key ${String(k)} is not one`);
  if (dtype === "string") {
    for (const k of keys) if (typeof k !== "string") throw wrong(k);
    return tensor(keys as string[], { dtype: "string", shape: [keys.length] });
  }
  if (dtype !== "int64") throw new TesseraTypeError(`map input '${port.name}' has ${dtype} keys: only int64 and string keys exist`);
  return tensor(BigInt64Array.from(keys, (k) => {
    if (typeof k === "bigint") return k;
    if (typeof k === "number" && Number.isSafeInteger(k)) return BigInt(k);
    // A plain object's keys are strings: "3" stands for 3.
    if (typeof k === "string" && /^-?\d+$/.test(k)) return BigInt(k);
    throw wrong(k);
  }));
}

/** The values as a tensor of the port's value type (TypeError for a value that is not one). */
function mapValues(port: Port, values: unknown[]): Tensor {
  const dtype = port.valueDtype ?? (values.every((v) => typeof v === "string") ? "string" : values.some((v) => typeof v === "bigint") ? "int64" : "float32");
  const wrong = (v: unknown) => new TesseraTypeError(`the values of map input '${port.name}' are ${dtype}: ${typeof v} ${String(v)} is not one`);
  switch (dtype) {
    case "string":
      for (const v of values) if (typeof v !== "string") throw wrong(v);
      return tensor(values as string[], { dtype: "string", shape: [values.length] });
    case "int64":
      return tensor(BigInt64Array.from(values, (v) => {
        if (typeof v === "bigint") return v;
        if (typeof v === "number" && Number.isSafeInteger(v)) return BigInt(v);
        throw wrong(v);
      }));
    case "float32":
    case "float64": {
      for (const v of values) if (typeof v !== "number") throw wrong(v);
      const array = dtype === "float32" ? Float32Array.from(values as number[]) : Float64Array.from(values as number[]);
      return tensor(array);
    }
    default:
      throw new TesseraTypeError(`map input '${port.name}' has ${dtype} values: pass its keys and values through a model input of float32, float64, int64 or string values`);
  }
}

/** The tensors for a sequence or optional input; null: an optional with no value. */
export function checkElements(value: unknown, port: Port): readonly Tensor[] | null {
  const accepts = `pass an array of Tensors${port.kind === "optional" ? ", a Tensor or null" : ""}`;
  if (value === undefined || (value === null && port.kind === "sequence")) {
    throw new InvalidArgumentError(`input '${port.name}' is missing (a ${port.kind}: ${accepts})`);
  }
  if (value === null) return null;
  if (value instanceof Tensor && port.kind === "optional") return [value];
  if (!Array.isArray(value) || !value.every((t) => t instanceof Tensor)) {
    throw new InvalidArgumentError(`input '${port.name}' is a ${port.kind}: ${accepts}`);
  }
  for (const t of value as Tensor[]) {
    if (port.dtype !== null && t.dtype !== port.dtype) {
      throw new TesseraTypeError(`the elements of input '${port.name}' must be ${port.dtype}, not ${t.dtype}`);
    }
  }
  return value as Tensor[];
}

/** Native pointers laid out as a C array (tsr_tensor **). */
export function pointerTable(pointers: readonly Pointer[]): BigUint64Array {
  return BigUint64Array.from(pointers, (p) => native.address(p));
}

/** Disposes every tensor in `value` (maps hold none); for code that frees whatever a run returned. */
export function disposeValue(value: Value | undefined): void {
  if (Array.isArray(value)) for (const t of value) if (t instanceof Tensor) t.dispose();
  if (value instanceof Tensor) value.dispose();
}
