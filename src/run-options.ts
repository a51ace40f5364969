/**
 * The options of a run (model.run and runSync, a request's run, runSync and infer), checked
 * before anything is bound: a key that is no option is refused by name.
 *
 * An array where the options belong is taken as the outputs to compute, as onnxruntime's
 * run(feeds, ["y"]) takes it: code ported from onnxruntime means exactly that, and nothing else
 * can be meant, since tensors to fill in place travel in `into`. Anything else in the array is
 * refused rather than guessed at.
 */
import { InvalidArgumentError } from "./errors.ts";
import { checkOptionKeys, describe } from "./option-keys.ts";
import type { InferOptions, RunOptions } from "./request.ts";

const runOptionNames = new Set<keyof RunOptions>(["outputs", "into", "deadlineUs", "observer"]);
const inferOptionNames = new Set<keyof InferOptions>(["deadlineUs"]);

/** The checked options of a run, an array of output names made into `{ outputs }`. */
export function runOptionsFrom(options: RunOptions | readonly string[], outputNames: readonly string[]): RunOptions {
  if (!Array.isArray(options)) {
    checkOptionKeys(options, runOptionNames, "run option", (key) => outputHint(key, outputNames));
    return options as RunOptions;
  }
  const names = options as readonly unknown[];
  const wrong = names.findIndex((name) => typeof name !== "string");
  if (wrong !== -1) {
    throw new InvalidArgumentError(`an array given for run options must hold output names (it selects them), not ${describe(names[wrong])}: pass tensors to fill in place as { into: { name: tensor } }`);
  }
  return { outputs: options as readonly string[] };
}

/** Checks infer()'s options (its outputs to fill come as its own argument). */
export function checkInferOptions(options: InferOptions, outputNames: readonly string[]): void {
  checkOptionKeys(options, inferOptionNames, "infer option", (key) => outputHint(key, outputNames));
}

/** onnxruntime's run(feeds, { y: null }) names outputs where Tessera has options: say where they go. */
function outputHint(key: string, outputNames: readonly string[]): string | undefined {
  if (!outputNames.includes(key)) return undefined;
  return `'${key}' is an output: select it with { outputs: ["${key}"] }, or fill a tensor in place with { into: { ${key}: tensor } }`;
}
