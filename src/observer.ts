/**
 * Node observers (VisionFlow's IRuntimeObserver): request.observe(observer) or the run option
 * `observer` has the library tell JS as each node of the model's graph starts and ends
 * (exec/observer.zig), through a shared trampoline: threadsafe for runs on a native worker, plain
 * for runSync, which runs on this thread and so calls the observer as each node runs.
 *
 * Every event reaches JS in node order, and all of them before the run's promise resolves: a
 * run that went well ends with the library's run-end event, which the run waits for. An observer
 * that throws fails the run with a RequestError whose cause is what it threw: the library stops
 * the run at the next node (the model and request stay usable), and no later event is told.
 */
import { nodeCallbackSignature } from "../bindings/symbols.ts";
import { InvalidArgumentError, RequestError } from "./errors.ts";
import { check, lib, type Pointer } from "./native.ts";
import { Trampoline } from "./trampoline.ts";

export interface NodeObserver {
  /** `index` is the node's in model.operations; `name` and `opType` are its. */
  onNodeStart?(index: number, name: string, opType: string): unknown;
  onNodeEnd?(index: number, name: string, opType: string, durationUs: number): unknown;
}

/** TSR_NODE_* */
const nodeEvent = { start: 0, end: 1, runEnd: 2 } as const;

const trampoline = new Trampoline(nodeCallbackSignature);

/** Checks what observe() and the run option take: an object with the two optional methods. */
export function checkObserver(observer: unknown): asserts observer is NodeObserver | null | undefined {
  if (observer === null || observer === undefined) return;
  if (typeof observer !== "object") throw new InvalidArgumentError(`an observer must be an object with onNodeStart and/or onNodeEnd, not ${typeof observer}`);
  for (const key of ["onNodeStart", "onNodeEnd"] as const) {
    const method = (observer as NodeObserver)[key];
    if (method !== undefined && typeof method !== "function") throw new InvalidArgumentError(`observer.${key} must be a function`);
  }
}

/** One run's observation: registered before the run starts, closed when it is settled. */
export class Observation {
  /** What the observer threw, as the run's error. */
  error: Error | null = null;
  readonly #observer: NodeObserver;
  readonly #operations: readonly { name: string; opType: string }[];
  readonly #request: Pointer;
  readonly #registration: { user: Pointer; unregister: () => void };
  readonly #threadsafe: boolean;
  #runEnded = false;
  #onRunEnd: (() => void) | null = null;

  constructor(observer: NodeObserver, operations: readonly { name: string; opType: string }[], request: Pointer, threadsafe: boolean) {
    this.#observer = observer;
    this.#operations = operations;
    this.#request = request;
    this.#threadsafe = threadsafe;
    this.#registration = trampoline.register((event: number, node: number, durationUs: number) => this.#event(event, node, durationUs));
  }

  /** Has the request's next runs tell this observation. */
  install(): void {
    check(lib.tsr_request_set_observer(this.#request, trampoline.pointer(this.#threadsafe), this.#registration.user));
  }

  /**
   * Resolves once every event of a run whose job ended with `result` has arrived: at once for a
   * failed run (the events it made are dropped if late) or a failed observer, else at run end.
   */
  drained(result: number): Promise<void> | null {
    if (result !== 0 || this.error || this.#runEnded) return null;
    return new Promise((resolve) => (this.#onRunEnd = resolve));
  }

  close(): void {
    this.#registration.unregister();
    this.#onRunEnd?.();
  }

  #event(event: number, node: number, durationUs: number): number {
    if (event === nodeEvent.runEnd) {
      this.#runEnded = true;
      this.#onRunEnd?.();
      return 0;
    }
    if (this.error) return 1;
    const operation = this.#operations[node];
    const name = operation?.name ?? "";
    const opType = operation?.opType ?? "";
    try {
      if (event === nodeEvent.start) this.#observer.onNodeStart?.(node, name, opType);
      else this.#observer.onNodeEnd?.(node, name, opType, durationUs);
    } catch (thrown) {
      const which = event === nodeEvent.start ? "onNodeStart" : "onNodeEnd";
      const message = thrown instanceof Error ? thrown.message : String(thrown);
      this.error = new RequestError(`the run was stopped: its observer's ${which} threw at node ${node} ('${name}', ${opType}): ${message}`, { cause: thrown });
      // A threadsafe call's return is not seen in every runtime (Bun queues it): cancel as well.
      if (this.#threadsafe) lib.tsr_request_cancel(this.#request);
      this.#onRunEnd?.(); // a run waiting for its events fails now with this error
      return 1;
    }
    return 0;
  }
}
