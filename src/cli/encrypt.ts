/** `tessera encrypt <model|folder> <out>`: writes an encrypted model container. */
import { statSync } from "node:fs";
import { encryptModel } from "../encrypt-model.ts";
import { integerOption, UsageError } from "./args.ts";
import { type Command, type CommandSpec, parseCommand } from "./command.ts";
import { passphraseEnv, passphraseFileOption, requiredPassphrase } from "./passphrase.ts";

const spec = {
  name: "encrypt",
  operands: "<model|folder> <out>",
  summary: "encrypt a model, or a model folder with its external data, into one file",
  description: "Writes an encrypted container (docs/encrypted-models.md) that `run`, `info` and loadModel open with its " +
    "passphrase: AES-256-GCM under a key derived by Argon2id from the passphrase and a random salt. A folder is packed " +
    `whole: model.onnx, its external data, tessera.json. The passphrase comes from --passphrase-file, else from the ` +
    `environment variable ${passphraseEnv}; never from the command line, where the process list would show it.`,
  options: {
    "passphrase-file": passphraseFileOption,
    "kdf-memory": { type: "string", value: "KiB", help: "Argon2id's memory (64..1048576); loading needs as much", default: "65536" },
    "kdf-iterations": { type: "string", value: "N", help: "Argon2id's passes over that memory (1..10)", default: "3" },
  },
} as const satisfies CommandSpec;

export const encryptCommand: Command = {
  spec,
  async run(args) {
    const { values, positionals } = parseCommand(spec, args);
    if (positionals.length !== 2) throw new UsageError("encrypt takes a model (or model folder) and an output file");
    const [model, out] = positionals as [string, string];
    const passphrase = requiredPassphrase(values["passphrase-file"]);
    await encryptModel(model, out, passphrase, {
      kdfMemoryKiB: integerOption(values["kdf-memory"], "--kdf-memory", 1),
      kdfIterations: integerOption(values["kdf-iterations"], "--kdf-iterations", 1),
    });
    return `encrypted ${model} into ${out} (${statSync(out).size} bytes)`;
  },
};
