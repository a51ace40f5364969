/** The package versions the examples fetch, pinned in scripts/versions.env with the project's other pins. */
import { readFileSync } from "node:fs";

const versions = readFileSync(new URL("../../scripts/versions.env", import.meta.url), "utf8");

/** The value of `NAME=value` in scripts/versions.env. */
export function pinned(name: string): string {
  const value = versions.match(new RegExp(`^${name}=(\\S+)`, "m"))?.[1];
  if (value === undefined) throw new Error(`scripts/versions.env pins no ${name}`);
  return value;
}
