/**
 * The checks a request makes of the tensors and TypedArrays it is given, with the same messages
 * as the library's own checks before a run: here they fail early, before anything is bound.
 */
import { canStore, dtypeInfo, type TypedArray } from "./dtype.ts";
import { InvalidArgumentError, InvalidStateError, ShapeError, TypeError as TesseraTypeError } from "./errors.ts";
import type { Port } from "./request.ts";
import type { Tensor } from "./tensor.ts";

const formatShape = (shape: readonly (number | string)[]) => `[${shape.join(",")}]`;

/** The same checks, and messages, as the native side makes before a run; here they fail early. */
export function checkTensor(t: Tensor, port: Port, role: string): void {
  if (port.dtype !== null && t.dtype !== port.dtype) {
    throw new TesseraTypeError(`${role} '${port.name}' must be ${port.dtype}, not ${t.dtype}`);
  }
  const shape = port.shape;
  if (shape === null) return;
  const fits = shape.length === t.shape.length && shape.every((d, i) => typeof d !== "number" || d === t.shape[i]);
  if (!fits) throw new ShapeError(`${role} '${port.name}' must have shape ${formatShape(shape)}, not ${formatShape(t.shape)}`);
}

/** A TypedArray that can stand for the port's tensor: right element type and exact size. */
export function checkArray(value: unknown, port: Port, role: string): TypedArray {
  if (!ArrayBuffer.isView(value) || value instanceof DataView) {
    const what = Array.isArray(value) ? "a plain array" : value === null ? "null" : typeof value;
    throw new InvalidArgumentError(`${role} '${port.name}' must be a Tensor or a TypedArray (contiguous elements), not ${what}`);
  }
  const array = value as TypedArray;
  const dtype = port.dtype;
  if (dtype === null || dtype === "string") {
    throw new TesseraTypeError(`${role} '${port.name}' is ${dtype ?? "of unknown type"}: pass a Tensor`);
  }
  if (!canStore(array, dtype)) {
    const storage = dtypeInfo(dtype).storage?.name ?? "Tensor";
    throw new TesseraTypeError(`${role} '${port.name}' must be ${dtype} (a ${storage}), not a ${array.constructor.name}`);
  }
  const shape = port.shape;
  if (shape === null || shape.some((d) => typeof d !== "number")) {
    throw new ShapeError(`${role} '${port.name}' has shape ${shape ? formatShape(shape) : "of unknown rank"}: a TypedArray cannot say which, so pass a Tensor (rt.tensor(array, { shape, copy: false }))`);
  }
  const count = (shape as number[]).reduce((a, b) => a * b, 1);
  const bytes = Math.ceil((count * dtypeInfo(dtype).bits) / 8);
  if (array.byteLength !== bytes) {
    // A detached array reads as 0 bytes; say what happened rather than "too small".
    if ((array.buffer as ArrayBuffer).detached) {
      throw new InvalidStateError(`${role} '${port.name}': its ArrayBuffer was detached (by transfer() or postMessage), so its memory is gone`);
    }
    const which = array.byteLength < bytes ? "too small" : "too large";
    throw new InvalidArgumentError(`buffer ${which} for ${role} '${port.name}': shape ${formatShape(shape)} of ${dtype} needs ${bytes} bytes, the ${array.constructor.name} has ${array.byteLength}`);
  }
  return array;
}
