/**
 * Puts the library embedded in a single-file executable (`bun build --compile`) where dlopen can
 * reach it. The `tessera` executable and a user's compiled program (through
 * `import "tessera/embedded/<platform>"`) both come here.
 *
 * Bun can extract an embedded file by itself, but only into $TMPDIR, which is often mounted
 * noexec, and dlopen fails there. So the bytes go into a cache folder named by their SHA-256,
 * tried in order: $XDG_CACHE_HOME/tessera, $HOME/.cache/tessera, then a folder next to the
 * executable. A folder that cannot be written, or where the written library cannot be opened
 * (noexec), is skipped for the next one.
 */
import { dlopen, FFIType } from "bun:ffi";
import { createHash, randomBytes } from "node:crypto";
import { chmodSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { isEmbeddedPath, libraryFileName, useLibrary } from "../bindings/location.ts";

/** No cache folder could take the library; the message lists each folder and why. */
export class LibraryExtractionError extends Error {
  override name = "LibraryExtractionError";
}

/** The cache roots to try, best first; a variable that is unset or empty is skipped. */
export function cacheRoots(env: Record<string, string | undefined>, executablePath: string): string[] {
  const roots: string[] = [];
  if (env.XDG_CACHE_HOME) roots.push(join(env.XDG_CACHE_HOME, "tessera"));
  if (env.HOME) roots.push(join(env.HOME, ".cache", "tessera"));
  roots.push(join(dirname(executablePath), ".tessera-cache"));
  return roots;
}

/** The name of the folder holding these bytes: a prefix of their SHA-256, enough to tell builds apart. */
export function contentFolderName(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex").slice(0, 16);
}

/** The file's bytes, or null when it is missing or unreadable. */
function readIfPresent(path: string): Buffer | null {
  try {
    return readFileSync(path);
  } catch {
    return null;
  }
}

/**
 * Writes the bytes to a private temporary file in the target's folder, then renames it over the
 * target: rename is atomic within a folder, so a process starting at the same time sees either no
 * file or a whole one, and a process that already mapped an older (corrupt) file keeps its copy.
 */
function writeAtomically(path: string, bytes: Uint8Array): void {
  const temporary = `${path}.${process.pid}-${randomBytes(6).toString("hex")}.tmp`;
  try {
    writeFileSync(temporary, bytes, { mode: 0o755 });
    chmodSync(temporary, 0o755); // the umask may have taken bits away
    renameSync(temporary, path);
  } catch (error) {
    rmSync(temporary, { force: true });
    throw error;
  }
}

/**
 * Opens the library once to prove dlopen accepts it from this folder (a noexec mount refuses it).
 * The handle stays open on purpose: the bindings open the same path next, and dlopen then hands
 * back this already loaded copy instead of mapping the file again.
 */
function proveLoadable(path: string): void {
  dlopen(path, { tsr_abi_version: { args: [], returns: FFIType.u32 } });
}

/**
 * Returns the path of a loadable copy of `bytes` under the first usable cache root, writing it
 * there unless an identical file is already in place (a truncated or altered file is replaced).
 */
export function extractLibrary(bytes: Uint8Array, roots: string[], fileName: string): string {
  const folder = contentFolderName(bytes);
  const failures: string[] = [];
  for (const root of roots) {
    const path = join(root, folder, fileName);
    try {
      const existing = readIfPresent(path);
      // Equal bytes mean an equal hash, and comparing them costs less than hashing the file again.
      if (!existing?.equals(bytes)) {
        mkdirSync(dirname(path), { recursive: true });
        writeAtomically(path, bytes);
      }
      proveLoadable(path);
      return path;
    } catch (error) {
      failures.push(`${root}: ${(error as Error).message.replace(/\s+/g, " ")}`);
    }
  }
  throw new LibraryExtractionError(`cannot extract the Tessera library (${failures.join("; ")})`);
}

/**
 * Makes the library a compiled program embeds (`import library from "…" with { type: "file" }`)
 * the one Tessera opens: outside an executable, the file itself; inside one, a copy extracted to
 * the cache. Must run before Tessera's API is first imported; the embedded library then wins over
 * $TESSERA_LIBRARY, since these bindings were built with it.
 */
export function useEmbeddedLibrary(embedded: string): string {
  const path = isEmbeddedPath(embedded)
    ? extractLibrary(readFileSync(embedded), cacheRoots(process.env, process.execPath), libraryFileName(process.platform))
    : embedded;
  useLibrary(path);
  return path;
}
