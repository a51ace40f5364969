/**
 * The memory planner against the ONNX backend suite: for a sample of cases that pass, a request
 * run three times (the first run records the plan, the next two reuse its offsets) must give
 * bit-identical outputs, equal to a model loaded with memoryOptimization off (all memory distinct).
 * The sample spans every operator family, control flow included.
 */
import { expect, test } from "bun:test";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import * as rt from "../src/index.ts";
import { repo } from "./support/paths.ts";

const suite = process.env.TESSERA_ONNX_SUITE ?? join(repo, ".cache/onnx-backend");
const passing = readFileSync(join(import.meta.dir, "conformance/passing.txt"), "utf8").split("\n").filter(Boolean);
/** Every 4th passing case: a spread over the suite that keeps the test to seconds. */
const sample = passing.filter((_, i) => i % 4 === 0);

function firstDataSet(folder: string): rt.Tensor[] {
  const dir = join(folder, "test_data_set_0");
  const index = (f: string) => parseInt(f.slice("input_".length));
  return readdirSync(dir).filter((f) => f.startsWith("input_")).sort((a, b) => index(a) - index(b))
    .map((f) => rt.tensorFromOnnx(new Uint8Array(readFileSync(join(dir, f)))));
}

function bytesOf(outputs: rt.Outputs<rt.Tensor>): string[] {
  return Object.entries(outputs).map(([name, t]) => {
    if (t.dtype === "string") return `${name}:${JSON.stringify(t.toArray())}`;
    const view = t.toTypedArray();
    return `${name}:${t.shape}:${Buffer.from(view.buffer, view.byteOffset, view.byteLength).toString("base64")}`;
  });
}

test("planned runs give the same bytes as unplanned ones across the suite", () => {
  if (!existsSync(suite)) throw new Error(`no suite at ${suite}: run scripts/onnx-suite`);
  const problems: string[] = [];
  let checked = 0;
  for (const name of sample) {
    const folder = join(suite, name);
    if (!existsSync(join(folder, "test_data_set_0"))) continue;
    using planned = rt.loadModelSync(join(folder, "model.onnx"));
    // Sequence and optional values make a graph run unplanned: nothing to compare here.
    const names = [...planned.inputNames, ...planned.outputNames];
    if (names.some((n) => planned.getTensor(n).kind !== "tensor")) continue;
    const inputs = firstDataSet(folder);
    using plain = rt.loadModelSync(join(folder, "model.onnx"), { memoryOptimization: false });
    const feed = inputs.slice(0, planned.inputNames.length);
    using request = planned.createRequest();
    const runs = [0, 1, 2].map(() => bytesOf(request.runSync<rt.Tensor>(feed)));
    const reference = bytesOf(plain.runSync<rt.Tensor>(feed));
    for (const [k, run] of runs.entries()) {
      if (JSON.stringify(run) !== JSON.stringify(reference)) {
        problems.push(`${name}: run ${k} (${k === 0 ? "recording" : "planned"}) differs from the unplanned run`);
        break;
      }
    }
    for (const t of inputs) t.dispose();
    checked++;
  }
  if (problems.length) console.error(problems.join("\n"));
  expect(problems).toEqual([]);
  expect(checked).toBeGreaterThan(300);
}, 600_000);
