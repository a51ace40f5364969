/**
 * Shared callback trampolines: one native callback per signature and kind (threadsafe for calls
 * from the library's worker threads, plain for calls on the JS thread itself, as in a synchronous
 * load or run), made on first use and never closed, that dispatches each call by the id native
 * code hands back as its `void *user`. A handler is registered per load or run and unregistered
 * when it ends.
 *
 * Why shared: a call that a worker made just before a job ended may still be queued for the JS
 * thread after JS has seen the end (Bun queues threadsafe calls), so a callback closed then would
 * be called after its close; a shared one finds no handler for the id and drops the call. And no
 * load or run pays for making a callback of its own.
 */
import type { CallbackSignature, NativeCallback } from "../bindings/adapter.ts";
import { native, type Pointer } from "./native.ts";

// deno-lint-ignore no-explicit-any
type Handler = (...args: any[]) => number;

export class Trampoline {
  readonly #signature: CallbackSignature;
  readonly #handlers = new Map<number, Handler>();
  #next = 1;
  #threadsafe: NativeCallback | null = null;
  #plain: NativeCallback | null = null;

  constructor(signature: CallbackSignature) {
    this.#signature = signature;
  }

  /** Registers `handler` (called with the native arguments before `user`); returns its user pointer. */
  register(handler: Handler): { user: Pointer; unregister: () => void } {
    const id = this.#next++;
    this.#handlers.set(id, handler);
    return { user: native.pointerFromAddress(BigInt(id)), unregister: () => this.#handlers.delete(id) };
  }

  /** The native function pointer: threadsafe for calls from other threads. */
  pointer(threadsafe: boolean): Pointer {
    if (threadsafe) return (this.#threadsafe ??= this.#make(true)).pointer;
    return (this.#plain ??= this.#make(false)).pointer;
  }

  #make(threadsafe: boolean): NativeCallback {
    const handlers = this.#handlers;
    // The user pointer is the last argument: it names the handler. Calls for none are dropped.
    const dispatch = (...args: unknown[]) => {
      const id = Number(native.address(args[args.length - 1] as Pointer));
      const handler = handlers.get(id);
      return handler ? handler(...args.slice(0, -1)) : 0;
    };
    return native.callback(this.#signature, dispatch, { threadsafe });
  }
}
