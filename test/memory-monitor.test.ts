/**
 * The memory monitor: samples arrive on the interval with the process's RSS and the runtime's
 * own bytes, the runtime's live bytes follow tensors made and freed, sampling stops on stop(),
 * dispose() and the end of a `using` scope, and bad arguments are typed errors.
 */
import { describe, expect, test } from "bun:test";
import * as rt from "../src/index.ts";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Waits until `condition` holds, up to `limitMs`. */
async function until(condition: () => boolean, limitMs = 2_000): Promise<void> {
  const end = Date.now() + limitMs;
  while (!condition() && Date.now() < end) await sleep(5);
}

describe("memory monitor", () => {
  test("calls back on the interval with RSS, runtime bytes and a timestamp", async () => {
    const samples: rt.MemorySample[] = [];
    const start = Date.now();
    using monitor = rt.monitorMemory((sample) => samples.push(sample), 10);
    await until(() => samples.length >= 3);
    expect(samples.length).toBeGreaterThanOrEqual(3);
    expect(monitor.stopped).toBe(false);
    for (const sample of samples) {
      expect(sample.rssBytes).toBeGreaterThan(1024 * 1024);
      expect(sample.runtimePeakBytes).toBeGreaterThanOrEqual(sample.runtimeLiveBytes);
      expect(sample.timestamp).toBeGreaterThanOrEqual(start);
    }
    expect(samples[2]!.timestamp).toBeGreaterThan(samples[0]!.timestamp);
    // The same reading on demand, and in agreement with nativeStats.
    const now = rt.memorySample();
    expect(now.runtimeLiveBytes).toBe(rt.nativeStats().liveBytes);
  });

  test("sees the runtime's live bytes grow while tensors are allocated and fall when they are freed", async () => {
    const samples: rt.MemorySample[] = [];
    using _monitor = rt.monitorMemory((sample) => samples.push(sample), 5);
    await until(() => samples.length >= 1);
    const baseline = samples[samples.length - 1]!.runtimeLiveBytes;
    // String tensors keep their elements in native memory: 2 000 of them hold well over 100 KiB.
    const tensors = Array.from({ length: 2_000 }, () => rt.tensor(["a string long enough to need its own allocation, per element"]));
    const countBefore = samples.length;
    await until(() => samples.length > countBefore + 1);
    const grown = samples[samples.length - 1]!;
    expect(grown.runtimeLiveBytes - baseline).toBeGreaterThan(100 * 1024);
    expect(grown.runtimePeakBytes).toBeGreaterThanOrEqual(grown.runtimeLiveBytes);
    for (const t of tensors) t.dispose();
    const countFreed = samples.length;
    await until(() => samples.length > countFreed + 1);
    // Back to the baseline, give or take the little the runtime keeps for itself on first use.
    expect(samples[samples.length - 1]!.runtimeLiveBytes - baseline).toBeLessThan(4 * 1024);
  });

  test("stops after stop(), dispose() and the end of a using scope", async () => {
    for (const end of ["stop", "dispose", "using"] as const) {
      let calls = 0;
      if (end === "using") {
        using _scoped = rt.monitorMemory(() => calls++, 5);
        await until(() => calls >= 2);
      } else {
        const monitor = rt.monitorMemory(() => calls++, 5);
        await until(() => calls >= 2);
        monitor[end]();
        expect(monitor.stopped).toBe(true);
        monitor.stop(); // a second stop is a no-op
      }
      expect(calls).toBeGreaterThanOrEqual(2);
      const stoppedAt = calls;
      await sleep(40);
      expect(calls).toBe(stoppedAt);
    }
  });

  test("a callback that throws stops its monitor, and its error reaches the process", () => {
    // In its own process: Bun's test runner would take the uncaught error as this test's failure.
    const script = `import * as rt from ${JSON.stringify(new URL("../src/index.ts", import.meta.url).pathname)};
const seen = [];
process.on("uncaughtException", (error) => seen.push(error.message));
let calls = 0;
const monitor = rt.monitorMemory(() => { calls++; throw new Error("callback failed"); }, 5);
setTimeout(() => console.log(JSON.stringify({ calls, stopped: monitor.stopped, seen })), 100);`;
    const result = Bun.spawnSync([process.execPath, "-e", script], { timeout: 10_000 });
    expect(JSON.parse(result.stdout.toString())).toEqual({ calls: 1, stopped: true, seen: ["callback failed"] });
  });

  test("a running monitor does not keep the process alive", () => {
    const script = `import * as rt from ${JSON.stringify(new URL("../src/index.ts", import.meta.url).pathname)};
rt.monitorMemory(() => {}, 10); console.log("started");`;
    const result = Bun.spawnSync([process.execPath, "-e", script], { timeout: 10_000 });
    expect(result.stdout.toString().trim()).toBe("started");
    expect(result.exitCode).toBe(0);
  });

  test("bad arguments are InvalidArgumentError", () => {
    expect(() => rt.monitorMemory(() => {}, 0)).toThrow(rt.InvalidArgumentError);
    expect(() => rt.monitorMemory(() => {}, Number.NaN)).toThrow(rt.InvalidArgumentError);
    expect(() => rt.monitorMemory(null as unknown as () => void, 10)).toThrow(rt.InvalidArgumentError);
  });
});
