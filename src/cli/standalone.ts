/**
 * The entry of the single-file `tessera` executable (scripts/build-exe). The library is embedded
 * in the executable; it is written to a cache folder named by its hash, TESSERA_LIBRARY is pointed
 * at that copy, and only then is the command loaded: the bindings read TESSERA_LIBRARY when they
 * are first imported, so main.ts must be imported after it is set, dynamically (launch.ts).
 *
 * The embedded library always wins over a TESSERA_LIBRARY from outside: these bindings were built
 * against exactly that library.
 */
import { readFileSync } from "node:fs";
import embeddedLibrary from "../../libruntime/zig-out/lib/libtessera.so" with { type: "file" };
import { cacheRoots, extractLibrary } from "./embedded-library.ts";
import { launch } from "./launch.ts";

let libraryPath: string;
try {
  libraryPath = extractLibrary(readFileSync(embeddedLibrary), cacheRoots(process.env, process.execPath));
} catch (error) {
  console.error(`tessera: ${(error as Error).message}`);
  process.exit(1);
}
process.env.TESSERA_LIBRARY = libraryPath;

process.exitCode = await launch(process.argv.slice(2));
