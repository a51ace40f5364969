/**
 * Completion by polling, for short jobs (Deno's adapter uses it; Bun's does not need it, see
 * bun.ts): each watched job is checked once per turn of the event loop (setImmediate) until it is
 * done or its window has passed; then the runtime's sleeping wait takes over.
 *
 * Why: Deno's sleeping wait is a nonblocking FFI call that waits on a thread of Deno's and wakes
 * the JS thread when it returns: two wake-ups, each tens of µs where an idle CPU halts (virtual
 * machines), several times what a small model's run costs. A turn of the loop costs a few µs,
 * and each turn also serves timers and I/O, so polling never blocks the event loop: it spends a
 * core on the JS thread while the job runs, and only for a window as long as a short job.
 */
import { setImmediate } from "node:timers";
import type { Pointer } from "./adapter.ts";

/** How long a job is polled at most, in µs, before its runtime's sleeping wait takes over. */
export const pollWindowUs = 250;

interface Watch {
  readonly job: Pointer;
  /** performance.now() (ms) past which polling stops. */
  readonly until: number;
  readonly done: () => void;
  readonly expired: () => void;
  active: boolean;
}

/**
 * A poller for one library instance (one JS thread): `isDone` asks the library without blocking.
 * watch() returns the function that stops watching, which must be called before the job is
 * destroyed if the job was settled another way.
 */
export function jobPoller(isDone: (job: Pointer) => boolean) {
  let watches: Watch[] = [];
  let scheduled = false;
  const schedule = () => {
    if (scheduled) return;
    scheduled = true;
    setImmediate(tick);
  };
  const tick = () => {
    scheduled = false;
    const current = watches;
    watches = [];
    const now = performance.now();
    for (const watch of current) {
      if (!watch.active) continue;
      if (isDone(watch.job)) {
        watch.active = false;
        watch.done();
      } else if (now >= watch.until) {
        watch.active = false;
        watch.expired();
      } else {
        watches.push(watch);
      }
    }
    if (watches.length > 0) schedule();
  };
  return {
    /** Watches `job` for up to `windowUs`; calls `done` or `expired` once, unless stopped first. */
    watch(job: Pointer, windowUs: number, done: () => void, expired: () => void): () => void {
      const watch: Watch = { job, until: performance.now() + windowUs / 1000, done, expired, active: true };
      watches.push(watch);
      schedule();
      return () => (watch.active = false);
    },
  };
}
