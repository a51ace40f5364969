/**
 * `tessera version` (also `tessera --version`, `-V`): this package's version and the native
 * library's, with how the library was built and which file was loaded, since the two can differ
 * (TESSERA_LIBRARY, a prebuilt library, the one embedded in the single-file executable).
 */
import packageJson from "../../package.json" with { type: "json" };
import { buildInfo } from "../runtime.ts";
import { type Command, type CommandSpec, parseCommand } from "./command.ts";
import { toJson } from "./json.ts";

const spec = {
  name: "version",
  summary: "the package's and the native library's versions and build",
  description: "Prints the version of the tessera package, then the native library's: its version and C ABI version, " +
    "the Zig version and optimize mode it was built with, its target, the file it was loaded from, and the " +
    "JavaScript runtime running the command.",
  options: {
    json: { type: "boolean", help: "print the same as JSON: { package, library }" },
  },
} as const satisfies CommandSpec;

function runtimeVersion(runtime: "bun" | "deno"): string {
  const deno = (globalThis as { Deno?: { version: { deno: string } } }).Deno;
  return runtime === "bun" ? `Bun ${Bun.version}` : `Deno ${deno?.version.deno ?? "?"}`;
}

export const versionCommand: Command = {
  spec,
  run(args) {
    const { values } = parseCommand(spec, args);
    const library = buildInfo();
    if (values.json) return toJson({ package: packageJson.version, library });
    return [
      `tessera ${packageJson.version}`,
      `library ${library.version} (ABI ${library.abiVersion}), Zig ${library.zigVersion} ${library.optimize}, ${library.target}`,
      `loaded  ${library.library}`,
      `runtime ${runtimeVersion(library.runtime)}`,
    ].join("\n");
  },
};
