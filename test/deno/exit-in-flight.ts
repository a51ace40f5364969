/**
 * Exits while the library's threads are busy: a model alive, async runs in flight, and then an
 * uncaught error or Deno.exit. test/deno-exit.test.ts starts this many times and checks that the
 * process ends with the expected status and never by a signal (Deno unloads FFI libraries at exit;
 * the library keeps itself mapped for the threads still running its code).
 * Run: deno run --allow-ffi --allow-read --allow-env test/deno/exit-in-flight.ts throw|exit|end
 */
import * as rt from "../../src/index.ts";
import { longChain } from "./models.ts";

// deno-lint-ignore no-explicit-any
const Deno = (globalThis as any).Deno;
const how = Deno.args[0] ?? "exit";
const model = rt.loadModelSync(longChain(200), { threads: 2 });
const x = rt.tensor(new Float32Array(4096 * 16).fill(1), { shape: [4096, 16] });
const runs = Array.from({ length: 8 }, () => model.run([x]).catch(() => {}));
void rt.loadModel(longChain(200));
if (how === "throw") throw new Error("uncaught, with runs in flight");
if (how === "exit") Deno.exit(0);
await Promise.race(runs);
