/**
 * The entry of the single-file `tessera` executable (scripts/build-exe). The library is embedded
 * in the executable and written to a cache folder named by its hash (src/embedded-library.ts);
 * only then is the command loaded, dynamically (launch.ts), because importing the API opens the
 * library.
 */
import embeddedLibrary from "../../libruntime/zig-out/lib/libtessera.so" with { type: "file" };
import { useEmbeddedLibrary } from "../embedded-library.ts";
import { launch } from "./launch.ts";

try {
  useEmbeddedLibrary(embeddedLibrary);
} catch (error) {
  console.error(`tessera: ${(error as Error).message}`);
  process.exit(1);
}

process.exitCode = await launch(process.argv.slice(2));
