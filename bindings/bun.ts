/**
 * The Bun adapter: bun:ffi's dlopen, with pointers as numbers and JSCallback for callbacks.
 *
 * bun:ffi is required when the library is opened, not imported: Deno imports this module too
 * (bindings/index.ts picks the adapter without a top-level await) and cannot resolve `bun:`. A
 * top-level await here would make every module that imports Tessera asynchronous, and a Bun
 * Worker whose module is still evaluating drops the messages posted to it.
 */
import type * as BunFFI from "bun:ffi";
import { existsSync } from "node:fs";
import type { Adapter, CallbackSignature, NativeLibrary, Pointer } from "./adapter.ts";
import { jobCallbackSignature, type NativeType, symbols } from "./symbols.ts";

let loaded: typeof BunFFI | undefined;
function ffi(): typeof BunFFI {
  return (loaded ??= (import.meta as unknown as { require(id: string): typeof BunFFI }).require("bun:ffi"));
}

function nativeType(type: NativeType): BunFFI.FFIType {
  const { FFIType } = ffi();
  switch (type) {
    case "pointer":
    case "buffer":
    // A callback parameter is passed as its address (JSCallback.ptr), which also lets it be NULL.
    case "function":
      return FFIType.ptr;
    default:
      return FFIType[type];
  }
}

function translate(signature: CallbackSignature) {
  return { args: signature.args.map(nativeType), returns: nativeType(signature.returns) };
}

/**
 * Job completion in Bun: one threadsafe JSCallback, called from native worker threads, resolves
 * the promise waiting on each job id (Bun queues the call to the JS thread, so the worker never
 * waits for JS). A threadsafe callback does not keep Bun alive, so a ref'd timer is held while
 * any job is awaited, and dropped when none is. Jobs are not polled here, as they are in Deno
 * (job-poller.ts): with the workers spinning for the next job, Bun's callback wakes the JS thread
 * as soon as a turn of polling would (bench/async-latency.ts measured the same p50 either way),
 * and polling would spend a core on the JS thread for nothing.
 */
function jobWaiter(call: NativeLibrary["call"]) {
  const { JSCallback } = ffi();
  const waiting = new Map<number, () => void>();
  let keepAlive: ReturnType<typeof setInterval> | undefined;
  let closing: (() => void) | null = null;
  const settle = (id: number) => {
    const resolve = waiting.get(id);
    if (!resolve) return;
    waiting.delete(id);
    resolve();
    if (waiting.size > 0) return;
    if (keepAlive !== undefined) clearInterval(keepAlive);
    keepAlive = undefined;
    closing?.();
  };
  const callback = new JSCallback((id: number) => settle(id), { ...translate(jobCallbackSignature), threadsafe: true });
  call.tsr_jobs_set_callback(callback.ptr, null);
  const done = new Uint32Array(1);
  return {
    awaitJob(job: Pointer, id: number): Promise<void> {
      return new Promise<void>((resolve) => {
        waiting.set(id, resolve);
        keepAlive ??= setInterval(() => {}, 1 << 30);
        // The job may have finished before it was registered here; then no callback is coming.
        if (call.tsr_job_wait(job, 0, done) === 0 && done[0] === 1) settle(id);
      });
    },
    /** Closes once no job is awaited: closing earlier would leave those promises hanging. */
    close(then: () => void) {
      closing = () => {
        closing = null;
        call.tsr_jobs_set_callback(null, null); // waits for a callback in progress
        callback.close();
        then();
      };
      if (waiting.size === 0) closing();
    },
  };
}

function open(path: string): NativeLibrary {
  const { CString, dlopen, JSCallback, toArrayBuffer } = ffi();
  const definitions = Object.fromEntries(
    Object.entries(symbols).map(([name, signature]) => [name, translate(signature)]),
  );
  const library = dlopen(path, definitions);
  const call = library.symbols as unknown as NativeLibrary["call"];
  let jobs: ReturnType<typeof jobWaiter> | undefined;
  return {
    runtime: "bun",
    path,
    call,
    pointerAt: (slots, index = 0) => {
      const address = slots[index];
      return address === 0n ? null : Number(address);
    },
    address: (pointer) => (pointer === null ? 0n : BigInt(pointer as number)),
    pointerFromAddress: (address) => (address === 0n ? null : Number(address)),
    cstring: (pointer) => (pointer === null ? "" : new CString(pointer as number).toString()),
    copyBytes: (pointer, length) => {
      if (pointer === null || length === 0) return new Uint8Array(length);
      return new Uint8Array(toArrayBuffer(pointer as number, 0, length)).slice();
    },
    callback: (signature, fn, options) => {
      const callback = new JSCallback(fn, { ...translate(signature), threadsafe: options.threadsafe });
      return { pointer: callback.ptr as Pointer, close: () => callback.close() };
    },
    awaitJob: (job, id) => (jobs ??= jobWaiter(call)).awaitJob(job, id), // no polling: see jobWaiter
    close: () => {
      if (jobs) jobs.close(() => library.close());
      else library.close();
    },
  };
}

/** A musl build of Bun reports no glibc version. */
function isMusl(): boolean {
  if (process.platform !== "linux") return false;
  const report = (process as { report?: { getReport?(): { header?: { glibcVersionRuntime?: string } } } }).report;
  return report?.getReport !== undefined && !report.getReport().header?.glibcVersionRuntime;
}

export const adapter: Adapter = {
  open,
  env: (name) => process.env[name],
  exists: existsSync,
  platform: () => ({ os: process.platform, arch: process.arch, musl: isMusl() }),
};
