/**
 * Progress of a long run, on stderr so that stdout stays the report: a bar redrawn in place on a
 * terminal, or a plain line at every tenth of the way when stderr is a pipe or a file.
 */

export interface ProgressStream {
  write(text: string): unknown;
  isTTY?: boolean;
}

/** When a run is over: after `iterations`, after `seconds`, or once both are reached. */
export interface ProgressGoal {
  iterations?: number;
  seconds?: number;
}

const barWidth = 30;
/** Redraws of the bar are at least this far apart, so drawing never slows a fast loop. */
const redrawMs = 100;

export class Progress {
  readonly #stream: ProgressStream;
  readonly #goal: ProgressGoal;
  readonly #tty: boolean;
  #lastDraw = -Infinity;
  #nextTenth = 1;
  #drawn = false;

  constructor(goal: ProgressGoal, stream: ProgressStream = process.stderr) {
    this.#goal = goal;
    this.#stream = stream;
    this.#tty = stream.isTTY === true;
  }

  /** The share of the run done, 0 to 1: the least advanced of the goals set. */
  fraction(done: number, elapsedMs: number): number {
    const parts: number[] = [];
    if (this.#goal.iterations) parts.push(done / this.#goal.iterations);
    if (this.#goal.seconds) parts.push(elapsedMs / 1000 / this.#goal.seconds);
    return Math.min(1, ...parts);
  }

  update(done: number, elapsedMs: number): void {
    const fraction = this.fraction(done, elapsedMs);
    if (this.#tty) {
      if (elapsedMs - this.#lastDraw < redrawMs) return;
      this.#lastDraw = elapsedMs;
      this.#stream.write(`\r\x1b[K${this.#line(fraction, done, elapsedMs)}`);
      this.#drawn = true;
      return;
    }
    if (fraction * 10 < this.#nextTenth) return;
    this.#nextTenth = Math.floor(fraction * 10) + 1;
    this.#stream.write(`${this.#line(fraction, done, elapsedMs)}\n`);
  }

  /** The last state, and the end of the bar's line. */
  finish(done: number, elapsedMs: number): void {
    if (this.#tty) {
      this.#lastDraw = -Infinity;
      this.update(done, elapsedMs);
      if (this.#drawn) this.#stream.write("\n");
    } else if (this.#nextTenth <= 10) {
      this.#nextTenth = 0;
      this.update(done, elapsedMs);
    }
  }

  #line(fraction: number, done: number, elapsedMs: number): string {
    const percent = `${Math.floor(fraction * 100)}%`.padStart(4);
    const counts = `${done} iterations, ${(elapsedMs / 1000).toFixed(1)} s`;
    if (!this.#tty) return `progress ${percent}  ${counts}`;
    const filled = Math.round(fraction * barWidth);
    return `[${"#".repeat(filled)}${".".repeat(barWidth - filled)}] ${percent}  ${counts}`;
  }
}
