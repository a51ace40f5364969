/**
 * Logging: levels, the console and file sinks, and a callback that receives the library's
 * messages. TESSERA_LOG and TESSERA_LOGFILE configure the same at start-up.
 */
import { logCallbackSignature } from "../bindings/symbols.ts";
import { InvalidArgumentError } from "./errors.ts";
import { check, cString, lib, native, type Pointer } from "./native.ts";
import type { NativeCallback } from "../bindings/adapter.ts";

export const logLevels = ["trace", "debug", "info", "warn", "error", "off"] as const;
export type LogLevel = (typeof logLevels)[number];
export type LogCallback = (level: LogLevel, message: string) => void;

function levelNumber(level: LogLevel | number): number {
  const number = typeof level === "number" ? level : logLevels.indexOf(level);
  if (!Number.isInteger(number) || number < 0 || number >= logLevels.length) {
    throw new InvalidArgumentError(`unknown log level '${level}'; use one of ${logLevels.join(", ")}`);
  }
  return number;
}

let installed: NativeCallback | null = null;
/** Calls into the log callback in progress on this thread (it may log again, or replace itself). */
let depth = 0;

export const logging = {
  setLevel(level: LogLevel | number): void {
    check(lib.tsr_log_set_level(levelNumber(level)));
  },
  getLevel(): LogLevel {
    return logLevels[lib.tsr_log_get_level() as number] ?? "warn";
  },
  setConsole(enabled: boolean): void {
    check(lib.tsr_log_set_console(enabled ? 1 : 0));
  },
  /** Appends messages to `path`; null closes the file. */
  setFile(path: string | null): void {
    check(lib.tsr_log_set_file(path === null ? null : cString(path)));
  },
  /**
   * Receives every message at or above the level that is logged on the JS thread; null removes
   * it. It runs synchronously, so it should be quick. Messages from the library's worker threads
   * (background loads and runs) go to the console and file sinks only.
   *
   * What the callback throws never fails the library call that logged: that call returns (or
   * throws its own typed error) as if no callback were set, and the exception is rethrown on a
   * microtask, where it surfaces as an uncaught exception, as a throwing timer callback's does
   * (process.on("uncaughtException") in Bun, the "error" event in Deno).
   */
  setCallback(callback: LogCallback | null): void {
    const previous = installed;
    installed = null;
    if (callback) {
      installed = native.callback(logCallbackSignature, (level: number, message: Pointer) => {
        depth++;
        try {
          callback(logLevels[level] ?? "info", native.cstring(message));
        } catch (error) {
          // Unwinding through native code would skip the rest of the call: its status and what
          // it made (a loaded model) would be lost. Report the user's own exception, unchanged,
          // once the call is over, so that a bug in the callback is neither lost nor fatal to it.
          queueMicrotask(() => {
            throw error;
          });
        } finally {
          depth--;
        }
      }, { threadsafe: false });
    }
    // Native code swaps the callback under its lock, so the old one is unused once this returns,
    // unless this call comes from inside it: then it is still running, and closes once it is done.
    check(lib.tsr_log_set_callback(installed ? installed.pointer : null, null));
    if (depth > 0) queueMicrotask(() => previous?.close());
    else previous?.close();
  },
  write(level: Exclude<LogLevel, "off">, message: string): void {
    check(lib.tsr_log_write(levelNumber(level), cString(message)));
  },
};
