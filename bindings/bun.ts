/** The Bun adapter: bun:ffi's dlopen, with pointers as numbers and JSCallback for callbacks. */
import { CString, dlopen, FFIType, JSCallback, toArrayBuffer } from "bun:ffi";
import type { Adapter, CallbackSignature, NativeLibrary, Pointer } from "./adapter.ts";
import { type NativeType, symbols } from "./symbols.ts";

const types: Record<NativeType, FFIType> = {
  i32: FFIType.i32,
  u32: FFIType.u32,
  i64: FFIType.i64,
  u64: FFIType.u64,
  f32: FFIType.f32,
  f64: FFIType.f64,
  void: FFIType.void,
  pointer: FFIType.ptr,
  buffer: FFIType.ptr,
  // A callback parameter is passed as its address (JSCallback.ptr), which also lets it be NULL.
  function: FFIType.ptr,
};

function translate(signature: CallbackSignature) {
  return { args: signature.args.map((t) => types[t]), returns: types[signature.returns] };
}

function open(path: string): NativeLibrary {
  const definitions = Object.fromEntries(
    Object.entries(symbols).map(([name, signature]) => [name, translate(signature)]),
  );
  const library = dlopen(path, definitions);
  return {
    runtime: "bun",
    path,
    call: library.symbols as unknown as NativeLibrary["call"],
    pointerAt: (slots, index = 0) => {
      const address = slots[index];
      return address === 0n ? null : Number(address);
    },
    address: (pointer) => (pointer === null ? 0n : BigInt(pointer as number)),
    cstring: (pointer) => (pointer === null ? "" : new CString(pointer as number).toString()),
    copyBytes: (pointer, length) => {
      if (pointer === null || length === 0) return new Uint8Array(length);
      return new Uint8Array(toArrayBuffer(pointer as number, 0, length)).slice();
    },
    callback: (signature, fn, options) => {
      const callback = new JSCallback(fn, { ...translate(signature), threadsafe: options.threadsafe });
      return { pointer: callback.ptr as Pointer, close: () => callback.close() };
    },
    close: () => library.close(),
  };
}

export const adapter: Adapter = {
  open,
  env: (name) => process.env[name],
  os: () => process.platform === "win32" ? "windows" : process.platform,
};
