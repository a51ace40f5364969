/**
 * Deno exiting while the library's threads run its code: by an uncaught error, Deno.exit and the
 * end of the script, each with a model alive and runs and a load in flight. Deno unloads FFI
 * libraries at exit; before the library pinned itself in memory, this segfaulted nearly every time.
 */
import { expect, test } from "bun:test";
import { join } from "node:path";
import { repo } from "./support/paths.ts";

const deno = join(repo, "node_modules/.bin/deno");
const script = join(repo, "test/deno/exit-in-flight.ts");

for (const [how, status] of [["throw", 1], ["exit", 0], ["end", 0]] as const) {
  test(`Deno ends by '${how}' with runs in flight: status ${status}, never a signal`, async () => {
    for (let round = 0; round < 5; round++) {
      const child = Bun.spawn([deno, "run", "--allow-ffi", "--allow-read", "--allow-env", script, how], { stdout: "pipe", stderr: "pipe" });
      const [err, code] = await Promise.all([new Response(child.stderr).text(), child.exited]);
      expect(child.signalCode).toBeNull();
      expect(err).not.toContain("Segmentation fault");
      expect(code).toBe(status);
    }
  }, 120_000);
}
