/** The single-file `tessera` executable (scripts/build-exe), built once and reused while fresh. */
import { existsSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { libraryPath, repo } from "./paths.ts";

export const builtExecutable = join(repo, "out/tessera");

/** The newest modification time among the files the executable is built from. */
function newestInput(): number {
  let newest = 0;
  const visit = (path: string) => {
    const stat = statSync(path);
    if (stat.isDirectory()) for (const entry of readdirSync(path)) visit(join(path, entry));
    else if (stat.mtimeMs > newest) newest = stat.mtimeMs;
  };
  for (const input of ["src", "bindings", "scripts/build-exe", "package.json"]) visit(join(repo, input));
  if (existsSync(libraryPath)) visit(libraryPath);
  return newest;
}

/** Builds the executable unless the one in out/ is newer than everything it is made from. */
export function buildExecutable(): void {
  if (existsSync(builtExecutable) && existsSync(libraryPath) && statSync(builtExecutable).mtimeMs > newestInput()) return;
  const result = Bun.spawnSync([join(repo, "scripts/build-exe")], { stdout: "pipe", stderr: "pipe" });
  if (result.exitCode !== 0) throw new Error(`scripts/build-exe failed:\n${result.stderr.toString()}`);
}

