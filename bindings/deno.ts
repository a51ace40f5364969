/**
 * The Deno adapter: Deno.dlopen, with pointers as pointer objects. Needs --allow-ffi (unscoped
 * when callbacks are used). Threadsafe callbacks block the native thread until JS has run them,
 * so they are only for events that start on the native side.
 */
import type { Adapter, CallbackSignature, NativeLibrary, Pointer } from "./adapter.ts";
import { jobPoller } from "./job-poller.ts";
import { LibraryLoadError } from "./location.ts";
import { type NativeType, symbols } from "./symbols.ts";

// deno-lint-ignore no-explicit-any
const Deno = (globalThis as any).Deno;

const types: Record<NativeType, string> = {
  i32: "i32",
  u32: "u32",
  i64: "i64",
  u64: "u64",
  f32: "f32",
  f64: "f64",
  void: "void",
  pointer: "pointer",
  buffer: "buffer",
  function: "function",
};

function translate(signature: CallbackSignature) {
  return { parameters: signature.args.map((t) => types[t]), result: types[signature.returns] };
}

function open(path: string): NativeLibrary {
  // Deno lets --allow-ffi=<path> open the library, but reading what it returns (a C string, an
  // output buffer) through UnsafePointerView needs the permission without a path; checked here so
  // that the first such read does not fail deep inside a call.
  if (Deno.permissions.querySync({ name: "ffi" }).state !== "granted") {
    throw new LibraryLoadError(
      "Tessera needs Deno's --allow-ffi without a path: --allow-ffi=<path> lets a library be opened, " +
        "but not the strings and buffers it returns be read",
    );
  }
  const definitions: Record<string, unknown> = Object.fromEntries(
    Object.entries(symbols).map(([name, signature]) => [name, translate(signature)]),
  );
  // Waiting runs on a Deno worker thread and returns a Promise: no callback into JS is needed,
  // which avoids threadsafe callbacks and their shutdown hazards in Deno.
  definitions.tsr_job_wait_nonblocking = { ...translate(symbols.tsr_job_wait), name: "tsr_job_wait", nonblocking: true };
  const library = Deno.dlopen(path, definitions);
  // Closing the library while a nonblocking wait runs on a Deno thread would unmap code under
  // it, so close() waits for the last one.
  let waits = 0;
  let closeRequested = false;
  // A short job is polled first: the nonblocking wait's hop through a Deno thread and back wakes
  // the JS thread later than a turn of its event loop notices the end (job-poller.ts).
  const polling = new Uint32Array(1);
  const poller = jobPoller((job) => library.symbols.tsr_job_wait(job, 0n, polling) === 0 && polling[0] === 1);
  const polled = (job: Pointer, pollUs: number) =>
    new Promise<boolean>((resolve) => poller.watch(job, pollUs, () => resolve(true), () => resolve(false)));
  return {
    runtime: "deno",
    path,
    call: library.symbols,
    pointerAt: (slots, index = 0) => Deno.UnsafePointer.create(slots[index]),
    address: (pointer) => (pointer === null ? 0n : BigInt(Deno.UnsafePointer.value(pointer))),
    pointerFromAddress: (address) => Deno.UnsafePointer.create(address),
    cstring: (pointer) => (pointer === null ? "" : Deno.UnsafePointerView.getCString(pointer)),
    copyBytes: (pointer, length) => {
      if (pointer === null || length === 0) return new Uint8Array(length);
      return new Uint8Array(Deno.UnsafePointerView.getArrayBuffer(pointer, length)).slice();
    },
    callback: (signature, fn, options) => {
      const definition = translate(signature);
      const callback = options.threadsafe
        ? Deno.UnsafeCallback.threadSafe(definition, fn)
        : new Deno.UnsafeCallback(definition, fn);
      // A log or event callback must not keep the process alive on its own.
      if (options.threadsafe) callback.unref();
      return { pointer: callback.pointer as Pointer, close: () => callback.close() };
    },
    awaitJob: async (job, _id, pollUs = 0) => {
      const done = new Uint32Array(1);
      waits++;
      try {
        if (pollUs > 0 && await polled(job, pollUs)) return;
        await library.symbols.tsr_job_wait_nonblocking(job, -1n, done);
      } finally {
        if (--waits === 0 && closeRequested) library.close();
      }
    },
    close: () => {
      closeRequested = true;
      if (waits === 0) library.close();
    },
  };
}

/** Deno's own message names the permission to grant; it is kept, after what Tessera needed. */
function denied(what: string, error: unknown): never {
  throw new LibraryLoadError(`Tessera needs to ${what}: ${(error as Error).message}`, { cause: error });
}

const arches: Record<string, string> = { x86_64: "x64", aarch64: "arm64" };

export const adapter: Adapter = {
  open,
  env: (name) => {
    try {
      return Deno.env.get(name);
    } catch (error) {
      denied(`read the environment variable ${name}`, error);
    }
  },
  exists: (path) => {
    try {
      Deno.statSync(path);
      return true;
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) return false;
      denied(`look for its library at ${path}`, error);
    }
  },
  platform: () => ({
    os: Deno.build.os === "windows" ? "win32" : Deno.build.os,
    arch: arches[Deno.build.arch] ?? Deno.build.arch,
    musl: Deno.build.env === "musl",
  }),
};
