/**
 * The library's lifetime as seen from TypeScript. Importing Tessera initializes the native library
 * (one reference, however often initialize() is called); finalize() disposes every object the
 * runtime still owns and then drops that reference.
 */
import { InvalidStateError } from "./errors.ts";
import { Owner } from "./handle.ts";
import { check, lib, outString } from "./native.ts";
import { nativeStats } from "./stats.ts";
import { ABI_VERSION } from "../bindings/symbols.ts";
import { native } from "./native.ts";

/** Owns every top-level handle (tensors now; models later), so finalize() can release them. */
export const root = new Owner();

let holdsReference = false;

/**
 * Native work JS has started and not yet seen end: runs started by infer() (native code may be
 * using their tensors) and loadModel() jobs.
 */
export const activity = { runs: 0, loads: 0 };

/** Initializes the native library; idempotent. Called on import. */
export function initialize(): void {
  if (holdsReference) return;
  check(lib.tsr_initialize());
  holdsReference = true;
}

/**
 * Disposes every live object, then finalizes the native library. Idempotent. Refused with
 * InvalidStateError, before anything is disposed, while requests run or models load (await them
 * first), or while native tensors or models this runtime does not own are alive (made through
 * the C API directly): the library would refuse, and the user's objects would be gone for nothing.
 */
export function finalize(): void {
  if (!holdsReference) return;
  const refusal = finalizeRefusal();
  if (refusal) throw new InvalidStateError(refusal);
  root.releaseAll();
  // Still refused for what JS cannot see (a request or job made through the C API directly).
  check(lib.tsr_finalize());
  holdsReference = false;
}

/**
 * Why tsr_finalize would refuse once the runtime has released what it owns, as far as JS can
 * tell; null when it would not. The library refuses while any tensor, model, request, option set
 * or job is alive. Of this runtime's, requests are handles it releases, option sets never outlive
 * the call that made them, and jobs are the runs and loads counted in `activity`; so what remains
 * is native tensors and models beyond the handles it owns. (With another native reference held
 * the library would not check; this does anyway.)
 */
function finalizeRefusal(): string | null {
  if (activity.runs > 0) return `cannot finalize while ${activity.runs} request run(s) are in flight; wait for them first`;
  if (activity.loads > 0) return `cannot finalize while ${activity.loads} model load(s) are in flight; await them first`;
  // Models are only ever made by their owners, so the native count beyond the runtime's is made
  // through the C API directly. Tensors are not counted so: requests hold native tensors of their
  // own (results, intermediates), which releasing the requests frees.
  const models = Math.max(0, nativeStats().liveModels - root.count("Model"));
  if (models === 0) return null;
  return `cannot finalize: ${models} model(s) still alive that this runtime does not own ` +
    "(made through the C API directly); destroy them first. Nothing was disposed.";
}

export function isInitialized(): boolean {
  return lib.tsr_is_initialized() !== 0;
}

/** "major.minor.patch" of the native library. */
export const version: string = native.cstring(lib.tsr_version());

export interface BuildInfo {
  version: string;
  abiVersion: number;
  zigVersion: string;
  optimize: string;
  target: string;
  library: string;
  runtime: "bun" | "deno";
}

const buildKeys = { version: 0, zigVersion: 1, optimize: 2, target: 3 } as const;

export function buildInfo(): BuildInfo {
  const get = (key: number) => outString((slot) => lib.tsr_build_get_string(key, slot));
  return {
    version: get(buildKeys.version),
    abiVersion: ABI_VERSION,
    zigVersion: get(buildKeys.zigVersion),
    optimize: get(buildKeys.optimize),
    target: get(buildKeys.target),
    library: native.path,
    runtime: native.runtime,
  };
}

initialize();
