/**
 * Encrypted model containers (docs/encrypted-models.md): rt.encryptModel writes one from a .onnx
 * file, a model folder (with its external data) or model bytes; rt.loadModel opens it with the
 * load option `passphrase`. The work (Argon2id, AES-256-GCM, file IO) runs on a native thread.
 */
import { InvalidArgumentError } from "./errors.ts";
import { type ModelSource, sourceBytes } from "./model.ts";
import { cString, lib, outPointer } from "./native.ts";
import { completeJob } from "./native-job.ts";

export interface EncryptOptions {
  /**
   * Argon2id's memory in KiB (default 65536, 64 MiB; 64..1048576). Loading derives the key with
   * the same cost: 0.3 to 0.5 s at the default on one core of a current CPU.
   */
  kdfMemoryKiB?: number;
  /** Argon2id's passes over that memory (default 3; 1..10). */
  kdfIterations?: number;
}

function cost(value: number | undefined, name: string): number {
  if (value === undefined) return 0; // the library's default
  if (!Number.isInteger(value) || value < 1 || value > 0xffff_ffff) {
    throw new InvalidArgumentError(`encryption option ${name} must be a positive integer, not ${String(value)}`);
  }
  return value;
}

/**
 * Encrypts a model into a container at `out`: `source` is a .onnx path, a model folder (every
 * file under it is packed: model.onnx, external data, tessera.json) or a model's bytes.
 */
export async function encryptModel(source: ModelSource, out: string, passphrase: string, options: EncryptOptions = {}): Promise<void> {
  // The passphrase's value is never part of a message.
  if (typeof passphrase !== "string" || passphrase.length === 0) throw new InvalidArgumentError("the passphrase must be a non-empty string");
  if (typeof out !== "string" || out.length === 0) throw new InvalidArgumentError("the output path must be a non-empty string");
  const memory = cost(options.kdfMemoryKiB, "kdfMemoryKiB");
  const iterations = cost(options.kdfIterations, "kdfIterations");
  const secret = cString(passphrase);
  try {
    const job = outPointer((slot) => {
      if (typeof source === "string") {
        return lib.tsr_model_encrypt_async(cString(source), null, 0, secret, memory, iterations, cString(out), slot);
      }
      const bytes = sourceBytes(source);
      return lib.tsr_model_encrypt_async(null, bytes.length ? bytes : null, bytes.length, secret, memory, iterations, cString(out), slot);
    });
    await completeJob(job, () => undefined);
  } finally {
    secret.fill(0); // the library copied it
  }
}
