/**
 * The run schedule of request.profile: warm-up runs (a count, then more until a time has
 * passed), then timed runs that stop early once their total passes a threshold, looked at every
 * `checkPeriod` runs. Events of the warm-up are cleared before the timed runs.
 */
import { InvalidArgumentError } from "../errors.ts";
import type { ProfileOptions } from "./events.ts";

export interface ProfileSteps {
  /** Runs once; throws the run's error. */
  run(): void;
  /** Forgets the events recorded so far. */
  clear(): void;
}

function count(name: string, value: number | undefined, fallback: number, min: number): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value < min) throw new InvalidArgumentError(`profile option ${name} must be an integer >= ${min}, got ${value}`);
  return value;
}

/** Checks the options and returns them with their defaults. */
export function profileSettings(options: ProfileOptions): Required<ProfileOptions> {
  return {
    repeat: count("repeat", options.repeat, 1, 1),
    warmup: count("warmup", options.warmup, 0, 0),
    warmupTimeUs: count("warmupTimeUs", options.warmupTimeUs, 0, 0),
    stopThresholdUs: count("stopThresholdUs", options.stopThresholdUs, 0, 0),
    checkPeriod: count("checkPeriod", options.checkPeriod, 1, 1),
    eventBufferSize: count("eventBufferSize", options.eventBufferSize, 65536, 1),
  };
}

/**
 * The schedule as steps: each "run" or "clear" yielded is done by the driver before it asks for
 * the next, so the time between yields is the run's. Returns the number of timed runs. One
 * schedule serves the blocking driver and the asynchronous one.
 */
function* scheduleSteps(settings: Required<ProfileOptions>): Generator<"run" | "clear", number, void> {
  const warmupStart = performance.now();
  for (let i = 0; i < settings.warmup || (performance.now() - warmupStart) * 1000 < settings.warmupTimeUs; i++) yield "run";
  yield "clear";
  let totalUs = 0;
  let runs = 0;
  while (runs < settings.repeat) {
    const start = performance.now();
    yield "run";
    totalUs += (performance.now() - start) * 1000;
    runs++;
    if (settings.stopThresholdUs > 0 && runs % settings.checkPeriod === 0 && totalUs >= settings.stopThresholdUs) break;
  }
  return runs;
}

/** Runs the schedule on this thread; returns the number of timed runs. */
export function runProfileSchedule(steps: ProfileSteps, settings: Required<ProfileOptions>): number {
  const schedule = scheduleSteps(settings);
  for (let step = schedule.next(); ; step = schedule.next()) {
    if (step.done) return step.value;
    if (step.value === "run") steps.run();
    else steps.clear();
  }
}

/** Runs the schedule with runs that resolve when done; resolves with the number of timed runs. */
export async function runProfileScheduleAsync(steps: { run(): Promise<void>; clear(): void }, settings: Required<ProfileOptions>): Promise<number> {
  const schedule = scheduleSteps(settings);
  for (let step = schedule.next(); ; step = schedule.next()) {
    if (step.done) return step.value;
    if (step.value === "run") await steps.run();
    else steps.clear();
  }
}
