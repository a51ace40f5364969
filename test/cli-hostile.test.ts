/**
 * `tessera` against hostile use: runs long enough to exhaust memory, files that cannot be written,
 * negative numbers for numeric options, and errors that must stay one line with the right status.
 */
import { afterEach, describe, expect, spyOn, test } from "bun:test";
import { symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { joinNegativeValues, UsageError } from "../src/cli/args.ts";
import { launch } from "../src/cli/launch.ts";
import { commands } from "../src/cli/main.ts";
import { measureAsync, measureSync, type Worker } from "../src/cli/measure.ts";
import { Progress } from "../src/cli/progress.ts";
import * as rt from "../src/index.ts";
import { StreamingStatistics, statistics } from "../src/profile/statistics.ts";
import { writeChromeTrace } from "../src/profile/trace.ts";
import type { InferRequest } from "../src/request.ts";
import { addRelu } from "./support/models.ts";
import { tessera } from "./support/cli.ts";
import { scratchDir } from "./support/paths.ts";

const dir = scratchDir("tessera-cli-hostile-");
const modelPath = join(dir, "add_relu.onnx");
writeFileSync(modelPath, addRelu());

/** The JS heap in use after a full collection, in bytes. */
function heapUsed(): number {
  Bun.gc(true);
  return process.memoryUsage().heapUsed;
}

/** A deterministic generator of uniform [0, 1) numbers (mulberry32), so failures reproduce. */
function uniform(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

/** Each command line must fail with `status` and exactly one line on stderr matching `pattern`. */
function expectOneLine(args: string[], pattern: RegExp, status: number): void {
  const { code, out, err } = tessera(...args);
  expect({ args, code, out }).toEqual({ args, code: status, out: "" });
  expect({ args, lines: err.trimEnd().split("\n") }).toEqual({ args, lines: [expect.stringMatching(pattern)] });
  expect(err).not.toContain("unexpected error");
}

describe("bench latencies in bounded memory", () => {
  test("up to the exact limit, the statistics are statistics() of the samples (numpy's interpolation)", () => {
    const samples = [10, 1, 9, 2, 8, 3, 7, 4, 6, 5];
    const summary = new StreamingStatistics({ exactLimit: samples.length });
    for (const value of samples) summary.add(value);
    expect(summary.exact).toBe(true);
    expect(summary.statistics()).toEqual(statistics(samples));
    expect(summary.statistics()).toMatchObject({ median: 5.5, p90: 9.1, p99: 9.91 });
    summary.add(11);
    expect(summary.exact).toBe(false);
  });

  test("10 million samples: the heap does not grow with them", () => {
    const before = heapUsed();
    const summary = new StreamingStatistics();
    for (let i = 0; i < 10_000_000; i++) summary.add(1 + (i % 1000) / 100);
    const grown = heapUsed() - before;
    // An array of them would be 80 MB; the histogram is ~140 KB, whatever the count.
    expect(grown).toBeLessThan(4 * 1024 * 1024);
    const s = summary.statistics();
    expect(s.count).toBe(10_000_000);
    expect([s.min, s.max]).toEqual([1, 10.99]);
    expect(Math.abs(s.median - 5.995) / 5.995).toBeLessThanOrEqual(StreamingStatistics.RELATIVE_ERROR);
  }, 60_000);

  test("past the exact limit, percentiles of known distributions are within the stated relative error", () => {
    const random = uniform(7);
    const normal = () => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
    const distributions: Record<string, () => number> = {
      "uniform 1..100 ms": () => 1 + 99 * random(),
      "log-normal around 2 ms": () => Math.exp(Math.log(2) + 0.5 * normal()),
      "two modes, 50 µs and 20 ms": () => (random() < 0.7 ? 0.05 : 20) * (1 + 0.1 * random()),
      "exponential, 5 ms mean": () => -5 * Math.log(1 - random()),
    };
    for (const [name, draw] of Object.entries(distributions)) {
      const samples = Array.from({ length: 200_000 }, draw);
      const summary = new StreamingStatistics({ exactLimit: 1000 });
      for (const value of samples) summary.add(value);
      expect(summary.exact).toBe(false);
      const exact = statistics(samples);
      const estimate = summary.statistics();
      expect({ name, count: estimate.count, min: estimate.min, max: estimate.max }).toEqual({ name, count: exact.count, min: exact.min, max: exact.max });
      for (const key of ["total", "mean", "stddev"] as const) {
        expect({ name, key, error: Math.abs(estimate[key] - exact[key]) / exact[key] < 1e-9 }).toEqual({ name, key, error: true });
      }
      for (const key of ["median", "p90", "p99"] as const) {
        const error = Math.abs(estimate[key] - exact[key]) / exact[key];
        expect({ name, key, within: error <= StreamingStatistics.RELATIVE_ERROR }).toEqual({ name, key, within: true });
      }
    }
  });

  test("samples outside the histogram's range count as the minimum or maximum; non-finite ones are refused", () => {
    const summary = new StreamingStatistics({ exactLimit: 0 });
    for (const value of [0, 0, 0, 5, 1e12, 1e12, 1e12]) summary.add(value);
    const s = summary.statistics();
    expect([s.min, s.max]).toEqual([0, 1e12]);
    expect(Math.abs(s.median - 5) / 5).toBeLessThanOrEqual(StreamingStatistics.RELATIVE_ERROR);
    expect(s.p90).toBe(1e12);
    expect(() => summary.add(Number.NaN)).toThrow(rt.InvalidArgumentError);
    expect(() => new StreamingStatistics().statistics()).toThrow(rt.InvalidArgumentError);
  });

  test("the bench loops keep a summary, not every latency: 3 million iterations leave the heap as it was", async () => {
    const request = { runSync() {}, infer() {}, async wait() {} } as unknown as InferRequest;
    const worker: Worker = { request, outputs: {} };
    const progress = () => new Progress({ iterations: 3_000_000 }, { write: () => {} });
    const before = heapUsed();
    const sync = measureSync(worker, {}, { iterations: 3_000_000, warmup: 0 }, progress());
    // An array of 3 million latencies is ~27 MB.
    expect(heapUsed() - before).toBeLessThan(4 * 1024 * 1024);
    expect(sync.latenciesMs.count).toBe(3_000_000);
    const async = await measureAsync([worker, { request, outputs: {} }], {}, { iterations: 1000, warmup: 0 }, progress());
    expect(async.latenciesMs.statistics().count).toBe(1000);
  }, 60_000);
});

describe("files that cannot be written", () => {
  test("profile --trace to a missing folder or onto a folder: one line naming the path and the reason, status 1", () => {
    expectOneLine(["profile", modelPath, "--shape", "x=1,4", "--repeat", "1", "--trace", "/nonexistent/dir/t.json"],
      /^tessera: cannot write the trace to '\/nonexistent\/dir\/t\.json': no such file or directory \(ENOENT\)$/, 1);
    expectOneLine(["profile", modelPath, "--shape", "x=1,4", "--repeat", "1", "--trace", dir],
      new RegExp(`^tessera: cannot write the trace to '${dir}': .*\\(EISDIR\\)$`), 1);
  }, 60_000);

  test("writeChromeTrace throws an IOError, as every Tessera failure is a RuntimeException", () => {
    expect(() => writeChromeTrace("/nonexistent/dir/t.json", [])).toThrow(rt.IOError);
  });

  test("run --output where no folder can be made: one line naming the path, status 1", () => {
    expectOneLine(["run", modelPath, "--shape", "x=1,4", "--output", "/dev/null/out"], /^tessera: cannot write '\/dev\/null\/out\/y\.npy': /, 1);
  }, 60_000);
});

describe("negative numbers for numeric options", () => {
  test("joinNegativeValues joins a negative number to the option before it, and nothing else", () => {
    expect(joinNegativeValues(["m.onnx", "-niter", "-5", "--threads", "-2", "-t", "-.5"])).toEqual(["m.onnx", "-niter=-5", "--threads=-2", "-t=-.5"]);
    expect(joinNegativeValues(["--json", "--seed", "3", "-niter=-5", "-hint", "-latency"])).toEqual(["--json", "--seed", "3", "-niter=-5", "-hint", "-latency"]);
    expect(joinNegativeValues(["--seed", "--", "-1", "-2"])).toEqual(["--seed", "--", "-1", "-2"]);
  });

  test("each is a usage error saying what the value must be, status 2", () => {
    const cases: [string[], RegExp][] = [
      [["bench", modelPath, "-niter", "-5"], /^tessera: -niter takes an integer >= 1, not '-5'$/],
      [["bench", modelPath, "--niter", "-5"], /^tessera: -niter takes an integer >= 1, not '-5'$/],
      [["bench", modelPath, "-t", "-1"], /^tessera: -t takes a number > 0, not '-1'$/],
      [["bench", modelPath, "-nireq", "-2"], /^tessera: -nireq takes an integer >= 1, not '-2'$/],
      [["bench", modelPath, "-warmup", "-1"], /^tessera: -warmup takes an integer >= 0, not '-1'$/],
      [["profile", modelPath, "--repeat", "-1"], /^tessera: --repeat takes an integer >= 1, not '-1'$/],
      [["profile", modelPath, "--top", "-3"], /^tessera: --top takes an integer >= 1, not '-3'$/],
      [["run", modelPath, "--threads", "-2"], /^tessera: --threads takes an integer >= 1, not '-2'$/],
      [["run", modelPath, "--seed", "-1"], /^tessera: --seed takes an integer >= 0, not '-1'$/],
    ];
    for (const [args, pattern] of cases) expectOneLine(args, pattern, 2);
  }, 60_000);
});

describe("errors from the library and from disposal", () => {
  const added: string[] = [];
  afterEach(() => {
    for (const name of added.splice(0)) delete commands[name];
  });

  /** Runs `tessera <name>` in this process through launch(), with `body` as the command. */
  async function launchWith(body: () => string): Promise<{ status: number; err: string[] }> {
    const name = `hostile-${added.length}`;
    added.push(name);
    commands[name] = { spec: { name, summary: "a test command", description: "A command that throws.", options: {} }, run: body };
    const err: string[] = [];
    const spy = spyOn(console, "error").mockImplementation((...args: unknown[]) => void err.push(args.join(" ")));
    try {
      return { status: await launch([name]), err };
    } finally {
      spy.mockRestore();
    }
  }

  test("every RuntimeException class: its message as one line, status 1, never 'unexpected error'", async () => {
    for (const ErrorClass of Object.values(rt.errorClasses)) {
      const { status, err } = await launchWith(() => {
        throw new ErrorClass(`${ErrorClass.name} happened\nwith detail on a second line`);
      });
      expect({ status, err }).toEqual({ status: 1, err: [`tessera: ${ErrorClass.name} happened`] });
    }
    // With no message at all, its class still says something.
    const empty = await launchWith(() => {
      throw new rt.ModelError("");
    });
    expect(empty).toEqual({ status: 1, err: ["tessera: ModelError"] });
  });

  test("a disposal that throws after the body threw reports the body's error, not a SuppressedError", async () => {
    const failingDisposal = { [Symbol.dispose]() { throw new rt.InvalidStateError("the request is still running"); } };
    const model = await launchWith(() => {
      using _ = failingDisposal;
      throw new rt.ModelError("cannot open model 'x.onnx': no such file");
    });
    expect(model).toEqual({ status: 1, err: ["tessera: cannot open model 'x.onnx': no such file"] });
    const usage = await launchWith(() => {
      using _ = failingDisposal;
      throw new UsageError("-niter takes an integer >= 1, not '0'");
    });
    expect(usage).toEqual({ status: 2, err: ["tessera: -niter takes an integer >= 1, not '0'"] });
  });

  test("a model the library cannot open (a symlink loop) is one line and status 1", () => {
    const loop = join(dir, "loop.onnx");
    symlinkSync(loop, loop);
    expectOneLine(["info", loop], /^tessera: cannot open model '.*loop\.onnx': /, 1);
  });
});
