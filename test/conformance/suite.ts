/**
 * The ONNX backend suite through Tessera's public API: a case passes when its model, fed each
 * test_data_set's inputs, produces the expected outputs (as onnx's runner: rtol 1e-3, atol 1e-7
 * unless the case's data.json says otherwise, rtol at least 2^-6 for bfloat16; exact for integers,
 * bools and strings). Used by run.ts (the CLI) and the conformance test.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import * as rt from "../../src/index.ts";

export const categories = ["node", "simple", "pytorch-converted", "pytorch-operator", "light"];

export type Outcome = { status: "pass" | "fail" | "error"; detail?: string };

type Tolerance = { rtol: number; atol: number };

/** onnx's loader reads per-case tolerances from data.json (the light models carry one). */
function tolerance(folder: string): Tolerance {
  const file = join(folder, "data.json");
  const data = existsSync(file) ? JSON.parse(readFileSync(file, "utf8")) : {};
  return { rtol: data.rtol ?? 1e-3, atol: data.atol ?? 1e-7 };
}

function compare(expected: rt.Tensor, actual: rt.Tensor, { rtol, atol }: Tolerance): string | null {
  if (expected.dtype !== actual.dtype) return `dtype ${actual.dtype}, expected ${expected.dtype}`;
  if (expected.shape.join(",") !== actual.shape.join(",")) return `shape [${actual.shape}], expected [${expected.shape}]`;
  if (expected.dtype === "string") {
    return JSON.stringify(expected.toArray()) === JSON.stringify(actual.toArray()) ? null : "strings differ";
  }
  const floating = /float|complex/.test(expected.dtype);
  const want = expected.toTypedArray();
  const got = actual.toTypedArray();
  if (!floating || expected.dtype.startsWith("float8") || expected.dtype === "float4e2m1") {
    const a = new Uint8Array(want.buffer, want.byteOffset, want.byteLength);
    const b = new Uint8Array(got.buffer, got.byteOffset, got.byteLength);
    for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return `byte ${i} is ${b[i]}, expected ${a[i]}`;
    return null;
  }
  const decode = (t: rt.Tensor) => t.dtype === "bfloat16" ? (i: number) => rt.fromBFloat16Bits(t.toTypedArray()[i] as number) : (i: number) => Number(t.toTypedArray()[i]);
  const [e, g] = [decode(expected), decode(actual)];
  // onnx's runner compares bfloat16 at no tighter than two bfloat16 ULPs.
  if (expected.dtype === "bfloat16") rtol = Math.max(rtol, 2 ** -6);
  for (let i = 0; i < want.length; i++) {
    const x = e(i);
    const y = g(i);
    if (Number.isNaN(x) && Number.isNaN(y)) continue;
    if (x === y) continue;
    if (!(Math.abs(x - y) <= atol + rtol * Math.abs(x))) return `element ${i} is ${y}, expected ${x}`;
  }
  return null;
}

function decode(bytes: Uint8Array, kind: string): rt.Value {
  if (kind === "sequence") return rt.sequenceFromOnnx(bytes);
  if (kind === "optional") return rt.optionalFromOnnx(bytes);
  return rt.tensorFromOnnx(bytes);
}

/** Tensors as compare() does; sequences element by element; an empty optional only matches one. */
function compareValues(expected: rt.Value, actual: rt.Value, tol: Tolerance): string | null {
  if (expected === null || actual === null) return expected === actual ? null : `${actual === null ? "no value" : "a value"}, expected ${expected === null ? "none" : "one"}`;
  if (Array.isArray(expected) || Array.isArray(actual)) {
    if (!Array.isArray(expected) || !Array.isArray(actual)) return "a sequence and a tensor";
    if (expected.length !== actual.length) return `${actual.length} elements, expected ${expected.length}`;
    for (const [k, e] of expected.entries()) {
      const problem = compareTensors(e, actual[k]!, tol);
      if (problem) return `element ${k}: ${problem}`;
    }
    return null;
  }
  return compareTensors(expected, actual, tol);
}

/** The suite's test data holds no maps (decode() reads tensors, sequences and optionals only). */
function compareTensors(expected: rt.Tensor | rt.ValueMap, actual: rt.Tensor | rt.ValueMap, tol: Tolerance): string | null {
  if (!(expected instanceof rt.Tensor) || !(actual instanceof rt.Tensor)) return "a map, which the suite's data cannot hold";
  return compare(expected, actual, tol);
}

export function runCase(folder: string): Outcome {
  let model: rt.Model;
  try {
    model = rt.loadModelSync(join(folder, "model.onnx"));
  } catch (error) {
    return { status: "error", detail: `load: ${(error as Error).message}` };
  }
  try {
    const tol = tolerance(folder);
    const sets = readdirSync(folder).filter((f) => f.startsWith("test_data_set_")).sort();
    const kindOf = (name: string) => model.getTensor(name).kind;
    const inputKinds = model.inputNames.map(kindOf);
    const outputKinds = model.outputNames.map(kindOf);
    using request = model.createRequest();
    for (const set of sets) {
      const dir = join(folder, set);
      // Sequence and optional values are stored as SequenceProto / OptionalProto: the model's
      // declared kind of each input and output says how to read its file.
      const read = (prefix: string, kinds: readonly string[]) =>
        readdirSync(dir).filter((f) => f.startsWith(prefix)).sort((a, b) => parseInt(a.slice(prefix.length)) - parseInt(b.slice(prefix.length)))
          .map((f, i) => decode(new Uint8Array(readFileSync(join(dir, f))), kinds[i] ?? "tensor"));
      let inputs: rt.Value[];
      let expected: rt.Value[];
      try {
        inputs = read("input_", inputKinds);
        expected = read("output_", outputKinds);
      } catch (error) {
        return { status: "error", detail: `test data: ${(error as Error).message}` };
      }
      let outputs: rt.Value[];
      try {
        const values = request.runSync(inputs.slice(0, model.inputNames.length) as rt.InputValue[]);
        outputs = model.outputNames.map((name) => values[name] ?? null);
      } catch (error) {
        return { status: "error", detail: `run: ${(error as Error).message}` };
      }
      for (const [i, want] of expected.entries()) {
        const problem = compareValues(want, outputs[i] ?? null, tol);
        if (problem) return { status: "fail", detail: `${set} output ${i}: ${problem}` };
      }
      for (const value of [...inputs, ...expected, ...outputs]) rt.disposeValue(value);
    }
    return { status: "pass" };
  } finally {
    model.dispose();
  }
}


export type Results = Record<string, Record<string, Outcome>>;

/** Runs every case (whose name contains `filter`) of each category present under `suite`. */
export function runSuite(suite: string, filter = "", onCase?: (category: string, name: string, outcome: Outcome) => void): Results {
  const results: Results = {};
  for (const category of categories) {
    const root = join(suite, category);
    if (!existsSync(root)) continue;
    results[category] = {};
    for (const name of readdirSync(root).sort()) {
      if (filter && !name.includes(filter)) continue;
      const outcome = runCase(join(root, name));
      results[category][name] = outcome;
      onCase?.(category, name, outcome);
    }
  }
  return results;
}
