/**
 * Encrypted model containers (docs/encrypted-models.md) through the real library: a suite model
 * and a model folder with external data encrypted, loaded with the passphrase and run bit-equal
 * to the plain model; wrong passphrases, flipped bits, truncations and missing passphrases all
 * refused with their one message, which never holds the passphrase; the CLI and a C program.
 */
import { describe, expect, test } from "bun:test";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import * as rt from "../src/index.ts";
import { cliEntry, tessera } from "./support/cli.ts";
import { addRelu, externalFolder } from "./support/models.ts";
import { bunBinary, repo, scratchDir } from "./support/paths.ts";

const suite = process.env.TESSERA_ONNX_SUITE ?? join(repo, ".cache/onnx-backend");
const squeezenet = join(suite, "light/test_squeezenet/model.onnx");
const dir = scratchDir("tessera-encrypted-");
const passphrase = "correct horse battery staple";
/** The cheapest costs a container may ask for: the tests' loads stay fast in a Debug build. */
const cheap = { kdfMemoryKiB: 64, kdfIterations: 1 };
const cannotDecrypt = "cannot decrypt the model: wrong passphrase or damaged file";

/** Random but reproducible input for each of the model's inputs. */
function inputsFor(model: rt.Model): Record<string, rt.Tensor> {
  let state = 12345;
  const next = () => (state = (state * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  return Object.fromEntries(model.inputNames.map((name) => {
    const shape = model.getTensor(name).shape!.map((d) => (typeof d === "number" ? d : 1));
    const data = Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, next);
    return [name, rt.tensor(data, { shape })];
  }));
}

async function outputsOf(source: rt.ModelSource, options: rt.LoadOptions = {}): Promise<Record<string, Uint8Array>> {
  using model = await rt.loadModel(source, options);
  const outputs = await model.run(inputsFor(model));
  return Object.fromEntries(Object.entries(outputs).map(([name, t]) => {
    const data = (t as rt.Tensor).toTypedArray();
    return [name, new Uint8Array(data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength))];
  }));
}

/** The error a load throws, checked to be a ContainerError without the passphrase in it. */
async function loadError(source: rt.ModelSource, options: rt.LoadOptions): Promise<Error> {
  const error = await rt.loadModel(source, options).then(() => null, (e: Error) => e);
  expect(error).toBeInstanceOf(rt.ContainerError);
  expect(error!.message).not.toContain(passphrase);
  if (options.passphrase) expect(error!.message).not.toContain(options.passphrase);
  return error!;
}

const sealedSqueezenet = join(dir, "squeezenet.tsrc");
await rt.encryptModel(squeezenet, sealedSqueezenet, passphrase, cheap);

describe("encrypted models load and run as the plain model does", () => {
  test("a suite model, from its path and from its bytes: outputs bit-equal", async () => {
    const plain = await outputsOf(squeezenet);
    expect(await outputsOf(sealedSqueezenet, { passphrase })).toEqual(plain);
    expect(await outputsOf(readFileSync(sealedSqueezenet), { passphrase })).toEqual(plain);
    using sync = rt.loadModelSync(sealedSqueezenet, { passphrase });
    expect(sync.outputNames.length).toBeGreaterThan(0);
  });

  test("the container is not the model in the clear, and two encryptions differ", async () => {
    const again = join(dir, "again.tsrc");
    await rt.encryptModel(squeezenet, again, passphrase, cheap);
    const [first, second, model] = [sealedSqueezenet, again, squeezenet].map((p) => readFileSync(p)) as [Buffer, Buffer, Buffer];
    expect(first.subarray(0, 8).toString()).toBe("TSRCRYPT");
    expect(first.equals(second!)).toBe(false);
    // A stretch of the model's own bytes is nowhere in the container.
    expect(first.indexOf(model!.subarray(1000, 1064))).toBe(-1);
  });

  test("a model folder with external data and tessera.json, and model bytes", async () => {
    const folder = externalFolder({ metadata: { sealed: "yes" } });
    const sealed = join(dir, "folder.tsrc");
    await rt.encryptModel(folder, sealed, passphrase, cheap);
    expect(await outputsOf(sealed, { passphrase })).toEqual(await outputsOf(folder));
    using model = await rt.loadModel(sealed, { passphrase });
    expect(model.metadata.sealed).toBe("yes");
    const fromBytes = join(dir, "bytes.tsrc");
    await rt.encryptModel(addRelu(), fromBytes, passphrase, cheap);
    expect(await outputsOf(fromBytes, { passphrase })).toEqual(await outputsOf(addRelu()));
  });

  test("the default Argon2id costs (64 MiB, 3 passes) round-trip", async () => {
    const sealed = join(dir, "default-costs.tsrc");
    await rt.encryptModel(addRelu(), sealed, passphrase);
    const header = readFileSync(sealed);
    expect([header.readUInt32LE(12), header.readUInt32LE(16), header.readUInt32LE(20)]).toEqual([65536, 3, 1]);
    using model = await rt.loadModel(sealed, { passphrase });
    expect(model.inputNames).toEqual(["x"]);
  }, 120_000);

  test("reshape() of an encrypted model loads it again with its passphrase", async () => {
    const sealed = join(dir, "reshape.tsrc");
    await rt.encryptModel(addRelu(), sealed, passphrase, cheap);
    using model = await rt.loadModel(sealed, { passphrase });
    using reshaped = model.reshape({ x: [7, 4] });
    expect(reshaped.getTensor("y").shape).toEqual([7, 4]);
  });
});

describe("every failure is one clear ContainerError", () => {
  const bytes = readFileSync(sealedSqueezenet);

  test("a wrong passphrase", async () => {
    const error = await loadError(sealedSqueezenet, { passphrase: "Correct horse battery staple" });
    expect(error.message).toBe(cannotDecrypt);
  });

  test("a bit flipped in the magic, version, costs, salt, nonce, length, body or tag", async () => {
    const offsets = [0, 7, 8, 10, 11, 13, 17, 21, 24, 39, 40, 51, 52, 59, 60, 61, 4000, bytes.length - 17, bytes.length - 16, bytes.length - 1];
    for (const offset of offsets) {
      for (const bit of [0, 7]) {
        const damaged = Uint8Array.from(bytes);
        damaged[offset]! ^= 1 << bit;
        const error = await loadError(damaged, { passphrase });
        expect({ offset, bit, message: error.message }).toEqual({ offset, bit, message: cannotDecrypt });
      }
    }
  });

  test("a truncated or extended file", async () => {
    for (const length of [8, 59, 60, 75, 76, bytes.length - 16, bytes.length - 1]) {
      const error = await loadError(bytes.subarray(0, length), { passphrase });
      expect({ length, message: error.message }).toEqual({ length, message: cannotDecrypt });
    }
    const longer = Buffer.concat([bytes, Buffer.from([0])]);
    expect((await loadError(longer, { passphrase })).message).toBe(cannotDecrypt);
  });

  test("a header asking for 100 GB of memory or a million passes is refused as damaged", async () => {
    for (const [offset, value] of [[12, 100 * 1024 * 1024], [16, 1_000_000]] as const) {
      const hostile = Uint8Array.from(bytes);
      new DataView(hostile.buffer).setUint32(offset, value, true);
      expect((await loadError(hostile, { passphrase })).message).toBe(cannotDecrypt);
    }
  });

  test("no passphrase for a container, and a passphrase for a plain model", async () => {
    expect((await loadError(sealedSqueezenet, {})).message).toBe("the model is encrypted: give its passphrase");
    expect(() => rt.loadModelSync(sealedSqueezenet)).toThrow("the model is encrypted: give its passphrase");
    expect((await loadError(squeezenet, { passphrase })).message).toBe("a passphrase was given, but the model is not encrypted");
  });

  test("empty passphrases are InvalidArgumentError; the passphrase cannot be read back", async () => {
    expect(() => rt.loadModelSync(sealedSqueezenet, { passphrase: "" })).toThrow(rt.InvalidArgumentError);
    await expect(rt.encryptModel(squeezenet, join(dir, "x.tsrc"), "")).rejects.toThrow(rt.InvalidArgumentError);
    using model = rt.loadModelSync(sealedSqueezenet, { passphrase });
    let error: Error | null = null;
    try {
      model.getOption("passphrase");
    } catch (e) {
      error = e as Error;
    }
    expect(error).toBeInstanceOf(rt.InvalidArgumentError);
    expect(error!.message).not.toContain(passphrase);
  });

  test("encrypting bad input: a missing model, an already encrypted one, hostile costs", async () => {
    await expect(rt.encryptModel(join(dir, "missing.onnx"), join(dir, "y.tsrc"), passphrase)).rejects.toThrow(rt.IOError);
    await expect(rt.encryptModel(sealedSqueezenet, join(dir, "y.tsrc"), passphrase, cheap)).rejects.toThrow("the model is already encrypted");
    await expect(rt.encryptModel(squeezenet, join(dir, "y.tsrc"), passphrase, { kdfMemoryKiB: 1 << 30 })).rejects.toThrow(rt.InvalidArgumentError);
    await expect(rt.encryptModel(squeezenet, join(dir, "y.tsrc"), passphrase, { kdfIterations: 0.5 })).rejects.toThrow(rt.InvalidArgumentError);
  });
});

describe("the command line", () => {
  const secretFile = join(dir, "secret.txt");
  writeFileSync(secretFile, `${passphrase}\n`);

  test("tessera encrypt, then run and info with --passphrase-file", () => {
    const sealed = join(dir, "cli.tsrc");
    const encrypted = tessera("encrypt", squeezenet, sealed, "--passphrase-file", secretFile, "--kdf-memory", "64", "--kdf-iterations", "1");
    expect(encrypted.err).toBe("");
    expect(encrypted.out).toContain(`into ${sealed}`);
    const plain = tessera("run", squeezenet, "--json");
    const run = tessera("run", sealed, "--passphrase-file", secretFile, "--json");
    expect(run.code).toBe(0);
    expect(JSON.parse(run.out).outputs).toEqual(JSON.parse(plain.out).outputs);
    const info = tessera("info", sealed, "--passphrase-file", secretFile, "--json");
    expect(JSON.parse(info.out)).toEqual(JSON.parse(tessera("info", squeezenet, "--json").out));
  });

  test("without a passphrase, or with a wrong one: one line, no passphrase in it", () => {
    const wrongFile = join(dir, "wrong.txt");
    writeFileSync(wrongFile, "not it");
    const wrong = tessera("run", sealedSqueezenet, "--passphrase-file", wrongFile);
    expect({ code: wrong.code, err: wrong.err }).toEqual({ code: 1, err: `tessera: ${cannotDecrypt}\n` });
    const none = tessera("run", sealedSqueezenet);
    expect({ code: none.code, err: none.err }).toEqual({ code: 1, err: "tessera: the model is encrypted: give its passphrase\n" });
    const noSecret = Bun.spawnSync([bunBinary, cliEntry, "encrypt", squeezenet, join(dir, "z.tsrc")], { env: { ...process.env, TESSERA_PASSPHRASE: "" } });
    expect(noSecret.exitCode).toBe(2);
    expect(noSecret.stderr.toString()).toContain("TESSERA_PASSPHRASE");
  });

  test("TESSERA_PASSPHRASE gives encrypt its passphrase", () => {
    const sealed = join(dir, "env.tsrc");
    const result = Bun.spawnSync([bunBinary, cliEntry, "encrypt", squeezenet, sealed, "--kdf-memory", "64", "--kdf-iterations", "1"], {
      env: { ...process.env, TESSERA_PASSPHRASE: passphrase },
    });
    expect(result.stderr.toString()).toBe("");
    expect(tessera("info", sealed, "--passphrase-file", secretFile).code).toBe(0);
  });
});
