/**
 * Native jobs (model loads, encryptions) run on the library's worker threads; this awaits one
 * without blocking the event loop, turns its failure into the typed error, and destroys it.
 */
import { errorFromStatus } from "./errors.ts";
import { check, lib, native, outI32, outString, type Pointer } from "./native.ts";
import { activity } from "./runtime.ts";

/** Awaits `job`, then takes what it made with `take` before the job is destroyed. */
export async function completeJob<T>(job: Pointer, take: (job: Pointer) => T): Promise<T> {
  activity.loads++; // finalize() is refused until the job is gone
  try {
    const id = new Uint32Array(1);
    check(lib.tsr_job_id(job, id));
    await native.awaitJob(job, id[0]!);
    const result = outI32((slot) => lib.tsr_job_result(job, slot));
    // The job failed on a worker thread: its message travels in the job, not in tsr_last_error.
    if (result !== 0) throw errorFromStatus(result, outString((slot) => lib.tsr_job_error(job, slot)));
    return take(job);
  } finally {
    lib.tsr_job_destroy(job);
    activity.loads--;
  }
}
