/**
 * Opens libtessera with the adapter of the runtime we are in, and checks its ABI version.
 * The library is found at $TESSERA_LIBRARY, else next to this checkout's build output.
 */
import type { Adapter, NativeLibrary } from "./adapter.ts";
import { adapter as bunAdapter } from "./bun.ts";
import { adapter as denoAdapter } from "./deno.ts";
import { ABI_VERSION } from "./symbols.ts";

export type { NativeLibrary, Pointer } from "./adapter.ts";

const isBun = typeof (globalThis as { Bun?: unknown }).Bun !== "undefined";
export const adapter: Adapter = isBun ? bunAdapter : denoAdapter;

const libraryFile: Record<string, string> = {
  linux: "libtessera.so",
  darwin: "libtessera.dylib",
  windows: "tessera.dll",
};

export function defaultLibraryPath(): string {
  const explicit = adapter.env("TESSERA_LIBRARY");
  if (explicit) return explicit;
  const file = libraryFile[adapter.os()] ?? "libtessera.so";
  const folder = adapter.os() === "windows" ? "bin" : "lib";
  return decodeURIComponent(new URL(`../libruntime/zig-out/${folder}/${file}`, import.meta.url).pathname);
}

/** Thrown when the library cannot be opened or speaks another ABI version. */
export class LibraryLoadError extends Error {
  override name = "LibraryLoadError";
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
    throw new LibraryLoadError(
      `cannot load the Tessera library at ${path}: ${(cause as Error).message}. ` +
        "Build it with scripts/build, or point TESSERA_LIBRARY at it.",
      { cause },
    );
  }
  const actual = library.call.tsr_abi_version() as number;
  if (actual !== expectedAbi) {
    library.close();
    throw new LibraryLoadError(
      `ABI mismatch: ${path} has ABI version ${actual}, these bindings need ${expectedAbi}. ` +
        "Rebuild the library (scripts/build) or update the bindings.",
    );
  }
  return library;
}
