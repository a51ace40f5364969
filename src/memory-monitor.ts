/**
 * Memory sampling: the process's resident set and the runtime's own live and peak bytes
 * (tsr_stats_get), read once (memorySample) or on a timer (monitorMemory).
 *
 * The timer is unref'd, so a forgotten monitor never keeps Bun or Deno running. It fires from the
 * event loop, so it does not sample while a synchronous run blocks the thread.
 */
import { InvalidArgumentError } from "./errors.ts";
import { nativeStats } from "./stats.ts";

export interface MemorySample {
  /** The process's resident set size. */
  rssBytes: number;
  /** Bytes the native library holds now, and the most it has held since it was loaded. */
  runtimeLiveBytes: number;
  runtimePeakBytes: number;
  /** When it was taken: milliseconds since the Unix epoch (Date.now()). */
  timestamp: number;
}

export interface MemoryMonitor extends Disposable {
  /** Stops the sampling; safe to call more than once. */
  stop(): void;
  /** The same as stop(). */
  dispose(): void;
  readonly stopped: boolean;
}

interface DenoMemory {
  memoryUsage(): { rss: number };
  unrefTimer(id: number): void;
}

const deno = (globalThis as { Deno?: DenoMemory }).Deno;

/** The process's resident set size in bytes, in Bun or Deno. */
export function processRssBytes(): number {
  if (deno) return deno.memoryUsage().rss;
  // process.memoryUsage.rss() reads only the RSS, without the heap statistics memoryUsage() gathers.
  const usage = process.memoryUsage as typeof process.memoryUsage & { rss?: () => number };
  return typeof usage.rss === "function" ? usage.rss() : usage().rss;
}

export function memorySample(): MemorySample {
  const stats = nativeStats();
  return {
    rssBytes: processRssBytes(),
    runtimeLiveBytes: stats.liveBytes,
    runtimePeakBytes: stats.peakBytes,
    timestamp: Date.now(),
  };
}

/**
 * Calls `callback` with a MemorySample every `intervalMs` until the returned monitor is stopped
 * (stop(), dispose(), or the end of a `using` scope). A callback that throws stops the monitor;
 * its error then surfaces as any timer callback's does.
 */
export function monitorMemory(callback: (sample: MemorySample) => void, intervalMs = 1000): MemoryMonitor {
  if (typeof callback !== "function") throw new InvalidArgumentError("monitorMemory needs a callback function");
  if (!(Number.isFinite(intervalMs) && intervalMs > 0)) {
    throw new InvalidArgumentError(`intervalMs must be a positive number of milliseconds, got ${intervalMs}`);
  }
  let stopped = false;
  const timer = setInterval(() => {
    if (stopped) return;
    try {
      callback(memorySample());
    } catch (error) {
      stop();
      throw error;
    }
  }, intervalMs);
  unref(timer);
  function stop(): void {
    if (stopped) return;
    stopped = true;
    clearInterval(timer);
  }
  return {
    stop,
    dispose: stop,
    [Symbol.dispose]: stop,
    get stopped() {
      return stopped;
    },
  };
}

/** Bun's (and Node's) timers are objects with unref(); Deno's are numbers, unref'd through Deno. */
function unref(timer: ReturnType<typeof setInterval>): void {
  if (typeof timer === "object" && timer !== null && "unref" in timer && typeof timer.unref === "function") {
    timer.unref();
  } else if (typeof timer === "number" && deno) {
    deno.unrefTimer(timer);
  }
}
