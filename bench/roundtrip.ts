/**
 * Round-trip overhead of one inference on a one-node model (c = a + b over float32 [4]), in
 * whichever runtime runs this file (Bun or Deno): the kernel costs nanoseconds, so the figures
 * are what the API, the FFI and the completion path cost.
 *   rawRun: tsr_request_run through the raw symbol (the floor for a synchronous run);
 *   runSync: request.runSync (checks, bindings, the run, the output copied into JS);
 *   runSyncInPlace: the same, the output written into a caller's Float32Array (no copy out);
 *   modelRunSync: model.runSync (a pooled request);
 *   inferWait: request.infer + await request.wait (a native worker, completion to JS);
 *   inferWaitSync: request.infer + request.waitSync (a worker, the JS thread blocked).
 * Each sample times a batch; prints one JSON line of µs per inference (min and median of samples).
 */
import * as rt from "../src/index.ts";
import { lib, native } from "../src/native.ts";
import { addPair } from "../test/deno/models.ts";

interface Figure {
  min: number;
  median: number;
}

function summarize(samples: number[]): Figure {
  samples.sort((a, b) => a - b);
  return { min: samples[0]!, median: samples[Math.floor(samples.length / 2)]! };
}

function syncFigure(batch: number, samples: number, body: () => void): Figure {
  for (let i = 0; i < batch; i++) body(); // warm up
  const us: number[] = [];
  for (let s = 0; s < samples; s++) {
    const start = performance.now();
    for (let i = 0; i < batch; i++) body();
    us.push(((performance.now() - start) * 1000) / batch);
  }
  return summarize(us);
}

async function asyncFigure(batch: number, samples: number, body: () => Promise<void>): Promise<Figure> {
  for (let i = 0; i < batch; i++) await body();
  const us: number[] = [];
  for (let s = 0; s < samples; s++) {
    const start = performance.now();
    for (let i = 0; i < batch; i++) await body();
    us.push(((performance.now() - start) * 1000) / batch);
  }
  return summarize(us);
}

const model = rt.loadModelSync(addPair());
const request = model.createRequest();
const a = rt.tensor([1, 2, 3, 4]);
const b = rt.tensor([10, 20, 30, 40]);
const c = new Float32Array(4);
// The request's native pointer, reached past `protected` on purpose: rawRun is the floor that
// the API's figures are compared with.
const pointer = (request as unknown as { guard(): rt.Tensor["nativeHandle"] }).guard();
request.runSync([a, b]); // binds the inputs natively, for rawRun

const results = {
  runtime: native.runtime,
  rawRun: syncFigure(2000, 31, () => void lib.tsr_request_run(pointer)),
  runSync: syncFigure(1000, 31, () => void request.runSync([a, b])),
  runSyncInPlace: syncFigure(1000, 31, () => void request.runSync([a, b], { into: [c] })),
  modelRunSync: syncFigure(1000, 31, () => void model.runSync([a, b])),
  inferWait: await asyncFigure(200, 31, async () => {
    request.infer([a, b]);
    await request.wait();
  }),
  inferWaitSync: syncFigure(200, 31, () => {
    request.infer([a, b]);
    request.waitSync();
  }),
};
if (c[0] !== 11) throw new Error(`wrong result: ${c[0]}`);
request.dispose();
model.dispose();
console.log(JSON.stringify(results));
