/**
 * Runs the ONNX backend test suite and prints pass/fail/error per category.
 * Usage: bun test/conformance/run.ts [SUITE_DIR] [--filter TEXT] [--out FILE] [--verbose]
 *        [--update-passing]  (rewrites passing.txt from this run: only cases that pass are listed)
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { runSuite } from "./suite.ts";

const { values, positionals } = parseArgs({
  args: Bun.argv.slice(2),
  options: { filter: { type: "string" }, out: { type: "string" }, verbose: { type: "boolean" }, "update-passing": { type: "boolean" } },
  allowPositionals: true,
});
const suite = positionals[0] ?? join(import.meta.dir, "../../.cache/onnx-backend");
const results = runSuite(suite, values.filter ?? "", (category, name, outcome) => {
  if (values.verbose && outcome.status !== "pass") console.log(`${category}/${name}: ${outcome.status}: ${outcome.detail}`);
});
const rows: string[] = [];
const totals = { pass: 0, fail: 0, error: 0 };
for (const [category, cases] of Object.entries(results)) {
  const counts = { pass: 0, fail: 0, error: 0 };
  for (const outcome of Object.values(cases)) counts[outcome.status]++;
  rows.push(`${category}\t${counts.pass}\t${counts.fail}\t${counts.error}`);
  for (const key of ["pass", "fail", "error"] as const) totals[key] += counts[key];
}
console.log(["category\tpass\tfail\terror", ...rows, `total\t${totals.pass}\t${totals.fail}\t${totals.error}`].join("\n"));
if (values.out) writeFileSync(values.out, JSON.stringify(results, null, 1));
if (values["update-passing"]) {
  const passing = Object.entries(results).flatMap(([category, cases]) =>
    Object.entries(cases).filter(([, o]) => o.status === "pass").map(([name]) => `${category}/${name}`));
  writeFileSync(join(import.meta.dir, "passing.txt"), passing.sort().join("\n") + "\n");
  console.log(`passing.txt: ${passing.length} cases`);
}
