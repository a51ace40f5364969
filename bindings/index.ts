/**
 * Opens libtessera with the adapter of the runtime we are in, and checks its ABI version.
 */
import type { Adapter, NativeLibrary } from "./adapter.ts";
import { adapter as bunAdapter } from "./bun.ts";
import { adapter as denoAdapter } from "./deno.ts";
import { LibraryLoadError, libraryPath, version } from "./location.ts";
import { ABI_VERSION } from "./symbols.ts";

export { LibraryLoadError };

export type { NativeLibrary, Pointer } from "./adapter.ts";

const isBun = typeof (globalThis as { Bun?: unknown }).Bun !== "undefined";
export const adapter: Adapter = isBun ? bunAdapter : denoAdapter;

/** The library this process opens (bindings/location.ts says in what order it is looked for). */
export function defaultLibraryPath(): string {
  return libraryPath({ platform: adapter.platform(), env: adapter.env, exists: adapter.exists });
}

/**
 * Opens the library and refuses one whose ABI differs from these bindings'.
 * `expectedAbi` exists so tests can prove the mismatch path.
 */
export function openLibrary(path = defaultLibraryPath(), expectedAbi = ABI_VERSION): NativeLibrary {
  let library: NativeLibrary;
  try {
    library = adapter.open(path);
  } catch (cause) {
    // A runtime's refusal (Deno without --allow-ffi) names the permission; nothing to add then.
    const denied = cause instanceof LibraryLoadError || (cause as Error)?.name === "NotCapable" || (cause as Error)?.name === "PermissionDenied";
    throw new LibraryLoadError(
      `cannot load the Tessera library at ${path}: ${(cause as Error).message}` +
        (denied ? "" : ". In a checkout, build it with scripts/build; or point TESSERA_LIBRARY at a library."),
      { cause },
    );
  }
  const actual = library.call.tsr_abi_version() as number;
  if (actual !== expectedAbi) {
    library.close();
    throw new LibraryLoadError(
      `ABI mismatch: ${path} has ABI version ${actual}, these bindings (tessera ${version}) need ${expectedAbi}. ` +
        "Use the library that comes with this version (unset TESSERA_LIBRARY), or rebuild it (scripts/build).",
    );
  }
  return library;
}
