/**
 * How long a model's async runs have their end polled (bindings/job-poller.ts) before the JS
 * thread sleeps on it: for the whole window while the model's recent runs were short enough to
 * end inside it (and for its first runs), and not at all once they take longer, where polling
 * would only spend a core on the JS thread for a wake-up that is a small part of the run.
 */
import { pollWindowUs } from "../bindings/job-poller.ts";

export class RunClock {
  /** The last two runs' durations in µs, as JS saw them: from the start to the end being learnt. */
  #lastUs = 0;
  #previousUs = 0;

  /**
   * The poll window for the next run, in µs (0: none). The shorter of the last two runs decides,
   * so that one slow run (the first, which starts the workers; one the OS preempted; one that
   * waited out a sleeping wake-up) does not stop the polling.
   */
  get pollUs(): number {
    return Math.min(this.#lastUs, this.#previousUs) <= pollWindowUs ? pollWindowUs : 0;
  }

  /** Records a run that started at `startMs` (performance.now()) and has just ended. */
  ended(startMs: number): void {
    this.#previousUs = this.#lastUs;
    this.#lastUs = (performance.now() - startMs) * 1000;
  }
}
