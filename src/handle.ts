/**
 * Lifetimes of native objects in TypeScript: explicit dispose() (safe twice, also via `using`),
 * a FinalizationRegistry backstop that is unregistered on explicit dispose, parents that release
 * their children, and a guard that stops use after dispose before it reaches native code.
 */
import { InvalidStateError } from "./errors.ts";
import type { Pointer } from "./native.ts";

interface Held {
  readonly id: number;
  readonly pointer: Pointer;
  readonly destroy: (pointer: Pointer) => void;
  readonly owner: Owner;
}

/** Runs when a handle was dropped without dispose(): free the native side and forget the child. */
const backstop = new FinalizationRegistry<Held>((held) => {
  held.owner.forget(held.id);
  held.destroy(held.pointer);
});

let nextId = 1;

/** Something that owns handles and releases them when it goes away. */
export class Owner {
  readonly #children = new Map<number, WeakRef<NativeHandle>>();

  adopt(child: NativeHandle): void {
    this.#children.set(child.id, new WeakRef(child));
  }

  forget(id: number): void {
    this.#children.delete(id);
  }

  /** Disposes every child still alive (children dispose their own children first). */
  disposeChildren(): void {
    for (const ref of [...this.#children.values()]) ref.deref()?.dispose();
    this.#children.clear();
  }

  /** How many children are alive and not yet disposed. */
  get childCount(): number {
    return this.#children.size;
  }
}

export abstract class NativeHandle extends Owner {
  readonly id = nextId++;
  #held: Held | null;

  protected constructor(pointer: Pointer, destroy: (pointer: Pointer) => void, owner: Owner) {
    super();
    this.#held = { id: this.id, pointer, destroy, owner };
    backstop.register(this, this.#held, this);
    owner.adopt(this);
  }

  /** The kind of object, for error messages ("Tensor", "Model", ...). */
  protected abstract get kind(): string;

  get disposed(): boolean {
    return this.#held === null;
  }

  /** The native pointer, or InvalidStateError once disposed: no disposed object reaches native code. */
  protected guard(): Pointer {
    if (this.#held === null) throw new InvalidStateError(`${this.kind} ${this.id} has been disposed`);
    return this.#held.pointer;
  }

  dispose(): void {
    const held = this.#held;
    if (held === null) return;
    this.disposeChildren();
    this.#held = null;
    backstop.unregister(this);
    held.owner.forget(held.id);
    held.destroy(held.pointer);
  }

  [Symbol.dispose](): void {
    this.dispose();
  }
}
