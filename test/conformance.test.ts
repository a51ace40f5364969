/**
 * Conformance regressions: every case listed in test/conformance/passing.txt (cases that passed
 * when the list was written, by `bun test/conformance/run.ts --update-passing`) must still pass.
 * The list spans every category, the nine light models (real architectures) included.
 */
import { expect, test } from "bun:test";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { runCase } from "./conformance/suite.ts";
import { repo } from "./support/paths.ts";

const suite = process.env.TESSERA_ONNX_SUITE ?? join(repo, ".cache/onnx-backend");
const listed = readFileSync(join(import.meta.dir, "conformance/passing.txt"), "utf8").split("\n").filter(Boolean);

test("every listed ONNX backend case still passes", () => {
  if (!existsSync(suite)) throw new Error(`no suite at ${suite}: run scripts/onnx-suite`);
  const regressions = listed
    .map((name) => ({ name, outcome: runCase(join(suite, name)) }))
    .filter(({ outcome }) => outcome.status !== "pass")
    .map(({ name, outcome }) => `${name}: ${outcome.status}: ${outcome.detail}`);
  if (regressions.length) console.error(regressions.join("\n"));
  expect(regressions).toEqual([]);
  expect(listed.length).toBeGreaterThan(1700);
  expect(listed.filter((name) => name.startsWith("light/")).length).toBe(9);
}, 600_000);
