#!/usr/bin/env bun
/**
 * The `tessera` command. Each subcommand declares its options once (command.ts), which makes both
 * the table node:util's parseArgs reads and its --help, and returns the text to print. A bad command line gets one line on stderr and exit status 2; a
 * failure while loading, reading or running gets one line and status 1; never a stack trace.
 */
import * as rt from "../index.ts";
import { joinNegativeValues, UsageError } from "./args.ts";
import { benchCommand } from "./bench.ts";
import { type Command, type CommandSpec, commandHelp, parseCommand, synopsis, wantsHelp } from "./command.ts";
import { devicesCommand } from "./devices.ts";
import { encryptCommand } from "./encrypt.ts";
import { infoCommand } from "./info.ts";
import { profileCommand } from "./profile.ts";
import { runCommand } from "./run.ts";
import { serveCommand } from "./serve.ts";
import { versionCommand } from "./version.ts";

export { UsageError };
export type { Command };

const helpSpec = {
  name: "help",
  operands: "[command]",
  summary: "the commands, or one command's usage and options",
  description: "With no command, lists the commands; with one, prints its usage, what it does and every option it " +
    "takes, as `tessera <command> --help` does.",
  options: {},
} as const satisfies CommandSpec;

const helpCommand: Command = {
  spec: helpSpec,
  run(args) {
    const { positionals } = parseCommand(helpSpec, args);
    if (positionals.length > 1) throw new UsageError("help takes at most one command");
    if (positionals.length === 0) return usage();
    return commandHelp(commandNamed(positionals[0]!).spec);
  },
};

/** Every subcommand by name; other modules may add theirs before main() runs. */
export const commands: Record<string, Command> = Object.fromEntries(
  [devicesCommand, infoCommand, runCommand, benchCommand, profileCommand, encryptCommand, serveCommand, versionCommand, helpCommand].map((command) => [command.spec.name, command]),
);

/** The usual spellings of asking for help or the version, without a command. */
const flags: Record<string, string> = { "--help": "help", "-h": "help", "--version": "version", "-V": "version" };

function commandNamed(name: string): Command {
  const command = commands[name];
  if (!command) throw new UsageError(`unknown command '${name}'`);
  return command;
}

export function usage(): string {
  const entries = Object.values(commands).map((c) => [synopsis(c.spec), c.spec.summary] as const);
  const width = Math.max(...entries.map(([line]) => line.length));
  return [
    "usage: tessera <command> [options]",
    ...entries.map(([line, summary]) => `  ${line.padEnd(width)}  ${summary}`),
    "",
    "A command's options: tessera <command> --help, or tessera help <command>. Versions: tessera --version.",
  ].join("\n");
}

/** Whether an error is one the user can act on from its message alone. */
function isKnown(error: unknown): boolean {
  return error instanceof UsageError || error instanceof rt.RuntimeException;
}

/**
 * The error that says what went wrong. When a `using` block's disposal throws after its body
 * threw, the caller gets a SuppressedError ("An error was suppressed during disposal"), which
 * would hide a RuntimeException or UsageError from the body behind "unexpected error"; the body's
 * error came first and is the one to report.
 */
function bodyError(error: unknown): unknown {
  while (error instanceof SuppressedError) error = error.suppressed;
  return error;
}

/** Runs one command line (without the program name) and returns the exit status. */
export async function main(argv: string[]): Promise<number> {
  const [given, ...rest] = argv;
  if (!given) {
    console.log(usage());
    return 2;
  }
  try {
    const command = commandNamed(flags[given] ?? given);
    // Asked for anywhere in the line, before the options are checked: help is what the user wants then.
    if (wantsHelp(rest)) {
      console.log(commandHelp(command.spec));
      return 0;
    }
    // Here, once, so that every command's numeric options refuse a negative value by what they take.
    console.log(await command.run(joinNegativeValues(rest)));
    return 0;
  } catch (thrown) {
    const error = bodyError(thrown);
    const message = (error as Error)?.message ?? String(error);
    // Only the first line: one line is the contract, whatever the error's message holds.
    const line = message.split("\n")[0] || ((error as Error)?.name ?? "");
    console.error(`tessera: ${isKnown(error) ? "" : "unexpected error: "}${line}`);
    if (!isKnown(error) && ["trace", "debug"].includes(process.env.TESSERA_LOG ?? "")) console.error((error as Error).stack);
    return error instanceof UsageError ? 2 : 1;
  }
}

if (import.meta.main) {
  const args = typeof Bun !== "undefined" ? Bun.argv.slice(2) : (globalThis as unknown as { Deno: { args: string[] } }).Deno.args;
  process.exitCode = await main(args);
}
