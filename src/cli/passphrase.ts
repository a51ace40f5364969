/**
 * Where the commands take an encrypted model's passphrase from: a file (--passphrase-file), or
 * for `tessera encrypt` the environment variable TESSERA_PASSPHRASE. Never an argument of its
 * own, which any user of the machine could read in the process list.
 */
import { readFileSync } from "node:fs";
import { IOError } from "../errors.ts";
import type { OptionSpec } from "./command.ts";
import { UsageError } from "./args.ts";

export const passphraseEnv = "TESSERA_PASSPHRASE";

export const passphraseFileOption = {
  type: "string",
  value: "file",
  help: "the passphrase of an encrypted model: the file's text, without its final line break",
} as const satisfies OptionSpec;

/** The file's passphrase; undefined when no file is given. */
export function passphraseFromFile(file: string | undefined): string | undefined {
  if (file === undefined) return undefined;
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (error) {
    throw new IOError(`cannot read the passphrase file '${file}': ${(error as NodeJS.ErrnoException).code ?? "unreadable"}`);
  }
  const passphrase = text.replace(/\r?\n$/, "");
  if (passphrase.length === 0) throw new UsageError(`the passphrase file '${file}' is empty`);
  return passphrase;
}

/** The passphrase for `tessera encrypt`: from the file, else from TESSERA_PASSPHRASE. */
export function requiredPassphrase(file: string | undefined): string {
  const passphrase = passphraseFromFile(file) ?? process.env[passphraseEnv];
  if (!passphrase) throw new UsageError(`give the passphrase with --passphrase-file <file> or in the environment variable ${passphraseEnv}`);
  return passphrase;
}
