/** A Worker of the Worker tests: runs runMany on the message it is sent and posts the result. */
import { runMany, type Start } from "./runs.ts";

// deno-lint-ignore no-explicit-any
const scope = globalThis as any;
scope.addEventListener("message", async (event: MessageEvent<Start>) => {
  const inFlight = event.data.reportInFlight ? () => scope.postMessage({ inFlight: true }) : undefined;
  scope.postMessage(await runMany(event.data, inFlight));
});
