/**
 * A structure-aware fuzzer for model loading and running, beside the byte-level loader fuzzer
 * (libruntime/src/fuzz_loader.zig). That one flips bytes, so most of its cases die in the
 * protobuf decoder; this one decodes real models (its own catalogue, and the ONNX backend suite's
 * node models when they have been generated), changes their structure (attributes, dims, dtypes,
 * operators, wiring, opsets, value kinds; see mutations.ts), encodes well-formed protobuf again,
 * and loads and runs the result through the public TypeScript API, as a user's program would.
 *
 * A case is rebuilt from (run seed, case index) alone (rng.ts), so the supervisor can name and save
 * the model of a case whose process died, and any case can be replayed on its own.
 */
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import * as rt from "../../src/index.ts";
import { catalogue } from "./catalogue.ts";
import { mutateOnce } from "./mutations.ts";
import { cloneModel, decodeModel, encodeModel, type IrModel } from "./onnx-ir.ts";
import { allGraphs } from "./mutations.ts";
import { caseRng, type Rng } from "./rng.ts";

/** Each run's deadline: a run that passes it must stop with TimeoutError, well before a hang. */
export const DEADLINE_US = 200_000;
/** Inputs larger than this are not made (the case counts as loaded, not run): keeps cases fast. */
const MAX_INPUT_ELEMENTS = 1 << 16;
/** Suite models above this size are skipped as seeds: they are slow to clone and to run. */
const MAX_SEED_BYTES = 256 * 1024;

export interface SeedModel { readonly name: string; readonly model: IrModel }
export interface Seeds { readonly catalogue: readonly SeedModel[]; readonly suite: readonly SeedModel[] }

/** The ONNX backend suite's node models, where scripts/onnx-suite has generated them. */
export function defaultSuiteDir(root: string): string | null {
  const dir = process.env.TESSERA_ONNX_SUITE ?? join(root, ".cache", "onnx-backend");
  return existsSync(join(dir, "node")) ? join(dir, "node") : null;
}

/** Decodes the catalogue and, if given, the suite's models (skipping any it cannot decode). */
export function loadSeeds(suiteDir: string | null): Seeds {
  const fromCatalogue = catalogue().map((s) => ({ name: s.name, model: decodeModel(s.bytes) }));
  const suite: SeedModel[] = [];
  if (suiteDir) {
    for (const name of readdirSync(suiteDir).sort()) {
      const path = join(suiteDir, name, "model.onnx");
      try {
        if (statSync(path).size > MAX_SEED_BYTES) continue;
        suite.push({ name: `suite:${name}`, model: decodeModel(readFileSync(path)) });
      } catch {
        // Not there, or not decodable by this small decoder: the catalogue still covers it.
      }
    }
  }
  return { catalogue: fromCatalogue, suite };
}

/** Operator types over every graph of the given seeds. */
export function operatorsOf(seeds: readonly SeedModel[]): Set<string> {
  const ops = new Set<string>();
  for (const s of seeds) for (const g of allGraphs(s.model.graph)) for (const n of g.nodes) ops.add(n.opType);
  return ops;
}

export interface Case {
  readonly index: number;
  readonly seedName: string;
  readonly mutations: readonly string[];
  readonly bytes: Uint8Array;
  readonly threads: number;
  readonly inputSeed: number;
}

/** Case `index` of run `runSeed`: a seed model, none to three mutations, the encoded bytes. */
export function makeCase(seeds: Seeds, runSeed: number, index: number, without: ReadonlySet<string> = new Set()): Case {
  const rng = caseRng(runSeed, index);
  const pool = seeds.suite.length && rng.chance(0.5) ? seeds.suite : seeds.catalogue;
  const seed = rng.pick(pool);
  const model = cloneModel(seed.model);
  // A few unmutated cases check that the seeds themselves load and run.
  const count = rng.chance(0.04) ? 0 : 1 + rng.int(3);
  const mutations = Array.from({ length: count }, () => mutateOnce(rng, model, without));
  return {
    index,
    seedName: seed.name,
    mutations,
    bytes: encodeModel(model),
    threads: rng.chance(0.1) ? 2 : 1,
    inputSeed: rng.int(1 << 30),
  };
}

export function describeCase(c: Case, runSeed: number): string {
  return `seed ${runSeed} case ${c.index}: ${c.seedName}; ${c.mutations.join("; ") || "unmutated"}; threads ${c.threads}`;
}

export interface Outcome {
  loaded: boolean;
  ran: boolean;
  /** The typed error (RuntimeException) the case ended with, by class name. */
  typed?: string;
  /** An error that is not a RuntimeException: class, message and the first frame under src/. */
  untyped?: string;
  /** Why a loaded model was not run (inputs it cannot make). */
  skipped?: string;
}

/** Loads the case's model through the public API and, if it loads, runs it on random inputs. */
export function runCase(c: Case): Outcome {
  const outcome: Outcome = { loaded: false, ran: false };
  let model: rt.Model | undefined;
  const made: rt.Tensor[] = [];
  try {
    model = rt.loadModelSync(c.bytes, { threads: c.threads });
    outcome.loaded = true;
    // What a user reads before running: these decode native descriptions in TypeScript.
    void model.operations;
    void model.toJSON();
    const inputs = makeInputs(model, caseRng(c.inputSeed, 0), made);
    if (typeof inputs === "string") {
      outcome.skipped = inputs;
      return outcome;
    }
    const outputs = model.runSync(inputs, { deadlineUs: DEADLINE_US });
    for (const value of Object.values(outputs)) {
      for (const t of [value].flat()) {
        if (!(t instanceof rt.Tensor)) continue; // null, or a map: plain JS already
        // Reading the values converts odd element types in TypeScript (packed, float8, strings).
        if (cheapToArray(t.shape)) void t.toArray();
        t.dispose();
      }
    }
    outcome.ran = true;
  } catch (error) {
    if (error instanceof rt.RuntimeException) outcome.typed = error.name;
    else outcome.untyped = describeError(error);
  } finally {
    for (const t of made) t.dispose();
    try {
      model?.dispose();
    } catch (error) {
      outcome.untyped ??= `on dispose: ${describeError(error)}`;
    }
  }
  return outcome;
}

/** Class, message and the first stack frame in the project's own code (src/). */
export function describeError(error: unknown): string {
  if (!(error instanceof Error)) return `non-Error thrown: ${String(error)}`;
  const frame = (error.stack ?? "").split("\n").find((l) => l.includes("/src/"))?.trim() ?? "";
  return `${error.constructor.name}: ${error.message.slice(0, 300)}${frame ? ` (${frame.replace(/^at /, "")})` : ""}`;
}

/**
 * Inputs for every model input: seeded random tensors, symbolic dims 1 to 3 (one size per name),
 * unknown ranks as [2]; sequences of one or two tensors, optionals empty or not. Inputs the
 * runtime describes as other kinds get null, which it must refuse with a typed error. Returns why
 * not instead when an input would be too large to make quickly.
 */
function makeInputs(model: rt.Model, rng: Rng, made: rt.Tensor[]): Record<string, rt.InputValue> | string {
  const inputs: Record<string, rt.InputValue> = {};
  const sizes = new Map<string, number>();
  for (const info of model.inputs) {
    if (info.optOut && rng.chance(0.5)) continue;
    if (info.kind !== "tensor" && info.kind !== "sequence" && info.kind !== "optional") {
      inputs[info.name] = null;
      continue;
    }
    if (info.dtype === null) return `input ${info.name} has no dtype`;
    const shape = (info.shape ?? [2]).map((d) => {
      if (typeof d === "number") return d;
      if (!sizes.has(d)) sizes.set(d, 1 + rng.int(3));
      return sizes.get(d)!;
    });
    const count = shape.reduce((a, b) => a * b, 1);
    if (!shape.every((d) => Number.isSafeInteger(d) && d >= 0) || count > MAX_INPUT_ELEMENTS) {
      return `input ${info.name} has shape [${shape}]`;
    }
    const one = () => {
      const t = rt.randomTensor({ ...info, kind: "tensor", shape }, { seed: rng.int(1 << 30) });
      made.push(t);
      return t;
    };
    if (info.kind === "tensor") inputs[info.name] = one();
    else if (info.kind === "sequence") inputs[info.name] = Array.from({ length: rng.int(3) }, one);
    else inputs[info.name] = rng.chance(0.3) ? null : one();
  }
  return inputs;
}

/**
 * Whether toArray() on this shape is quick: it builds one array per index of every leading
 * axis, so an empty tensor whose other dims are huge ([2^31, 0]) would take minutes in JS and
 * look like a hang of the library. A dim too long for any JS array throws at once, so that case
 * stays in (it is an untyped RangeError worth reporting).
 */
function cheapToArray(shape: readonly number[]): boolean {
  let calls = 1;
  let arrays = 0;
  for (const d of shape) {
    if (calls === 0) return true;
    if (d > 2 ** 32 - 1) return true;
    calls *= d;
    arrays += calls;
    if (arrays > 100_000) return false;
  }
  return true;
}
