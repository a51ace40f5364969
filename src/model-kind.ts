/**
 * What kind of model a signature and its operators suggest, with the facts the guess rests on.
 * A heuristic for tools and first looks (getModelInfo), never for deciding how to run a model:
 * the rules look at input and output dtypes, ranks and names, and at telling operators.
 */
import type { TensorInfo } from "./model.ts";

export type ModelKind =
  | "image-classification"
  | "object-detection"
  | "image-segmentation"
  | "language-model"
  | "text-encoder"
  | "audio"
  | "recurrent"
  | "tabular/classical-ml"
  | "unknown";

export interface KindGuess {
  kind: ModelKind;
  /** Why: the facts the rule that matched rests on; empty for "unknown". */
  evidence: string[];
}

/** What the guess looks at: the signature and every operation's type and domain. */
export interface KindFacts {
  inputs: readonly TensorInfo[];
  outputs: readonly TensorInfo[];
  operations: readonly { opType: string; domain: string }[];
}

const textInputs = /^(input_ids|attention_mask|token_type_ids|position_ids|tokens?|ids)$/i;
const languageModelSigns = /^(past_key_values|present)\b|\.(key|value)$/i;
const sampleRateInputs = /^(sr|sample_?rate|sampling_?rate)$/i;
const audioInputs = /^(audio|waveform|wav|pcm|input_values|speech|samples)$/i;
const audioOps = new Set(["STFT", "DFT", "MelWeightMatrix", "HannWindow", "HammingWindow", "BlackmanWindow"]);
const recurrentOps = new Set(["LSTM", "GRU", "RNN", "Scan", "Loop"]);
const detectionOps = new Set(["NonMaxSuppression", "RoiAlign"]);
const detectionOutputs = /box|bbox|detect|anchor/i;

/** The first rule that matches, in order of how telling its evidence is. */
export function guessModelKind(facts: KindFacts): KindGuess {
  return classicalMl(facts) ?? text(facts) ?? audio(facts) ?? image(facts) ?? recurrent(facts) ?? { kind: "unknown", evidence: [] };
}

const rank = (t: TensorInfo) => t.shape?.length ?? -1;
const isFloat = (t: TensorInfo) => t.dtype !== null && /^(float|bfloat)/.test(t.dtype);
const describe = (t: TensorInfo) => `${t.name}: ${t.dtype ?? "?"} [${t.shape?.join(", ") ?? "?"}]`;

function opsIn(facts: KindFacts, wanted: ReadonlySet<string>): string[] {
  return [...new Set(facts.operations.filter((op) => op.domain === "ai.onnx" && wanted.has(op.opType)).map((op) => op.opType))];
}

function classicalMl(facts: KindFacts): KindGuess | null {
  const ml = [...new Set(facts.operations.filter((op) => op.domain === "ai.onnx.ml").map((op) => op.opType))];
  return ml.length ? { kind: "tabular/classical-ml", evidence: [`ai.onnx.ml operators: ${ml.join(", ")}`] } : null;
}

function text(facts: KindFacts): KindGuess | null {
  const ids = facts.inputs.filter((t) => (t.dtype === "int64" || t.dtype === "int32") && textInputs.test(t.name));
  if (!ids.length) return null;
  const evidence = [`integer token inputs: ${ids.map(describe).join("; ")}`];
  const cache = [...facts.inputs, ...facts.outputs].filter((t) => languageModelSigns.test(t.name));
  const logits = facts.outputs.filter((t) => /logits/i.test(t.name) && rank(t) === 3);
  if (cache.length || logits.length) {
    if (logits.length) evidence.push(`per-token logits: ${logits.map(describe).join("; ")}`);
    if (cache.length) evidence.push(`a key/value cache: ${cache.slice(0, 4).map((t) => t.name).join(", ")}${cache.length > 4 ? ", …" : ""}`);
    return { kind: "language-model", evidence };
  }
  return { kind: "text-encoder", evidence };
}

function audio(facts: KindFacts): KindGuess | null {
  const waves = facts.inputs.filter((t) => isFloat(t) && (rank(t) === 2 || rank(t) === 1));
  if (!waves.length) return null;
  const evidence: string[] = [];
  const rates = facts.inputs.filter((t) => sampleRateInputs.test(t.name));
  if (rates.length) evidence.push(`a sample-rate input: ${rates.map((t) => t.name).join(", ")}`);
  const named = waves.filter((t) => audioInputs.test(t.name));
  if (named.length) evidence.push(`a waveform input by name: ${named.map(describe).join("; ")}`);
  const ops = opsIn(facts, audioOps);
  if (ops.length) evidence.push(`signal operators: ${ops.join(", ")}`);
  const recurrentOnWave = opsIn(facts, new Set(["LSTM", "GRU"]));
  if (!evidence.length && !(recurrentOnWave.length && waves.some((t) => rank(t) === 2))) return null;
  if (recurrentOnWave.length) evidence.push(`recurrent operators over samples: ${recurrentOnWave.join(", ")}`);
  return { kind: "audio", evidence: [`float samples: ${waves.map(describe).join("; ")}`, ...evidence] };
}

function image(facts: KindFacts): KindGuess | null {
  const images = facts.inputs.filter((t) => isFloat(t) && rank(t) === 4 && [1, 3].some((c) => t.shape![1] === c || t.shape![3] === c));
  if (!images.length) return null;
  const evidence = [`an image input (4-D, 1 or 3 channels): ${images.map(describe).join("; ")}`];
  const nms = opsIn(facts, detectionOps);
  const boxes = facts.outputs.filter((t) => detectionOutputs.test(t.name));
  if (nms.length || boxes.length) {
    if (nms.length) evidence.push(`detection operators: ${nms.join(", ")}`);
    if (boxes.length) evidence.push(`box outputs: ${boxes.map(describe).join("; ")}`);
    return { kind: "object-detection", evidence };
  }
  const scores = facts.outputs.filter((t) => rank(t) === 2);
  if (scores.length) return { kind: "image-classification", evidence: [...evidence, `a [batch, classes] output: ${scores.map(describe).join("; ")}`] };
  const maps = facts.outputs.filter((t) => rank(t) === 4 || rank(t) === 3);
  if (maps.length) return { kind: "image-segmentation", evidence: [...evidence, `per-pixel outputs: ${maps.map(describe).join("; ")}`] };
  return null;
}

function recurrent(facts: KindFacts): KindGuess | null {
  const ops = opsIn(facts, recurrentOps);
  return ops.length ? { kind: "recurrent", evidence: [`recurrent operators: ${ops.join(", ")}`] } : null;
}
