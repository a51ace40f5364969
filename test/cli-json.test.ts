/** The JSON the commands print: one rounding rule for measurements, the same in every command. */
import { describe, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { toJson } from "../src/cli/json.ts";
import { addRelu } from "./support/models.ts";
import { tessera } from "./support/cli.ts";
import { scratchDir } from "./support/paths.ts";

const modelPath = join(scratchDir("tessera-cli-json-"), "add_relu.onnx");
writeFileSync(modelPath, addRelu());

const decimals = (value: number) => (String(value).split(".")[1] ?? "").length;

/** Every number in `value` with the path to it, as "latencyMs.p90" or "statistics.layers.0.meanMs". */
function numbers(value: unknown, path: string[] = []): [string[], number][] {
  if (typeof value === "number") return [[path, value]];
  if (value === null || typeof value !== "object") return [];
  return Object.entries(value).flatMap(([key, field]) => numbers(field, [...path, key]));
}

/** The measurements by the rule of json.ts: under a key ending in Ms or PerSecond, or named ms or throughput. */
const isMeasurement = (path: string[]) => path.some((key) => /(?:Ms|PerSecond)$|^(?:ms|throughput)$/.test(key));

describe("toJson", () => {
  test("measurements to 3 decimals, also nested under their key; data exact; toJSON honoured", () => {
    const value = {
      loadMs: 1.23456789,
      latencyMs: { min: 0.0123456, p90: [2.00049, 3.1] },
      itemsPerSecond: 1234.56789,
      throughput: 99.99999,
      ms: 0.0004,
      scale: 0.00390625123,
      count: 3,
      nested: { toJSON: () => ({ totalMs: 5.55555, mean: 0.1234567 }) },
    };
    expect(JSON.parse(toJson(value))).toEqual({
      loadMs: 1.235,
      latencyMs: { min: 0.012, p90: [2, 3.1] },
      itemsPerSecond: 1234.568,
      throughput: 100,
      ms: 0,
      scale: 0.00390625123,
      count: 3,
      nested: { totalMs: 5.556, mean: 0.1234567 },
    });
    expect(toJson({ a: 1 })).toBe('{\n  "a": 1\n}');
  });
});

describe("the commands' JSON", () => {
  test("run, bench and profile round every time and rate alike, and keep the data exact", () => {
    const outputs = [
      tessera("run", modelPath, "--shape", "x=3,4", "--json"),
      tessera("bench", modelPath, "-shape", "x[3,4]", "-niter", "5", "-report", "json"),
      tessera("profile", modelPath, "--shape", "x=3,4", "--repeat", "3", "--json"),
      tessera("info", modelPath, "--json"),
      tessera("devices", "--json"),
    ];
    const measured: string[] = [];
    for (const { code, out, err } of outputs) {
      expect({ code, err: code === 0 ? "" : err }).toEqual({ code: 0, err: "" });
      for (const [path, value] of numbers(JSON.parse(out))) {
        if (!isMeasurement(path)) continue;
        measured.push(path.join("."));
        expect({ path, decimals: decimals(value) <= 3 }).toEqual({ path, decimals: true });
      }
    }
    for (const path of ["ms", "loadMs", "totalMs", "latencyMs.p99", "throughput", "itemsPerSecond", "statistics.model.meanMs", "statistics.layers.0.medianMs"]) {
      expect(measured).toContain(path);
    }
    // run's statistics are of the outputs' values, not measurements: printed as computed.
    const run = JSON.parse(outputs[0]!.out);
    const { std } = run.outputs[0].summary;
    expect(typeof std).toBe("number");
    expect(decimals(std)).toBeGreaterThan(3);
  }, 60_000);
});
