/**
 * When a model's async runs poll for their end (src/run-clock.ts): from the first run, while its
 * recent runs were short, and no longer once two runs in a row took longer than the window.
 * Durations are given by backdating each run's start.
 */
import { expect, test } from "bun:test";
import { pollWindowUs } from "../bindings/job-poller.ts";
import { RunClock } from "../src/run-clock.ts";

/** Records a run that took `us` µs. */
const ran = (clock: RunClock, us: number) => clock.ended(performance.now() - us / 1000);

test("a new model polls; one slow run among short ones does not stop it; two in a row do, and a short one restarts it", () => {
  const clock = new RunClock();
  expect(clock.pollUs).toBe(pollWindowUs);
  ran(clock, 10 * pollWindowUs); // the first run, which also starts the workers
  expect(clock.pollUs).toBe(pollWindowUs);
  ran(clock, 20);
  ran(clock, 10 * pollWindowUs); // one preempted run
  expect(clock.pollUs).toBe(pollWindowUs);
  ran(clock, 10 * pollWindowUs);
  expect(clock.pollUs).toBe(0); // a long model: its runs sleep on their end at once
  ran(clock, 30);
  expect(clock.pollUs).toBe(pollWindowUs);
});
