/**
 * examples/ort-port.ts as a user runs it: one onnxruntime-node program over real models, run by
 * onnxruntime-node and by tessera/ort; every model's outputs must agree within float32 rounding
 * of the model's own scale.
 */
import { expect, test } from "bun:test";

const repo = new URL("..", import.meta.url).pathname;

test("ort-port: each real model's outputs through tessera/ort match onnxruntime-node's", () => {
  const result = Bun.spawnSync([process.execPath, "examples/ort-port.ts"], { cwd: repo, env: process.env });
  const out = result.stdout.toString();
  expect(result.stderr.toString().split("\n").filter((line) => line && !line.startsWith("fetching "))).toEqual([]);
  expect(result.exitCode).toBe(0);
  const rows = [...out.matchAll(/^(.+?) +(\d+) values  largest difference (\S+) \(largest value (\S+)\)$/gm)];
  expect(rows.map((row) => row[1])).toEqual([
    "Silero VAD v5",
    "openWakeWord melspectrogram",
    "PaddleOCR text direction",
    "PaddleOCR detector",
    "PaddleOCR recogniser",
    "all-MiniLM-L6-v2 (int8)",
  ]);
  for (const [, name, count, difference, scale] of rows) {
    expect(Number(count), name).toBeGreaterThan(0);
    expect(Number(difference), name).toBeLessThanOrEqual(1e-4 * Math.max(1, Number(scale)));
  }
}, 300_000);
