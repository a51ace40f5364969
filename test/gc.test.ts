/**
 * Garbage collection under Bun: every kind of object dropped without dispose() is collected and
 * the library's live bytes, tensors and models return to where they started. The scenarios are
 * shared with the Deno suite (test/deno/gc.ts).
 */
import { describe, test } from "bun:test";
import { collector, scenarios } from "./deno/gc.ts";

const expectCollected = collector(() => Bun.gc(true));

describe("dropped objects are collected", () => {
  for (const [name, scenario] of Object.entries(scenarios)) {
    test(name, () => scenario(expectCollected), 60_000);
  }
});
