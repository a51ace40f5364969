/**
 * Hot updates (Model.update): the native load that shares packed weights with the model it
 * replaces, started on a worker thread.
 */
import { cString, lib, outPointer, type Pointer } from "./native.ts";
import type { ModelSource } from "./model.ts";

/** @internal Starts loading `source` with `model`'s options, sharing with it; returns the job. */
export function startUpdate(model: Pointer, source: ModelSource): Pointer {
  if (typeof source === "string") {
    return outPointer((slot) => lib.tsr_model_update_async(model, cString(source), null, 0, slot));
  }
  const bytes = source instanceof Uint8Array ? source : new Uint8Array(source);
  return outPointer((slot) => lib.tsr_model_update_async(model, null, bytes.length ? bytes : null, bytes.length, slot));
}
