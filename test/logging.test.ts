/** Logging: levels, the callback and file sinks, and TESSERA_LOG / TESSERA_LOGFILE / TESSERA_DEFER_INIT. */
import { afterEach, describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import * as rt from "../src/index.ts";
import { addRelu } from "./support/models.ts";
import { scratchDir } from "./support/paths.ts";

const entry = new URL("../src/index.ts", import.meta.url).pathname;

function runScript(body: string, env: Record<string, string>) {
  const script = `import * as rt from "${entry}";\n${body}`;
  const result = Bun.spawnSync([process.execPath, "-e", script], { env: { ...process.env, ...env } });
  return { code: result.exitCode, stdout: result.stdout.toString(), stderr: result.stderr.toString() };
}

afterEach(() => {
  rt.logging.setCallback(null);
  rt.logging.setFile(null);
  rt.logging.setConsole(true);
  rt.logging.setLevel("warn");
});

describe("levels and sinks", () => {
  test("the callback receives messages at or above the level", () => {
    const seen: [string, string][] = [];
    rt.logging.setConsole(false);
    rt.logging.setCallback((level, message) => seen.push([level, message]));
    rt.logging.setLevel("info");
    expect(rt.logging.getLevel()).toBe("info");
    rt.logging.write("debug", "hidden");
    rt.logging.write("info", "shown");
    rt.logging.write("error", "also shown");
    expect(seen).toEqual([["info", "shown"], ["error", "also shown"]]);
    rt.logging.setCallback(null);
    rt.logging.write("error", "after removal");
    expect(seen.length).toBe(2);
  });

  test("the library's own messages reach the callback", () => {
    const seen: string[] = [];
    rt.logging.setConsole(false);
    rt.logging.setLevel("info");
    rt.logging.setCallback((_, message) => seen.push(message));
    rt.finalize();
    rt.initialize();
    expect(seen).toContain("finalized");
    expect(seen.some((m) => m.startsWith("initialized"))).toBe(true);
  });

  test("messages from worker threads never enter the JS callback", async () => {
    const seen: string[] = [];
    rt.logging.setConsole(false);
    rt.logging.setLevel("debug");
    rt.logging.setCallback((_, message) => seen.push(message));
    using sync = rt.loadModelSync(addRelu()); // logs on this thread
    using background = await rt.loadModel(addRelu()); // logs on a worker: must not call into JS
    expect(seen.filter((m) => m.startsWith("model pipeline")).length).toBe(1);
    expect([sync.name, background.name]).toEqual(["add_relu", "add_relu"]);
  });

  test("the file sink appends timestamped lines", () => {
    const path = join(scratchDir(), "tessera.log");
    rt.logging.setConsole(false);
    rt.logging.setFile(path);
    rt.logging.write("warn", "first");
    rt.logging.write("error", "second");
    rt.logging.setFile(null);
    rt.logging.setFile(path);
    rt.logging.write("warn", "third");
    rt.logging.setFile(null);
    const lines = readFileSync(path, "utf8").trim().split("\n");
    expect(lines.map((l) => l.replace(/^\d+\.\d{3} /, ""))).toEqual(["warn: first", "error: second", "warn: third"]);
  });

  test("bad levels and paths are typed errors", () => {
    expect(() => rt.logging.setLevel("loud" as never)).toThrow(rt.InvalidArgumentError);
    expect(() => rt.logging.setLevel(9)).toThrow(rt.InvalidArgumentError);
    expect(() => rt.logging.setFile("/nonexistent-dir/x.log")).toThrow(rt.IOError);
    expect(() => rt.logging.write("error", "nul\0inside")).toThrow(rt.InvalidArgumentError);
  });

  test("the console sink writes to stderr", () => {
    const result = runScript(`rt.logging.write("warn", "to the console");`, {});
    expect(result.code).toBe(0);
    expect(result.stderr).toContain("[tessera] warn: to the console");
  });
});

describe("environment", () => {
  test("TESSERA_LOG sets the level and TESSERA_LOGFILE the file", () => {
    const path = join(scratchDir(), "env.log");
    const result = runScript(`console.log(rt.logging.getLevel()); rt.logging.write("debug", "via env");`, {
      TESSERA_LOG: "debug",
      TESSERA_LOGFILE: path,
    });
    expect(result.code).toBe(0);
    expect(result.stdout.trim()).toBe("debug");
    const text = readFileSync(path, "utf8");
    expect(text).toContain("debug: discovered");
    expect(text).toContain("debug: via env");
  });

  test("a bad TESSERA_LOG is reported, not fatal", () => {
    const result = runScript(`console.log(rt.logging.getLevel());`, { TESSERA_LOG: "chatty" });
    expect(result.code).toBe(0);
    expect(result.stdout.trim()).toBe("warn");
    expect(result.stderr).toContain("TESSERA_LOG='chatty' is not a level");
  });

  test("TESSERA_DEFER_INIT defers device discovery to the first device query", () => {
    const body = `rt.logging.write("info", "before devices"); console.log(rt.devices().length > 0);`;
    const deferred = runScript(body, { TESSERA_DEFER_INIT: "1", TESSERA_LOG: "debug" });
    expect(deferred.code).toBe(0);
    expect(deferred.stdout.trim()).toBe("true");
    expect(deferred.stderr).toContain("device discovery deferred");
    const order = ["before devices", "discovered"].map((m) => deferred.stderr.indexOf(m));
    expect(order[0]).toBeLessThan(order[1]!);
    const eager = runScript(body, { TESSERA_LOG: "debug" });
    const eagerOrder = ["discovered", "before devices"].map((m) => eager.stderr.indexOf(m));
    expect(eagerOrder[0]).toBeLessThan(eagerOrder[1]!);
  });
});
