/**
 * Async work from Workers: each JS thread's completions reach that thread. The main thread and
 * 4 Workers each run 200 async inferences and 2 async model loads at once; every promise settles
 * exactly once with the right result. A Worker ended while its runs are in flight crashes nothing.
 */
import { expect, test } from "bun:test";
import { join } from "node:path";
import { addRelu } from "./support/models.ts";
import { runMany } from "./workers/runs.ts";
import { bunBinary, repo } from "./support/paths.ts";

const workerUrl = new URL("./workers/worker.ts", import.meta.url).href;
const model = addRelu();

function resultOf(worker: Worker): Promise<{ settled: number; twice: number; wrong: number }> {
  return new Promise((resolve, reject) => {
    worker.addEventListener("message", (event) => {
      if (!event.data.inFlight) resolve(event.data);
    });
    worker.addEventListener("error", (event) => reject(new Error(event.message)));
  });
}

// The Workers are sent their work at once, before their modules have run: Tessera's modules
// evaluate synchronously (no top-level await), so a Bun Worker drops no message.
test("the main thread and 4 Workers each settle 200 runs and 2 loads, each exactly once", async () => {
  const workers = Array.from({ length: 4 }, () => new Worker(workerUrl));
  const results = workers.map(resultOf);
  for (const worker of workers) worker.postMessage({ model, runs: 200, loads: 2 });
  const mine = await runMany({ model, runs: 200, loads: 2 });
  const theirs = await Promise.all(results);
  for (const worker of workers) worker.terminate();
  for (const result of [mine, ...theirs]) expect(result).toEqual({ settled: 202, twice: 0, wrong: 0 });
}, 120_000);

test("ending a Worker while its runs are in flight crashes nothing", async () => {
  // In a process of its own, so that a crash or a process that never exits shows.
  const script = join(repo, "test/workers/terminate-in-flight.ts");
  for (let round = 0; round < 3; round++) {
    const child = Bun.spawn([bunBinary, script], { stdout: "pipe", stderr: "pipe" });
    const timer = setTimeout(() => child.kill("SIGKILL"), 15_000);
    const [out, err, code] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]);
    clearTimeout(timer);
    expect(err).not.toContain("Segmentation fault");
    expect(out).toContain("main thread settled 202, twice 0, wrong 0");
    expect(child.signalCode).toBeNull();
    expect(code).toBe(0);
  }
}, 120_000);
