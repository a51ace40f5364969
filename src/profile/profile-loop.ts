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

/** Runs the schedule; returns the number of timed runs. */
export function runProfileSchedule(steps: ProfileSteps, settings: Required<ProfileOptions>): number {
  const warmupStart = performance.now();
  for (let i = 0; i < settings.warmup || (performance.now() - warmupStart) * 1000 < settings.warmupTimeUs; i++) steps.run();
  steps.clear();
  let totalUs = 0;
  let runs = 0;
  while (runs < settings.repeat) {
    const start = performance.now();
    steps.run();
    totalUs += (performance.now() - start) * 1000;
    runs++;
    if (settings.stopThresholdUs > 0 && runs % settings.checkPeriod === 0 && totalUs >= settings.stopThresholdUs) break;
  }
  return runs;
}
