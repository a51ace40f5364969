/**
 * The opened native library, plus the small helpers every TS object uses to call it: status
 * checks that throw typed errors, out-parameter slots, and C strings.
 */
import { LibraryLoadError, openLibrary, type NativeLibrary, type Pointer } from "../bindings/index.ts";
import { ExtensionError, errorFromStatus } from "./errors.ts";

export type { NativeLibrary, Pointer };

function load(): NativeLibrary {
  try {
    return openLibrary();
  } catch (error) {
    if (error instanceof LibraryLoadError) throw new ExtensionError(error.message, { cause: error });
    throw error;
  }
}

export const native: NativeLibrary = load();
export const lib = native.call;

/** Throws the typed error for a failed call, with the library's message for this thread. */
export function check(status: number): void {
  if (status === 0) return;
  throw errorFromStatus(status, native.cstring(lib.tsr_last_error()));
}

const encoder = new TextEncoder();

/** A NUL-terminated UTF-8 copy of `text`, to pass as a `const char *`. */
export function cString(text: string): Uint8Array {
  const bytes = encoder.encode(text);
  if (bytes.includes(0)) throw errorFromStatus(-1, "string contains a NUL character");
  const out = new Uint8Array(bytes.length + 1);
  out.set(bytes);
  return out;
}

/**
 * Out-parameter slots are reused rather than allocated per call. A call may re-enter (a log
 * callback that calls the library), so each nesting depth has its own slot.
 */
class SlotStack<T> {
  readonly #slots: T[] = [];
  #depth = 0;
  constructor(readonly make: () => T) {}

  use<R>(fn: (slot: T) => R): R {
    const slot = (this.#slots[this.#depth] ??= this.make());
    this.#depth++;
    try {
      return fn(slot);
    } finally {
      this.#depth--;
    }
  }
}

const u64Slots = new SlotStack(() => new BigUint64Array(1));
const u32Slots = new SlotStack(() => new Uint32Array(1));
const i32Slots = new SlotStack(() => new Int32Array(1));

/** Calls `fn` with a one-pointer out slot and returns the pointer native code stored there. */
export function outPointer(fn: (slot: BigUint64Array) => number): Pointer {
  return u64Slots.use((slot) => {
    check(fn(slot));
    return native.pointerAt(slot);
  });
}

/** Calls `fn` with a const char ** out slot and returns the string. */
export function outString(fn: (slot: BigUint64Array) => number): string {
  return native.cstring(outPointer(fn));
}

export function outU64(fn: (slot: BigUint64Array) => number): bigint {
  return u64Slots.use((slot) => {
    check(fn(slot));
    return slot[0]!;
  });
}

export function outU32(fn: (slot: Uint32Array) => number): number {
  return u32Slots.use((slot) => {
    check(fn(slot));
    return slot[0]!;
  });
}

export function outI32(fn: (slot: Int32Array) => number): number {
  return i32Slots.use((slot) => {
    check(fn(slot));
    return slot[0]!;
  });
}
