/**
 * The contract each runtime adapter (bun.ts, deno.ts) fulfils. Everything above bindings/ talks
 * to the native library through this interface and never asks which runtime it is in.
 */
import type { NativeType, SymbolName } from "./symbols.ts";

/** A native address: a number in Bun, a pointer object in Deno, null for NULL. Opaque to callers. */
export type Pointer = number | bigint | object | null;

export interface CallbackSignature {
  readonly args: readonly NativeType[];
  readonly returns: NativeType;
}

export interface NativeCallback {
  readonly pointer: Pointer;
  close(): void;
}

export interface NativeLibrary {
  readonly runtime: "bun" | "deno";
  readonly path: string;
  // deno-lint-ignore no-explicit-any
  readonly call: { readonly [K in SymbolName]: (...args: any[]) => any };
  /** The pointer native code stored in `slots[index]`. */
  pointerAt(slots: BigUint64Array, index?: number): Pointer;
  /** The address of a pointer, as a bigint (0n for NULL), for storing in typed arrays. */
  address(pointer: Pointer): bigint;
  /** The pointer at an address (null for 0n): a number passed as a callback's `void *user`. */
  pointerFromAddress(address: bigint): Pointer;
  /** Reads a NUL-terminated UTF-8 string. */
  cstring(pointer: Pointer): string;
  /** Copies `length` bytes of native memory into a new Uint8Array. */
  copyBytes(pointer: Pointer, length: number): Uint8Array;
  /**
   * A function pointer that calls `fn`. Threadsafe callbacks may be invoked from native threads
   * and do not keep the process alive.
   */
  callback(
    signature: CallbackSignature,
    // deno-lint-ignore no-explicit-any
    fn: (...args: any[]) => void,
    options: { threadsafe: boolean },
  ): NativeCallback;
  /**
   * Resolves once a background job (tsr_job) has finished, without blocking the JS thread and
   * while keeping the process alive. A job expected to end soon may be polled for up to
   * `pollUs` (job-poller.ts; Deno does) before the thread sleeps on its end; 0 (the default)
   * sleeps at once.
   */
  awaitJob(job: Pointer, id: number, pollUs?: number): Promise<void>;
  close(): void;
}

import type { Platform } from "./location.ts";

export interface Adapter {
  open(path: string): NativeLibrary;
  /** An environment variable, or undefined; a runtime that denies access throws LibraryLoadError. */
  env(name: string): string | undefined;
  /** Whether a file exists; a runtime that denies access throws LibraryLoadError. */
  exists(path: string): boolean;
  /** The OS, CPU and C library, in Node's names. */
  platform(): Platform;
}
