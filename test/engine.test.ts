/**
 * The execution engine's options, observed from outside: memory plans per input shape,
 * intermediates (readable, reused, or saved to files), the kernel thread pool's pinning and
 * denormal flushing, and the exclusive scheduler.
 */
import { describe, expect, test } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { buildModel, GraphBuilder } from "../src/onnx/builder.ts";
import * as rt from "../src/index.ts";
import { addRelu } from "./support/models.ts";
import { scratchDir } from "./support/paths.ts";

const f32 = (t: rt.Tensor | undefined) => Array.from(t!.toTypedArray() as Float32Array);
/** y = relu(x + w) * 2, as addRelu computes it. */
const expectedAddRelu = (x: number[]) => x.map((v, i) => Math.max(v + [1, 2, 3, 4][i % 4]!, 0) * 2);

/** addRelu with its intermediates named: sum = x + w, r = relu(sum), y = r * 2. */
function namedAddRelu(): Uint8Array {
  const g = new GraphBuilder("named");
  g.input("x", "float32", ["N", 4]);
  g.initializer("w", "float32", [4], new Float32Array([1, 2, 3, 4]));
  g.initializer("two", "float32", [], new Float32Array([2]));
  g.node("Add", ["x", "w"], { outputs: ["sum"] });
  g.node("Relu", ["sum"], { outputs: ["r"] });
  g.node("Mul", ["r", "two"], { outputs: ["y"] });
  g.output("y", "float32", ["N", 4]);
  return buildModel(g);
}

/** y = x * scale over [4]: with a tiny x and scale, the exact product is a denormal. */
function scaleBy(): Uint8Array {
  const g = new GraphBuilder("scale");
  g.input("x", "float32", [4]);
  g.input("scale", "float32", [4]);
  g.node("Mul", ["x", "scale"], { outputs: ["y"] });
  g.output("y", "float32", [4]);
  return buildModel(g);
}

describe("engine", () => {
  test("a dynamic model re-plans for each new shape and reuses the plans: results stay exact", () => {
    using model = rt.loadModelSync(addRelu());
    using request = model.createRequest();
    for (const rows of [1, 3, 1, 5, 3, 5, 1]) {
      const x = Array.from({ length: rows * 4 }, (_, i) => (i % 7) - 3);
      using input = rt.tensor(new Float32Array(x), { shape: [rows, 4] });
      const { y } = request.runSync<rt.Tensor>([input]);
      expect(y!.shape).toEqual([rows, 4]);
      expect(f32(y)).toEqual(expectedAddRelu(x));
    }
  });

  test("with memoryOptimization, intermediates are reused and say so; inputs and outputs stay readable", () => {
    using model = rt.loadModelSync(namedAddRelu());
    using request = model.createRequest();
    using x = rt.tensor([[1, -5, 2, 0]]);
    request.runSync([x]);
    request.runSync([x]); // a planned run
    expect(() => request.getTensor("r")).toThrow(rt.InvalidStateError);
    expect(() => request.getTensor("r")).toThrow(/memory was reused/);
    expect(f32(request.getTensor("x"))).toEqual([1, -5, 2, 0]);
    expect(f32(request.getTensor("y"))).toEqual([4, 0, 10, 8]);
  });

  test("intermediateSavePath writes every node output as a tensor file, equal to getTensor", () => {
    const folder = join(scratchDir("tessera-intermediates-"), "run");
    using model = rt.loadModelSync(namedAddRelu(), { intermediateSavePath: folder, memoryOptimization: false });
    using request = model.createRequest();
    using x = rt.tensor([[1, -5, 2, 0], [0, 0, -1, -10]]);
    request.runSync([x]);
    const files = readdirSync(folder).sort();
    expect(files).toEqual(["r.tsr", "sum.tsr", "y.tsr"]);
    for (const file of files) {
      const saved = rt.loadTensor(join(folder, file));
      expect(f32(saved)).toEqual(f32(request.getTensor(file.slice(0, -".tsr".length))));
    }
  });

  test("cores pins the pool's threads; threads sets their count", () => {
    const pinnedThreads = () =>
      readdirSync("/proc/self/task").filter((tid) => {
        const status = readFileSync(`/proc/self/task/${tid}/status`, "utf8");
        return /Cpus_allowed_list:\s*0\s*$/m.test(status);
      }).length;
    const before = pinnedThreads();
    using model = rt.loadModelSync(addRelu(), { threads: 3, cores: [0] });
    // Threads 1 and 2 of the pool are the model's own (the caller is thread 0): both on core 0.
    expect(pinnedThreads()).toBe(before + 2);
    using x = rt.tensor([[1, -5, 2, 0]]);
    expect(f32(model.runSync<rt.Tensor>([x]).y)).toEqual([4, 0, 10, 8]);
  });

  test("disableDenormals flushes denormal results to zero; by default they are kept", () => {
    using x = rt.tensor(new Float32Array(4).fill(1e-20));
    using scale = rt.tensor(new Float32Array(4).fill(1e-20));
    using exact = rt.loadModelSync(scaleBy());
    using flushing = rt.loadModelSync(scaleBy(), { disableDenormals: true });
    expect(f32(exact.runSync<rt.Tensor>([x, scale]).y)[0]).toBeGreaterThan(0); // 1e-40, a denormal
    expect(f32(flushing.runSync<rt.Tensor>([x, scale]).y)).toEqual([0, 0, 0, 0]);
    expect(f32(exact.runSync<rt.Tensor>([x, scale]).y)[0]).toBeGreaterThan(0); // the caller's mode came back
  });

  test("the exclusive scheduler runs requests one at a time, all to the right result", async () => {
    using model = rt.loadModelSync(addRelu(), { scheduler: "exclusive" });
    const requests = Array.from({ length: 40 }, () => model.createRequest());
    const inputs = requests.map((_, i) => rt.tensor([[i, -i, i, -i]]));
    requests.forEach((r, i) => r.infer([inputs[i]!]));
    await Promise.all(requests.map((r) => r.wait()));
    requests.forEach((r, i) => expect(f32(r.getOutputs<rt.Tensor>().y)).toEqual(expectedAddRelu([i, -i, i, -i])));
    for (const r of requests) r.dispose();
    for (const t of inputs) t.dispose();
  });

  test("the pipeline scheduler waits for a second device", () => {
    expect(() => rt.loadModelSync(addRelu(), { scheduler: "pipeline" })).toThrow(rt.NotImplementedError);
  });
});
