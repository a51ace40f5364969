/**
 * Runs every case listed in passing.txt in this process and prints one JSON line: the CPU level
 * the library chose (TESSERA_CPU_LEVEL caps it, and the level is fixed per process, so
 * conformance.test.ts starts one of these per level), the case count and the regressions.
 * Usage: bun test/conformance/listed.ts SUITE
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import * as rt from "../../src/index.ts";
import { runCase } from "./suite.ts";

const suite = process.argv[2];
if (!suite) throw new Error("usage: listed.ts SUITE");
const listed = readFileSync(join(import.meta.dir, "passing.txt"), "utf8").split("\n").filter(Boolean);
const regressions = listed
  .map((name) => ({ name, outcome: runCase(join(suite, name)) }))
  .filter(({ outcome }) => outcome.status !== "pass")
  .map(({ name, outcome }) => `${name}: ${outcome.status}: ${outcome.detail}`);
const cpu = rt.getLocalInfo().devices.find((d) => d.cpu)!.cpu!;
console.log(JSON.stringify({ level: cpu.level, kernels: cpu.kernels, cases: listed.length, regressions }));
