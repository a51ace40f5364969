/** Runs the `tessera` command as a subprocess, as a user would, and captures what it printed. */
import { join } from "node:path";
import { bunBinary, repo } from "./paths.ts";

export const cliEntry = join(repo, "src/cli/main.ts");

export function tessera(...args: string[]) {
  const result = Bun.spawnSync([bunBinary, cliEntry, ...args]);
  return { code: result.exitCode, out: result.stdout.toString(), err: result.stderr.toString() };
}
