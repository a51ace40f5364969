/**
 * How long a model's async runs have their end polled (bindings/job-poller.ts) before the JS
 * thread sleeps on it: for the whole window while the model's last run was short enough to end
 * inside it (and for its first run), and not at all once a run took longer, where polling would
 * only spend a core on the JS thread for a wake-up that is a small part of the run.
 */
import { pollWindowUs } from "../bindings/job-poller.ts";

export class RunClock {
  /** The last run's duration in µs, as JS saw it: from its start to its end being learnt. */
  #lastUs = 0;

  /** The poll window for the next run, in µs (0: none). */
  get pollUs(): number {
    return this.#lastUs <= pollWindowUs ? pollWindowUs : 0;
  }

  /** Records a run that started at `startMs` (performance.now()) and has just ended. */
  ended(startMs: number): void {
    this.#lastUs = (performance.now() - startMs) * 1000;
  }
}
