/**
 * Option objects are checked key by key. A misspelt key, or one from another runtime's API
 * (onnxruntime's `dims` or `executionProviders`), would otherwise be dropped without a word, and
 * the call would go on with defaults the caller never chose.
 */
import { InvalidArgumentError } from "./errors.ts";

/** Advice for a key that is not an option here, or undefined when there is none. */
export type KeyHint = (key: string) => string | undefined;

/**
 * InvalidArgumentError unless `options` is a plain object whose own keys are all in `known`;
 * `what` names the options in the message ("run option"), `hint` adds advice for a foreign key.
 */
export function checkOptionKeys(options: unknown, known: ReadonlySet<string>, what: string, hint?: KeyHint): void {
  if (options === null || typeof options !== "object" || Array.isArray(options) || ArrayBuffer.isView(options)) {
    throw new InvalidArgumentError(`${what}s must be an object (${listOf(known)}), not ${describe(options)}`);
  }
  // for…in makes no array (every rt.tensor() call passes here); it sees inherited keys too, hence hasOwn.
  for (const key in options) {
    if (known.has(key) || !Object.hasOwn(options, key)) continue;
    const advice = hint?.(key);
    throw new InvalidArgumentError(`unknown ${what} '${key}'${advice ? `: ${advice}` : ""} (${what}s: ${listOf(known)})`);
  }
}

function listOf(known: ReadonlySet<string>): string {
  return [...known].join(", ");
}

/** A value as a message names it: "the string 'CPU'", "an array", "null". */
export function describe(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  if (ArrayBuffer.isView(value)) return `a ${value.constructor.name}`;
  if (typeof value === "string") return `the string '${value}'`;
  if (typeof value !== "object") return `the ${typeof value} ${String(value)}`;
  const kind = value.constructor?.name;
  return kind && kind !== "Object" ? `a ${kind}` : "an object";
}
