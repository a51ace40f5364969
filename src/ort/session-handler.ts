/**
 * An onnxruntime-common session handler over a Tessera model: what InferenceSession.create()
 * makes and InferenceSession delegates to. onnxruntime-common has already sorted run()'s
 * arguments into feeds, fetches and options; this runs them with model.run().
 */
import type { InferenceSession, InferenceSessionHandler, SessionHandler } from "onnxruntime-common";
import { InvalidArgumentError, NotImplementedError } from "../errors.ts";
import { logging } from "../logging.ts";
import { type DimValue, loadModel, type Model } from "../model.ts";
import type { Tensor } from "../tensor.ts";
import { applyRunOptions, type SessionSettings, sessionSettings } from "./options.ts";
import { metadataOf, toOrt, toTessera } from "./values.ts";

/**
 * freeDimensionOverrides: the model loaded again with its named input dims at the given sizes
 * (the load option inputShapes), so that its graph is inferred and planned for them, as
 * onnxruntime does. A name no input dim carries is refused rather than ignored.
 */
async function fixDimensions(model: Model, source: string | Uint8Array, settings: SessionSettings): Promise<Model> {
  const sizes = settings.dimensionSizes;
  if (sizes === undefined || Object.keys(sizes).length === 0) return model;
  try {
    const named = new Set(model.inputs.flatMap((info) => (info.shape ?? []).filter((dim) => typeof dim === "string")));
    const unknown = Object.keys(sizes).find((name) => !named.has(name));
    if (unknown !== undefined) {
      const known = named.size === 0 ? "it has none" : `it has ${[...named].join(", ")}`;
      throw new InvalidArgumentError(`freeDimensionOverrides names '${unknown}', which no input dim of the model is called (${known})`);
    }
    const inputShapes: Record<string, DimValue[]> = {};
    for (const info of model.inputs) {
      if (info.shape?.some((dim) => typeof dim === "string" && dim in sizes)) {
        inputShapes[info.name] = info.shape.map((dim) => (typeof dim === "string" && dim in sizes ? sizes[dim]! : dim));
      }
    }
    return await loadModel(source, { ...settings.load, inputShapes });
  } finally {
    model.dispose();
  }
}

export class TesseraSessionHandler implements InferenceSessionHandler {
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
  readonly inputMetadata: readonly InferenceSession.ValueMetadata[];
  readonly outputMetadata: readonly InferenceSession.ValueMetadata[];
  readonly #model: Model;

  /** Loads the model (a path or its bytes) with the session's options in Tessera's terms. */
  static async create(source: string | Uint8Array, options: InferenceSession.SessionOptions): Promise<TesseraSessionHandler> {
    const settings = sessionSettings(options);
    // Before the load, so that what it logs follows the session's level.
    if (settings.logLevel !== undefined) logging.setLevel(settings.logLevel);
    const model = await fixDimensions(await loadModel(source, settings.load), source, settings);
    try {
      return new TesseraSessionHandler(model);
    } catch (error) {
      model.dispose();
      throw error;
    }
  }

  private constructor(model: Model) {
    this.#model = model;
    this.inputNames = model.inputNames;
    this.outputNames = model.outputNames;
    this.inputMetadata = model.inputs.map((info) => metadataOf(info, "input"));
    this.outputMetadata = model.outputs.map((info) => metadataOf(info, "output"));
  }

  async dispose(): Promise<void> {
    this.#model.dispose();
  }

  startProfiling(): void {
    throw profilingRefusal();
  }

  endProfiling(): void {
    throw profilingRefusal();
  }

  /**
   * Runs the feeds and returns the fetched outputs: those fetched as null are computed into new
   * tensors, those fetched as tensors are filled in place and returned as they are.
   */
  async run(
    feeds: SessionHandler.FeedsType,
    fetches: SessionHandler.FetchesType,
    options: InferenceSession.RunOptions,
  ): Promise<SessionHandler.ReturnType> {
    applyRunOptions(options);
    const names = Object.keys(fetches);
    this.#refuseNonTensors(Object.keys(feeds), this.inputMetadata, "input");
    this.#refuseNonTensors(names, this.outputMetadata, "output");
    const made: Tensor[] = []; // wrappers over the caller's data, ours to dispose
    const wrap = (value: Parameters<typeof toTessera>[0], what: string) => {
      const wrapped = toTessera(value, what);
      made.push(wrapped);
      return wrapped;
    };
    try {
      const inputs = Object.fromEntries(Object.entries(feeds).map(([name, value]) => [name, wrap(value, `input '${name}'`)]));
      const into: Record<string, Tensor> = {};
      for (const name of names) {
        const target = fetches[name];
        if (target) into[name] = wrap(target, `output '${name}'`);
      }
      const outputs = await this.#model.run<Tensor>(inputs, { outputs: names, into });
      const results: SessionHandler.ReturnType = {};
      for (const name of names) {
        const target = fetches[name];
        if (target) {
          results[name] = target; // filled in place through its wrapper
          continue;
        }
        using output = outputs[name]!; // its elements now belong to the onnxruntime tensor
        results[name] = toOrt(output);
      }
      return results;
    } finally {
      for (const t of made) t.dispose();
    }
  }

  /** Sequences, maps and optionals: onnxruntime-common's feeds and results hold tensors only. */
  #refuseNonTensors(names: readonly string[], metadata: readonly InferenceSession.ValueMetadata[], role: string): void {
    for (const name of names) {
      if (metadata.find((m) => m.name === name)?.isTensor === false) {
        const kind = this.#model.getTensor(name).kind;
        throw new NotImplementedError(`${role} '${name}' is not a tensor but of kind ${kind}, and onnxruntime-common passes tensors only; run the model through Tessera's own API`);
      }
    }
  }
}

function profilingRefusal(): NotImplementedError {
  return new NotImplementedError("sessions of tessera/ort do not profile (enableProfiling is refused); profile through Tessera's own API (loadModel(path, { profiling: true }), rt.BasicProfiler)");
}
