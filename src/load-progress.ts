/**
 * Load progress (the load option onProgress): the library calls it on the loading thread as each
 * stage of the load advances (core/progress.zig), through a shared trampoline: threadsafe for
 * loadModel, whose load runs on a worker, plain for loadModelSync, which loads on this thread.
 *
 * Each stage opens with fraction 0 and closes with 1, and the fraction only grows in between,
 * at most about every percent or 20 ms. Every call comes before the load's promise settles, and
 * none after: a successful load's last call is ("compile", 1), and the promise waits for it.
 * What the callback returns is ignored. A callback that throws cancels the load: it stops at its
 * next report and the load fails with InvalidOperationError, whose cause is what was thrown.
 */
import { progressCallbackSignature } from "../bindings/symbols.ts";
import { InvalidArgumentError, InvalidOperationError } from "./errors.ts";
import { check, lib, type Pointer } from "./native.ts";
import { completeJob } from "./native-job.ts";
import { Trampoline } from "./trampoline.ts";

/** The stages of a load, in the order they run (TSR_LOAD_STAGE_*). */
export const loadStages = ["read", "decode", "import", "infer", "fuse", "fold", "compile"] as const;
export type LoadStage = (typeof loadStages)[number];

export interface LoadProgress {
  /** read (open, decrypt), decode, import, infer, fuse, fold, compile (place and compile every node). */
  stage: LoadStage;
  /** How much of the stage is done, 0 to 1. */
  fraction: number;
}

export type ProgressCallback = (progress: LoadProgress) => unknown;

const trampoline = new Trampoline(progressCallbackSignature);

/** One load's listener: the user's callback, and what it threw. */
export class LoadListener {
  /** Set when the callback threw: the load fails with it. */
  error: Error | null = null;
  readonly #callback: ProgressCallback;
  readonly #threadsafe: boolean;
  readonly #registration: { user: Pointer; unregister: () => void };
  #job: Pointer = null;
  #closed = false;
  #lastSeen!: () => void;
  /** Resolves with the load's last report, ("compile", 1). */
  readonly finished = new Promise<void>((resolve) => (this.#lastSeen = resolve));

  /** A listener for `callback` (null when there is none); `threadsafe` for a load on a worker. */
  static for(callback: unknown, threadsafe: boolean): LoadListener | null {
    if (callback === undefined) return null;
    if (typeof callback !== "function") throw new InvalidArgumentError(`onProgress must be a function, not ${typeof callback}`);
    return new LoadListener(callback as ProgressCallback, threadsafe);
  }

  private constructor(callback: ProgressCallback, threadsafe: boolean) {
    this.#callback = callback;
    this.#threadsafe = threadsafe;
    this.#registration = trampoline.register((stage: number, fraction: number) => this.#report(stage, fraction));
  }

  /** Makes loads with the native `options` report here. */
  attach(options: Pointer): void {
    check(lib.tsr_options_set_progress(options, trampoline.pointer(this.#threadsafe), this.#registration.user));
  }

  /** The load's job, cancelled when the callback throws (a threadsafe call's return is not seen in every runtime). */
  watch(job: Pointer): void {
    this.#job = job;
  }

  /** No call reaches the callback after this. */
  close(): void {
    this.#closed = true;
    this.#job = null;
    this.#registration.unregister();
  }

  #report(stage: number, fraction: number): number {
    if (this.#closed) return 0;
    if (this.error) return 1;
    const name = loadStages[stage] ?? "compile";
    try {
      this.#callback({ stage: name, fraction });
    } catch (thrown) {
      const message = thrown instanceof Error ? thrown.message : String(thrown);
      this.error = new InvalidOperationError(`the load was cancelled: its onProgress callback threw during the ${name} stage: ${message}`, { cause: thrown });
      if (this.#job !== null) lib.tsr_job_cancel(this.#job);
      return 1;
    }
    if (name === "compile" && fraction === 1) this.#lastSeen();
    return 0;
  }
}

/**
 * Awaits a load job as completeJob does, with `listener`'s reports all delivered before it
 * settles. A listener that caught a throw fails the load with that error (a load that finished
 * before the cancel reached it is disposed).
 */
export async function completeLoad<T extends { dispose(): void }>(job: Pointer, listener: LoadListener | null, take: (job: Pointer) => T): Promise<T> {
  if (!listener) return await completeJob(job, take);
  listener.watch(job);
  try {
    let made: T;
    try {
      made = await completeJob(job, take);
    } catch (error) {
      throw listener.error ?? error;
    }
    if (!listener.error) await listener.finished; // queued before the job's end: it is on its way
    if (listener.error) {
      made.dispose();
      throw listener.error;
    }
    return made;
  } finally {
    listener.close();
  }
}

/** A synchronous load's end: the listener's error wins over the cancelled load's. */
export function completeLoadSync<T>(listener: LoadListener | null, load: () => T): T {
  try {
    return load();
  } catch (error) {
    throw listener?.error ?? error;
  } finally {
    listener?.close();
  }
}
