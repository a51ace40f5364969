/**
 * Lifetimes of native objects in TypeScript: explicit dispose() (safe twice, also via `using`),
 * a FinalizationRegistry backstop that is unregistered on explicit dispose, parents that release
 * their children, and a guard that stops use after dispose before it reaches native code.
 *
 * Each handle's native side is a `Held` record. Its owner keeps the records (not the handles) in a
 * map, so a dropped handle can still be collected, and the owner can release everything without
 * WeakRefs, which cost close to a microsecond each in V8.
 */
import { InvalidStateError } from "./errors.ts";
import type { Pointer } from "./native.ts";

class Held {
  alive = true;
  /** Made on first use: most handles (tensors) never own anything. */
  children: Owner | null = null;
  constructor(
    readonly id: number,
    readonly pointer: Pointer,
    readonly destroy: (pointer: Pointer) => void,
    readonly owner: Owner,
    /** The handle's kind ("Tensor", "Model", ...): finalize() counts what it owns by kind. */
    readonly kind: string,
  ) {}

  /** Releases the children first, then the native object itself; a no-op the second time. */
  release(): void {
    if (!this.alive) return;
    this.alive = false;
    this.children?.releaseAll();
    this.owner.forget(this.id);
    this.destroy(this.pointer);
  }
}

/** Runs when a handle was dropped without dispose(). */
const backstop = new FinalizationRegistry<Held>((held) => held.release());

let nextId = 1;

/** Something that owns handles and releases them when it goes away. */
export class Owner {
  readonly #held = new Map<number, Held>();

  adopt(held: Held): void {
    this.#held.set(held.id, held);
  }

  forget(id: number): void {
    this.#held.delete(id);
  }

  /** Releases every child still alive (each releases its own children first). */
  releaseAll(): void {
    if (this.#held.size === 0) return;
    for (const held of [...this.#held.values()]) held.release();
    this.#held.clear();
  }

  /** How many children are alive. */
  get childCount(): number {
    return this.#held.size;
  }

  /** How many live handles of `kind` this owner holds, its children's children included. */
  count(kind: string): number {
    let count = 0;
    for (const held of this.#held.values()) count += (held.kind === kind ? 1 : 0) + (held.children?.count(kind) ?? 0);
    return count;
  }
}

export abstract class NativeHandle {
  readonly id = nextId++;
  readonly #held: Held;

  protected constructor(pointer: Pointer, destroy: (pointer: Pointer) => void, owner: Owner) {
    // `kind` is a getter on the subclass's prototype, so it answers already here (TypeScript
    // forbids abstract members in constructors only because field initializers have not run).
    const self: NativeHandle = this;
    this.#held = new Held(this.id, pointer, destroy, owner, self.kind);
    backstop.register(this, this.#held, this);
    owner.adopt(this.#held);
  }

  /** The kind of object, for error messages ("Tensor", "Model", ...). */
  protected abstract get kind(): string;

  /** What this handle owns: released before the handle itself. */
  protected get children(): Owner {
    return (this.#held.children ??= new Owner());
  }

  get disposed(): boolean {
    return !this.#held.alive;
  }

  /** The native pointer, or InvalidStateError once disposed: no disposed object reaches native code. */
  protected guard(): Pointer {
    if (!this.#held.alive) throw new InvalidStateError(`${this.kind} ${this.id} has been disposed`);
    return this.#held.pointer;
  }

  dispose(): void {
    if (!this.#held.alive) return;
    backstop.unregister(this);
    this.#held.release();
  }

  [Symbol.dispose](): void {
    this.dispose();
  }
}
