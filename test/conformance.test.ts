/**
 * Conformance regressions: every case listed in test/conformance/passing.txt (cases that passed
 * when the list was written, by `bun test/conformance/run.ts --update-passing`) must still pass,
 * at every CPU level this machine can run: the library holds one copy of its code per level and
 * picks one per process, so each level runs in a process of its own (TESSERA_CPU_LEVEL caps it).
 * The list spans every category, the nine light models (real architectures) included.
 */
import { expect, test } from "bun:test";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import * as rt from "../src/index.ts";
import { bunBinary, repo } from "./support/paths.ts";

const suite = process.env.TESSERA_ONNX_SUITE ?? join(repo, ".cache/onnx-backend");
const listed = readFileSync(join(import.meta.dir, "conformance/passing.txt"), "utf8").split("\n").filter(Boolean);
const levels = ["baseline", "avx2", "avx512"] as const;
const cpu = rt.getLocalInfo().devices.find((d) => d.cpu)!.cpu!;
/** What this process got uncapped: the widest level this CPU (and the build's architecture) allows. */
const widest = process.env.TESSERA_CPU_LEVEL ? null : cpu.level;
const runnable = (level: string) =>
  widest !== null && levels.indexOf(level as (typeof levels)[number]) <= levels.indexOf(widest as (typeof levels)[number]);

test("the list spans every category and the nine light models", () => {
  expect(listed.length).toBeGreaterThan(1700);
  expect(listed.filter((name) => name.startsWith("light/")).length).toBe(9);
});

for (const level of levels) {
  // A CPU without the level's instructions cannot run it: the test names the level it skips.
  test.skipIf(!runnable(level))(`every listed ONNX backend case still passes at CPU level ${level}`, () => {
    if (!existsSync(suite)) throw new Error(`no suite at ${suite}: run scripts/onnx-suite`);
    const child = Bun.spawnSync([bunBinary, join(repo, "test/conformance/listed.ts"), suite], {
      env: { ...process.env, TESSERA_CPU_LEVEL: level },
    });
    const lines = child.stdout.toString().trim().split("\n");
    if (child.exitCode !== 0) throw new Error(`listed.ts exited ${child.exitCode}: ${child.stderr.toString()}`);
    const report = JSON.parse(lines[lines.length - 1]!) as { level: string; cases: number; regressions: string[] };
    if (report.regressions.length) console.error(report.regressions.join("\n"));
    // The cap took: the library says it runs this level, and why.
    expect(report.level.split(" ")[0]).toBe(level);
    expect(report.cases).toBe(listed.length);
    expect(report.regressions).toEqual([]);
  }, 600_000);
}
