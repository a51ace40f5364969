/**
 * Every model of the ONNX backend suite loads, and reports the signature the onnx package reads
 * from it (scripts/onnx-suite generates the suite and signatures.json). Names, kinds and element
 * types must match exactly; a dim the file fixes must be that number, and a named dim that name
 * (for inputs; outputs may be more precise than the file says).
 */
import { expect, test } from "bun:test";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import * as rt from "../src/index.ts";
import { repo } from "./support/paths.ts";

const suite = process.env.TESSERA_ONNX_SUITE ?? join(repo, ".cache/onnx-backend");
const signaturesPath = join(suite, "signatures.json");

interface Value {
  name: string;
  kind: string;
  elem: number | null;
  shape: (number | string | null)[] | null;
}
type Signature = { inputs: Value[]; outputs: Value[] };

function compare(expected: Value, actual: rt.TensorInfo, isInput: boolean): string | null {
  if (expected.name !== actual.name) return `name ${actual.name}, expected ${expected.name}`;
  if (expected.kind !== actual.kind) return `${expected.name}: kind ${actual.kind}, expected ${expected.kind}`;
  if (expected.kind !== "tensor") return null;
  const code = actual.dtype === null ? 0 : rt.dtypes[actual.dtype].code;
  if (expected.elem !== code) return `${expected.name}: element type ${code}, expected ${expected.elem}`;
  if (expected.shape === null) return null;
  if (actual.shape === null) return `${expected.name}: unknown rank, expected ${JSON.stringify(expected.shape)}`;
  if (actual.shape.length !== expected.shape.length) return `${expected.name}: rank ${actual.shape.length}, expected ${expected.shape.length}`;
  for (const [i, dim] of expected.shape.entries()) {
    const got = actual.shape[i];
    const ok = dim === null || (typeof dim === "number" ? got === dim : got === dim || (!isInput && typeof got === "number"));
    if (!ok) return `${expected.name}: dim ${i} is ${got}, expected ${dim}`;
  }
  return null;
}

/** Operators Tessera refuses at load, by choice (docs/conformance.md): no image codec, no autodiff. */
const refusedAtLoad = /^NotImplementedError: operator (ImageDecoder|Gradient) \(/;

test("every model of the ONNX backend suite loads with the signature onnx reads", () => {
  if (!existsSync(signaturesPath)) throw new Error(`no suite at ${suite}: run scripts/onnx-suite`);
  const signatures: Record<string, Signature> = JSON.parse(readFileSync(signaturesPath, "utf8"));
  const problems: string[] = [];
  let loaded = 0;
  let refused = 0;
  for (const [relative, signature] of Object.entries(signatures)) {
    try {
      using model = rt.loadModelSync(join(suite, relative));
      loaded++;
      const names = [model.inputNames.length, model.outputNames.length];
      if (names[0] !== signature.inputs.length || names[1] !== signature.outputs.length) {
        problems.push(`${relative}: ${names[0]} inputs and ${names[1]} outputs, expected ${signature.inputs.length} and ${signature.outputs.length}`);
        continue;
      }
      signature.inputs.forEach((v, i) => {
        const problem = compare(v, model.getTensor(model.inputNames[i]!), true);
        if (problem) problems.push(`${relative}: input ${problem}`);
      });
      signature.outputs.forEach((v, i) => {
        const problem = compare(v, model.getTensor(model.outputNames[i]!), false);
        if (problem) problems.push(`${relative}: output ${problem}`);
      });
    } catch (error) {
      const text = `${(error as Error).name}: ${(error as Error).message}`;
      if (refusedAtLoad.test(text)) refused++;
      else problems.push(`${relative}: ${text}`);
    }
  }
  if (problems.length) console.error(problems.join("\n"));
  expect({ models: Object.keys(signatures).length, problems: problems.length }).toEqual({ models: Object.keys(signatures).length, problems: 0 });
  expect(refused).toBe(11); // 9 ImageDecoder cases, 2 Gradient
  expect(loaded + refused).toBe(Object.keys(signatures).length);
  expect(loaded).toBeGreaterThan(2000);
}, 300_000);
