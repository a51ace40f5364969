/**
 * The library's lifetime as seen from TypeScript. Importing Tessera initializes the native library
 * (one reference, however often initialize() is called); finalize() disposes every object the
 * runtime still owns and then drops that reference.
 */
import { InvalidStateError } from "./errors.ts";
import { Owner } from "./handle.ts";
import { check, lib, outString } from "./native.ts";
import { ABI_VERSION } from "../bindings/symbols.ts";
import { native } from "./native.ts";

/** Owns every top-level handle (tensors now; models later), so finalize() can release them. */
export const root = new Owner();

let holdsReference = false;

/** Runs started by infer() whose end JS has not processed yet (native code may be using them). */
export const activity = { runs: 0 };

/** Initializes the native library; idempotent. Called on import. */
export function initialize(): void {
  if (holdsReference) return;
  check(lib.tsr_initialize());
  holdsReference = true;
}

/**
 * Disposes every live object, then finalizes the native library. Idempotent. Refused while
 * requests run (InvalidStateError): their inputs would be freed under them. Await them first.
 */
export function finalize(): void {
  if (!holdsReference) return;
  if (activity.runs > 0) {
    throw new InvalidStateError(`cannot finalize while ${activity.runs} request run(s) are in flight; wait for them first`);
  }
  root.releaseAll();
  check(lib.tsr_finalize());
  holdsReference = false;
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
