/**
 * A command's options, declared once. The table node:util parseArgs reads and the text of
 * `tessera <command> --help` are both made from the same declarations, so an option cannot be
 * added without its help, and parseArgs' own error text (which names options in its own way and
 * gives advice on further lines) is replaced by one line of ours.
 */
import { parseArgs, type ParseArgsConfig } from "node:util";
import { longOptions, UnknownOptionError, UsageError } from "./args.ts";

interface OptionBase {
  multiple?: boolean;
  /** What the option does, as help shows it. */
  help: string;
  /** What happens when it is not given, where that is not "nothing". */
  default?: string;
  /** A one-letter spelling, `-t`. */
  short?: string;
  /** Other single-dash spellings accepted, such as benchmark_app's `-niter` for `--repeat`. */
  aliases?: readonly string[];
}

/** A string option names its value for help ("N", "dir", "latency|throughput"); a flag takes none. */
export type OptionSpec = (OptionBase & { type: "string"; value: string }) | (OptionBase & { type: "boolean" });

export type Options = Readonly<Record<string, OptionSpec>>;

export interface CommandSpec<O extends Options = Options> {
  name: string;
  /** What follows the name in the usage line, e.g. "<model>"; none: the command takes no operands. */
  operands?: string;
  /** One line for `tessera help`. */
  summary: string;
  /** One paragraph for `tessera <name> --help`. */
  description: string;
  /** Every option is spelt with one dash too (benchmark_app's way), and help shows them so. */
  singleDash?: boolean;
  options: O;
}

/** A subcommand: its declarations, and what it prints on stdout for a command line. */
export interface Command {
  spec: CommandSpec;
  run: (args: string[]) => string | Promise<string>;
}

type OptionValue<S extends OptionSpec> = S["type"] extends "boolean" ? boolean : string;

/** What parseArgs gives for `options`, typed from the declarations. */
export type Values<O extends Options> = { [K in keyof O]?: O[K]["multiple"] extends true ? OptionValue<O[K]>[] : OptionValue<O[K]> };

export interface Parsed<O extends Options> {
  values: Values<O>;
  positionals: string[];
}

/** The option as help and messages spell it: `-niter` for a single-dash command, else `--repeat`. */
export function optionName(spec: CommandSpec, key: string): string {
  return `${spec.singleDash ? "-" : "--"}${key}`;
}

/** Every single-dash spelling that stands for a long option, as longOptions takes them. */
function singleDashNames(spec: CommandSpec): Record<string, string> {
  const names: Record<string, string> = {};
  for (const [key, option] of Object.entries(spec.options)) {
    if (spec.singleDash) names[key] = key;
    // The short too, so that `-t=5` is read as `--time=5`, not as `-t` with the value "=5".
    for (const alias of [...(option.short ? [option.short] : []), ...(option.aliases ?? [])]) names[alias] = key;
  }
  return names;
}

/** Parses a command's arguments by its declarations; a wrong command line is a UsageError of ours. */
export function parseCommand<O extends Options>(spec: CommandSpec<O>, args: readonly string[]): Parsed<O> {
  const options: ParseArgsConfig["options"] = {};
  for (const [key, option] of Object.entries(spec.options)) {
    options[key] = { type: option.type, ...(option.multiple ? { multiple: true } : {}), ...(option.short ? { short: option.short } : {}) };
  }
  try {
    const { values, positionals } = parseArgs({ args: longOptions(args, singleDashNames(spec)), options, allowPositionals: spec.operands !== undefined, strict: true });
    return { values: values as Values<O>, positionals };
  } catch (error) {
    throw usageErrorOf(spec, error);
  }
}

/** One line saying what is wrong, by parseArgs' error code rather than its wording. */
function usageErrorOf(spec: CommandSpec, error: unknown): unknown {
  const see = `(see tessera ${spec.name} --help)`;
  if (error instanceof UnknownOptionError) return new UsageError(`unknown option '${error.option}' ${see}`);
  const code = (error as { code?: string } | null)?.code;
  const message = String((error as Error)?.message ?? "");
  const quoted = /'([^']*)'/.exec(message)?.[1] ?? "";
  if (code === "ERR_PARSE_ARGS_UNKNOWN_OPTION") return new UsageError(`unknown option '${quoted}' ${see}`);
  if (code === "ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL") return new UsageError(`${spec.name} takes no arguments, not '${quoted}' ${see}`);
  if (code === "ERR_PARSE_ARGS_INVALID_OPTION_VALUE") {
    // "Option '-t, --time <value>' argument missing" or "Option '--json' does not take an argument".
    const key = /--([\w-]+)/.exec(message)?.[1] ?? "";
    const option = spec.options[key];
    const name = optionName(spec, key);
    if (option?.type === "string") return new UsageError(`${name} needs a value: ${name} ${option.value}`);
    return new UsageError(`${name} takes no value ${see}`);
  }
  return error;
}

/** Help lines are wrapped to this width. */
const width = 100;

/** Words of `text` in lines of at most `room` characters (a longer word gets a line of its own). */
function wrap(text: string, room: number): string[] {
  const lines: string[] = [];
  let line = "";
  for (const word of text.split(/\s+/).filter(Boolean)) {
    if (line && line.length + 1 + word.length > room) {
      lines.push(line);
      line = word;
    } else {
      line = line ? `${line} ${word}` : word;
    }
  }
  return line ? [...lines, line] : lines;
}

/** The usage line's arguments: the operands, then "[options]". */
export function synopsis(spec: CommandSpec): string {
  return [spec.name, spec.operands, "[options]"].filter(Boolean).join(" ");
}

/** `tessera <name> --help`: the usage line, the description, and every option with its value, meaning and default. */
export function commandHelp(spec: CommandSpec): string {
  const rows = Object.entries(spec.options).map(([key, option]): [string, string] => {
    const value = option.type === "string" ? ` ${option.value}` : "";
    // A one-letter spelling is benchmark_app's usual one (-t, -i, -b): shown first, the long one after.
    const spelling = `${option.short ? `-${option.short}` : optionName(spec, key)}${value}`;
    const others = [...(option.short ? [optionName(spec, key)] : []), ...(option.aliases ?? []).map((alias) => `-${alias}`)];
    const notes = [
      option.default === undefined ? "" : `default: ${option.default}`,
      option.multiple ? "repeatable" : "",
      others.length ? `also ${others.join(", ")}` : "",
    ].filter(Boolean);
    return [spelling, notes.length ? `${option.help} (${notes.join("; ")})` : option.help];
  });
  rows.push([`-h, ${optionName(spec, "help")}`, "show this help"]);
  const column = Math.min(32, Math.max(...rows.map(([spelling]) => spelling.length)));
  const indent = " ".repeat(column + 4);
  const optionLines = rows.flatMap(([spelling, text]) => {
    const help = wrap(text, width - indent.length);
    const first = spelling.length <= column ? [`  ${spelling.padEnd(column)}  ${help.shift()}`] : [`  ${spelling}`];
    return [...first, ...help.map((line) => indent + line)];
  });
  return [`usage: tessera ${synopsis(spec)}`, "", ...wrap(spec.description, width), "", "options:", ...optionLines].join("\n");
}

/** Whether the arguments ask for help: -h, --help or -help anywhere before `--`. */
export function wantsHelp(args: readonly string[]): boolean {
  const end = args.indexOf("--");
  return (end < 0 ? args : args.slice(0, end)).some((arg) => arg === "-h" || arg === "--help" || arg === "-help");
}
