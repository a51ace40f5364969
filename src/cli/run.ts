/**
 * `tessera run <model>`: runs a model once on given or random inputs and shows each output
 * (dtype, shape, statistics, first elements), or saves them as .npy files with --output.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { IOError, TypeError as TesseraTypeError } from "../errors.ts";
import { loadModel } from "../model.ts";
import type { MapKey, MapValue, Value, ValueMap } from "../run-values.ts";
import { Tensor } from "../tensor.ts";
import { encodeNpy, npyCanHold } from "../npy.ts";
import { integerOption, modelPath } from "./args.ts";
import { type Command, type CommandSpec, parseCommand } from "./command.ts";
import { buildInputs, imageInputs, type InputDescription } from "./inputs.ts";
import { toJson } from "./json.ts";
import { passphraseFileOption, passphraseFromFile } from "./passphrase.ts";
import { table } from "./table.ts";
import { formatSummary, summariseValues, type ValueSummary } from "./values.ts";

const spec = {
  name: "run",
  operands: "<model>",
  summary: "run once on given or random inputs; show or save the outputs",
  description: "Runs a model once and prints each output's dtype, shape, min/max/mean/std and first values, or saves " +
    "each output as an .npy file. Inputs not given are random and reproducible: floats in [0, 1), uint8 and int8 " +
    "over their range, wider integers in 0..9, bools 0 or 1. Dims the model leaves open come from --shape.",
  options: {
    input: { type: "string", value: "name=file.npy|name=file.bin|name=photo.jpg|name=random", multiple: true, help: "an input from an NPY file, from the raw elements of its declared dtype and shape, from an image (.jpg .png .webp .avif .gif .tif: resized to the input, RGB scaled to [0, 1]; needs the package sharp), or random", default: "random" },
    shape: { type: "string", value: "name=1,3,224,224", multiple: true, help: "the dims of an input whose shape the model leaves open, for random and .bin inputs" },
    output: { type: "string", value: "dir", help: "save each output as dir/<name>.npy instead of showing it" },
    threads: { type: "string", value: "N", help: "the model's kernel threads", default: "one per core" },
    seed: { type: "string", value: "N", help: "the seed of the random inputs", default: "0" },
    json: { type: "boolean", help: "print the inputs, outputs and time as JSON" },
    "passphrase-file": passphraseFileOption,
  },
} as const satisfies CommandSpec;

interface OutputEntry {
  name: string;
  dtype: string;
  shape: number[];
  /** null for dtypes whose elements are not plain numbers (bfloat16, complex, strings, …). */
  summary: ValueSummary | null;
  file?: string;
  /** Text shown instead of statistics: a map's entries, or that an optional has no value. */
  note?: string;
}

/**
 * The rows of one output: a tensor is one row, a sequence one row per element ("name[i]"), a map
 * one row with its entries ("{key: value, ...}", shape [entries]), and an optional with no value
 * one row that says so. Tensors are saved as .npy files when `dir` is given (maps are not).
 */
function outputEntries(name: string, value: Value, dir: string | undefined): OutputEntry[] {
  if (value === null) return [{ name, dtype: "-", shape: [], summary: null, note: "(optional: no value)" }];
  const elements: [string, Tensor | ValueMap][] = Array.isArray(value) ? value.map((t, i) => [`${name}[${i}]`, t]) : [[name, value]];
  return elements.map(([label, t]) => {
    if (!(t instanceof Tensor)) return { name: label, dtype: "map", shape: [t.size], summary: null, note: formatMap(t) };
    const entry: OutputEntry = { name: label, dtype: t.dtype, shape: [...t.shape], summary: npyCanHold(t.dtype) ? summariseValues(t) : null };
    if (dir !== undefined) entry.file = save(dir, label, t);
    return entry;
  });
}

/** "{0: 0.25, 1: 0.75}": keys in the map's order, strings quoted, numbers to 6 significant digits. */
function formatMap(map: ValueMap): string {
  const show = (v: MapKey | MapValue) => typeof v === "string" ? JSON.stringify(v) : typeof v === "number" ? String(Number(v.toPrecision(6))) : String(v);
  const shown = [...map].slice(0, 8).map(([k, v]) => `${show(k)}: ${show(v)}`);
  return `{${shown.join(", ")}${map.size > 8 ? `, … (${map.size})` : ""}}`;
}

export async function run(args: string[]): Promise<string> {
  const { values, positionals } = parseCommand(spec, args);
  const path = modelPath("run", positionals);
  const threads = integerOption(values.threads, "--threads", 1);
  const seed = integerOption(values.seed, "--seed", 0);
  using model = await loadModel(path, { threads, passphrase: passphraseFromFile(values["passphrase-file"]) });
  const images = await imageInputs(model, { inputs: values.input, shapes: values.shape });
  using inputs = buildInputs(model, { inputs: values.input, shapes: values.shape, seed, images });
  using request = model.createRequest();
  const start = performance.now();
  const outputs = request.runSync(inputs.tensors);
  const ms = performance.now() - start;

  const entries = model.outputNames.flatMap((name) => outputEntries(name, outputs[name] ?? null, values.output));
  const result = { model: path, ms, inputs: inputs.describe(), outputs: entries };
  return values.json ? toJson(result) : formatRun(result);
}

export const runCommand: Command = { spec, run };

/** Writes dir/<name>.npy, with characters a file name cannot hold replaced by "_". */
function save(dir: string, name: string, t: Tensor): string {
  const file = join(dir, `${name.replace(/[^\w.\-[\]]/g, "_")}.npy`);
  if (!npyCanHold(t.dtype)) throw new TesseraTypeError(`output '${name}' is ${t.dtype}, which .npy cannot hold`);
  const bytes = encodeNpy({ dtype: t.dtype, shape: [...t.shape], data: t.toTypedArray() });
  try {
    mkdirSync(dir, { recursive: true });
    writeFileSync(file, bytes);
  } catch (error) {
    throw new IOError(`cannot write '${file}': ${(error as Error).message}`);
  }
  return file;
}

function formatRun(result: { model: string; ms: number; inputs: InputDescription[]; outputs: OutputEntry[] }): string {
  const shape = (s: readonly number[]) => `[${s.join(", ")}]`;
  const inputRows = result.inputs.map((i) => [i.name, i.dtype, shape(i.shape), i.source]);
  const outputRows = result.outputs.map((o) => {
    const text = o.summary ? formatSummary(o.summary, o.shape.reduce((a, b) => a * b, 1)) : { stats: "", preview: "" };
    if (o.note !== undefined) return [o.name, o.dtype, o.dtype === "map" ? shape(o.shape) : "", "", o.note];
    return [o.name, o.dtype, shape(o.shape), text.stats, o.file ?? text.preview];
  });
  const saved = result.outputs.some((o) => o.file !== undefined);
  return [
    `model ${result.model} (ran in ${result.ms.toFixed(2)} ms)`,
    "",
    table(["input", "dtype", "shape", "source"], inputRows),
    "",
    table(["output", "dtype", "shape", "statistics", saved ? "saved to" : "first values"], outputRows),
  ].join("\n");
}
