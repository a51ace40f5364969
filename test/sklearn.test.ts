/**
 * scikit-learn models through Tessera, against onnxruntime. test/ml/make_sklearn_models.py trains
 * linear models, SVMs, trees, forests, boosting, scalers, encoders, imputers and pipelines on
 * fixed synthetic data, converts them with skl2onnx and runs them with onnxruntime (once, into
 * .cache/sklearn-models, again whenever the script changes). Every output must match: labels
 * exactly, scores and values within rtol 1e-4 and atol 1e-5.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import * as rt from "../src/index.ts";
import { repo } from "./support/paths.ts";

const rtol = 1e-4;
const atol = 1e-5;
const cacheDir = join(repo, ".cache/sklearn-models");

type Case = { name: string; inputs: string[]; outputs: string[]; ops: string[] };

function readTensor(path: string): rt.Tensor {
  return rt.tensorFromOnnx(new Uint8Array(readFileSync(path)));
}

/** The largest |actual - expected| over elements, and the first element outside the tolerance. */
function compareNumbers(expected: rt.Tensor, actual: rt.Tensor): { maxDiff: number; problem: string | null } {
  const want = expected.toTypedArray();
  const got = actual.toTypedArray();
  let maxDiff = 0;
  let problem: string | null = null;
  for (let i = 0; i < want.length; i++) {
    const [x, y] = [Number(want[i]), Number(got[i])];
    if (Number.isNaN(x) && Number.isNaN(y)) continue;
    const diff = Math.abs(x - y);
    maxDiff = Math.max(maxDiff, Number.isNaN(diff) ? Infinity : diff);
    if (problem === null && !(diff <= atol + rtol * Math.abs(x))) problem = `element ${i} is ${y}, onnxruntime has ${x}`;
  }
  return { maxDiff, problem };
}

let cases: Case[] = [];
/** Each case's largest difference from onnxruntime, printed once all have run. */
const maxDiffs: Record<string, number> = {};

beforeAll(() => {
  // Returns at once when the cache is up to date; else trains and converts (about ten seconds).
  const python = join(repo, ".cache/venv/bin/python");
  const made = Bun.spawnSync([python, join(repo, "test/ml/make_sklearn_models.py"), cacheDir]);
  if (made.exitCode !== 0) {
    // scikit-learn, skl2onnx and onnxruntime come from scripts/bootstrap (PYTHON_PACKAGES).
    throw new Error(`test/ml/make_sklearn_models.py failed:\n${made.stderr}`);
  }
  cases = JSON.parse(readFileSync(join(cacheDir, "manifest.json"), "utf8"));
}, 180_000);

afterAll(() => {
  const rows = Object.entries(maxDiffs).map(([name, diff]) => `${name.padEnd(44)} ${diff.toExponential(2)}`);
  console.log(`largest difference from onnxruntime per model:\n${rows.join("\n")}`);
});

/** Runs one cached case and checks every output against onnxruntime's. */
function runCase(c: Case): void {
  const folder = join(cacheDir, c.name);
  using model = rt.loadModelSync(join(folder, "model.onnx"));
  expect(model.inputNames).toEqual(c.inputs);
  const inputs = c.inputs.map((_, i) => readTensor(join(folder, `input_${i}.pb`)));
  using request = model.createRequest();
  const outputs = request.runSync<rt.Tensor>(inputs);
  let worst = 0;
  for (const [i, name] of c.outputs.entries()) {
    using expected = readTensor(join(folder, `output_${i}.pb`));
    const actual = outputs[name];
    if (actual === undefined) throw new Error(`${c.name}: no output ${name}`);
    expect({ output: name, dtype: actual.dtype, shape: actual.shape }).toEqual({ output: name, dtype: expected.dtype, shape: expected.shape });
    if (expected.dtype === "string" || expected.dtype.startsWith("int")) {
      expect(actual.toArray()).toEqual(expected.toArray());
      continue;
    }
    const { maxDiff, problem } = compareNumbers(expected, actual);
    expect(`${name}: ${problem ?? "ok"}`).toBe(`${name}: ok`);
    worst = Math.max(worst, maxDiff);
  }
  maxDiffs[c.name] = worst;
  for (const t of [...inputs, ...Object.values(outputs)]) t.dispose();
}

describe("scikit-learn models converted by skl2onnx, against onnxruntime", () => {
  test("the generator made every case", () => {
    expect(cases.length).toBeGreaterThanOrEqual(40);
    const ops = new Set(cases.flatMap((c) => c.ops));
    for (const op of ["LinearClassifier", "LinearRegressor", "SVMClassifier", "SVMRegressor", "TreeEnsembleClassifier",
      "TreeEnsembleRegressor", "Scaler", "Normalizer", "OneHotEncoder", "Imputer", "CategoryMapper", "FeatureVectorizer"]) {
      expect(ops.has(op)).toBe(true);
    }
  });

  // bun:test collects tests before beforeAll runs, so each case is looked up by name from the
  // manifest's list, which the generator writes in this order.
  const names = [
    "logistic_regression_binary", "logistic_regression_multi", "logistic_regression_strings", "linear_regression",
    "linear_regression_two_targets", "linear_svc_binary", "linear_svc_multi", "svc_rbf_binary", "svc_rbf_binary_proba",
    "svc_rbf_multi", "svc_poly_multi", "svc_rbf_multi_proba", "svc_poly_strings_proba", "svr_rbf", "svr_linear",
    "decision_tree_classifier", "decision_tree_classifier_binary", "decision_tree_classifier_strings",
    "decision_tree_regressor", "random_forest_classifier_binary", "random_forest_classifier_multi",
    "random_forest_regressor", "random_forest_regressor_two_targets", "gradient_boosting_classifier_binary",
    "gradient_boosting_classifier_multi", "gradient_boosting_regressor", "standard_scaler", "min_max_scaler",
    "normalizer_l1", "normalizer_l2", "normalizer_max", "one_hot_encoder", "simple_imputer_mean",
    "simple_imputer_constant", "pipeline_impute_scale_logistic", "pipeline_columns_forest",
    "tree_classifier_string_labels_softmax", "linear_classifier_one_score_logistic",
    "linear_classifier_strings_softmax_zero", "svm_regressor_one_class", "scaler_broadcast", "imputer_int64",
    "category_mapper_to_int", "category_mapper_to_string", "one_hot_encoder_strings", "feature_vectorizer_mixed",
  ];
  for (const name of names) {
    test(name, () => {
      const c = cases.find((entry) => entry.name === name);
      if (c === undefined) throw new Error(`${name} is not in ${cacheDir}/manifest.json`);
      runCase(c);
    });
  }

  test("the list above names every case the generator made", () => {
    expect(cases.map((c) => c.name).sort()).toEqual([...names].sort());
  });
});
