/**
 * A model repository: a folder holding `<name>.onnx` files, and Triton's layout,
 * `<name>/<version>/model.onnx` with numeric versions, each with an optional `<name>.json` of
 * batching settings (batching-config.ts). Names and versions from URLs are checked against a
 * strict pattern before they touch the filesystem, and every file is resolved through symlinks
 * and refused unless it still lies inside the repository.
 */
import { readdir, readFile, realpath, stat } from "node:fs/promises";
import { join, sep } from "node:path";
import { InvalidArgumentError, IOError } from "../errors.ts";
import { type LoadOptions, loadModel, type Model } from "../model.ts";
import { type BatchingOptions, noBatching, parseBatchingConfig } from "./batching-config.ts";
import { badRequest, HttpError, notFound } from "./http-error.ts";
import { ServedModel } from "./served-model.ts";

import { numericVersion, safeComponent } from "../oip/model-path.ts";

export type ModelState = "READY" | "UNAVAILABLE" | "LOADING";

/** A model the repository knows of: the versions on disk and the one loaded, if any. */
interface Entry {
  name: string;
  /** Version -> model file, as found on disk (a single `<name>.onnx` is version "1"). */
  files: Map<string, string>;
  loaded: Map<string, ServedModel>;
  state: ModelState;
  reason: string;
}

export interface IndexEntry {
  name: string;
  version?: string;
  state: ModelState;
  reason: string;
}

function checkName(name: string, what: string): void {
  if (!safeComponent.test(name)) throw badRequest(`'${name}' is not a valid ${what}`);
}

/** A version as the repository keys it ("003" is "3"); 400 for one that is not a number. */
function checkVersion(version: string): string {
  if (!numericVersion.test(version)) throw badRequest(`'${version}' is not a valid model version`);
  return String(Number(version));
}

export class Repository {
  readonly #entries = new Map<string, Entry>();
  #root = "";

  /** `batching`: the settings of models without a config file of their own. */
  private constructor(readonly folder: string, readonly batching: BatchingOptions) {}

  /** Opens a repository folder; `load` all: every model found is loaded, as Triton does by default. */
  static async open(folder: string, options: { load?: boolean; batching?: BatchingOptions } = {}): Promise<Repository> {
    const repository = new Repository(folder, options.batching ?? noBatching);
    try {
      repository.#root = await realpath(folder);
      if (!(await stat(repository.#root)).isDirectory()) throw new Error("not a folder");
    } catch {
      throw new IOError(`the model repository '${folder}' is not a readable folder`);
    }
    await repository.scan();
    if (options.load !== false) await Promise.all([...repository.#entries.keys()].map((name) => repository.load(name).catch(() => {})));
    return repository;
  }

  /** A model file's real path, or null when it is missing or resolves outside the repository. */
  async #inside(path: string): Promise<string | null> {
    try {
      const real = await realpath(path);
      if (!real.startsWith(this.#root + sep)) return null;
      return (await stat(real)).isFile() ? real : null;
    } catch {
      return null;
    }
  }

  /** The versions of `name` on disk: its numbered folders' model.onnx, or `<name>.onnx` as "1". */
  async #filesOf(name: string): Promise<Map<string, string>> {
    const files = new Map<string, string>();
    const single = await this.#inside(join(this.#root, `${name}.onnx`));
    if (single !== null) files.set("1", single);
    let versions: string[] = [];
    try {
      versions = (await readdir(join(this.#root, name))).filter((v) => numericVersion.test(v));
    } catch {
      // Not a folder: a single-file model or nothing.
    }
    for (const version of versions) {
      const file = await this.#inside(join(this.#root, name, version, "model.onnx"));
      if (file !== null) files.set(String(Number(version)), file);
    }
    return files;
  }

  /** Reads the folder again: new models become known (unloaded), missing ones lose their files. */
  async scan(): Promise<void> {
    const names = new Set<string>();
    for (const item of await readdir(this.#root)) {
      const name = item.endsWith(".onnx") ? item.slice(0, -".onnx".length) : item;
      if (safeComponent.test(name)) names.add(name);
    }
    for (const name of names) {
      const files = await this.#filesOf(name);
      if (files.size === 0) continue;
      const entry = this.#entries.get(name);
      if (entry) entry.files = files;
      else this.#entries.set(name, { name, files, loaded: new Map(), state: "UNAVAILABLE", reason: "unloaded" });
    }
    for (const entry of this.#entries.values()) if (!names.has(entry.name)) entry.files = new Map();
  }

  /** A model's batching settings: its `<name>.json` over the server's defaults. */
  async #batchingOf(name: string): Promise<BatchingOptions> {
    const file = `${name}.json`;
    const path = await this.#inside(join(this.#root, file));
    if (path === null) return this.batching;
    return parseBatchingConfig(await readFile(path, "utf8"), file, this.batching);
  }

  /** The highest version on disk. */
  static #latest(files: Map<string, string>): string | undefined {
    return [...files.keys()].sort((a, b) => Number(b) - Number(a))[0];
  }

  /**
   * Loads a model's highest version, or the version asked for, with load options (checked by the
   * caller), after unloading what was loaded; 404 when not on disk. Resolves with the version.
   */
  async load(name: string, wanted: { version?: string; options?: LoadOptions } = {}): Promise<string> {
    checkName(name, "model name");
    const files = await this.#filesOf(name);
    const version = wanted.version === undefined ? Repository.#latest(files) : checkVersion(wanted.version);
    if (version === undefined || !files.has(version)) {
      throw notFound(wanted.version === undefined ? `model '${name}' is not in the repository` : `model '${name}' has no version ${version}`);
    }
    const entry = this.#entries.get(name) ?? { name, files, loaded: new Map<string, ServedModel>(), state: "UNAVAILABLE" as ModelState, reason: "" };
    entry.files = files;
    this.#entries.set(name, entry);
    let batching: BatchingOptions;
    try {
      batching = await this.#batchingOf(name);
    } catch (error) {
      // The config file's message names only the file within the repository, and says what to mend.
      entry.state = "UNAVAILABLE";
      entry.reason = error instanceof InvalidArgumentError ? error.message : `${name}.json could not be read`;
      throw new HttpError(400, `model '${name}' failed to load: ${entry.reason}`);
    }
    entry.state = "LOADING";
    try {
      const model = await loadModel(files.get(version)!, wanted.options);
      this.#unloadEntry(entry);
      entry.loaded.set(version, new ServedModel(model, batching));
      entry.state = "READY";
      entry.reason = "";
    } catch {
      // The loader's message may name the file; the client learns only that this model failed.
      entry.state = "UNAVAILABLE";
      entry.reason = "the model failed to load";
      throw new HttpError(400, `model '${name}' failed to load`);
    }
    return version;
  }

  #unloadEntry(entry: Entry): void {
    // dispose() waits natively for runs in flight, so requests already running finish first.
    for (const served of entry.loaded.values()) served.dispose();
    entry.loaded.clear();
  }

  unload(name: string): void {
    checkName(name, "model name");
    const entry = this.#entries.get(name);
    if (!entry) throw notFound(`model '${name}' is not in the repository`);
    this.#unloadEntry(entry);
    entry.state = "UNAVAILABLE";
    entry.reason = "unloaded";
  }

  /**
   * Every model known, with its state, as the repository index endpoint lists them; with `ready`,
   * only the models loaded and ready for inference (the protocol's index filter).
   */
  index({ ready = false }: { ready?: boolean } = {}): IndexEntry[] {
    const entries = [...this.#entries.values()].filter((entry) => !ready || entry.state === "READY");
    return entries.sort((a, b) => a.name.localeCompare(b.name)).map((entry) => {
      const version = [...entry.loaded.keys()][0] ?? Repository.#latest(entry.files);
      return { name: entry.name, ...(version === undefined ? {} : { version }), state: entry.state, reason: entry.reason };
    });
  }

  /**
   * A loaded model by name and optional version: 404 when the repository has no such model or
   * version, 503 when it has one that is not loaded.
   */
  model(name: string, version?: string): { model: Model; version: string; served: ServedModel } {
    checkName(name, "model name");
    const wanted = version === undefined ? undefined : checkVersion(version);
    const entry = this.#entries.get(name);
    if (!entry) throw notFound(`model '${name}' is not in the repository`);
    if (wanted !== undefined && !entry.files.has(wanted) && !entry.loaded.has(wanted)) throw notFound(`model '${name}' has no version ${wanted}`);
    const [loadedVersion, served] = [...entry.loaded].find(([v]) => wanted === undefined || v === wanted) ?? [];
    if (served === undefined || loadedVersion === undefined) throw new HttpError(503, `model '${name}'${wanted ? ` version ${wanted}` : ""} is not loaded`);
    return { model: served.model, version: loadedVersion, served };
  }

  /** Unloads every model. */
  close(): void {
    for (const entry of this.#entries.values()) this.#unloadEntry(entry);
  }
}
