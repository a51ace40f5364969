/**
 * Requests in flight from Bun: callbacks (and chains driven from them), many requests on one
 * model and on many models, an event loop that keeps turning during a long run, faults that stay
 * local, and disposal while runs are in flight. No test asserts a duration.
 */
import { describe, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import * as rt from "../src/index.ts";
import { addPair, addRelu, heavyChain, longChain } from "./deno/models.ts";
import { bunBinary, repo, scratchDir } from "./support/paths.ts";

const first = (t: rt.Tensor | undefined) => (t!.toTypedArray() as Float32Array)[0];

describe("requests in flight", () => {
  test("the callback sees each run end and may start the next one: a chain of infers", async () => {
    using model = rt.loadModelSync(addPair());
    using request = model.createRequest();
    const a = new Float32Array([0, 0, 0, 0]);
    const one = new Float32Array([1, 1, 1, 1]);
    const seen: string[] = [];
    const chain = 200;
    const finished = Promise.withResolvers<void>();
    request.setCallback((status, error) => {
      seen.push(status);
      if (error) return finished.reject(error);
      a.set(request.getOutputs<rt.Tensor>().c!.toTypedArray() as Float32Array); // outputs readable here
      if (seen.length < chain) request.infer([a, one]);
      else finished.resolve();
    });
    request.infer([a, one]);
    await finished.promise;
    expect(seen.length).toBe(chain);
    expect(seen.every((s) => s === "READY")).toBe(true);
    expect(Array.from(a)).toEqual([chain, chain, chain, chain]);
  });

  test("the callback gets FAULT and the error; what it throws reaches wait()", async () => {
    using model = rt.loadModelSync(longChain(2000));
    using x = rt.tensor(0, { shape: [4, 16] });
    using request = model.createRequest();
    const calls: [string, unknown][] = [];
    request.setCallback((status, error) => void calls.push([status, error]));
    request.infer([x], undefined, { deadlineUs: 1 });
    await expect(request.wait()).rejects.toThrow(/deadline passed/);
    expect(calls[0]![0]).toBe("FAULT");
    expect(calls[0]![1]).toBeInstanceOf(rt.RequestError);
    request.setCallback(() => {
      throw new Error("from the callback");
    });
    request.infer([x]);
    await expect(request.wait()).rejects.toThrow("from the callback");
    expect(request.status).toBe("READY"); // the run itself succeeded
    expect(first(request.getOutputs<rt.Tensor>().y)).toBe(2000);
    request.setCallback(null);
  });

  test("hundreds of requests in flight on one model all finish with their own results", async () => {
    using model = rt.loadModelSync(addRelu());
    const count = 300;
    const requests = Array.from({ length: count }, () => model.createRequest());
    const inputs = requests.map((_, i) => rt.tensor(i, { shape: [1, 4] }));
    requests.forEach((request, i) => request.infer([inputs[i]!]));
    await Promise.all(requests.map((request) => request.wait()));
    requests.forEach((request, i) => expect(first(request.getOutputs<rt.Tensor>().y)).toBe((i + 1) * 2));
    const viaRun = await Promise.all(inputs.map((x) => model.run<rt.Tensor>([x])));
    viaRun.forEach((out, i) => expect(first(out.y)).toBe((i + 1) * 2));
    for (const t of [...requests, ...inputs]) t.dispose();
  });

  test("short runs beside a long one (in Deno: polled, and polled then slept on) all end with their own results", async () => {
    using short = rt.loadModelSync(addRelu());
    using long = rt.loadModelSync(heavyChain(400));
    using big = rt.tensor(0, { shape: [512, 256] });
    const longRuns = [long.run<rt.Tensor>([big]), long.run<rt.Tensor>([big])];
    for (let i = 0; i < 200; i++) {
      using x = rt.tensor(i, { shape: [1, 4] });
      expect(first((await short.run<rt.Tensor>([x])).y)).toBe((i + 1) * 2);
    }
    for (const out of await Promise.all(longRuns)) expect(first(out.y)).toBe(400);
    // Once the long model's runs are known to be long, they no longer poll, and still end.
    expect(long.clock.pollUs).toBe(0);
    expect(first((await long.run<rt.Tensor>([big])).y)).toBe(400);
  });

  test("many models at once, each with requests in flight", async () => {
    const models = await Promise.all(Array.from({ length: 8 }, () => rt.loadModel(addRelu())));
    const good = models.flatMap((model, m) =>
      Array.from({ length: 25 }, async (_, i) => {
        using x = rt.tensor([[m, i, 0, 0]]);
        const out = await model.run<rt.Tensor>([x]);
        return Array.from(out.y!.toTypedArray() as Float32Array);
      })
    );
    const results = await Promise.all(good);
    results.forEach((row, k) => {
      const m = Math.floor(k / 25), i = k % 25;
      expect(row).toEqual([(m + 1) * 2, (i + 2) * 2, 6, 8]);
    });
    for (const model of models) model.dispose();
  });

  test("timers keep firing during a long inference: the event loop is never blocked", async () => {
    using model = rt.loadModelSync(heavyChain(3000));
    using x = rt.tensor(0, { shape: [2048, 256] });
    using request = model.createRequest();
    let ticksWhileRunning = 0;
    request.infer([x]);
    // The timer cancels the run once it has seen it running three times, so this ends quickly
    // on any machine; on a machine fast enough to finish first, the run simply succeeds.
    const timer = setInterval(() => {
      if (request.status !== "RUNNING") return;
      if (++ticksWhileRunning === 3) request.cancel();
    }, 1);
    const outcome = await request.wait().then(() => "finished", (e) => e);
    clearInterval(timer);
    if (outcome !== "finished") expect(outcome).toBeInstanceOf(rt.RequestError);
    expect(ticksWhileRunning).toBeGreaterThanOrEqual(outcome === "finished" ? 1 : 3);
  });

  test("a run in flight keeps the process alive until its callback ran (Bun and Deno)", () => {
    // No timer, no top-level await: only the pending completion may keep the process running.
    const script = join(scratchDir(), "alive.ts");
    writeFileSync(script, `
      import * as rt from "${repo}src/index.ts";
      import { longChain } from "${repo}test/deno/models.ts";
      const model = rt.loadModelSync(longChain(3000));
      const request = model.createRequest();
      request.setCallback((status) => console.log("callback " + status + " " + request.getOutputs().y.toTypedArray()[0]));
      request.infer([rt.tensor(0, { shape: [64, 16] })]);
    `);
    const deno = join(repo, "node_modules/.bin/deno");
    for (const command of [[bunBinary, script], [deno, "run", "--allow-ffi", "--allow-read", "--allow-env", script]]) {
      const run = Bun.spawnSync(command, { env: process.env });
      expect(run.stderr.toString()).toBe("");
      expect(run.stdout.toString().trim()).toBe("callback READY 3000");
      expect(run.exitCode).toBe(0);
    }
  });

  test("a fault in one request leaves the model and every other request usable", async () => {
    using model = rt.loadModelSync(longChain(500));
    using x = rt.tensor(0, { shape: [8, 16] });
    const requests = Array.from({ length: 6 }, () => model.createRequest());
    requests.forEach((r, i) => r.infer([x], undefined, { deadlineUs: i === 2 ? 1 : 0 }));
    const outcomes = await Promise.all(requests.map((r) => r.wait().then(() => "ok", (e) => e)));
    expect(outcomes[2]).toBeInstanceOf(rt.RequestError);
    expect(outcomes.filter((o) => o === "ok").length).toBe(5);
    expect(requests.map((r) => r.status)).toEqual(["READY", "READY", "FAULT", "READY", "READY", "READY"]);
    expect(first((await requests[2]!.run<rt.Tensor>([x])).y)).toBe(500);
    for (const r of requests) r.dispose();
  });

  test("disposing a model with requests in flight cancels them safely; memory comes back", async () => {
    const start = rt.nativeStats();
    const model = rt.loadModelSync(longChain(1000));
    using other = rt.loadModelSync(addRelu());
    const x = rt.tensor(0, { shape: [32, 16] });
    const requests = Array.from({ length: 40 }, () => model.createRequest());
    requests.forEach((r) => r.infer([x]));
    const pending = requests.map((r) => r.wait().then(() => "ok", (e) => e));
    const viaRun = model.run([x]).then(() => "ok", (e) => e);
    model.dispose();
    expect(model.disposed).toBe(true);
    expect(requests.every((r) => r.disposed)).toBe(true);
    expect(() => requests[0]!.infer([x])).toThrow(rt.InvalidStateError);
    expect(() => model.createRequest()).toThrow(rt.InvalidStateError);
    // Each run ends as it would (cancelled, or done if it ended first); none crashes.
    for (const outcome of await Promise.all(pending)) {
      if (outcome !== "ok") expect(outcome).toBeInstanceOf(rt.RequestError);
    }
    // model.run cannot hand outputs back from a disposed model, whichever way its run ended.
    expect(await viaRun).toBeInstanceOf(rt.RuntimeException);
    using y = rt.tensor([[1, 1, 1, 1]]);
    expect(other.runSync<rt.Tensor>([y]).y!.toArray()).toEqual([[4, 6, 8, 10]]);
    x.dispose();
    expect(rt.nativeStats().liveModels).toBe(start.liveModels + 1);
  });

  test("disposing a request mid-run defers its native destroy; finalize waits for runs", async () => {
    using model = rt.loadModelSync(longChain(2000));
    using x = rt.tensor(0, { shape: [16, 16] });
    const request = model.createRequest();
    request.infer([x]);
    expect(() => rt.finalize()).toThrow(/in flight/); // refused before anything was released
    expect(rt.isInitialized()).toBe(true);
    request.dispose();
    await request.wait().catch((e) => expect(e).toBeInstanceOf(rt.RequestError));
    expect(first(model.runSync<rt.Tensor>([x]).y)).toBe(2000);
  });

  test("disposing a bound tensor mid-run is safe: the run reads it to the end, then it goes", async () => {
    using model = rt.loadModelSync(heavyChain(2000));
    const x = rt.tensor(1, { shape: [64, 256] });
    const y = rt.tensor(0, { shape: [64, 256] });
    using request = model.createRequest();
    request.infer({ x }, { y });
    x.dispose(); // throws nothing; the native tensors live until the run has ended
    y.dispose();
    expect(() => x.toTypedArray()).toThrow(rt.InvalidStateError);
    const during = rt.nativeStats().liveTensors; // x and y among them, natively alive
    await request.wait();
    expect(during).toBeGreaterThanOrEqual(2);
    expect(rt.nativeStats().liveTensors).toBeLessThanOrEqual(during - 2);
  });
});
