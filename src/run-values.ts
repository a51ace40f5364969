/**
 * Values that are not plain tensors, crossing the request boundary: sequence and optional inputs
 * bound as lists of tensors, and every kind of output read back as what it is (a tensor, a
 * sequence's tensors, or null for an optional with no value).
 */
import { InvalidArgumentError, TypeError as TesseraTypeError } from "./errors.ts";
import { check, lib, native, outPointer, type Pointer } from "./native.ts";
import { adoptNative, Tensor } from "./tensor.ts";
import type { Port } from "./request.ts";

/**
 * A value of a run: a tensor, a sequence's tensors (copies, in order), or null for an optional
 * with no value. An optional holding a value is that value.
 */
export type Value = Tensor | Tensor[] | null;

/** Outputs by name. `T` narrows the values for a model whose outputs are all tensors: run<Tensor>(…). */
export type Outputs<T extends Value = Value> = Record<string, T>;

export const isComposite = (port: Port) => port.kind === "sequence" || port.kind === "optional";

const kindNames = ["tensor", "sequence", "optional", "map", "sparse-tensor", "unknown"];

/** What output `index` of the last run is ("tensor", "sequence", "optional-tensor", …) and its element count (-1: no value). */
function outputKind(request: Pointer, index: number): [string, number] {
  const [kind, inner, count] = [new Int32Array(1), new Int32Array(1), new Int32Array(1)];
  check(lib.tsr_request_output_kind(request, index, kind, inner, count));
  const name = kindNames[kind[0]!] ?? "unknown";
  return [name === "optional" ? `optional-${kindNames[inner[0]!]}` : name, count[0]!];
}

/** A copy of output `index` of the last run; `port` is its declared signature. */
export function readOutput(request: Pointer, index: number, port: Port): Value {
  const tensorOut = () => adoptNative(outPointer((slot) => lib.tsr_request_get_output(request, index, slot)));
  // Declared tensors skip the kind query: one native call per output on the common path.
  if (port.kind === "tensor") return tensorOut();
  const [kind, count] = outputKind(request, index);
  if (kind === "tensor") return tensorOut();
  if (count < 0) return null;
  const elements = Array.from({ length: count }, (_, e) => adoptNative(outPointer((slot) => lib.tsr_request_get_output_element(request, index, e, slot))));
  // An optional tensor is its one tensor; sequences (also inside an optional) are arrays.
  return kind === "optional-tensor" ? elements[0]! : elements;
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

/** Disposes every tensor in `value` (a tensor, an array of them, or null); for code that frees whatever a run returned. */
export function disposeValue(value: Value | undefined): void {
  if (Array.isArray(value)) for (const t of value) t.dispose();
  else value?.dispose();
}
