/**
 * Terminates two Workers as soon as their runs are in flight, while the main thread runs its own;
 * the main thread's runs must all settle, and the process must exit cleanly (test/workers.test.ts
 * runs this as a child process, so that a crash shows as its exit status).
 */
import { addRelu } from "../support/models.ts";
import { runMany } from "./runs.ts";

const model = addRelu();
const workers = Array.from({ length: 2 }, () => new Worker(new URL("./worker.ts", import.meta.url).href));
for (const worker of workers) {
  worker.addEventListener("message", (event) => {
    if (event.data.inFlight) worker.terminate();
  });
  worker.postMessage({ model, runs: 200, loads: 2, reportInFlight: true });
}
const mine = await runMany({ model, runs: 200, loads: 2 });
// Give the ended Workers' completions time to arrive where nobody listens any more.
await new Promise((resolve) => setTimeout(resolve, 500));
console.log(`main thread settled ${mine.settled}, twice ${mine.twice}, wrong ${mine.wrong}`);
