/**
 * Holds a native destroy back while runs are in flight on an object (a request, or a model whose
 * requests run, or a tensor bound to a run). `close` cancels what runs, and the destroy happens when the last run leaves.
 */
export class RunGate {
  #runs = 0;
  #pending: (() => void) | null = null;

  get busy(): boolean {
    return this.#runs > 0;
  }

  enter(): void {
    this.#runs++;
  }

  leave(): void {
    if (--this.#runs > 0 || this.#pending === null) return;
    const destroy = this.#pending;
    this.#pending = null;
    destroy();
  }

  close(destroy: () => void, cancel?: () => void): void {
    if (this.#runs === 0) return destroy();
    this.#pending = destroy;
    cancel?.();
  }
}
