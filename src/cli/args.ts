/**
 * What the commands share about their arguments: the usage error, benchmark_app's single-dash
 * long options made into what node:util parseArgs reads, and checked numbers.
 */

/** A command line that is wrong in itself: exit status 2, one line on stderr. */
export class UsageError extends Error {}

/** An option the command does not have, by the name it was given as. */
export class UnknownOptionError extends UsageError {
  constructor(readonly option: string) {
    super(`unknown option '${option}'`);
  }
}

/**
 * benchmark_app and perf_test spell long options with one dash (`-niter 10`), which parseArgs
 * would read as a cluster of short options. Each `-name` or `-name=value` among `names` becomes
 * `--long` (the mapped name); any other multi-letter single-dash option is refused here, with its
 * whole name, rather than as its first letter. Arguments after `--` are left alone.
 */
export function longOptions(args: readonly string[], names: Readonly<Record<string, string>>): string[] {
  const end = args.indexOf("--");
  const options = end < 0 ? args : args.slice(0, end);
  const normalised = options.map((arg) => {
    const match = /^-([A-Za-z][\w-]*)(=.*)?$/.exec(arg);
    if (!match) return arg;
    const long = names[match[1]!];
    if (long !== undefined) return `--${long}${match[2] ?? ""}`;
    if (match[1]!.length > 1) throw new UnknownOptionError(`-${match[1]}`);
    return arg;
  });
  return end < 0 ? normalised : [...normalised, ...args.slice(end)];
}

/**
 * parseArgs refuses a value that starts with a dash (`-niter -5`, `--threads -2`) as "ambiguous",
 * which says nothing of what the value must be. A negative number right after an option is joined
 * to it (`--threads=-2`), so that parseArgs hands it to the option's own check (integerOption,
 * positiveNumberOption), whose message says what it takes. Arguments after `--` are left alone.
 */
export function joinNegativeValues(args: readonly string[]): string[] {
  const joined: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === "--") return [...joined, ...args.slice(i)];
    const next = args[i + 1];
    if (/^-/.test(arg) && !arg.includes("=") && next !== undefined && /^-\.?\d/.test(next)) {
      joined.push(`${arg}=${next}`);
      i++;
    } else {
      joined.push(arg);
    }
  }
  return joined;
}

/** An option's value as an integer of at least `min`; a UsageError naming the option if not. */
export function integerOption(value: string | undefined, option: string, min: number): number | undefined {
  if (value === undefined) return undefined;
  const number = Number(value);
  if (value.trim() === "" || !Number.isSafeInteger(number) || number < min) {
    throw new UsageError(`${option} takes an integer >= ${min}, not '${value}'`);
  }
  return number;
}

/** An option's value as a finite number above zero. */
export function positiveNumberOption(value: string | undefined, option: string): number | undefined {
  if (value === undefined) return undefined;
  const number = Number(value);
  if (value.trim() === "" || !Number.isFinite(number) || number <= 0) {
    throw new UsageError(`${option} takes a number > 0, not '${value}'`);
  }
  return number;
}

/** One of `choices`, or a UsageError listing them. */
export function choiceOption<T extends string>(value: string | undefined, option: string, choices: readonly T[]): T | undefined {
  if (value === undefined) return undefined;
  if (!(choices as readonly string[]).includes(value)) {
    throw new UsageError(`${option} takes ${choices.join(" or ")}, not '${value}'`);
  }
  return value as T;
}

/** The one model path a command takes. */
export function modelPath(command: string, positionals: readonly string[]): string {
  if (positionals.length !== 1) throw new UsageError(`${command} needs exactly one model path`);
  return positionals[0]!;
}
