/** Paths the tests share: the repository root, the header, the library, and a scratch folder. */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export const repo = new URL("../../", import.meta.url).pathname;
export const headerPath = join(repo, "libruntime/include/tessera.h");
export const libraryPath = join(repo, "libruntime/zig-out/lib/libtessera.so");
export const bunBinary = join(repo, "node_modules/.bin/bun");
export const zigScript = join(repo, "scripts/zig");

export function scratchDir(prefix = "tessera-test-"): string {
  return mkdtempSync(join(tmpdir(), prefix));
}
