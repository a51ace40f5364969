/**
 * The npm package under test: $TESSERA_PACKAGE (scripts/test builds every platform's package
 * once and points this at it), or else a package of this platform alone, built here once per
 * process. Also a bare environment to try it in, as on a machine with no checkout and no Zig.
 */
import { mkdirSync, realpathSync, symlinkSync } from "node:fs";
import { join } from "node:path";
import { adapter } from "../../bindings/index.ts";
import { platformKey } from "../../bindings/location.ts";
import { repo, scratchDir } from "./paths.ts";

/** This machine's platform, as the bindings see it when they choose a library. */
export const hostKey = platformKey(adapter.platform());

let built: string | undefined;

/** The tarball's path. */
export function packageTarball(): string {
  if (process.env.TESSERA_PACKAGE) return process.env.TESSERA_PACKAGE;
  if (built) return built;
  const run = Bun.spawnSync([join(repo, "scripts/package"), "--platforms", hostKey, "--out", scratchDir("tessera-package-")], { stderr: "pipe" });
  if (run.exitCode !== 0) throw new Error(`scripts/package failed: ${run.stderr.toString()}`);
  built = run.stdout.toString().trim().split("\n").at(-1)!;
  return built;
}

/** The tarball unpacked: the folder holding package.json. */
export function unpackedPackage(): string {
  const dir = scratchDir("tessera-unpacked-");
  const run = Bun.spawnSync(["tar", "-xzf", packageTarball(), "-C", dir]);
  if (run.exitCode !== 0) throw new Error(`tar failed: ${run.stderr.toString()}`);
  return join(dir, "package");
}

/**
 * A folder of commands holding only Bun (also as bunx) and Deno, for a PATH with no Zig, Python
 * or checkout scripts on it; with /usr/bin and /bin after it, as on any machine.
 */
export function bareEnvironment(): { PATH: string; HOME: string } {
  const home = scratchDir("tessera-home-");
  const bin = join(home, "bin");
  mkdirSync(bin);
  const bun = realpathSync(join(repo, "node_modules/.bin/bun"));
  symlinkSync(bun, join(bin, "bun"));
  symlinkSync(bun, join(bin, "bunx"));
  symlinkSync(realpathSync(join(repo, "node_modules/.bin/deno")), join(bin, "deno"));
  return { PATH: `${bin}:/usr/bin:/bin`, HOME: home };
}
